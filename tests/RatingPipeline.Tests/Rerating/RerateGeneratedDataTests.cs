using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// Re-rating a generated stream (ratingctl generate) after the 2026 Apple activation ports
/// (<c>0044753741039*</c>, from 2026-11-10 in the demo tariff) are made to apply from 2012: every SMS to such
/// a port that was charged is credited its whole charge, and nothing else changes (those SMS are rated by
/// rates without allowance or cap, so no other record's charge depends on them).
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed partial class RerateGeneratedDataTests(int lanes)
{
    private readonly int _lanes = lanes;

    private TestFolder _folder = null!;
    private string _tariff = null!;
    private string _subscribers = null!;
    private string _cdrs = null!;
    private string _oldRated = null!;

    [OneTimeSetUp]
    public async Task GenerateAndRate()
    {
        _folder = new TestFolder();
        var data = _folder.File("data");
        await GenerateCommand.RunAsync(data, subscribers: 200, cdrs: 20_000, seed: 7, CancellationToken.None);
        _tariff = Path.Combine(data, "tariff.json");
        _subscribers = Path.Combine(data, "subscribers.jsonl");
        _cdrs = Path.Combine(data, "cdrs.jsonl");
        _oldRated = await RateAsync(_tariff, _subscribers, _cdrs, _folder.File("old"));
    }

    [OneTimeTearDown]
    public void CleanUp() => _folder.Dispose();

    /// <summary>
    /// A replay that begins anywhere in the stream — a suffix of the CDR file, as a topic that no longer holds the
    /// cycle's beginning gives — starts each subscriber where the old run stood (its cycle's counters from the running
    /// totals of its first re-rated record, its duplicate memory from the rated records before it), so a tariff that
    /// changed only its version changes no charge and finds no mismatch, whatever the cut (duplicates split by it, late
    /// records, allowances half used, caps); the records before the cut are said to be taken as rated.
    /// </summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(137)]
    [TestCase(2_500)]
    [TestCase(4_000)]
    [TestCase(6_666)]
    [TestCase(9_999)]
    [TestCase(12_345)]
    [TestCase(15_001)]
    [TestCase(17_777)]
    [TestCase(19_990)]
    public async Task Re_rating_any_suffix_under_a_new_version_alone_adjusts_nothing(int skip)
    {
        var json = TariffJson(_tariff);
        json["version"] = "2026-11-20.9";
        var suffix = WriteLines(_folder, $"suffix-{skip}.jsonl", File.ReadLines(_cdrs).Skip(skip));
        var outDir = _folder.File($"suffix-adj-{skip}");

        var (code, stdout, stderr) = await RerateCliAsync(_lanes, Write(json, _folder, $"version-only-{skip}.json"), _subscribers, _oldRated, suffix, outDir);
        var adjustments = Path.Combine(outDir, "adjustments.jsonl");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero, stderr);
            Assert.That(stdout, Does.Contain(" 0 adjustments, total difference 0 micros; 0 already adjusted, 0 mismatches"), stdout);
            Assert.That(File.Exists(adjustments) ? JsonLines(adjustments) : [], Is.Empty);
            Assert.That(JsonLines(Path.Combine(outDir, "rerate-mismatches.jsonl")), Is.Empty);
            if (skip > 0)
            {
                Assert.That(stdout, Does.Match("[1-9][0-9]* rated records before the replay taken as rated \\([1-9][0-9]* subscribers taken up where the old run stood\\)"), "the suffix begins mid-cycle for most subscribers");
            }
        });
    }

    /// <summary>
    /// <c>--cycles</c> re-rates only the chosen cycles: the adjustments are exactly those of a whole re-rate whose cycle
    /// is chosen, and the CDRs of other cycles are left out of the replay (and said so).
    /// </summary>
    [Test]
    public async Task Cycles_limit_the_rerate_to_the_chosen_cycles()
    {
        var json = TariffJson(_tariff);
        json["version"] = "2026-11-20.2";
        ZeroRated(json).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00";
        var tariff = Write(json, _folder, "new-cycles.json");
        var all = _folder.File("adj-all-cycles");
        var some = _folder.File("adj-some-cycles");
        var (allCode, _, allErr) = await RerateCliAsync(_lanes, tariff, _subscribers, _oldRated, _cdrs, all);
        var everyCycle = JsonLines(Path.Combine(all, "adjustments.jsonl")).Select(a => a.GetProperty("cycle").GetString()!).Distinct().Order().ToList();
        var chosen = everyCycle.Where((_, i) => i % 2 == 0).ToHashSet();

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await RerateCommand.RunAsync(new RerateOptions(tariff, _subscribers, _oldRated, _cdrs, some, chosen, Lanes: _lanes), stdout, stderr, CancellationToken.None);

        static IEnumerable<string> Lines(string folder) => File.ReadLines(Path.Combine(folder, "adjustments.jsonl")).Where(l => l.Length > 0);
        Assert.Multiple(() =>
        {
            Assert.That(allCode, Is.Zero, allErr);
            Assert.That(code, Is.Zero, stderr.ToString());
            Assert.That(everyCycle, Has.Count.GreaterThan(1), "the generated stream's adjustments span several cycles");
            Assert.That(Lines(some), Is.EquivalentTo(Lines(all).Where(l => chosen.Contains(JsonDocument.Parse(l).RootElement.GetProperty("cycle").GetString()!))));
            Assert.That(stdout.ToString(), Does.Match("[1-9][0-9]* CDRs of other cycles left out"));
            Assert.That(RerateCommand.ParseCycles("2026-11-01,2026-11-15"), Is.EquivalentTo(new[] { "2026-11-01", "2026-11-15" }));
            Assert.That(RerateCommand.ParseCycles("2026-11"), Is.Null);
        });
    }

    [Test]
    public async Task Ports_whitelisted_late_are_credited_exactly_their_old_charges()
    {
        var json = TariffJson(_tariff);
        json["version"] = "2026-11-20.1";
        ZeroRated(json).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00";
        var outDir = _folder.File("adj");

        var (code, stdout, stderr) = await RerateCliAsync(_lanes, Write(json, _folder, "new.json"), _subscribers, _oldRated, _cdrs, outDir);

        // Expected, from the inputs alone: each rated SMS whose CDR's peer (+ → 00) matches 0044753741039*
        // and that was charged is credited −charge.
        var peers = new Dictionary<(string, string), (string Type, string? Peer)>();
        foreach (var line in File.ReadLines(_cdrs))
        {
            try
            {
                var cdr = JsonDocument.Parse(line).RootElement;
                var key = (cdr.GetProperty("msisdn").GetString()!, cdr.GetProperty("id").GetString()!);
                var peer = cdr.TryGetProperty("peer", out var p) ? p.GetString() : null;
                peers.TryAdd(key, (cdr.GetProperty("type").GetString()!, peer is null ? null : Regex.Replace(peer, @"^\+", "00")));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                // a malformed line of the generated stream: never rated
            }
        }

        var oldRated = JsonLines(_oldRated);
        var expected = oldRated
            .Where(r => r.GetProperty("type").GetString() == "sms" && r.GetProperty("charge").GetInt64() != 0)
            .Where(r => peers[(r.GetProperty("msisdn").GetString()!, r.GetProperty("id").GetString()!)].Peer is { } peer && LatePort().IsMatch(peer))
            .Select(r => (r.GetProperty("id").GetString(), -r.GetProperty("charge").GetInt64()))
            .ToList();
        var adjustments = JsonLines(Path.Combine(outDir, "adjustments.jsonl"));

        Assert.That(code, Is.Zero, stderr);
        Assert.That(expected, Is.Not.Empty, "the generated stream holds charged SMS to the late ports");
        Assert.That(adjustments.Select(a => (a.GetProperty("id").GetString(), a.GetProperty("difference").GetInt64())), Is.EquivalentTo(expected));
        Assert.Multiple(() =>
        {
            Assert.That(adjustments.Select(a => a.GetProperty("zeroRated").GetString()), Has.All.EqualTo("apple-activation-2026"));
            Assert.That(stdout, Does.StartWith($"{oldRated.Count} records compared, {expected.Count} adjustments, total difference {expected.Sum(e => e.Item2)} micros"));
            Assert.That(JsonLines(Path.Combine(outDir, "rerate-mismatches.jsonl")), Is.Empty);
        });
    }

    [Test]
    public async Task Rerating_under_the_same_rules_with_a_new_version_changes_nothing()
    {
        var json = TariffJson(_tariff);
        json["version"] = "2026-11-20.9";
        var outDir = _folder.File("same");

        var (code, stdout, _) = await RerateCliAsync(_lanes, Write(json, _folder, "same.json"), _subscribers, _oldRated, _cdrs, outDir);

        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.StartWith($"{JsonLines(_oldRated).Count} records compared, 0 adjustments, total difference 0 micros; 0 already adjusted, 0 mismatches"));
    }

    [GeneratedRegex(@"^0044753741039\d*$")]
    private static partial Regex LatePort();
}
