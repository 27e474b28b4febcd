using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// SPEC §7 at its edges: the late grace to the second, the bound of 12 cycle ends per move, a service cancelled exactly
/// at its due instant, the scaled minimum's half-up rounding, and a profile minimum below the plan's.
/// </summary>
[TestFixture]
public sealed class CycleCloseTests
{
    private static readonly string Voice = TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60);

    private static string Clock(string at) => $$"""{"type":"clock","at":"{{at}}"}""";

    [TestCase("2026-12-02T23:59:59+08:00", "2026-11-01", 0, TestName = "A November CDR one second before the close instant is rated into November")]
    [TestCase("2026-12-03T00:00:00+08:00", null, 1, TestName = "A November CDR once stream time reached the close instant is late, November billed")]
    public void The_late_grace_holds_the_previous_cycle_open_to_the_second(string newer, string? lateCycle, int billsBefore)
    {
        // G = 48 h, cycle day 1, +08:00: November ends Dec 1 00:00 and closes at Dec 3 00:00:00.
        var tariff = TestTariff.Build([Voice], top: "\"lateGraceHours\":48");
        var engine = new EngineHarness(tariff, Profiles.Of(tariff));
        engine.Process(Cdrs.Voice("nov-1", 60, start: "2026-11-10T10:00:00+08:00"));
        engine.Process(Cdrs.Voice("dec-1", 60, start: "2026-12-01T00:00:05+08:00"));
        Assert.That(engine.All.Bills, Is.Empty, "November stays open within the grace");
        engine.Process(Cdrs.Voice("dec-2", 60, start: newer));
        Assert.That(engine.All.Bills, Has.Count.EqualTo(billsBefore));

        var late = engine.Process(Cdrs.Voice("nov-late", 600, start: "2026-11-30T23:59:50+08:00"));
        if (lateCycle is null)
        {
            Assert.That(late.Reason, Is.EqualTo("late"));
            Assert.That((long)engine.All.Bills.Single()["usage"]!["voice"]!["count"]!, Is.EqualTo(1), "the bill holds nov-1 only");
            return;
        }

        Assert.Multiple(() =>
        {
            Assert.That((string?)late.Single["cycle"], Is.EqualTo(lateCycle));
            // November's running totals: nov-1's 60 000 plus this call's 10 minutes.
            Assert.That((long)late.Single["spendAfter"]!, Is.EqualTo(660_000));
        });

        // The next record at or past the close instant bills November with both calls.
        engine.Process(Cdrs.Voice("dec-3", 60, start: "2026-12-03T00:00:00+08:00"));
        var bill = engine.All.Bills.Single();
        Assert.Multiple(() =>
        {
            Assert.That((string?)bill["cycle"], Is.EqualTo("2026-11-01"));
            Assert.That((long)bill["usage"]!["voice"]!["count"]!, Is.EqualTo(2));
            Assert.That((long)bill["usageCharge"]!, Is.EqualTo(660_000));
        });
    }

    [Test]
    public void One_move_ends_at_most_twelve_cycles_and_skips_the_rest()
    {
        var tariff = TestTariff.Build([Voice]);
        var engine = new EngineHarness(tariff, Profiles.Of(tariff));
        engine.Process(Cdrs.Voice("jan", 60, start: "2026-01-10T10:00:00+08:00"));
        var step = engine.Process(Cdrs.Voice("next-year", 60, start: "2027-03-15T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            // Jan … Dec 2026 end (12 ends); the 12th opens the cycle of the CDR, March 2027; Jan and Feb 2027 are skipped.
            Assert.That(engine.All.Bills.Select(b => (string?)b["cycle"]),
                Is.EqualTo(Enumerable.Range(1, 12).Select(m => (string?)$"2026-{m:00}-01")));
            Assert.That((string?)engine.All.Bills[^1]["cycleEnd"], Is.EqualTo("2027-01-01"));
            Assert.That((string?)step.Single["cycle"], Is.EqualTo("2027-03-01"));
        });
    }

    [Test]
    public void A_service_cancelled_exactly_at_its_due_instant_is_noticed_but_never_charged()
    {
        // Ordered Nov 10 12:00, 24 h notice lead: due Nov 11 12:00, cancelled at that very instant.
        var tariff = TestTariff.Build([Voice], plan: "\"monthlyFee\":0", top: "\"vasNoticeLeadHours\":24");
        const string service = """
            "services":[{"id":"news","name":{"zh":"新闻","en":"News"},"price":5000000,"orderedAt":"2026-11-10T12:00:00+08:00","cancelledAt":"2026-11-11T12:00:00+08:00"}]
            """;
        var engine = new EngineHarness(tariff, Profiles.Of(tariff, service));
        engine.Process(Cdrs.Voice("v1", 60, start: "2026-11-01T10:00:00+08:00"));
        engine.Process(Clock("2026-11-20T00:00:00+08:00"));
        engine.Process(Clock("2026-12-02T00:00:00+08:00"));
        var fees = engine.All.Rated.Where(r => (string?)r["type"] == "fee").Select(r => (string?)r["id"]).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(engine.All.Reminders.Where(r => (string?)r["kind"] == "vas-precharge").Select(r => (string?)r["serviceId"]),
                Is.EqualTo(new[] { "news" }), "the notice at orderedAt: not cancelled then");
            Assert.That(fees, Is.EqualTo(new[] { (string?)$"{Cdrs.Msisdn}:2026-12-01:fee:monthly" }), "no service fee, neither at due nor at December's start");
            Assert.That((long)engine.All.Bills.Single()["feeCharge"]!, Is.EqualTo(0));
        });
    }

    [TestCase(3, 2, 1, 60, 2, TestName = "Scaled minimum 3 × 1/min ÷ 2/min = 1.5 rounds half up to 2")]
    [TestCase(7, 5, 1, 60, 1, TestName = "Scaled minimum 7 × 1/min ÷ 5/min = 1.4 rounds to 1")]
    [TestCase(100_000_000, 300_000, 150_000, 60, 50_000_000, TestName = "Scaled minimum 100 yuan at 0.3/min on a 0.15/min plan is 50 yuan")]
    [TestCase(100_000_000, 300_000, 3_000, 1, 60_000_000, TestName = "Scaled minimum takes the per-minute price of a per-second rate")]
    public void The_monthly_minimum_scales_with_the_plans_per_minute_price(long amount, long atPricePerMinute, long price, long unit, long minimum)
    {
        var rate = TestTariff.Rate("voice", price: price, unit: unit, increment: 1);
        var tariff = TestTariff.Build([rate], plan: $"\"monthlyMinimum\":{{\"amount\":{amount},\"atPricePerMinute\":{atPricePerMinute}}}");
        var engine = new EngineHarness(tariff, Profiles.Of(tariff));
        engine.Process(Cdrs.Voice("nov", 0, start: "2026-11-10T10:00:00+08:00"));
        engine.Process(Clock("2026-12-01T00:00:00+08:00"));
        var bill = engine.All.Bills.Single();
        Assert.Multiple(() =>
        {
            Assert.That((long)bill["minimum"]!, Is.EqualTo(minimum));
            Assert.That((long)bill["topUp"]!, Is.EqualTo(minimum), "nothing was used: the whole minimum is topped up");
            Assert.That((long)bill["total"]!, Is.EqualTo(minimum));
        });
    }

    [Test]
    public void A_profile_minimum_may_raise_the_plans_never_lower_it()
    {
        // The plan's scaled minimum: 100 yuan at 0.3/min on a 0.15/min plan = 50 yuan.
        var tariff = TestTariff.Build([TestTariff.Rate("voice", price: 150_000, unit: 60, increment: 60)],
            plan: "\"monthlyMinimum\":{\"amount\":100000000,\"atPricePerMinute\":300000}");
        var lower = SubscriberProfile.TryParse(System.Text.Encoding.UTF8.GetBytes(Profiles.Json("\"monthlyMinimum\":49999999")), tariff, out var error);
        Assert.Multiple(() =>
        {
            Assert.That(lower, Is.Null, "a profile minimum below the plan's is refused");
            Assert.That(error, Does.Contain("monthlyMinimum"));
        });

        var engine = new EngineHarness(tariff, Profiles.Of(tariff, "\"monthlyMinimum\":80000000"));
        engine.Process(Cdrs.Voice("nov", 60, start: "2026-11-10T10:00:00+08:00"));
        engine.Process(Clock("2026-12-01T00:00:00+08:00"));
        var bill = engine.All.Bills.Single();
        Assert.Multiple(() =>
        {
            Assert.That((long)bill["minimum"]!, Is.EqualTo(80_000_000), "the profile's higher minimum applies");
            Assert.That((long)bill["usageCharge"]!, Is.EqualTo(150_000));
            Assert.That((long)bill["topUp"]!, Is.EqualTo(80_000_000 - 150_000), "fees do not count towards it; usage does");
        });
    }

    [Test]
    public void A_clock_at_or_before_the_mark_changes_nothing()
    {
        var tariff = TestTariff.Build([Voice], plan: "\"monthlyFee\":10000000");
        var engine = new EngineHarness(tariff, Profiles.Of(tariff));
        engine.Process(Cdrs.Voice("nov", 60, start: "2026-11-10T10:00:00+08:00"));
        engine.Process(Clock("2026-12-01T00:00:00+08:00"));
        var before = StateFields.Of(engine.State());
        var outputs = engine.All.Rated.Count + engine.All.Reminders.Count + engine.All.Bills.Count;
        engine.Process(Clock("2026-12-01T00:00:00+08:00"));
        engine.Process(Clock("2026-11-20T00:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(StateFields.Of(engine.State()), Is.EqualTo(before));
            Assert.That(engine.All.Rated.Count + engine.All.Reminders.Count + engine.All.Bills.Count, Is.EqualTo(outputs));
            Assert.That(engine.All.Rated.Count(r => (string?)r["type"] == "fee"), Is.EqualTo(1), "December's monthly fee once");
        });
    }
}
