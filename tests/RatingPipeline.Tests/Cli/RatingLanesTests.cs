using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Lanes;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;
using RatingPipeline.Tests.Reference;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// <c>ratingctl rate</c> with several rating lanes writes exactly the bytes one lane writes, in every output file and the
/// summary (SPEC §6: each file in processing order) — on generated data with clock records, profile lines, invalid and
/// blank lines, and on the reference generator's streams; and the lane router sends every record the engine accepts to
/// the lane of its msisdn.
/// </summary>
[TestFixture]
public sealed class RatingLanesTests
{
    private static readonly string[] Files = ["rated.jsonl", "reminders.jsonl", "rejected.jsonl", "bills.jsonl"];

    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = Directory.CreateTempSubdirectory("rating-lanes-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    [Test]
    public async Task Two_and_three_lanes_write_the_bytes_of_one_lane_on_generated_data_with_clocks_and_profile_lines()
    {
        var data = Path.Combine(_folder, "data");
        await GenerateCommand.RunAsync(data, subscribers: 2_000, cdrs: 40_000, seed: 7, CancellationToken.None);
        await File.WriteAllBytesAsync(Path.Combine(data, "tariff.json"), SyntheticData.DemoTariffWithMonthlyFees());
        var cdrs = Path.Combine(data, "cdrs.jsonl");
        await File.WriteAllLinesAsync(cdrs, WithClocksAndProfileLines(
            await File.ReadAllLinesAsync(cdrs), await File.ReadAllLinesAsync(Path.Combine(data, "subscribers.jsonl")),
            JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(data, "tariff.json")))!["plans"]!.AsObject().Select(p => p.Key).ToArray()));

        var one = await RateAsync(data, lanes: 1);
        Assert.Multiple(() =>
        {
            // The run must exercise what the lanes have to merge: clocks over every subscriber, fees, bills, profiles.
            Assert.That(one.Summary, Does.Match(@"^\d+ rated, [1-9]\d* rejected, [1-9]\d* reminders, [1-9]\d* bills, \d+ located, [1-9]\d* fees, [1-9]\d* clocks, [1-9]\d* profiles$"));
            Assert.That(one.Files["bills.jsonl"], Has.Length.GreaterThan(0));
        });
        foreach (var lanes in new[] { 2, 3 })
        {
            var several = await RateAsync(data, lanes);
            Assert.Multiple(() =>
            {
                Assert.That(several.Summary, Is.EqualTo(one.Summary), $"summary with {lanes} lanes");
                foreach (var file in Files)
                {
                    Assert.That(FirstDifference(one.Files[file], several.Files[file]), Is.Null, $"{file} with {lanes} lanes");
                }
            });
        }
    }

    [Test]
    public async Task Two_lanes_write_the_bytes_of_one_lane_on_the_reference_streams()
    {
        var differing = new List<string>();
        for (var seed = 1; seed <= 40; seed++)
        {
            var stream = StreamGenerator.Generate(seed);
            var data = Path.Combine(_folder, $"seed-{seed}");
            Directory.CreateDirectory(data);
            await File.WriteAllTextAsync(Path.Combine(data, "tariff.json"), stream.TariffJson);
            await File.WriteAllTextAsync(Path.Combine(data, "subscribers.jsonl"), stream.SubscribersJsonl);
            await File.WriteAllTextAsync(Path.Combine(data, "cdrs.jsonl"), stream.CdrsJsonl);
            var one = await RateAsync(data, lanes: 1);
            var two = await RateAsync(data, lanes: 2);
            if (two.Summary != one.Summary)
            {
                differing.Add($"seed {seed}: summary {two.Summary} instead of {one.Summary}");
            }

            differing.AddRange(Files.Select(file => (file, FirstDifference(one.Files[file], two.Files[file])))
                .Where(d => d.Item2 is not null)
                .Select(d => $"seed {seed}: {d.file}: {d.Item2}"));
        }

        Assert.That(differing, Is.Empty);
    }

    [Test]
    public void Router_sends_every_record_the_engine_accepts_to_the_lane_of_its_msisdn_and_a_clock_to_every_lane()
    {
        var router = new LaneRouter(2);
        var decoder = new CdrDecoder();
        var checkedLines = 0;
        var scanned = 0;
        for (var seed = 1; seed <= 40; seed++)
        {
            foreach (var text in StreamGenerator.Generate(seed).CdrsJsonl.Split('\n').Where(l => l.Trim(' ', '\t', '\r').Length > 0))
            {
                var line = Encoding.UTF8.GetBytes(text);
                var route = router.Route(line);
                if (LaneRouter.TryScanSubscriberRecord(line, out _))
                {
                    scanned++;
                }

                if (decoder.Decode(line, out var cdr) != InvalidCause.None)
                {
                    continue;
                }

                checkedLines++;
                var expected = cdr.Kind switch
                {
                    RecordKind.Clock => LaneRouter.EveryLane,
                    RecordKind.Profile => MsisdnKey.TryCompute(decoder.RejectedMsisdn, out var key) ? (byte)LaneRouter.LaneOf(key, 2) : route,
                    _ => (byte)LaneRouter.LaneOf(cdr.MsisdnKey, 2),
                };
                Assert.That(route, Is.EqualTo(expected), text);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(checkedLines, Is.GreaterThan(1000), "lines the decoder accepts");
            Assert.That(scanned, Is.GreaterThan(1000), "lines routed by the scan alone");
        });
    }

    [TestCase("""{"id":"a","type":"sms","msisdn":"8613800000001","start":"2026-11-01T00:00:00Z"}""", true, TestName = "A plain CDR is routed by the scan")]
    [TestCase("""{"id":"a", "type" : "voice" ,"msisdn" :"8613800000001"}""", true, TestName = "Whitespace around the colons is read")]
    [TestCase("""{"x":{"msisdn":"8613800000009"},"id":"a","type":"sms","msisdn":"8613800000001"}""", false, TestName = "A nested msisdn first is left to the decoder")]
    [TestCase("""{"id":"a","x":["{",{"y":"]"}],"type":"sms","msisdn":"8613800000001","z":{"msisdn":"8613800000009"}}""", true, TestName = "Brackets before the members are counted outside strings")]
    [TestCase("""{"id":"a","type":"sms","msisdn":"86138\u00300000001"}""", false, TestName = "An escape anywhere is left to the decoder")]
    [TestCase("""{"type":"clock","at":"2026-11-01T00:00:00Z","msisdn":"8613800000001"}""", false, TestName = "A clock with an msisdn is left to the decoder")]
    [TestCase("""{"type":"profile","msisdn":"8613800000001","plan":"p","cycleDay":1}""", false, TestName = "A profile line is left to the decoder")]
    [TestCase("""{"peer":"type","id":"a","type":"sms","msisdn":"8613800000001"}""", true, TestName = "The name as a value first is told from the member")]
    [TestCase("""{"peer":"\"type\":\"clock\"","type":"sms","msisdn":"8613800000001"}""", false, TestName = "An escaped name inside a value first is left to the decoder")]
    [TestCase("""{"id":"a","type":"sms","msisdn":"8613800000001","peer":"1\u0030086"}""", true, TestName = "An escape after the two members is not read")]
    [TestCase("""{"durationSec":60,"bytes":null,"ok":true,"type":"voice","msisdn":"8613800000001"}""", true, TestName = "Numbers and literals before the members are skipped")]
    [TestCase("""{"msisdn":"8613800000001","type":"clock","at":"2026-11-01T00:00:00Z"}""", false, TestName = "A clock read from the left is left to the decoder")]
    [TestCase("""{"msisdn":"8613800000001","type":"sms"}""", true, TestName = "The msisdn before the type is read too")]
    [TestCase("""{"id":"a","type":"sms","msisdn":"86138000000x1"}""", false, TestName = "An msisdn that is no number is left to the decoder")]
    [TestCase("{\"id\":\"a\",\"type\":\"sms\",\"msisdn\":\"8613800000001\"", true, TestName = "A line cut after the msisdn is routed (the engine refuses it anywhere)")]
    [TestCase("""{"id":"a","type":"sms","msisdn":8613800000001}""", false, TestName = "An msisdn that is no string is left to the decoder")]
    [TestCase("{\"id\":\"a\",\"type\":\"sms\",\"msisdn\":\"86138000", false, TestName = "A line cut inside the msisdn is left to the decoder")]
    [TestCase("""[{"id":"a","type":"sms","msisdn":"8613800000001"}]""", false, TestName = "A record inside an array is left to the decoder")]
    public void Scan_settles_only_lines_it_can_read_without_decoding(string line, bool settled)
    {
        var scanned = LaneRouter.TryScanSubscriberRecord(Encoding.UTF8.GetBytes(line), out var key);
        Assert.That(scanned, Is.EqualTo(settled));
        if (settled)
        {
            Assert.That(MsisdnKey.ToText(key), Is.EqualTo("8613800000001"));
        }
    }

    /// <summary>
    /// The CDR lines with, every 400 lines, a clock at the last CDR's start (every third one with an id and msisdn, which
    /// a clock ignores, and one written with an escape); every 350 lines a profile line moving a subscriber to another
    /// plan and cycle day; some bad and blank lines; and after the last CDR three clocks a day apart, so cycles close.
    /// </summary>
    internal static IEnumerable<string> WithClocksAndProfileLines(string[] cdrs, string[] profiles, string[] plans)
    {
        var lastStart = "";
        for (var i = 0; i < cdrs.Length; i++)
        {
            lastStart = StartOf(cdrs[i]) ?? lastStart; // the generated lines include a few malformed ones
            yield return cdrs[i];
            if (i % 400 == 399)
            {
                yield return (i / 400) switch
                {
                    var n when n == 5 => $$"""{"type":"cl\u006fck","at":"{{lastStart}}"}""",
                    var n when n % 3 == 0 => $$"""{"id":"clock-{{i}}","type":"clock","msisdn":"8613800000001","at":"{{lastStart}}"}""",
                    _ => $$"""{"type":"clock","at":"{{lastStart}}"}""",
                };
            }

            if (i % 350 == 349)
            {
                var profile = JsonNode.Parse(profiles[(i * 7) % profiles.Length])!.AsObject();
                profile["type"] = "profile";
                profile["plan"] = plans[i % plans.Length];
                profile["cycleDay"] = 1 + (i % 28);
                yield return profile.ToJsonString();
            }

            switch (i)
            {
                case 1000:
                    yield return "not json";
                    break;
                case 2000:
                    yield return "";
                    break;
                case 3000:
                    yield return """{"type":"profile","msisdn":"8613800000001","plan":"no-such-plan-field","cycleDay":0}""";
                    break;
                case 4000:
                    yield return """{"type":"clock","at":"not an instant","msisdn":"8613800000002"}""";
                    break;
            }
        }

        var last = DateTimeOffset.Parse(lastStart, System.Globalization.CultureInfo.InvariantCulture);
        for (var day = 1; day <= 3; day++)
        {
            yield return $$"""{"type":"clock","at":"{{last.AddDays(day):yyyy-MM-ddTHH:mm:sszzz}}"}""";
        }
    }

    private static string? StartOf(string line)
    {
        try
        {
            return JsonNode.Parse(line) is JsonObject { } record && record["start"] is JsonValue start && start.TryGetValue<string>(out var text)
                ? text
                : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
        {
            return null; // not JSON, or a repeated member name
        }
    }

    private async Task<(string Summary, Dictionary<string, byte[]> Files)> RateAsync(string data, int lanes)
    {
        var output = Path.Combine(data, $"out-{lanes}");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await RateCommand.RunAsync(
            new RateOptions(Path.Combine(data, "tariff.json"), Path.Combine(data, "subscribers.jsonl"), Path.Combine(data, "cdrs.jsonl"), output,
                Progress: false, Lanes: lanes),
            stdout, stderr, CancellationToken.None);
        Assert.That(exit, Is.Zero, () => $"exit code with {lanes} lanes; stderr: {stderr}");
        return (stdout.ToString().Trim(), Files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(output, f))));
    }

    /// <summary>Null when equal; else the first differing line of each.</summary>
    internal static string? FirstDifference(byte[] expected, byte[] actual)
    {
        if (expected.AsSpan().SequenceEqual(actual))
        {
            return null;
        }

        var want = Encoding.UTF8.GetString(expected).Split('\n');
        var got = Encoding.UTF8.GetString(actual).Split('\n');
        for (var i = 0; i < Math.Max(want.Length, got.Length); i++)
        {
            var w = i < want.Length ? want[i] : "(none)";
            var g = i < got.Length ? got[i] : "(none)";
            if (w != g)
            {
                return $"line {i + 1}: expected {w}\n  but was {g}";
            }
        }

        return "same lines, different bytes";
    }
}
