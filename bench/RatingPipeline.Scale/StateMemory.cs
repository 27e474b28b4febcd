using System.Buffers;
using System.Runtime.CompilerServices;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// Memory per subscriber held by the rating engine: usage states (one fixed-size struct per subscriber in chunks
/// that never move, found through an index keyed by the msisdn as a 64-bit integer) and profiles, measured with <c>GC.GetTotalMemory(true)</c>
/// before and after putting the subscribers in. Baseline: the struct's own size plus an index entry.
/// </summary>
internal static class StateMemory
{
    public static void Run(int subscribers)
    {
        Section($"State memory per subscriber ({N(subscribers)} subscribers in one engine)");
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());

        // A state as it is after a busy cycle: every field set, the duplicate memory full (32 ids).
        var state = UsageState.New();
        state.HasCycle = true;
        state.CycleDay = 20_400;
        state.OffsetTag = 123_456;
        for (var i = 0; i < IdMemory.Capacity; i++)
        {
            state.RecentIds.Add((ulong)i * 0x9E3779B97F4A7C15UL);
        }

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var engine = new RatingEngine(tariff);
        for (var i = 0; i < subscribers; i++)
        {
            MsisdnKey.TryCompute(SyntheticData.MsisdnOf(i), out var key);
            engine.SetState(key, in state);
        }

        var afterStates = GC.GetTotalMemory(forceFullCollection: true);
        var data = new SyntheticData(1, subscribers);
        var buffer = new ArrayBufferWriter<byte>(512);
        for (var i = 0; i < subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            engine.SetProfile(SubscriberProfile.TryParse(buffer.WrittenSpan, tariff, out _)!);
        }

        var afterProfiles = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(engine);

        var structSize = Unsafe.SizeOf<UsageState>();
        // The struct in its chunk, plus the index (Dictionary<ulong, int>): an entry is the key, the slot, the hash code
        // and the next index; plus one bucket int.
        var entrySize = structSize + sizeof(ulong) + sizeof(int) + sizeof(int) + sizeof(int) + sizeof(int);
        Row("usage state, measured", $"{N((afterStates - before) / (double)subscribers, 1)} B", $"({N((afterStates - before) / 1048576.0, 1)} MiB in all)");
        Row("baseline: sizeof(UsageState) + index entry and bucket", $"{N(entrySize)} B", $"(struct {structSize} B; the rest is the index's spare capacity and the last chunk's free slots)");
        Row("subscriber profile, measured", $"{N((afterProfiles - afterStates) / (double)subscribers, 1)} B", "(SubscriberProfile object, its strings, the dictionary entry)");
        Row("state + profile per subscriber", $"{N((afterProfiles - before) / (double)subscribers, 1)} B");
        Row("encoded state in rater-state (full duplicate memory)", $"{N(UsageStateCodec.ToArray(in state).Length)} B");
        TypicalRecords(tariff);
    }

    /// <summary>The <c>rater-state</c> records of synthetic traffic: 10,000 subscribers after 200,000 CDRs (about 20 each).</summary>
    private static void TypicalRecords(Tariff tariff)
    {
        const int subscribers = 10_000;
        const int cdrs = 200_000;
        var data = new SyntheticData(7, subscribers);
        var engine = new RatingEngine(tariff);
        var buffer = new ArrayBufferWriter<byte>(512);
        for (var i = 0; i < subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            engine.SetProfile(SubscriberProfile.TryParse(buffer.WrittenSpan, tariff, out _)!);
        }

        var sink = default(DiscardSink);
        for (var j = 0; j < cdrs; j++)
        {
            buffer.ResetWrittenCount();
            data.WriteNextCdr(buffer);
            engine.Process(buffer.WrittenSpan, ref sink, offset: j);
        }

        var sizes = engine.StateKeys.Select(k => engine.TryGetState(k, out var s) ? UsageStateCodec.ToArray(in s).Length : 0).Order().ToArray();
        var ids = engine.StateKeys.Select(k => engine.TryGetState(k, out var s) ? (int)s.RecentIds.Count : 0).Order().ToArray();
        Row("encoded state in rater-state, synthetic traffic (median)", $"{N(sizes[sizes.Length / 2])} B",
            $"(p90 {N(sizes[sizes.Length * 9 / 10])} B, max {N(sizes[^1])} B over {N(sizes.Length)} subscribers after {N(cdrs)} CDRs; "
            + $"median {ids[ids.Length / 2]} remembered ids at 8 B each)");
    }

    private readonly struct DiscardSink : IRatingSink
    {
        public void Rated(in RatedCdr rated)
        {
        }

        public void Reminder(in ReminderEvent reminder)
        {
        }

        public void Rejected(in RejectedCdr rejected)
        {
        }

        public void Bill(in BillRecord bill)
        {
        }
    }
}
