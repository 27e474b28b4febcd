using System.Text;
using NUnit.Framework;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §3: destination, zone, and the first matching rate.</summary>
[TestFixture]
public sealed class RateMatchingTests
{
    // A 1 s call at unit 1 costs exactly the price, so the charge names the rate that matched.
    private static long PriceOf(EngineHarness rater, string cdr) => rater.Process(cdr).Charge;

    [TestCase("13900000000", 1)] // no 00: national
    [TestCase("0", 1)]
    [TestCase("0044207000000", 2)] // 00 and not 0086: intl
    [TestCase("+4420700000", 2)] // + → 00: intl
    [TestCase("00", 2)] // starts with 00, not with 0086
    [TestCase("008", 2)] // too short to start with 0086
    [TestCase("0085291234567", 2)] // 0085 is not 0086
    [TestCase("008613900000000", 1)] // 0086: national
    [TestCase("+8613900000000", 1)] // + → 0086: national
    [TestCase("0086", 1)]
    [TestCase("+86", 1)]
    [TestCase("86139", 1)]
    public void Dest_is_intl_for_00_except_0086(string peer, long price)
    {
        var tariff = TestTariff.Build(
        [
            TestTariff.Rate("voice", dest: "national", price: 1, unit: 1, increment: 1),
            TestTariff.Rate("voice", dest: "intl", price: 2, unit: 1, increment: 1),
        ]);
        Assert.That(PriceOf(new EngineHarness(tariff, Profiles.Of(tariff)), Cdrs.Voice("v", 1, peer: peer)), Is.EqualTo(price));
    }

    [TestCase(null, "domestic", 1)] // absent: home network
    [TestCase("460", "domestic", 1)] // the home MCC given explicitly
    [TestCase("454", "HMT", 2)] // listed in HMT
    [TestCase("455", "HMT", 2)]
    [TestCase("440", "Z1", 3)] // listed in Z1
    [TestCase("310", "Z1", 3)]
    [TestCase("262", "ROW", 4)] // listed nowhere: the default roaming zone
    [TestCase("000", "ROW", 4)]
    [TestCase("461", "ROW", 4)] // near the home MCC is not home
    public void Zone_is_domestic_a_listed_zone_or_the_default_roaming_zone(string? mcc, string zone, long price)
    {
        var tariff = TestTariff.Build(
        [
            TestTariff.Rate("voice", zone: "domestic", price: 1, unit: 1, increment: 1),
            TestTariff.Rate("voice", zone: "HMT", price: 2, unit: 1, increment: 1),
            TestTariff.Rate("voice", zone: "Z1", price: 3, unit: 1, increment: 1),
            TestTariff.Rate("voice", zone: "ROW", price: 4, unit: 1, increment: 1),
        ]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Voice("v", 1, mcc: mcc));
        Assert.Multiple(() =>
        {
            Assert.That((string?)step.Single["zone"], Is.EqualTo(zone));
            Assert.That(step.Charge, Is.EqualTo(price));
        });
    }

    [Test]
    public void Null_visitedMcc_is_the_home_network()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("data", zone: "domestic", price: 1, unit: 1, increment: 1)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(
            $"{{\"id\":\"d\",\"type\":\"data\",\"msisdn\":\"{Cdrs.Msisdn}\",\"start\":\"{Cdrs.Start}\",\"bytes\":7,\"visitedMcc\":null}}");
        Assert.That(((string?)step.Single["zone"], step.Charge), Is.EqualTo(("domestic", 7L)));
    }

    [Test]
    public void A_home_MCC_listed_in_a_zone_is_still_domestic()
    {
        // Domestic when visitedMcc is in homeMcc, whatever a zone lists.
        const string json = """
            {"version":"t","utcOffset":"+08:00","homeMcc":["460","461"],"zones":{"ROW":["999"],"NEAR":["461","454"]},
             "defaultRoamingZone":"ROW","plans":{"p":{"rates":[
               {"type":"sms","zone":"domestic","unit":1,"increment":1,"price":1},
               {"type":"sms","zone":"NEAR","unit":1,"increment":1,"price":2},
               {"type":"sms","zone":"ROW","unit":1,"increment":1,"price":3}]}}}
            """;
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(json));
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        Assert.Multiple(() =>
        {
            Assert.That((string?)rater.Process(Cdrs.Sms("s1", mcc: "461")).Single["zone"], Is.EqualTo("domestic"));
            Assert.That((string?)rater.Process(Cdrs.Sms("s2", mcc: "454")).Single["zone"], Is.EqualTo("NEAR"));
            // The default roaming zone may itself be listed in zones: both listed and unlisted MCCs go there.
            Assert.That((string?)rater.Process(Cdrs.Sms("s3", mcc: "999")).Single["zone"], Is.EqualTo("ROW"));
            Assert.That((string?)rater.Process(Cdrs.Sms("s4", mcc: "262")).Single["zone"], Is.EqualTo("ROW"));
        });
    }

    [Test]
    public void The_first_matching_rate_in_list_order_wins()
    {
        // A catch-all first shadows the specific rate after it; in the other order the specific one wins where it applies.
        var catchAllFirst = TestTariff.Build(
        [
            TestTariff.Rate("*", zone: "*", direction: "*", dest: "*", price: 9, unit: 1, increment: 1),
            TestTariff.Rate("voice", zone: "domestic", direction: "mo", dest: "national", price: 1, unit: 1, increment: 1),
        ]);
        var specificFirst = TestTariff.Build(
        [
            TestTariff.Rate("voice", zone: "domestic", direction: "mo", dest: "national", price: 1, unit: 1, increment: 1),
            TestTariff.Rate("*", zone: "*", direction: "*", dest: "*", price: 9, unit: 1, increment: 1),
        ]);
        var a = new EngineHarness(catchAllFirst, Profiles.Of(catchAllFirst));
        var b = new EngineHarness(specificFirst, Profiles.Of(specificFirst));
        Assert.Multiple(() =>
        {
            Assert.That(PriceOf(a, Cdrs.Voice("v1", 1)), Is.EqualTo(9));
            Assert.That(PriceOf(b, Cdrs.Voice("v1", 1)), Is.EqualTo(1));
            Assert.That(PriceOf(b, Cdrs.Voice("v2", 1, direction: "mt")), Is.EqualTo(9));
            Assert.That(PriceOf(b, Cdrs.Voice("v3", 1, peer: "+44207")), Is.EqualTo(9));
            Assert.That(PriceOf(b, Cdrs.Voice("v4", 1, mcc: "454")), Is.EqualTo(9));
        });
    }

    [Test]
    public void Absent_fields_match_anything_like_star()
    {
        // Only type given: matches voice in any zone, direction and dest; "*" type matches SMS.
        var tariff = TestTariff.Build(
        [
            TestTariff.Rate("voice", price: 5, unit: 1, increment: 1),
            TestTariff.Rate(null, price: 7, unit: 1, increment: 1),
        ]);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        Assert.Multiple(() =>
        {
            Assert.That(PriceOf(rater, Cdrs.Voice("v1", 1, direction: "mt", peer: "+44207", mcc: "440")), Is.EqualTo(5));
            Assert.That(PriceOf(rater, Cdrs.Sms("s1", direction: "mt", mcc: "262")), Is.EqualTo(7));
            Assert.That(PriceOf(rater, Cdrs.Data("d1", 1)), Is.EqualTo(7));
        });
    }

    [Test]
    public void Data_matches_only_entries_without_direction_and_dest()
    {
        // The first two entries name a direction or a dest, which data does not have: the third ("*") matches.
        var tariff = TestTariff.Build(
        [
            TestTariff.Rate("data", direction: "mo", price: 5, unit: 1, increment: 1),
            TestTariff.Rate("data", dest: "national", price: 6, unit: 1, increment: 1),
            TestTariff.Rate("data", direction: "*", dest: "*", price: 7, unit: 1, increment: 1),
        ]);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        Assert.That(PriceOf(rater, Cdrs.Data("d1", 1)), Is.EqualTo(7));
    }

    [Test]
    public void Data_with_only_directional_entries_is_no_rate()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("*", direction: "mo", price: 5, unit: 1, increment: 1)]);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        Assert.Multiple(() =>
        {
            Assert.That(rater.Process(Cdrs.Data("d1", 1)).Reason, Is.EqualTo("no-rate"));
            Assert.That(PriceOf(rater, Cdrs.Voice("v1", 1)), Is.EqualTo(5));
        });
    }

    [Test]
    public void No_matching_rate_is_no_rate_and_changes_nothing()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("voice", zone: "domestic", direction: "mo", price: 5, unit: 1, increment: 1)]);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Voice("v1", 1));
        var before = StateFields.Of(rater.State());
        var mt = rater.Process(Cdrs.Voice("v2", 1, direction: "mt"));
        var roaming = rater.Process(Cdrs.Voice("v3", 1, mcc: "454"));
        var sms = rater.Process(Cdrs.Sms("s1"));
        Assert.Multiple(() =>
        {
            Assert.That(new[] { mt.Reason, roaming.Reason, sms.Reason }, Is.All.EqualTo("no-rate"));
            Assert.That(roaming.Reminders, Is.Empty, "a rejected roaming CDR fires no roaming reminder");
            Assert.That(StateFields.Of(rater.State()), Is.EqualTo(before));
        });
    }

    [Test]
    public void The_rated_record_carries_every_field()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("voice", price: 150_000, unit: 60, increment: 60)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Voice("v-1", 61, start: "2026-11-30T16:00:00Z", mcc: "440"));
        var expected = new Dictionary<string, object?>
        {
            ["id"] = "v-1",
            ["msisdn"] = Cdrs.Msisdn,
            ["type"] = "voice",
            ["start"] = "2026-11-30T16:00:00Z",
            ["cycle"] = "2026-12-01",
            ["plan"] = "p",
            ["tariffVersion"] = TestTariff.Version,
            ["zone"] = "Z1",
            // B = 120, A = 0, O = 120, C = (120 × 150000 + 30) / 60 = 300000.
            ["billableUnits"] = 120L,
            ["allowanceUnits"] = 0L,
            ["overageUnits"] = 120L,
            ["charge"] = 300_000L,
            ["zeroRated"] = null,
            // The per-call details and the running totals of the cycle after this CDR (no allowance used, no cap).
            ["direction"] = "mo",
            ["peer"] = Cdrs.NationalPeer,
            ["durationSec"] = 61L,
            ["bytes"] = null,
            ["visitedMcc"] = "440",
            ["usedAfter"] = 0L,
            ["cappedAfter"] = 0L,
            ["spendAfter"] = 300_000L,
        };
        var record = step.Single;
        Assert.Multiple(() =>
        {
            Assert.That(record.Select(p => p.Key), Is.EquivalentTo(expected.Keys));
            foreach (var (name, value) in expected)
            {
                object? actual = value switch
                {
                    null => record[name]?.ToJsonString(),
                    long => (long?)record[name],
                    _ => (string?)record[name],
                };
                Assert.That(actual, Is.EqualTo(value), name);
            }

            Assert.That(step.Result, Is.EqualTo(RatingPipeline.Rating.RatingResult.Rated));
        });
    }
}
