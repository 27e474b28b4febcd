using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.8 allowance and high-spend reminders.</summary>
[TestFixture]
public sealed class AllowanceReminderTests
{
    private static readonly string[] Rates =
    [
        TestTariff.Rate("voice", zone: "domestic", price: 150_000, unit: 60, increment: 60, allowance: true),
        TestTariff.Rate("sms", zone: "domestic", price: 400_000, allowance: true),
    ];

    private static EngineHarness NewRater(string plan, string profile = "")
    {
        var tariff = TestTariff.Build(Rates, plan);
        return new EngineHarness(tariff, Profiles.Of(tariff, profile));
    }

    [Test]
    public void Allowance_thresholds_fire_once_each_several_on_one_CDR()
    {
        // voiceSec 600, thresholds 50, 80, 100: fires when used × 100 ≥ t × 600, i.e. used ≥ 300, 480, 600.
        var rater = NewRater("\"allowances\":{\"voiceSec\":600},\"reminderThresholds\":[50,80,100]");
        var a = rater.Process(Cdrs.Voice("v1", 240)); // used 240: 24000 < 30000 — none
        var b = rater.Process(Cdrs.Voice("v2", 300)); // used 540: 54000 ≥ 30000 and ≥ 48000, < 60000 — 50 and 80 on one CDR
        var c = rater.Process(Cdrs.Voice("v3", 60)); // used 600: 100
        var d = rater.Process(Cdrs.Voice("v4", 60)); // used stays 600 (A = 0): each fires once per cycle — none
        Assert.Multiple(() =>
        {
            Assert.That(a.Reminders, Is.Empty);
            Assert.That(b.Reminders.Select(r => (long?)r["threshold"]), Is.EqualTo(new long?[] { 50, 80 }));
            Assert.That(c.Reminders.Select(r => (long?)r["threshold"]), Is.EqualTo(new long?[] { 100 }));
            Assert.That(d.Reminders, Is.Empty);
        });

        var fifty = b.Reminders[0];
        var expected = new Dictionary<string, object>
        {
            ["eventId"] = "8613800000001:2026-11-01:allowance:voice:50",
            ["msisdn"] = Cdrs.Msisdn,
            ["kind"] = "allowance",
            ["cycle"] = "2026-11-01",
            ["cdrId"] = "v2",
            ["at"] = Cdrs.Start,
            ["type"] = "voice",
            ["threshold"] = 50L,
            ["used"] = 540L,
            ["allowance"] = 600L,
            ["overagePrice"] = 150_000L,
            ["overageUnit"] = 60L,
        };
        AssertFields(fifty, expected);
    }

    [Test]
    public void One_CDR_crossing_80_and_100_percent_fires_both_in_order()
    {
        // voiceSec 600: a 700 s call → B = 720, A = 600, O = 120; used = 600 ≥ 480 and ≥ 600: 80 then 100.
        var rater = NewRater("\"allowances\":{\"voiceSec\":600},\"reminderThresholds\":[80,100]");
        var step = rater.Process(Cdrs.Voice("v1", 700));
        Assert.Multiple(() =>
        {
            Assert.That((step.Allowance, step.Overage), Is.EqualTo((600L, 120L)));
            Assert.That(step.Reminders.Select(r => (string?)r["eventId"]), Is.EqualTo(new[]
            {
                "8613800000001:2026-11-01:allowance:voice:80",
                "8613800000001:2026-11-01:allowance:voice:100",
            }));
            Assert.That(step.Reminders.Select(r => (long?)r["used"]), Is.All.EqualTo(600));
        });
    }

    [Test]
    public void Allowance_threshold_compares_exactly_without_rounding()
    {
        // smsCount 7, threshold 80: 80 × 7 = 560; used 5 → 500 < 560, used 6 → 600 ≥ 560 (80 % of 7 is 5.6).
        var rater = NewRater("\"allowances\":{\"smsCount\":7},\"reminderThresholds\":[80]");
        var steps = Enumerable.Range(1, 6).Select(i => rater.Process(Cdrs.Sms($"s{i}"))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(steps.Take(5).SelectMany(s => s.Reminders), Is.Empty);
            Assert.That((long?)steps[5].Reminders.Single()["used"], Is.EqualTo(6));
            Assert.That((string?)steps[5].Reminders.Single()["eventId"], Is.EqualTo("8613800000001:2026-11-01:allowance:sms:80"));
        });
    }

    [Test]
    public void Allowance_reminders_are_re_armed_in_the_next_cycle()
    {
        var rater = NewRater("\"allowances\":{\"voiceSec\":600},\"reminderThresholds\":[80,100]");
        rater.Process(Cdrs.Voice("v1", 600, start: "2026-11-10T10:00:00+08:00"));
        // December: used restarts at 0; 480 s → used 480: 48000 ≥ 48000 fires 80 again, for the new cycle.
        var step = rater.Process(Cdrs.Voice("v2", 480, start: "2026-12-10T10:00:00+08:00"));
        Assert.That(step.Reminders.Select(r => (string?)r["eventId"]),
            Is.EqualTo(new[] { "8613800000001:2026-12-01:allowance:voice:80" }));
    }

    [Test]
    public void Allowance_reminder_carries_the_CDR_rates_price_beyond_the_plan()
    {
        // The first SMS uses the whole smsCount 1: 100 % fires with the SMS rate's price and unit.
        var rater = NewRater("\"allowances\":{\"smsCount\":1},\"reminderThresholds\":[100]");
        var reminder = rater.Process(Cdrs.Sms("s1")).Reminders.Single();
        Assert.That(((long?)reminder["overagePrice"], (long?)reminder["overageUnit"], (string?)reminder["type"]),
            Is.EqualTo(((long?)400_000, (long?)1, "sms")));
    }

    [Test]
    public void High_spend_fires_once_when_spend_reaches_the_plan_threshold()
    {
        // H = 1000000; each SMS costs 400000: S = 400000, 800000, 1200000 (≥ H: fires), 1600000 (already fired).
        var rater = NewRater("\"highSpendThreshold\":1000000");
        var steps = Enumerable.Range(1, 4).Select(i => rater.Process(Cdrs.Sms($"s{i}"))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(steps.Select(s => s.Reminders.Count), Is.EqualTo(new[] { 0, 0, 1, 0 }));
            AssertFields(steps[2].Reminders[0], new Dictionary<string, object>
            {
                ["eventId"] = "8613800000001:2026-11-01:high-spend:1000000",
                ["kind"] = "high-spend",
                ["cdrId"] = "s3",
                ["threshold"] = 1_000_000L,
                ["spend"] = 1_200_000L,
                ["cycle"] = "2026-11-01",
                ["at"] = Cdrs.Start,
                ["msisdn"] = Cdrs.Msisdn,
            });
        });
    }

    [Test]
    public void High_spend_fires_when_spend_equals_the_threshold()
    {
        // H = 800000: S = 800000 after two SMS, S ≥ H.
        var rater = NewRater("\"highSpendThreshold\":800000");
        rater.Process(Cdrs.Sms("s1"));
        Assert.That((long?)rater.Process(Cdrs.Sms("s2")).Reminders.Single()["spend"], Is.EqualTo(800_000));
    }

    [Test]
    public void The_profiles_high_spend_threshold_overrides_the_plans()
    {
        // Lower override 500000: fires at S = 800000 (second SMS) with threshold 500000.
        var lower = NewRater("\"highSpendThreshold\":1000000", "\"highSpendThreshold\":500000");
        // Higher override 2000000: S = 1200000 passes the plan's 1000000 but not the override; fires at S = 2000000 (fifth SMS).
        var higher = NewRater("\"highSpendThreshold\":1000000", "\"highSpendThreshold\":2000000");
        // The plan has none, the profile has one: it applies.
        var profileOnly = NewRater("", "\"highSpendThreshold\":400000");
        var lowerSteps = Enumerable.Range(1, 3).Select(i => lower.Process(Cdrs.Sms($"s{i}"))).ToList();
        var higherSteps = Enumerable.Range(1, 5).Select(i => higher.Process(Cdrs.Sms($"s{i}"))).ToList();
        var profileOnlyStep = profileOnly.Process(Cdrs.Sms("s1"));
        Assert.Multiple(() =>
        {
            Assert.That(lowerSteps.Select(s => s.Reminders.Count), Is.EqualTo(new[] { 0, 1, 0 }));
            Assert.That((string?)lowerSteps[1].Reminders[0]["eventId"], Is.EqualTo("8613800000001:2026-11-01:high-spend:500000"));
            Assert.That(higherSteps.Select(s => s.Reminders.Count), Is.EqualTo(new[] { 0, 0, 0, 0, 1 }));
            Assert.That(((long?)higherSteps[4].Reminders[0]["threshold"], (long?)higherSteps[4].Reminders[0]["spend"]),
                Is.EqualTo(((long?)2_000_000, (long?)2_000_000)));
            Assert.That((long?)profileOnlyStep.Reminders.Single()["threshold"], Is.EqualTo(400_000));
        });
    }

    [Test]
    public void Without_a_high_spend_threshold_it_never_fires()
    {
        var rater = NewRater("");
        var reminders = Enumerable.Range(1, 10).SelectMany(i => rater.Process(Cdrs.Sms($"s{i}")).Reminders);
        Assert.That(reminders, Is.Empty);
    }

    [Test]
    public void High_spend_is_re_armed_in_the_next_cycle()
    {
        // S resets with the cycle: 3 SMS in December reach 1200000 again.
        var rater = NewRater("\"highSpendThreshold\":1000000");
        foreach (var i in Enumerable.Range(1, 3))
        {
            rater.Process(Cdrs.Sms($"n{i}", "2026-11-05T10:00:00+08:00"));
        }

        var december = Enumerable.Range(1, 3).Select(i => rater.Process(Cdrs.Sms($"d{i}", "2026-12-05T10:00:00+08:00"))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(december.Select(s => s.Reminders.Count), Is.EqualTo(new[] { 0, 0, 1 }));
            Assert.That((string?)december[2].Reminders[0]["eventId"], Is.EqualTo("8613800000001:2026-12-01:high-spend:1000000"));
        });
    }

    [Test]
    public void Reminders_of_one_CDR_come_in_the_specified_order()
    {
        // One SMS crossing smsCount 1 (100 %) and H = 0 → allowance then high-spend; roaming from 454 last.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("sms", price: 400_000, allowance: true)],
            "\"allowances\":{\"smsCount\":1},\"reminderThresholds\":[100],\"highSpendThreshold\":0");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        Assert.That(rater.Process(Cdrs.Sms("s1", mcc: "454")).Kinds, Is.EqualTo(new[] { "allowance", "high-spend", "roaming" }));
    }

    internal static void AssertFields(JsonObject reminder, IDictionary<string, object> expected)
    {
        foreach (var (name, value) in expected)
        {
            object? actual = value is long ? (long?)reminder[name] : (string?)reminder[name];
            Assert.That(actual, Is.EqualTo(value), name);
        }
    }
}
