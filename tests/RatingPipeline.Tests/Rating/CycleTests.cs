using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.2: the billing cycle in local time (tariff offset +08:00), late records, and rollover.</summary>
[TestFixture]
public sealed class CycleTests
{
    private static readonly string[] Rates =
    [
        TestTariff.Rate("voice", zone: "domestic", price: 60_000, unit: 60, increment: 60, allowance: true),
        TestTariff.Rate("sms", zone: "domestic", price: 100_000),
    ];

    private const string Plan = "\"allowances\":{\"voiceSec\":600},\"reminderThresholds\":[100]";

    // cycleDay 1, offset +08:00
    [TestCase("2026-11-30T23:59:59+08:00", 1, "2026-11-01")] // last second of November, local
    [TestCase("2026-12-01T00:00:00+08:00", 1, "2026-12-01")] // local midnight starts the December cycle
    [TestCase("2026-11-30T16:00:00Z", 1, "2026-12-01")] // the same instant written in UTC
    [TestCase("2026-11-30T15:59:59Z", 1, "2026-11-01")] // one second earlier in UTC: still November locally
    [TestCase("2026-11-30T15:59:59.9999999Z", 1, "2026-11-01")] // 100 ns before local midnight
    [TestCase("2026-11-30T11:00:00-05:00", 1, "2026-12-01")] // = 16:00Z = 00:00+08:00 on 1 December
    [TestCase("2026-11-30T10:59:59-05:00", 1, "2026-11-01")] // = 15:59:59Z
    [TestCase("2026-12-01T04:59:59+13:00", 1, "2026-11-01")] // 1 December where written, but = 30 Nov 15:59:59Z = 23:59:59 local
    [TestCase("2026-12-01T05:00:00+13:00", 1, "2026-12-01")] // = 30 Nov 16:00:00Z = 1 Dec 00:00 local
    [TestCase("2026-12-31T23:59:59+08:00", 1, "2026-12-01")]
    [TestCase("2026-12-31T16:00:00Z", 1, "2027-01-01")] // new year, local
    // cycleDay 15
    [TestCase("2026-11-14T23:59:59+08:00", 15, "2026-10-15")] // the day before the cycle day: previous month's cycle
    [TestCase("2026-11-15T00:00:00+08:00", 15, "2026-11-15")]
    [TestCase("2026-11-14T16:00:00Z", 15, "2026-11-15")] // = 2026-11-15T00:00:00+08:00
    [TestCase("2026-11-20T12:00:00+08:00", 15, "2026-11-15")]
    [TestCase("2026-01-10T12:00:00+08:00", 15, "2025-12-15")] // before the cycle day in January: December of the year before
    // cycleDay 28 across February
    [TestCase("2026-03-01T00:00:00+08:00", 28, "2026-02-28")]
    [TestCase("2026-02-27T23:59:59+08:00", 28, "2026-01-28")]
    public void Cycle_is_the_latest_local_cycle_day_midnight_at_or_before_start(string start, int cycleDay, string cycle)
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var step = new EngineHarness(tariff, Profiles.Of(tariff, cycleDay: cycleDay)).Process(Cdrs.Sms("s1", start));
        Assert.Multiple(() =>
        {
            Assert.That((string?)step.Single["cycle"], Is.EqualTo(cycle));
            Assert.That((string?)step.Single["start"], Is.EqualTo(start), "start is repeated as received");
        });
    }

    [TestCase("2026-11-30T15:59:59Z", 1, "2026-11-01")]
    [TestCase("2026-11-30T16:00:00Z", 1, "2026-12-01")]
    [TestCase("2026-11-14T16:00:00Z", 15, "2026-11-15")]
    [TestCase("2026-01-10T04:00:00Z", 15, "2025-12-15")]
    public void BillingCycle_start_day_in_local_time(string start, int cycleDay, string cycle)
    {
        Assert.That(Instant.TryParse(start, out var ticks), Is.True);
        var day = BillingCycle.StartDay(ticks, 8 * Instant.TicksPerHour, cycleDay);
        Assert.That(BillingCycle.ToText(day), Is.EqualTo(cycle));
    }

    [Test]
    public void Rollover_resets_used_units_and_re_arms_allowance_reminders()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        // November: 600 s uses the whole allowance (A = 600) and fires the 100 % reminder.
        var november = rater.Process(Cdrs.Voice("v1", 600, start: "2026-11-30T23:59:59+08:00"));
        // 1 December 00:00 local: new cycle, used = 0, so 600 s is again all allowance and the 100 % reminder fires again.
        var december = rater.Process(Cdrs.Voice("v2", 600, start: "2026-11-30T16:00:00Z"));
        Assert.Multiple(() =>
        {
            Assert.That((november.Allowance, november.Kinds.Single()), Is.EqualTo((600L, "allowance")));
            Assert.That((string?)december.Single["cycle"], Is.EqualTo("2026-12-01"));
            Assert.That((december.Allowance, december.Overage), Is.EqualTo((600L, 0L)));
            Assert.That((string?)december.Reminders.Single()["eventId"], Is.EqualTo("8613800000001:2026-12-01:allowance:voice:100"));
        });
    }

    [Test]
    public void A_record_of_an_older_cycle_is_late_and_changes_nothing()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Voice("v1", 60, start: "2026-11-30T10:00:00+08:00"));
        rater.Process(Cdrs.Voice("v2", 60, start: "2026-12-01T00:00:00+08:00"));
        var before = StateFields.Of(rater.State());
        // 23:59:59 local on 30 November belongs to the November cycle, older than December: late.
        var late = rater.Process(Cdrs.Voice("v3", 60, start: "2026-11-30T23:59:59+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(late.Reason, Is.EqualTo("late"));
            Assert.That(late.Reminders, Is.Empty);
            Assert.That(StateFields.Of(rater.State()), Is.EqualTo(before));
        });
    }

    [Test]
    public void An_earlier_record_of_the_same_cycle_is_not_late()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Voice("v1", 60, start: "2026-11-25T10:00:00+08:00"));
        // Earlier in time but the same cycle (2026-11-01): rated; used = 60 + 60 = 120.
        var step = rater.Process(Cdrs.Voice("v2", 60, start: "2026-11-01T00:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)step.Single["cycle"], Is.EqualTo("2026-11-01"));
            Assert.That(rater.State().Used[(int)CdrType.Voice], Is.EqualTo(120));
        });
    }

    [Test]
    public void A_rejected_record_of_a_newer_cycle_does_not_move_the_cycle()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Voice("v1", 60, start: "2026-11-20T10:00:00+08:00"));
        // December data has no rate: no-rate, and the state stays in November ...
        var noRate = rater.Process(Cdrs.Data("d1", 1, start: "2026-12-05T10:00:00+08:00"));
        // ... so a later November record is not late.
        var november = rater.Process(Cdrs.Voice("v2", 60, start: "2026-11-21T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(noRate.Reason, Is.EqualTo("no-rate"));
            Assert.That((string?)november.Single["cycle"], Is.EqualTo("2026-11-01"));
        });
    }

    [Test]
    public void A_subscribers_first_record_is_never_late()
    {
        var tariff = TestTariff.Build(Rates, Plan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Sms("s1", "2020-01-01T00:00:00+08:00"));
        Assert.That((string?)step.Single["cycle"], Is.EqualTo("2020-01-01"));
    }

    /// <summary>
    /// The engine keeps the last cycle worked out per cycle day and finds a record's cycle in it when it can: whatever
    /// came before (other cycle days, other offsets, instants on either side of a cycle's bounds, late instants), the
    /// cycle it gives is the one worked out afresh.
    /// </summary>
    [Test]
    public void The_engines_cycle_windows_give_the_cycle_worked_out_afresh_for_every_instant()
    {
        var engine = new RatingEngine(TestTariff.Build(Rates, Plan));
        var random = new Random(20261207);
        long[] offsets = [8 * Instant.TicksPerHour, 0, -5 * Instant.TicksPerHour, 14 * Instant.TicksPerHour];
        var november = Instant.TicksPerDay * Instant.DaysFromCivil(2026, 11, 1);
        var checkedBounds = 0;
        for (var i = 0; i < 200_000; i++)
        {
            var offset = offsets[random.Next(i % 1000 < 990 ? 1 : offsets.Length)];
            var cycleDay = random.Next(1, 29);
            var ticks = random.Next(4) switch
            {
                // Near a cycle's start: the last and the first tick of a cycle, one second either side.
                0 => BillingCycle.StartTicks(BillingCycle.StartDay(november + random.NextInt64(400 * Instant.TicksPerDay), offset, cycleDay), offset)
                    + random.Next(-1, 2) * random.Next(1, 3) switch { 1 => 1L, _ => Instant.TicksPerSecond },
                // Far in the past or future (years 0001-9999), and anywhere in the two years around the examples.
                1 => random.NextInt64(Instant.TicksPerDay * 400, Instant.TicksPerDay * 2_900_000L) - (Instant.TicksPerDay * 719_162L),
                _ => november + random.NextInt64(-365 * Instant.TicksPerDay, 365 * Instant.TicksPerDay),
            };

            var expected = BillingCycle.StartDay(ticks, offset, cycleDay);
            if (engine.CycleOf(ticks, offset, cycleDay) != expected)
            {
                Assert.Fail($"instant {ticks} ticks, offset {offset}, cycleDay {cycleDay}: {engine.CycleOf(ticks, offset, cycleDay)} against {expected}");
            }

            checkedBounds += ticks == BillingCycle.StartTicks(expected, offset) ? 1 : 0;
        }

        Assert.That(checkedBounds, Is.GreaterThan(1000), "instants exactly at a cycle's start were among them");
    }
}
