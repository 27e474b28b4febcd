using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4: a rejected CDR changes no state (not even the cycle) and fires no reminder.</summary>
[TestFixture]
public sealed class StateTests
{
    private static EngineHarness Prepared(out RatingPipeline.Tariffs.Tariff tariff)
    {
        tariff = TestTariff.Build(
            [
                TestTariff.Rate("voice", zone: "domestic", price: 60_000, unit: 60, increment: 60, allowance: true),
                TestTariff.Rate("sms", price: 300_000),
                TestTariff.Rate("data", zone: "domestic", price: 1, unit: 1, increment: 1, capped: true),
            ],
            "\"allowances\":{\"voiceSec\":6000},\"reminderThresholds\":[1,100],\"highSpendThreshold\":100000000,"
            + "\"lowBalanceThreshold\":500000,\"dataCapTiers\":[5000000],\"defaultDataCap\":5000000");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, "\"prepaid\":true,\"balance\":900000,\"balanceAsOf\":\"2026-11-01T00:00:00+08:00\""));
        // Usage, spend, D, prepaid charges, the 1 % reminder, the roaming memory and the duplicate memory all set.
        rater.Process(Cdrs.Voice("v1", 600, "2026-12-02T10:00:00+08:00"));
        rater.Process(Cdrs.Data("d1", 1000, "2026-12-02T11:00:00+08:00"));
        rater.Process(Cdrs.Sms("s1", "2026-12-02T12:00:00+08:00", mcc: "454"));
        return rater;
    }

    // Each is rejected for the reason named; all would have changed the state (and most fired a reminder) if accepted.
    [TestCase("invalid", "{\"id\":\"x1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-12-03T10:00:00+08:00\",\"bytes\":5e6}")]
    [TestCase("late", "{\"id\":\"x2\",\"type\":\"sms\",\"msisdn\":\"8613800000001\",\"direction\":\"mo\",\"peer\":\"139\",\"start\":\"2026-11-30T10:00:00+08:00\",\"visitedMcc\":\"440\"}")]
    [TestCase("duplicate", "{\"id\":\"d1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2027-01-03T10:00:00+08:00\",\"bytes\":5000000}")]
    [TestCase("no-rate", "{\"id\":\"x3\",\"type\":\"voice\",\"msisdn\":\"8613800000001\",\"direction\":\"mo\",\"peer\":\"139\",\"start\":\"2027-01-03T10:00:00+08:00\",\"durationSec\":6000,\"visitedMcc\":\"440\"}")]
    [TestCase("no-rate", "{\"id\":\"x4\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2027-01-03T10:00:00+08:00\",\"bytes\":5000000,\"visitedMcc\":\"454\"}")]
    public void A_rejected_CDR_changes_no_state_and_fires_nothing(string reason, string cdr)
    {
        var rater = Prepared(out _);
        var before = StateFields.Of(rater.State());
        var step = rater.Process(cdr);
        Assert.Multiple(() =>
        {
            Assert.That(step.Reason, Is.EqualTo(reason));
            Assert.That(step.Result, Is.EqualTo(RatingResult.Rejected));
            Assert.That(step.Rated, Is.Empty);
            Assert.That(step.Reminders, Is.Empty);
            Assert.That(StateFields.Of(rater.State()), Is.EqualTo(before));
        });
    }

    [Test]
    public void Unknown_plan_and_unknown_subscriber_leave_the_state_alone()
    {
        var rater = Prepared(out var tariff);
        var before = StateFields.Of(rater.State());
        rater.Engine.SetProfile(Profiles.Of(tariff, plan: "gone"));
        var unknownPlan = rater.Process(Cdrs.Sms("x1", "2027-01-03T10:00:00+08:00"));
        Assert.That(MsisdnKey.TryCompute(Cdrs.Msisdn, out var key), Is.True);
        rater.Engine.RemoveProfile(key);
        var unknownSubscriber = rater.Process(Cdrs.Sms("x2", "2027-01-03T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(unknownPlan.Reason, Is.EqualTo("unknown-plan"));
            Assert.That(unknownSubscriber.Reason, Is.EqualTo("unknown-subscriber"));
            Assert.That(unknownPlan.Reminders.Concat(unknownSubscriber.Reminders), Is.Empty);
            Assert.That(StateFields.Of(rater.State()), Is.EqualTo(before));
        });
    }

    [Test]
    public void A_rejected_first_CDR_creates_no_state()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("voice")]);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Sms("s1"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Reason, Is.EqualTo("no-rate"));
            Assert.That(rater.HasState(), Is.False);
        });
    }

    [Test]
    public void Accepting_a_CDR_records_cycle_usage_and_id()
    {
        var rater = Prepared(out _);
        var state = rater.State();
        // v1: 600 s (A = 600); d1: C = 1000 (D = 1000); s1: C = 300000; S = 0 + 1000 + 300000; prepaid since 1 Nov: 301000.
        Assert.Multiple(() =>
        {
            Assert.That(BillingCycleText(state.CycleDay), Is.EqualTo("2026-12-01"));
            Assert.That(state.Used[(int)CdrType.Voice], Is.EqualTo(600));
            Assert.That(state.CappedCharges, Is.EqualTo(1000));
            Assert.That(state.Spend, Is.EqualTo(301_000));
            Assert.That(state.PrepaidCharges, Is.EqualTo(301_000));
            Assert.That(state.RoamingMcc, Is.EqualTo(454));
            Assert.That(state.RecentIds.Count, Is.EqualTo(3));
        });
    }

    private static string BillingCycleText(int day) => Time.BillingCycle.ToText(day);
}
