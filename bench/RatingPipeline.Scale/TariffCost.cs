using System.Diagnostics;
using System.Text.Json.Nodes;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// Decode + rate cost per CDR, in process, against tariffs of different sizes: 10 vs 10,000 zero-rating patterns
/// (the demo's entries first, then patterns under the same prefixes as the stream's peers but one digit longer, so
/// the matcher walks deep and never matches) and the demo's 14 rate entries per plan vs 1,000 (the demo's first,
/// then copies, which can never be the first match). So every variant rates every CDR the same; the run checks it.
/// Baseline in the same run: decoding alone.
/// </summary>
internal static class TariffCost
{
    private const int Subscribers = 10_000;

    public static void Run(int cdrs, int runs)
    {
        Section($"Cost vs tariff size: decode + rate, ns per CDR ({N(cdrs)} CDRs, {N(Subscribers)} subscribers, median of {runs} passes)");
        var (profiles, _, records) = EmbeddedRun.Generate(11, Subscribers, cdrs);

        var decoder = new CdrDecoder();
        TimeSpan decodeCpu = default;
        var decode = Median(runs, () =>
        {
            var cpu = Cpu();
            var clock = Stopwatch.StartNew();
            foreach (var record in records)
            {
                decoder.Decode(record, out _);
            }

            decodeCpu = Cpu() - cpu;
            return clock.Elapsed;
        });
        Row("baseline: decode only", $"{decode.TotalNanoseconds / cdrs:F0} ns", $"wall; CPU {decodeCpu.TotalNanoseconds / cdrs:F0} ns");

        var demo = SyntheticData.DemoTariff();
        (string Name, byte[] Tariff)[] variants =
        [
            ("10 zero-rating patterns, 14 rates per plan", Variant(demo, zeroRated: 10, rates: 0)),
            ("10,000 zero-rating patterns, 14 rates per plan", Variant(demo, zeroRated: 10_000, rates: 0)),
            ("10 zero-rating patterns, 1,000 rates per plan", Variant(demo, zeroRated: 10, rates: 1_000)),
            ("10,000 zero-rating patterns, 1,000 rates per plan", Variant(demo, zeroRated: 10_000, rates: 1_000)),
            ("100,000 patterns of 17 × '0' or 'x' (branching)", Adversarial(demo, k => new string([.. Enumerable.Range(0, 17).Select(bit => ((k >> bit) & 1) == 0 ? '0' : 'x')]), "2010-01-01T00:00:00+08:00")),
            ("100,000 patterns sharing prefixes 13/138/1380 (every length 12-20)", Adversarial(demo, k => "1380" + (k % 1000).ToString("D3", Invariant) + new string('x', 5 + (k % 9)) + (k % 7 == 0 ? "*" : ""), "2010-01-01T00:00:00+08:00")),
            ("100,000 wildcard-only patterns (x…x, x…x*), voice and SMS, in force from 2030", Adversarial(demo, k => new string('x', 1 + (k % 20)) + (k % 2 == 0 ? "*" : ""), "2030-01-01T00:00:00+08:00")),
            ("100,000 patterns of 17 × '0' or 'x', dates interleaved by the last character (2012 only / from 2030)", Adversarial(demo,
                k => new string([.. Enumerable.Range(0, 17).Select(bit => ((k >> bit) & 1) == 0 ? '0' : 'x')]),
                k => ((k >> 16) & 1) == 0 ? new DateTime(2012, 1, 1) : new DateTime(2030, 1, 1),
                k => ((k >> 16) & 1) == 0 ? new DateTime(2013, 1, 1) : new DateTime(2100, 1, 1))),
        ];
        long? reference = null;
        foreach (var (name, bytes) in variants)
        {
            var load = Stopwatch.StartNew();
            var tariff = TariffLoader.Load(bytes);
            var loaded = load.Elapsed;
            long charged = 0;
            var cpus = new List<TimeSpan>();
            var time = Median(runs, () =>
            {
                var engine = new RatingEngine(tariff);
                foreach (var profile in profiles)
                {
                    engine.SetProfile(SubscriberProfile.TryParse(profile, tariff, out _)!);
                }

                var sink = new TotalSink();
                var cpu = Cpu();
                var clock = Stopwatch.StartNew();
                foreach (var record in records)
                {
                    engine.Process(record, ref sink);
                }

                var elapsed = clock.Elapsed;
                cpus.Add(Cpu() - cpu);
                charged = (sink.ChargeSum * 31) + sink.RatedCount;
                return elapsed;
            });
            reference ??= charged;
            if (charged != reference)
            {
                throw new InvalidOperationException($"{name}: the tariff variant rated the stream differently");
            }

            var medianCpu = cpus.OrderBy(c => c).ElementAt(cpus.Count / 2);
            Row(name, $"{time.TotalNanoseconds / cdrs:F0} ns", $"wall; CPU {medianCpu.TotalNanoseconds / cdrs:F0} ns (tariff loaded in {loaded.TotalMilliseconds:F0} ms, {bytes.Length / 1024.0:F0} KiB)");
        }
    }

    /// <summary>
    /// The demo tariff with 100,000 entries of <paramref name="pattern"/>'s shape after its own (so they never come
    /// first where one of the demo's applies): patterns the stream's peers walk into but never complete (the branching
    /// and shared-prefix lists, longer than any peer of theirs) or that are not in force yet (the wildcard-only list,
    /// which would match every peer), so the stream rates exactly as with the demo's ten.
    /// </summary>
    private static byte[] Adversarial(byte[] demo, Func<int, string> pattern, string from) => Adversarial(demo, pattern, _ => from, null);

    /// <summary>The same with a window of dates per entry.</summary>
    private static byte[] Adversarial(byte[] demo, Func<int, string> pattern, Func<int, DateTime> from, Func<int, DateTime> to) =>
        Adversarial(demo, pattern, k => from(k).ToString("yyyy-MM-dd'T'HH:mm:ss'+08:00'", Invariant), k => to(k).ToString("yyyy-MM-dd'T'HH:mm:ss'+08:00'", Invariant));

    private static byte[] Adversarial(byte[] demo, Func<int, string> pattern, Func<int, string> from, Func<int, string>? to)
    {
        var document = JsonNode.Parse(demo)!.AsObject();
        var entries = document["zeroRated"]!.AsArray();
        for (var k = 0; k < 100_000; k++)
        {
            entries.Add(new JsonObject
            {
                ["pattern"] = pattern(k),
                ["types"] = new JsonArray("voice", "sms"),
                ["from"] = from(k),
                ["reason"] = $"adversarial-{k}",
            });
            if (to is not null)
            {
                entries[^1]!["to"] = to(k);
            }
        }

        return System.Text.Encoding.UTF8.GetBytes(document.ToJsonString());
    }

    /// <summary>The demo tariff padded to <paramref name="zeroRated"/> zero-rating entries and (when above 0) <paramref name="rates"/> rates per plan.</summary>
    private static byte[] Variant(byte[] demo, int zeroRated, int rates)
    {
        var document = JsonNode.Parse(demo)!.AsObject();
        var entries = document["zeroRated"]!.AsArray();
        var random = new Random(zeroRated);
        string[] prefixes = ["13", "139", "138", "0044", "00852", "001", "1008"];
        while (entries.Count < zeroRated)
        {
            // Longer than any peer of the stream under the same prefix (13 + 9 digits, 0044 + 10, …): walked, never matched.
            var digits = prefixes[random.Next(prefixes.Length)] + string.Concat(Enumerable.Range(0, 14).Select(_ => (char)('0' + random.Next(10))));
            var pattern = random.Next(10) == 0 ? digits[..5] + "x" + digits[6..] : digits;
            entries.Add(new JsonObject
            {
                ["pattern"] = pattern,
                ["types"] = new JsonArray("voice", "sms"),
                ["from"] = "2010-01-01T00:00:00+08:00",
                ["reason"] = $"bench-{entries.Count}",
            });
        }

        if (rates > 0)
        {
            foreach (var (_, plan) in document["plans"]!.AsObject())
            {
                var list = plan!["rates"]!.AsArray();
                var originals = list.Select(r => r!.DeepClone()).ToList();
                for (var i = 0; list.Count < rates; i++)
                {
                    list.Add(originals[i % originals.Count].DeepClone());
                }
            }
        }

        return System.Text.Encoding.UTF8.GetBytes(document.ToJsonString());
    }

    /// <summary>Counts and sums what the engine emits, so the variants can be checked to rate alike; writes nothing.</summary>
    private struct TotalSink : IRatingSink
    {
        public long RatedCount;
        public long ChargeSum;

        public void Rated(in RatedCdr rated)
        {
            RatedCount++;
            ChargeSum += rated.Charge;
        }

        public readonly void Reminder(in ReminderEvent reminder)
        {
        }

        public readonly void Rejected(in RejectedCdr rejected)
        {
        }

        public readonly void Bill(in BillRecord bill)
        {
        }
    }
}
