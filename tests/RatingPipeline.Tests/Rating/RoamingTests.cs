using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.8 roaming: on arrival in another country, with that zone's rates.</summary>
[TestFixture]
public sealed class RoamingTests
{
    private static readonly string[] Rates =
    [
        // An intl voice rate listed first: the reminder lists national rates, so it must not show up there.
        TestTariff.Rate("voice", zone: "HMT", direction: "mo", dest: "intl", price: 5, unit: 60, increment: 60),
        TestTariff.Rate("voice", zone: "HMT", direction: "mo", price: 990_000, unit: 60, increment: 60),
        TestTariff.Rate("voice", zone: "HMT", direction: "mt", price: 690_000, unit: 60, increment: 60),
        TestTariff.Rate("sms", zone: "HMT", direction: "mo", price: 360_000, unit: 1, increment: 1),
        TestTariff.Rate("data", zone: "HMT", price: 3_000_000, unit: 1_048_576, increment: 10_240),
        TestTariff.Rate("sms", zone: "*", direction: "mo", dest: "*", price: 1_000_000),
        TestTariff.Rate("voice", zone: "*", direction: "*", dest: "*", price: 2_990_000, unit: 60, increment: 60),
    ];

    private static EngineHarness NewRater()
    {
        var tariff = TestTariff.Build(Rates);
        return new EngineHarness(tariff, Profiles.Of(tariff));
    }

    private static bool Notifies(Step step) => step.Kinds.Contains("roaming");

    [Test]
    public void The_first_roaming_CDR_fires_with_the_zones_rates()
    {
        var step = NewRater().Process(Cdrs.Sms("r1", "2026-11-05T09:00:00+08:00", mcc: "454"));
        var reminder = step.Reminders.Single();
        var expectedRates = JsonNode.Parse("""
            {"voiceMo":{"price":990000,"unit":60},"voiceMt":{"price":690000,"unit":60},
             "smsMo":{"price":360000,"unit":1},"data":{"price":3000000,"unit":1048576}}
            """);
        Assert.Multiple(() =>
        {
            AllowanceReminderTests.AssertFields(reminder, new Dictionary<string, object>
            {
                ["eventId"] = "8613800000001:2026-11-01:roaming:454:r1",
                ["kind"] = "roaming",
                ["msisdn"] = Cdrs.Msisdn,
                ["cycle"] = "2026-11-01",
                ["cdrId"] = "r1",
                ["at"] = "2026-11-05T09:00:00+08:00",
                ["mcc"] = "454",
                ["zone"] = "HMT",
            });
            Assert.That(JsonNode.DeepEquals(reminder["rates"], expectedRates), Is.True, reminder["rates"]?.ToJsonString());
        });
    }

    [Test]
    public void Rates_without_a_match_are_null()
    {
        // ROW (262): voice matches the catch-all for mo and mt, SMS mo the "*" zone entry, data nothing.
        var step = NewRater().Process(Cdrs.Voice("r1", 60, mcc: "262"));
        var expectedRates = JsonNode.Parse("""
            {"voiceMo":{"price":2990000,"unit":60},"voiceMt":{"price":2990000,"unit":60},
             "smsMo":{"price":1000000,"unit":1},"data":null}
            """);
        var reminder = step.Reminders.Single();
        Assert.Multiple(() =>
        {
            Assert.That((string?)reminder["zone"], Is.EqualTo("ROW"));
            Assert.That(reminder.ContainsKey("rates") && JsonNode.DeepEquals(reminder["rates"], expectedRates), Is.True,
                reminder["rates"]?.ToJsonString());
        });
    }

    [Test]
    public void The_same_MCC_within_24_hours_does_not_fire_again()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("r1", "2026-11-05T09:00:00+08:00", mcc: "454"));
        // 23:59:59 after the notice: no.
        var within = rater.Process(Cdrs.Sms("r2", "2026-11-06T08:59:59+08:00", mcc: "454"));
        // Exactly 24 h after the remembered start (the notice's CDR, not the last CDR): fires.
        var after = rater.Process(Cdrs.Sms("r3", "2026-11-06T01:00:00Z", mcc: "454"));
        Assert.Multiple(() =>
        {
            Assert.That(Notifies(within), Is.False);
            Assert.That(Notifies(after), Is.True);
            Assert.That((string?)after.Reminders.Single()["eventId"], Is.EqualTo("8613800000001:2026-11-01:roaming:454:r3"));
        });
    }

    [Test]
    public void Only_a_notice_moves_the_remembered_start()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("r1", "2026-11-05T09:00:00+08:00", mcc: "454"));
        rater.Process(Cdrs.Sms("r2", "2026-11-06T08:00:00+08:00", mcc: "454")); // no notice; remembered start stays 5 Nov 09:00
        var step = rater.Process(Cdrs.Sms("r3", "2026-11-06T09:30:00+08:00", mcc: "454")); // 24.5 h after the notice
        Assert.That(Notifies(step), Is.True);
    }

    [Test]
    public void A_different_MCC_fires_even_in_the_same_zone_and_within_24_hours()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("r1", "2026-11-05T09:00:00+08:00", mcc: "454"));
        var macau = rater.Process(Cdrs.Sms("r2", "2026-11-05T10:00:00+08:00", mcc: "455"));
        // Back to 454 an hour later: it differs from the last notice's MCC (455), so it fires again.
        var back = rater.Process(Cdrs.Sms("r3", "2026-11-05T11:00:00+08:00", mcc: "454"));
        var japan = rater.Process(Cdrs.Sms("r4", "2026-11-05T12:00:00+08:00", mcc: "440"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)macau.Reminders.Single()["mcc"], Is.EqualTo("455"));
            Assert.That((string?)macau.Reminders.Single()["zone"], Is.EqualTo("HMT"));
            Assert.That(Notifies(back), Is.True);
            Assert.That(((string?)japan.Reminders.Single()["mcc"], (string?)japan.Reminders.Single()["zone"]), Is.EqualTo(("440", "Z1")));
        });
    }

    [Test]
    public void Domestic_CDRs_do_not_fire_or_clear_the_memory()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("r1", "2026-11-05T09:00:00+08:00", mcc: "454"));
        var home = rater.Process(Cdrs.Voice("h1", 60, "2026-11-05T10:00:00+08:00"));
        var homeMcc = rater.Process(Cdrs.Voice("h2", 60, "2026-11-05T10:30:00+08:00", mcc: "460"));
        var again = rater.Process(Cdrs.Sms("r2", "2026-11-05T11:00:00+08:00", mcc: "454"));
        Assert.Multiple(() =>
        {
            Assert.That(home.Reminders, Is.Empty);
            Assert.That(homeMcc.Reminders, Is.Empty);
            Assert.That(Notifies(again), Is.False);
        });
    }

    [Test]
    public void A_negative_time_difference_never_re_notifies()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("r1", "2026-11-10T09:00:00+08:00", mcc: "454"));
        // Same cycle, same MCC, 5 days (and 10 days) before the remembered start: start − remembered < 0.
        var earlier = rater.Process(Cdrs.Sms("r2", "2026-11-05T09:00:00+08:00", mcc: "454"));
        var muchEarlier = rater.Process(Cdrs.Sms("r3", "2026-11-01T00:00:00+08:00", mcc: "454"));
        Assert.Multiple(() =>
        {
            Assert.That(Notifies(earlier), Is.False);
            Assert.That(Notifies(muchEarlier), Is.False);
        });
    }

    [Test]
    public void The_roaming_memory_spans_cycles()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("r1", "2026-11-30T20:00:00+08:00", mcc: "454"));
        // New cycle 4 hours later, same MCC: the memory is kept, so no notice.
        var step = rater.Process(Cdrs.Sms("r2", "2026-12-01T00:00:00+08:00", mcc: "454"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)step.Single["cycle"], Is.EqualTo("2026-12-01"));
            Assert.That(Notifies(step), Is.False);
        });
    }

    [Test]
    public void A_rejected_roaming_CDR_fires_nothing_and_is_not_remembered()
    {
        // Data in Japan (Z1) has no rate: no-rate, no notice; then an SMS in Japan is the first roaming notice.
        var rater = NewRater();
        var rejected = rater.Process(Cdrs.Data("r1", 1, mcc: "440"));
        var sms = rater.Process(Cdrs.Sms("r2", mcc: "440"));
        Assert.Multiple(() =>
        {
            Assert.That((rejected.Reason, rejected.Reminders.Count), Is.EqualTo(("no-rate", 0)));
            Assert.That(Notifies(sms), Is.True);
        });
    }
}
