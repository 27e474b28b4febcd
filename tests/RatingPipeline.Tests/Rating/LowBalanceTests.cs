using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.8 low-balance: prepaid only, after CDRs with C &gt; 0, once per balanceAsOf.</summary>
[TestFixture]
public sealed class LowBalanceTests
{
    // Each domestic MO SMS costs 300000; MT SMS are free. L = 500000.
    private static readonly string[] Rates =
    [
        TestTariff.Rate("sms", zone: "domestic", direction: "mo", price: 300_000),
        TestTariff.Rate("sms", zone: "domestic", direction: "mt", price: 0),
    ];

    private const string Plan = "\"lowBalanceThreshold\":500000";
    private const string AsOf = "2026-11-01T00:00:00+08:00";

    private static EngineHarness NewRater(long balance, string asOf = AsOf, bool prepaid = true, string plan = Plan)
    {
        var tariff = TestTariff.Build(Rates, plan, [TestTariff.Zero("10086", "customer-service")]);
        return new EngineHarness(tariff, Profiles.Of(tariff, Prepaid(balance, asOf, prepaid)));
    }

    private static string Prepaid(long balance, string asOf, bool prepaid = true) =>
        $"\"prepaid\":{(prepaid ? "true" : "false")},\"balance\":{balance},\"balanceAsOf\":\"{asOf}\"";

    [Test]
    public void Fires_once_when_the_remaining_balance_drops_below_the_threshold()
    {
        var rater = NewRater(1_000_000);
        var a = rater.Process(Cdrs.Sms("s1")); // remaining 1000000 − 300000 = 700000 ≥ 500000
        var b = rater.Process(Cdrs.Sms("s2")); // remaining 1000000 − 600000 = 400000 < 500000: fires
        var c = rater.Process(Cdrs.Sms("s3")); // remaining 100000: already fired for this balanceAsOf
        Assert.Multiple(() =>
        {
            Assert.That(a.Reminders, Is.Empty);
            Assert.That(c.Reminders, Is.Empty);
            AllowanceReminderTests.AssertFields(b.Reminders.Single(), new Dictionary<string, object>
            {
                ["eventId"] = $"8613800000001:2026-11-01:low-balance:{AsOf}",
                ["kind"] = "low-balance",
                ["cdrId"] = "s2",
                ["threshold"] = 500_000L,
                ["remaining"] = 400_000L,
                ["cycle"] = "2026-11-01",
                ["at"] = Cdrs.Start,
            });
        });
    }

    [Test]
    public void Remaining_equal_to_the_threshold_does_not_fire()
    {
        // 800000 − 300000 = 500000, not < 500000; the next SMS leaves 200000 and fires.
        var rater = NewRater(800_000);
        var a = rater.Process(Cdrs.Sms("s1"));
        var b = rater.Process(Cdrs.Sms("s2"));
        Assert.Multiple(() =>
        {
            Assert.That(a.Reminders, Is.Empty);
            Assert.That((long?)b.Reminders.Single()["remaining"], Is.EqualTo(200_000));
        });
    }

    [Test]
    public void A_postpaid_subscriber_never_gets_it()
    {
        // Same balance fields but prepaid false: they are not used.
        var rater = NewRater(100, prepaid: false);
        Assert.That(Enumerable.Range(1, 5).SelectMany(i => rater.Process(Cdrs.Sms($"s{i}")).Reminders), Is.Empty);
    }

    [Test]
    public void A_plan_without_a_threshold_never_fires_it()
    {
        var rater = NewRater(100, plan: "");
        Assert.That(Enumerable.Range(1, 3).SelectMany(i => rater.Process(Cdrs.Sms($"s{i}")).Reminders), Is.Empty);
    }

    [Test]
    public void Only_CDRs_with_a_charge_evaluate_it()
    {
        // Balance 100000 is already below L, but a free MT SMS (C = 0) and a zero-rated SMS do not evaluate it;
        // the first charged SMS does: remaining = 100000 − 300000 = −200000.
        var rater = NewRater(100_000);
        var free = rater.Process(Cdrs.Sms("s1", direction: "mt"));
        var zero = rater.Process(Cdrs.Sms("s2", peer: "10086"));
        var charged = rater.Process(Cdrs.Sms("s3"));
        Assert.Multiple(() =>
        {
            Assert.That(free.Reminders, Is.Empty);
            Assert.That(zero.Reminders, Is.Empty);
            Assert.That((long?)charged.Reminders.Single()["remaining"], Is.EqualTo(-200_000));
        });
    }

    [Test]
    public void A_CDR_before_balanceAsOf_is_not_deducted_but_is_evaluated()
    {
        // Balance 400000 as of 12:00 (already below L). An SMS at 11:00 costs 300000 but is before balanceAsOf: not
        // deducted, remaining = 400000 − 0 = 400000 < 500000 → fires with remaining 400000.
        var rater = NewRater(400_000, "2026-11-02T12:00:00+08:00");
        var step = rater.Process(Cdrs.Sms("s1", "2026-11-02T11:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Charge, Is.EqualTo(300_000));
            Assert.That((long?)step.Reminders.Single()["remaining"], Is.EqualTo(400_000));
            Assert.That(rater.State().PrepaidCharges, Is.Zero);
        });
    }

    [Test]
    public void CDRs_before_balanceAsOf_do_not_lower_the_remaining_balance()
    {
        // Balance 600000 as of 12:00: two SMS before it leave remaining 600000 (no fire); the one at 12:00 (≥ balanceAsOf)
        // is deducted: 600000 − 300000 = 300000 < 500000 → fires.
        var rater = NewRater(600_000, "2026-11-02T12:00:00+08:00");
        var before1 = rater.Process(Cdrs.Sms("s1", "2026-11-02T10:00:00+08:00"));
        var before2 = rater.Process(Cdrs.Sms("s2", "2026-11-02T11:59:59+08:00"));
        var at = rater.Process(Cdrs.Sms("s3", "2026-11-02T04:00:00Z"));
        Assert.Multiple(() =>
        {
            Assert.That(before1.Reminders, Is.Empty);
            Assert.That(before2.Reminders, Is.Empty);
            Assert.That((long?)at.Reminders.Single()["remaining"], Is.EqualTo(300_000));
        });
    }

    [Test]
    public void A_new_balanceAsOf_re_arms_it_and_restarts_the_charges_since()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, Prepaid(1_000_000, AsOf)));
        rater.Process(Cdrs.Sms("s1"));
        var fired = rater.Process(Cdrs.Sms("s2")); // 1000000 − 600000 = 400000: fires
        // Top-up: balance 1000000 as of 5 November. Charges since restart at 0:
        rater.Engine.SetProfile(Profiles.Of(tariff, Prepaid(1_000_000, "2026-11-05T00:00:00+08:00")));
        var a = rater.Process(Cdrs.Sms("s3", "2026-11-05T10:00:00+08:00")); // 1000000 − 300000 = 700000: none
        var b = rater.Process(Cdrs.Sms("s4", "2026-11-05T11:00:00+08:00")); // 1000000 − 600000 = 400000: fires again
        Assert.Multiple(() =>
        {
            Assert.That(fired.Reminders, Has.Count.EqualTo(1));
            Assert.That(a.Reminders, Is.Empty);
            Assert.That(((long?)b.Reminders.Single()["remaining"], (string?)b.Reminders.Single()["eventId"]),
                Is.EqualTo(((long?)400_000, "8613800000001:2026-11-01:low-balance:2026-11-05T00:00:00+08:00")));
            Assert.That(rater.State().PrepaidCharges, Is.EqualTo(600_000));
        });
    }

    [Test]
    public void The_same_balanceAsOf_does_not_re_arm_it()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, Prepaid(1_000_000, AsOf)));
        rater.Process(Cdrs.Sms("s1"));
        rater.Process(Cdrs.Sms("s2")); // fires at 400000
        // A profile update with the same balanceAsOf (say, a new language): once per balanceAsOf value, and the
        // 600000 charged since it still count: 1000000 − 900000 = 100000 < L, but it has fired already.
        rater.Engine.SetProfile(Profiles.Of(tariff, Prepaid(1_000_000, AsOf) + ",\"language\":\"en\""));
        var step = rater.Process(Cdrs.Sms("s3"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Reminders, Is.Empty);
            Assert.That(rater.State().PrepaidCharges, Is.EqualTo(900_000));
        });
    }

    [Test]
    public void The_low_balance_memory_spans_cycles()
    {
        // Fired in November for this balanceAsOf; a charged SMS in December does not fire it again.
        var rater = NewRater(1_000_000);
        rater.Process(Cdrs.Sms("s1"));
        rater.Process(Cdrs.Sms("s2"));
        var december = rater.Process(Cdrs.Sms("s3", "2026-12-02T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(december.Reminders, Is.Empty);
            Assert.That(rater.State().PrepaidCharges, Is.EqualTo(900_000));
        });
    }
}
