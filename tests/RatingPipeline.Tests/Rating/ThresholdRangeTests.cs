using System.Text;
using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// SPEC §3 sets no range for <c>reminderThresholds</c>, and §4 step 8 fires threshold t once per cycle the first time
/// used × 100 ≥ t × allowance. So any integer is a threshold: 0 or below fires on the type's first CDR of a cycle, and
/// above 100 once the used units exceed a smaller allowance (after a change to a plan with less).
/// </summary>
[TestFixture]
public sealed class ThresholdRangeTests
{
    // "big": 10 SMS in the allowance. "small": 2, thresholds outside 0–127, and an SMS rate that does not use the
    // allowance, so the units used under "big" stay above the smaller allowance.
    private const string TariffJson = """
        {"version":"t-1","currency":"CNY","utcOffset":"+08:00","homeMcc":["460"],"zones":{},"defaultRoamingZone":"ROW","zeroRated":[],
         "plans":{
          "big":{"allowances":{"smsCount":10},"reminderThresholds":[-5],
                 "rates":[{"type":"sms","useAllowance":true,"unit":1,"increment":1,"price":100000}]},
          "small":{"allowances":{"smsCount":2},"reminderThresholds":[1000,150,-9223372036854775808,9223372036854775807],
                 "rates":[{"type":"sms","unit":1,"increment":1,"price":100000}]}}}
        """;

    [Test]
    public void A_tariff_takes_thresholds_outside_0_to_127_in_ascending_order()
    {
        var tariff = Load();
        Assert.Multiple(() =>
        {
            Assert.That(tariff.TryGetPlan("big", out var big) ? big.ReminderThresholds : null, Is.EqualTo(new[] { -5L }));
            Assert.That(tariff.TryGetPlan("small", out var small) ? small.ReminderThresholds : null,
                Is.EqualTo(new[] { long.MinValue, 150L, 1000L, long.MaxValue }));
        });
    }

    [Test]
    public void A_negative_threshold_fires_once_on_the_first_CDR_of_the_cycle()
    {
        var tariff = Load();
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, plan: "big"));
        var first = rater.Process(Cdrs.Sms("s1", "2026-11-02T10:00:00+08:00"));
        var second = rater.Process(Cdrs.Sms("s2", "2026-11-02T11:00:00+08:00"));
        var nextCycle = rater.Process(Cdrs.Sms("s3", "2026-12-02T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(first.Reminders.Select(r => (string?)r["eventId"]), Is.EqualTo(new[] { "8613800000001:2026-11-01:allowance:sms:-5" }));
            Assert.That((long?)first.Reminders[0]["threshold"], Is.EqualTo(-5));
            Assert.That((long?)first.Reminders[0]["used"], Is.EqualTo(1));
            Assert.That(second.Reminders, Is.Empty, "once per cycle");
            Assert.That(nextCycle.Reminders.Select(r => (string?)r["eventId"]), Is.EqualTo(new[] { "8613800000001:2026-12-01:allowance:sms:-5" }));
        });
    }

    [Test]
    public void A_threshold_above_100_fires_once_the_used_units_exceed_a_smaller_allowance_and_survives_a_restore()
    {
        var tariff = Load();
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, plan: "big"));
        for (var i = 1; i <= 4; i++)
        {
            rater.Process(Cdrs.Sms($"b{i}", $"2026-11-02T1{i}:00:00+08:00"));
        }

        // Moved to "small": 4 used against an allowance of 2 is 200 %: 150 and the smallest long fire, 1000 does not.
        rater.Engine.SetProfile(Profiles.Of(tariff, plan: "small"));
        var moved = rater.Process(Cdrs.Sms("s1", "2026-11-03T10:00:00+08:00"));
        var allowance = moved.Reminders.Where(r => (string?)r["kind"] == "allowance").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(allowance.Select(r => (long?)r["threshold"]), Is.EqualTo(new long?[] { long.MinValue, 150 }), "ascending");
            Assert.That(allowance.Select(r => (string?)r["eventId"]), Is.EqualTo(new[]
            {
                "8613800000001:2026-11-01:allowance:sms:-9223372036854775808",
                "8613800000001:2026-11-01:allowance:sms:150",
            }));
            Assert.That(allowance.Select(r => (long?)r["used"]), Is.All.EqualTo(4));
            Assert.That(rater.State().Counters.HasFired(CdrType.Sms, 150), Is.True);
            Assert.That(rater.State().Counters.HasFired(CdrType.Sms, 1000), Is.False);
        });

        // The fired thresholds travel with the state record: a restored state does not fire them again.
        Assert.That(UsageStateCodec.TryRead(UsageStateCodec.ToArray(rater.State()), out var restored), Is.True);
        var again = new EngineHarness(tariff, Profiles.Of(tariff, plan: "small"));
        Assert.That(MsisdnKey.TryCompute(Cdrs.Msisdn, out var key), Is.True);
        again.Engine.SetState(key, in restored);
        Assert.That(again.Process(Cdrs.Sms("s2", "2026-11-03T11:00:00+08:00")).Reminders, Is.Empty);
    }

    private static Tariff Load() => TariffLoader.Load(Encoding.UTF8.GetBytes(TariffJson));
}
