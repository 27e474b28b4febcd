using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Rerating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Reference;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// A re-rate whose CDR stream begins mid-cycle (a suffix of the file; a topic that no longer holds the cycle's
/// beginning) starts every subscriber where the old run stood: the records before the stream are taken as rated, and
/// a tariff that changed nothing but its version changes no charge, wherever the stream begins.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class RerateSuffixTests(int lanes)
{
    private readonly int _lanes = lanes;

    private const string Msisdn = "8613800000001";

    private TestFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TestFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    /// <summary>
    /// The issue's report: 150 SMS of one cycle rated, then only the last 30 re-rated under the same rules with a new
    /// version. mini-18 has 20 SMS in its allowance, so all 30 were charged 100,000; a replay that restarted the
    /// allowance at 0 credited 20 × 100,000 and worse. Now: nothing.
    /// </summary>
    [Test]
    public async Task Rating_150_sms_then_re_rating_the_last_30_under_a_new_version_adjusts_nothing()
    {
        var subscribers = WriteLines(_folder, "subscribers.jsonl", [$"{{\"msisdn\":\"{Msisdn}\",\"plan\":\"mini-18\",\"cycleDay\":1}}"]);
        var sms = Enumerable.Range(0, 150).Select(i => Sms($"s{i:D3}", "13900000000", 2 + (i / 60), i % 60)).ToList();
        var all = WriteLines(_folder, "cdrs.jsonl", sms);
        var last30 = WriteLines(_folder, "last-30.jsonl", sms.Skip(120));
        var oldRated = await RateAsync(ExampleTariff, subscribers, all, _folder.File("old"));
        var newVersion = TariffJson(ExampleTariff);
        newVersion["version"] = "2026-11-15.1";

        var (code, stdout, stderr) = await RerateCliAsync(_lanes, Write(newVersion, _folder, "new.json"), subscribers, oldRated, last30, _folder.File("adj"));

        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout.Trim(), Is.EqualTo("30 records compared, 0 adjustments, total difference 0 micros; 0 already adjusted, 0 mismatches; "
            + "120 rated records before the replay taken as rated (1 subscribers taken up where the old run stood)"));
    }

    /// <summary>
    /// D (the cycle's capped data charges) before the first re-rated record is the cappedAfter of the subscriber's
    /// latest earlier record of that cycle, not the record's own cappedAfter less its charge. basic-58 with a cap of
    /// 50,000,000: after the 10 GB allowance, each 40 MB costs 11,600,000 until D reaches the cap (d5 is clipped to
    /// 3,600,000). The rated file gives d3 no usedAfter (so the state is not taken up from the last record before the
    /// stream) and d4 a cappedAfter 1,000,000 above what d3's and its own charge make. The stream is d4..d6 under a new
    /// version: D from d3 (34,800,000) rates every CDR as before; D from d4's own figures (35,800,000) would clip d5 to
    /// 2,600,000 and adjust it.
    /// </summary>
    [Test]
    public async Task D_before_the_first_re_rated_record_is_the_previous_record_s_cappedAfter()
    {
        const string Subscriber = "8613800000009";
        var subscribers = WriteLines(_folder, "subscribers.jsonl", [$"{{\"msisdn\":\"{Subscriber}\",\"plan\":\"basic-58\",\"cycleDay\":1,\"dataCap\":50000000}}"]);
        var data = new List<string> { Data(Subscriber, "d0", 10, 10_737_418_240) };
        data.AddRange(Enumerable.Range(1, 6).Select(i => Data(Subscriber, $"d{i}", 10 + i, 41_943_040)));
        var oldRated = await RateAsync(ExampleTariff, subscribers, WriteLines(_folder, "all.jsonl", data), _folder.File("old"));
        var records = JsonLines(oldRated).Select(r => JsonNode.Parse(r.GetRawText())!.AsObject()).ToList();
        Assert.That(records.Select(r => ((string)r["id"]!, (long)r["charge"]!, (long)r["cappedAfter"]!)), Is.EqualTo(new[]
        {
            ("d0", 0L, 0L), ("d1", 11_600_000L, 11_600_000L), ("d2", 11_600_000L, 23_200_000L), ("d3", 11_600_000L, 34_800_000L),
            ("d4", 11_600_000L, 46_400_000L), ("d5", 3_600_000L, 50_000_000L), ("d6", 0L, 50_000_000L),
        }), "the old run");
        records[3]["usedAfter"] = null;
        records[4]["cappedAfter"] = 47_400_000L;
        var edited = WriteLines(_folder, "rated-edited.jsonl", records.Select(r => r.ToJsonString()));
        var newVersion = TariffJson(ExampleTariff);
        newVersion["version"] = "2026-11-15.1";

        var result = Rerate(_lanes, Write(newVersion, _folder, "new.json"), subscribers, edited, WriteLines(_folder, "stream.jsonl", data.Skip(4)));

        Assert.Multiple(() =>
        {
            Assert.That(result.Adjustments, Is.Empty);
            Assert.That(result.Mismatches, Is.Empty);
            Assert.That(result.Summary.Compared, Is.EqualTo(3));
            Assert.That(result.Summary.TakenAsRated, Is.EqualTo(4));
        });
    }

    /// <summary>
    /// A late zero-rating entry on a stream that begins mid-cycle credits what the allowance rule says. mini-18: 20 SMS
    /// in the allowance, then 100,000 each. Before the stream: p1..p5 (units 1–5). In it: s00 to the port, then s01..s16.
    /// Old run: s00 took unit 6, s01..s14 units 7–20, s15 and s16 paid 100,000 each. With the port zero-rated: s00 is
    /// free and takes no unit, s01..s15 take units 6–20, s16 pays. So s15 is credited 100,000, and nothing else changes —
    /// the same credit a re-rate of the whole stream gives.
    /// </summary>
    [Test]
    public async Task A_late_zero_rating_entry_on_a_stream_that_begins_mid_cycle_credits_what_the_allowance_rule_says()
    {
        const string Port = "10690000";
        var subscribers = WriteLines(_folder, "subscribers.jsonl", [$"{{\"msisdn\":\"{Msisdn}\",\"plan\":\"mini-18\",\"cycleDay\":1}}"]);
        var before = Enumerable.Range(1, 5).Select(i => Sms($"p{i}", "13900000000", 7, i)).ToList();
        var stream = new List<string> { Sms("s00", Port, 8, 0) };
        stream.AddRange(Enumerable.Range(1, 16).Select(i => Sms($"s{i:D2}", "13900000000", 9, i)));
        var oldRated = await RateAsync(ExampleTariff, subscribers, WriteLines(_folder, "all.jsonl", before.Concat(stream)), _folder.File("old"));
        var withPort = TariffJson(ExampleTariff);
        withPort["version"] = "2026-11-15.1";
        ZeroRated(withPort).Add(ZeroRatingEntry(Port, "activation-port"));
        var tariff = Write(withPort, _folder, "new.json");

        var suffix = Rerate(_lanes, tariff, subscribers, oldRated, WriteLines(_folder, "stream.jsonl", stream));
        var whole = Rerate(_lanes, tariff, subscribers, oldRated, WriteLines(_folder, "whole.jsonl", before.Concat(stream)));

        Assert.Multiple(() =>
        {
            Assert.That(suffix.Adjustments.Select(a => (a.Id, a.OldCharge, a.NewCharge, a.Difference)),
                Is.EqualTo(new[] { ("s15", 100_000L, 0L, -100_000L) }));
            Assert.That(whole.Adjustments, Is.EqualTo(suffix.Adjustments));
            Assert.That(suffix.Mismatches, Is.Empty);
            Assert.That(suffix.Summary.TakenAsRated, Is.EqualTo(5));
            Assert.That(suffix.Summary.Compared, Is.EqualTo(17));
        });
    }

    /// <summary>
    /// The worked example cut before each of its lines: under a tariff that only adds the late port (a9's peer
    /// 004475374102, charged 1 × 1,000,000 / 1 by "sms * mo *"), the only adjustment is a9's credit of 1,000,000 when a9
    /// is in the stream, and none when it is before it; under a new version alone, none at all; never a mismatch.
    /// </summary>
    [Test]
    public async Task Cutting_the_worked_example_anywhere_credits_a9_exactly_when_a9_is_replayed()
    {
        var oldRated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
        var latePort = Write(TariffWithLatePort("2026-11-15.1"), _folder, "late-port.json");
        var versionOnly = TariffJson(ExampleTariff);
        versionOnly["version"] = "2026-11-15.2";
        var newVersion = Write(versionOnly, _folder, "version.json");
        var lines = File.ReadAllLines(ExampleCdrs);
        var a9 = Array.FindIndex(lines, l => l.Contains("\"id\":\"a9\"", StringComparison.Ordinal));
        var found = new List<string>();

        for (var cut = 0; cut <= lines.Length; cut++)
        {
            var suffix = WriteLines(_folder, $"cut-{cut}.jsonl", lines.Skip(cut));
            var credit = Rerate(_lanes, latePort, ExampleSubscribers, oldRated, suffix);
            var same = Rerate(_lanes, newVersion, ExampleSubscribers, oldRated, suffix);
            var expected = cut <= a9 ? new[] { ("a9", -1_000_000L) } : [];
            var got = credit.Adjustments.Select(a => (a.Id, a.Difference)).ToArray();
            if (!got.SequenceEqual(expected) || same.Adjustments.Count > 0 || credit.Mismatches.Count + same.Mismatches.Count > 0)
            {
                found.Add($"cut {cut}: {credit.Summary} / {same.Summary}");
            }
        }

        Assert.That(found, Is.Empty);
    }

    /// <summary>
    /// The property on generated streams (the reference's generator: clocks, late grace, fees, profile lines, location
    /// records, resends, late and bad lines): each stream is rated, then every tenth of it is cut off in turn and the
    /// rest re-rated under the same tariff with a new version (profile lines before the cut kept, as the subscribers
    /// stood there). Never an adjustment. A mismatch only where the rated records cannot tell what came before the
    /// stream: a clock before it that closed a previous cycle (a late CDR of it is rated by the replay), or a record
    /// rated before it whose resend comes in it after a clock that closed the record's cycle (the resend is taken for
    /// the record and found late). The whole stream re-rates with no mismatch at all.
    /// </summary>
    /// <remarks>
    /// Location records' ids are written apart from CDR ids here ("loc-…"): ids of location records before the stream
    /// are in no rated record, so the replay cannot know them as duplicates (docs/rerating.md).
    /// </remarks>
    [Test]
    public async Task Re_rating_any_suffix_of_generated_streams_under_a_new_version_alone_adjusts_nothing()
    {
        const int Streams = 200;
        const int Cuts = 10;
        var failures = new List<string>();
        var runs = 0;
        var takenUp = 0;
        var explained = 0;
        for (var seed = 1; seed <= Streams; seed++)
        {
            var generated = StreamGenerator.Generate(seed);
            var lines = generated.CdrsJsonl.Split('\n').Where(l => l.Length > 0)
                .Select(l => l.Contains("\"type\":\"location\"", StringComparison.Ordinal) ? l.Replace("\"id\":\"", "\"id\":\"loc-", StringComparison.Ordinal) : l)
                .ToList();
            var dir = Directory.CreateDirectory(_folder.File($"seed-{seed}")).FullName;
            var tariffPath = Path.Combine(dir, "tariff.json");
            var subscribers = Path.Combine(dir, "subscribers.jsonl");
            await File.WriteAllTextAsync(tariffPath, generated.TariffJson);
            await File.WriteAllTextAsync(subscribers, generated.SubscribersJsonl);
            var oldRated = await RateAsync(tariffPath, subscribers, WriteLines(_folder, $"seed-{seed}/cdrs.jsonl", lines), Path.Combine(dir, "old"));
            var rejected = JsonLines(Path.Combine(dir, "old", "rejected.jsonl"));
            var versionOnly = JsonNode.Parse(generated.TariffJson)!.AsObject();
            versionOnly["version"] = "version-only";
            var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(versionOnly.ToJsonString()));
            var profiles = SubscriberFile.Load(subscribers, tariff);

            for (var k = 0; k < Cuts; k++)
            {
                var cut = lines.Count * k / Cuts;
                var prefix = lines.Take(cut).ToList();
                var stream = WriteLines(_folder, $"seed-{seed}/stream-{k}.jsonl",
                    prefix.Where(l => l.Contains("\"type\":\"profile\"", StringComparison.Ordinal)).Concat(lines.Skip(cut)));
                var result = Rerate(_lanes, tariff, profiles, oldRated, stream);
                runs++;
                takenUp += result.Summary.TakenAsRated > 0 ? 1 : 0;
                var unexplained = result.Mismatches.Where(m => cut == 0 || !BeforeTheStream(m, rejected, prefix)).ToList();
                explained += result.Mismatches.Count - unexplained.Count;
                if (result.Adjustments.Count > 0 || unexplained.Count > 0 || (cut == 0 && result.Summary.TakenAsRated > 0))
                {
                    failures.Add($"seed {seed} cut {cut}/{lines.Count}: {result.Summary}; "
                        + string.Join("; ", result.Adjustments.Select(a => a.AdjustmentId).Concat(unexplained.Select(m => $"{m.Kind} {m.Msisdn} {m.Id}")).Take(4)));
                }
            }
        }

        TestContext.Out.WriteLine($"{runs} re-rates, {takenUp} with subscribers taken up mid-stream, {explained} mismatches from what came before the stream");
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, () => $"{failures.Count} of {runs}: {string.Join("\n", failures.Take(10))}");
            Assert.That(takenUp, Is.GreaterThan(runs * 8 / 10), "most cuts begin mid-stream for some subscriber");
            Assert.That(explained, Is.LessThan(runs / 50), "what the rated records cannot tell stays rare");
        });
    }

    /// <summary>
    /// Mismatches the rated records cannot prevent (see the test above): the new run rates a CDR the old one rejected
    /// late, or rejects late or as a duplicate a record whose own line came before the stream (its resend is in it).
    /// </summary>
    private static bool BeforeTheStream(RerateMismatch mismatch, List<JsonElement> rejected, List<string> prefix) =>
        mismatch.Kind switch
        {
            RerateMismatchKind.RatedOnlyByNewTariff => rejected.Any(r => r.GetProperty("reason").GetString() == "late"
                && Text(r, "msisdn") == mismatch.Msisdn && Text(r, "id") == mismatch.Id),
            RerateMismatchKind.RejectedByNewTariff => mismatch.Reason is "late" or "duplicate"
                && prefix.Any(l => l.Contains($"\"id\":\"{mismatch.Id}\"", StringComparison.Ordinal) && l.Contains(mismatch.Msisdn, StringComparison.Ordinal)),
            _ => false,
        };

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Data(string msisdn, string id, int hour, long bytes) =>
        $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{msisdn}\",\"start\":\"2026-11-02T{hour:D2}:00:00+08:00\",\"bytes\":{bytes}}}";

    private static string Sms(string id, string peer, int hour, int minute) =>
        $"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{Msisdn}\",\"direction\":\"mo\",\"peer\":\"{peer}\",\"start\":\"2026-11-02T{hour:D2}:{minute:D2}:00+08:00\"}}";
}
