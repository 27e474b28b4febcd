using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// What the demo and the compose lab feed the rater: the demo and deploy tariffs relieve Apple activation SMS only at
/// home (SPEC §3 <c>zones</c>), and the demo's synthetic roaming trips begin with a location record (SPEC §7.12) that
/// the engine accepts and that gives the roaming notice before any chargeable use abroad.
/// </summary>
[TestFixture]
public sealed class DemoDataTests
{
    private static readonly string DeployTariff = Deploy.RepoFiles.PathOf("deploy", "config", "tariff", "tariff.json");

    public static IEnumerable<TestCaseData> Tariffs()
    {
        yield return new TestCaseData(Encoding.UTF8.GetString(SyntheticData.DemoTariff())).SetArgDisplayNames("demo");
        yield return new TestCaseData(File.ReadAllText(DeployTariff)).SetArgDisplayNames("deploy");
    }

    [TestCaseSource(nameof(Tariffs))]
    public void The_Apple_activation_ports_are_zero_rated_at_home_only(string tariff)
    {
        var apple = JsonNode.Parse(tariff)!["zeroRated"]!.AsArray()
            .Where(e => ((string?)e!["reason"])?.StartsWith("apple-activation", StringComparison.Ordinal) == true).ToList();

        Assert.That(apple, Has.Count.GreaterThanOrEqualTo(3), "the Apple activation entries");
        Assert.That(apple.Select(e => e!["zones"]?.ToJsonString()), Has.All.EqualTo("""["domestic"]"""));
    }

    [TestCaseSource(nameof(Tariffs))]
    public void An_activation_SMS_from_home_is_zero_rated_and_one_from_Hong_Kong_is_charged(string tariffJson)
    {
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(tariffJson));
        var profile = SubscriberProfile.TryParse("""{"msisdn":"8613800000001","plan":"basic-58","cycleDay":1}"""u8, tariff, out var error);
        Assert.That(profile, Is.Not.Null, error);
        var engine = new EngineHarness(tariff, profile!);

        var home = engine.Process("""{"id":"a1","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"+447537410217","start":"2026-11-15T10:00:00+08:00"}""");
        var away = engine.Process("""{"id":"a2","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"+447537410217","start":"2026-11-15T11:00:00+08:00","visitedMcc":"454"}""");

        Assert.That(home.Single["zeroRated"]?.ToJsonString(), Does.Contain("apple-activation"));
        Assert.That(away.Single["zeroRated"], Is.Null);
        Assert.That(away.Charge, Is.Positive);
    }

    [Test]
    public void Synthetic_roaming_trips_begin_with_a_location_record_and_a_plain_stream_has_none()
    {
        var located = new HashSet<(string Msisdn, string Day, string Mcc)>();
        var tripsChecked = 0;
        foreach (var (record, atHead) in Stream(locationRecords: true, 20_000))
        {
            var start = (string)record["start"]!;
            var key = ((string)record["msisdn"]!, start[..10], (string?)record["visitedMcc"] ?? "");
            if ((string?)record["type"] == "location")
            {
                Assert.That(key.Item3, Is.Not.Empty, "a location record of a trip names the visited network");
                Assert.That(atHead, Is.True, "a location record is never late");
                located.Add(key);
            }
            else if (key.Item3.Length > 0 && atHead)
            {
                // A CDR abroad at the stream's time (not a late record or a repeated delivery): its trip began with a
                // location record the same local day.
                Assert.That(located, Does.Contain(key), record.ToJsonString());
                tripsChecked++;
            }
        }

        Assert.That(located, Has.Count.GreaterThan(10));
        Assert.That(tripsChecked, Is.GreaterThan(100));
        Assert.That(Stream(locationRecords: false, 20_000).Where(r => (string?)r.Record["type"] == "location"), Is.Empty);
    }

    [Test]
    public void The_engine_accepts_every_location_record_of_the_demo_stream_and_gives_the_roaming_notice_on_it()
    {
        const int Subscribers = 300;
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        // A record a minute: 20,000 records span about two weeks, so the travellers make several trips.
        var data = new SyntheticData(seed: 7, Subscribers, stepTicks: TimeSpan.TicksPerMinute, locationRecords: true);
        var profiles = Enumerable.Range(0, Subscribers).Select(i =>
        {
            var profile = new ArrayBufferWriter<byte>();
            data.WriteProfile(i, profile);
            return SubscriberProfile.TryParse(profile.WrittenSpan, tariff, out _)!;
        }).ToArray();
        var engine = new EngineHarness(tariff, profiles);
        var locationIds = new HashSet<string>();
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 20_000; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteNextCdr(buffer);
            var line = buffer.WrittenSpan.ToArray();
            if (line.AsSpan().IndexOf("\"type\":\"location\""u8) >= 0)
            {
                locationIds.Add(JsonNode.Parse(line)!["id"]!.GetValue<string>());
            }

            engine.Process(line);
        }

        var rejectedLocations = engine.All.Rejected.Where(r => locationIds.Contains((string?)r["id"] ?? "")).Select(r => r.ToJsonString()).ToList();
        var roamingOnLocation = engine.All.Reminders.Count(r => (string?)r["kind"] == "roaming" && locationIds.Contains((string?)r["cdrId"] ?? ""));

        Assert.That(locationIds, Has.Count.GreaterThan(10));
        Assert.That(rejectedLocations, Is.Empty);
        Assert.That(engine.All.Rated.Select(r => (string?)r["id"]).Where(id => id is not null && locationIds.Contains(id)), Is.Empty, "location records write no rated record");
        Assert.That(roamingOnLocation, Is.Positive, "roaming notices fire when the phone registers abroad");
    }

    /// <summary>
    /// The stream's records, each with whether it is at the stream's time (its <c>start</c> is the generator's time
    /// after writing it: not a late record, a repeated delivery or one of the deliberately malformed lines).
    /// </summary>
    private static List<(JsonObject Record, bool AtHead)> Stream(bool locationRecords, int count)
    {
        var data = new SyntheticData(seed: 3, subscribers: 500, stepTicks: TimeSpan.TicksPerMinute, locationRecords: locationRecords);
        var buffer = new ArrayBufferWriter<byte>();
        var records = new List<(JsonObject, bool)>();
        for (var i = 0; i < count; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteNextCdr(buffer);
            try
            {
                if (JsonNode.Parse(buffer.WrittenSpan) is JsonObject record && record["start"] is JsonValue start && start.TryGetValue<string>(out var text)
                    && record["msisdn"] is JsonValue msisdn && msisdn.TryGetValue<string>(out _))
                {
                    records.Add((record, text == SyntheticData.FormatInstant(data.NowTicks)));
                }
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                // A deliberately malformed line (not JSON, or a repeated member).
            }
        }

        return records;
    }
}
