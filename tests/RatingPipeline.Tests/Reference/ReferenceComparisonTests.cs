using System.Globalization;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Tests.Reference;

/// <summary>
/// The product's offline command against the reference rater on generated streams (<see cref="StreamGenerator"/>),
/// compared as data: every output file in processing order with every field equal, rejected records by reason, id,
/// msisdn and raw, and the summary line.
/// <para>
/// One seed, with both outputs and the inputs written to a folder for a look at a difference:
/// <c>REFERENCE_SEED=17 REFERENCE_DUMP=/tmp/seed-17 dotnet test … --filter "FullyQualifiedName~Engine_agrees_with_the_reference"</c>
/// (or the run parameters <c>referenceSeed</c> and <c>referenceDump</c>). The folder then holds <c>tariff.json</c>,
/// <c>subscribers.jsonl</c>, <c>cdrs.jsonl</c>, <c>reference/</c> and <c>engine/</c>.
/// A longer soak: <c>REFERENCE_SEED=1-5000</c>.
/// </para>
/// </summary>
[TestFixture]
public sealed class ReferenceComparisonTests
{
    private const int StreamCount = 200;

    private static string? Setting(string parameter, string variable) =>
        TestContext.Parameters.Get(parameter) is { Length: > 0 } p ? p : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : null;

    private static IEnumerable<int> Seeds() =>
        Setting("referenceSeed", "REFERENCE_SEED") switch
        {
            null => Enumerable.Range(1, StreamCount),
            // "first-last": a longer soak than the test run's 200 streams.
            { } range when range.Split('-') is [var first, var last] =>
                Enumerable.Range(int.Parse(first, CultureInfo.InvariantCulture), int.Parse(last, CultureInfo.InvariantCulture) - int.Parse(first, CultureInfo.InvariantCulture) + 1),
            { } one => [int.Parse(one, CultureInfo.InvariantCulture)],
        };

    [TestCase(1)]
    [TestCase(2)]
    public async Task Engine_agrees_with_the_reference_on_generated_streams(int lanes)
    {
        var dump = Setting("referenceDump", "REFERENCE_DUMP");
        var differing = new List<string>();
        foreach (var seed in Seeds())
        {
            var stream = StreamGenerator.Generate(seed);
            var reference = ReferenceRater.Run(stream.TariffJson, stream.SubscribersJsonl, stream.CdrsJsonl);
            Assert.That(reference.Refusal, Is.Null, $"seed {seed}: the generated input is refused");

            var folder = dump ?? Path.Combine(Path.GetTempPath(), $"rating-reference-{seed}-{Guid.NewGuid():N}");
            try
            {
                var engine = await RunEngineAsync(stream, folder, lanes);
                if (dump is not null)
                {
                    RunOutput.Of(reference).Write(Path.Combine(folder, "reference"));
                }

                if (OutputComparison.FirstDifference(RunOutput.Of(reference), engine) is { } difference)
                {
                    differing.Add($"seed {seed} ({stream.Flavour}): {difference}");
                }
            }
            finally
            {
                if (dump is null && Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        Assert.That(differing, Is.Empty, () =>
            $"{differing.Count} of {Seeds().Count()} streams differ. First: {differing[0]}\n"
            + string.Concat(differing.Skip(1).Take(9).Select(d => "Then " + d.Split('\n')[0] + "\n"))
            + "Reproduce one seed with REFERENCE_SEED=N REFERENCE_DUMP=/tmp/seed-N (see ReferenceComparisonTests).");
    }

    [Test]
    public async Task A_record_of_the_open_previous_cycle_past_its_close_instant_is_late()
    {
        // cycleDay 1 → 5 shortens November to end on Nov 5 (close instant Nov 7 with 48 h of grace); back to 1, a record of
        // Nov 8 names November again, but its event would close November at step 0 (SPEC §7.11), so it is late.
        const string tariff = """{"version":"t1","currency":"CNY","utcOffset":"+08:00","homeMcc":["460"],"zones":{},"defaultRoamingZone":"ROW","lateGraceHours":48,"plans":{"p":{"rates":[{"type":"voice","unit":60,"increment":60,"price":60000}]}}}""";
        static string Voice(string id, string start) =>
            $$"""{"id":"{{id}}","type":"voice","msisdn":"8613800000001","direction":"mo","peer":"13900000000","start":"{{start}}","durationSec":60}""";
        static string Profile(string id, int cycleDay) =>
            $$"""{"type":"profile","id":"{{id}}","msisdn":"8613800000001","plan":"p","cycleDay":{{cycleDay}}}""";
        var (engine, reference) = await RunDirectedAsync(tariff, """{"msisdn":"8613800000001","plan":"p","cycleDay":1}""",
        [
            Voice("v1", "2026-11-02T10:00:00+08:00"), Profile("to-5", 5), Voice("v2", "2026-11-05T10:00:00+08:00"),
            Profile("to-1", 1), Voice("v3", "2026-11-08T10:00:00+08:00"), Voice("v4", "2026-11-06T10:00:00+08:00"),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(engine.Rejected.Select(r => ((string?)r["id"], (string?)r["reason"])), Is.EqualTo(new[] { ((string?)"v3", (string?)"late") }));
            Assert.That(engine.Rated.Select(r => ((string?)r["id"], (string?)r["cycle"])),
                Is.EqualTo(new[] { ((string?)"v1", (string?)"2026-11-01"), ("v2", "2026-11-05"), ("v4", "2026-11-01") }),
                "v4 (Nov 6) is of the still open November: stream time Nov 5 10:00 is before its close instant");
            Assert.That(OutputComparison.FirstDifference(reference, engine), Is.Null);
        });
    }

    [Test]
    public async Task Allowance_thresholds_outside_0_to_127_fire_where_both_readings_say()
    {
        // "big" allows 6,000 s, "small" 600; an MT call uses no allowance, so after the move to "small" the 3,000 s used
        // under "big" stay: 500 % of the new allowance. SPEC §3 sets no range for reminderThresholds.
        const string rates = """[{"type":"voice","direction":"mo","useAllowance":true,"unit":60,"increment":60,"price":60000},{"type":"voice","direction":"mt","unit":60,"increment":60,"price":0}]""";
        const string tariff = """{"version":"t1","currency":"CNY","utcOffset":"+08:00","homeMcc":["460"],"zones":{},"defaultRoamingZone":"ROW","plans":{"big":{"allowances":{"voiceSec":6000},"reminderThresholds":[-5,80],"rates":"""
            + rates + """},"small":{"allowances":{"voiceSec":600},"reminderThresholds":[1000,150,500],"rates":""" + rates + "}}}";
        static string Voice(string id, string direction, string start, int seconds) =>
            $$"""{"id":"{{id}}","type":"voice","msisdn":"8613800000001","direction":"{{direction}}","peer":"13900000000","start":"{{start}}","durationSec":{{seconds}}}""";
        static string Profile(string id, string plan) =>
            $$"""{"type":"profile","id":"{{id}}","msisdn":"8613800000001","plan":"{{plan}}","cycleDay":1}""";
        var (engine, reference) = await RunDirectedAsync(tariff, """{"msisdn":"8613800000001","plan":"big","cycleDay":1}""",
        [
            Voice("v1", "mo", "2026-11-02T10:00:00+08:00", 3000), Profile("to-small", "small"),
            Voice("v2", "mt", "2026-11-03T10:00:00+08:00", 60), Voice("v3", "mt", "2026-11-03T11:00:00+08:00", 60),
            Voice("v4", "mo", "2026-11-03T12:00:00+08:00", 60), Voice("v5", "mo", "2026-12-02T10:00:00+08:00", 60),
        ]);
        Assert.Multiple(() =>
        {
            Assert.That(engine.Reminders.Where(r => (string?)r["kind"] == "allowance").Select(r => ((string?)r["cdrId"], (long?)r["threshold"])),
                Is.EqualTo(new[] { ((string?)"v1", (long?)-5), ("v2", 150), ("v2", 500) }),
                "v3 fires nothing again; v4 brings used down to the allowance (100 %); December's 60 s are 10 % of it");
            Assert.That(OutputComparison.FirstDifference(reference, engine), Is.Null);
        });
    }

    /// <summary>A directed stream (one subscriber line, then the CDR file's lines) through <c>ratingctl rate</c> and through the second reading.</summary>
    private static async Task<(RunOutput Engine, RunOutput Reference)> RunDirectedAsync(string tariff, string subscriber, IEnumerable<string> lines)
    {
        var stream = new GeneratedStream(0, "rule", tariff, subscriber + "\n", string.Concat(lines.Select(l => l + "\n")));
        var folder = Path.Combine(Path.GetTempPath(), $"rating-reference-rule-{Guid.NewGuid():N}");
        try
        {
            var engine = await RunEngineAsync(stream, folder);
            return (engine, RunOutput.Of(ReferenceRater.Run(stream.TariffJson, stream.SubscribersJsonl, stream.CdrsJsonl)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Writes the three files into <paramref name="folder"/>, runs <c>ratingctl rate</c> into <c>engine/</c>, reads its outputs.</summary>
    private static async Task<RunOutput> RunEngineAsync(GeneratedStream stream, string folder, int lanes = 1)
    {
        Directory.CreateDirectory(folder);
        var tariff = Path.Combine(folder, "tariff.json");
        var subscribers = Path.Combine(folder, "subscribers.jsonl");
        var cdrs = Path.Combine(folder, "cdrs.jsonl");
        await File.WriteAllTextAsync(tariff, stream.TariffJson);
        await File.WriteAllTextAsync(subscribers, stream.SubscribersJsonl);
        await File.WriteAllTextAsync(cdrs, stream.CdrsJsonl);
        var outDir = Path.Combine(folder, "engine");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await RateCommand.RunAsync(new RateOptions(tariff, subscribers, cdrs, outDir, Progress: false, Lanes: lanes), stdout, stderr,
            CancellationToken.None);
        if (exit != 0)
        {
            return new RunOutput([], [], [], [], $"(exit {exit}: {stderr.ToString().Trim()})");
        }

        await File.WriteAllTextAsync(Path.Combine(outDir, "summary.txt"), stdout.ToString());
        return RunOutput.Read(outDir, stdout.ToString().Trim());
    }

    [Test]
    public void A_seed_gives_the_same_stream_every_time()
    {
        var first = StreamGenerator.Generate(42);
        var second = StreamGenerator.Generate(42);
        Assert.That(second, Is.EqualTo(first));
        Assert.That(StreamGenerator.Generate(43).CdrsJsonl, Is.Not.EqualTo(first.CdrsJsonl));
    }

    [Test]
    public void The_generated_streams_reach_every_rule_the_comparison_is_meant_to_check()
    {
        var kinds = new HashSet<string>();
        var reasons = new HashSet<string>();
        var fees = new HashSet<string>();
        long bills = 0, topUps = 0, located = 0, clocks = 0, profiles = 0, previousCycleRecords = 0, belowZero = 0;
        foreach (var seed in Enumerable.Range(1, StreamCount))
        {
            var stream = StreamGenerator.Generate(seed);
            var output = ReferenceRater.Run(stream.TariffJson, stream.SubscribersJsonl, stream.CdrsJsonl);
            Assert.That(output.Refusal, Is.Null, $"seed {seed}");
            kinds.UnionWith(output.Reminders.Select(r => (string)r["kind"]!));
            reasons.UnionWith(output.Rejected.Select(r => (string)r["reason"]!));
            fees.UnionWith(output.Rated.Where(r => (string?)r["type"] == "fee").Select(r => (string)r["fee"]!));
            bills += output.Bills.Count;
            topUps += output.Bills.Count(b => (long)b["topUp"]! > 0);
            located += output.Summary!.Located;
            clocks += output.Summary.Clocks;
            profiles += output.Summary.Profiles;
            belowZero += output.Reminders.Count(r => (string?)r["kind"] == "allowance" && (long)r["threshold"]! < 0);

            // A CDR rated into the open previous cycle: its cycle is older than one rated before it for the same msisdn.
            var latest = new Dictionary<string, string>();
            foreach (var r in output.Rated.Where(r => (string?)r["type"] != "fee"))
            {
                var (msisdn, cycle) = ((string)r["msisdn"]!, (string)r["cycle"]!);
                if (latest.TryGetValue(msisdn, out var seen) && string.CompareOrdinal(cycle, seen) < 0)
                {
                    previousCycleRecords++;
                }
                else
                {
                    latest[msisdn] = cycle;
                }
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(kinds, Is.EquivalentTo(new[] { "allowance", "data-cap", "high-spend", "low-balance", "roaming", "plan-change", "vas-precharge", "plan-expiry" }));
            Assert.That(reasons, Is.EquivalentTo(new[] { "invalid", "unknown-subscriber", "unknown-plan", "late", "duplicate", "no-rate" }));
            Assert.That(fees, Is.EquivalentTo(new[] { "monthly", "service" }));
            Assert.That(new[] { bills, topUps, located, clocks, profiles, previousCycleRecords, belowZero }, Has.All.GreaterThan(0),
                "bills, bills with a top-up, located, clocks, profile lines, records of the open previous cycle, allowance reminders at a "
                + "threshold below 0 (above 127: the directed stream below)");
        });
    }

    [Test]
    public void A_stream_without_section_7_members_bills_every_cycle_left_with_no_fees_and_no_minimum()
    {
        // §7.10: without clocks, profile lines, location records and §7 tariff/profile members, the bills have no fees,
        // minimum 0 and topUp 0, and no fee record is written.
        foreach (var seed in Enumerable.Range(1, 40).Where(s => StreamGenerator.Generate(s).Flavour == "compat"))
        {
            var stream = StreamGenerator.Generate(seed);
            var output = ReferenceRater.Run(stream.TariffJson, stream.SubscribersJsonl, stream.CdrsJsonl);
            Assert.That(output.Rated.Where(r => (string?)r["type"] == "fee"), Is.Empty, $"seed {seed}: fee records");
            Assert.That(output.Bills.Where(b => (long)b["minimum"]! != 0 || (long)b["topUp"]! != 0 || ((JsonArray)b["fees"]!).Count != 0), Is.Empty,
                $"seed {seed}: bills with fees or a minimum");
            Assert.That(output.Summary!.Clocks + output.Summary.Located + output.Summary.Profiles, Is.Zero, $"seed {seed}");
        }
    }
}
