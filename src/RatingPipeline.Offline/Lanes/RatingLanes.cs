using System.Runtime.CompilerServices;
using RatingPipeline.IO;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Lanes;

/// <summary>The totals of a run through the lanes: non-blank lines, then the counts SPEC §6's summary line prints.</summary>
public sealed record LaneTotals(long Lines, long Rated, long Fees, long Rejected, long Reminders, long Bills, long Located, long Clocks,
    long Profiles, long Decoded);

/// <summary>
/// Rates a CDR file on several threads with the result of one: a reader splits the file into blocks of lines and
/// routes each line (<see cref="LaneRouter"/>); each lane is a thread with its own <see cref="RatingEngine"/> that holds
/// the profiles and states of its share of the subscribers and writes its outputs into its own buffers, noting where
/// each line's part ends; a merger copies those parts into the four output files in the order of the lines, and for a
/// clock record in ascending msisdn order across the lanes — so every file is byte for byte what one engine rating
/// the lines one after another writes (SPEC §6).
/// </summary>
public sealed class RatingLanes
{
    /// <summary>The output files: rated, reminders, rejected, bills.</summary>
    private const int Files = 4;

    /// <summary>Fewer bytes than any valid CDR line has (used to bound the usage states reserved up front).</summary>
    private const long MinCdrBytes = 64;

    /// <summary>Fewer bytes than most profile lines have (to bound the profiles of a file).</summary>
    private const long ProfileLineBytes = 64;

    /// <summary>What the pass makes on its way per byte of input at most (the texts of refused records, reminders and bills).</summary>
    private const long PassBytesPerInputByte = 1;

    /// <summary>The most the pass's own allocations add to <see cref="RunBytes"/>.</summary>
    private const long PassBytesMax = 256L << 20;

    /// <summary>What a run allocates besides (the tariff, the command line, the runtime's own), with room to spare.</summary>
    private const long OtherBytes = 64L << 20;

    /// <summary>How many profiles ahead of the one being put its table place is fetched.</summary>
    private const int InsertAhead = 8;

    private readonly Tariff _tariff;
    private readonly int _lanes;
    private readonly RatingEngine[] _engines;

    public RatingLanes(Tariff tariff, IReadOnlyCollection<SubscriberProfile> profiles, int lanes, long inputBytes)
    {
        _tariff = tariff;
        _lanes = LanePass.CheckLanes(lanes);
        _engines = new RatingEngine[lanes];
        // Each profile's key and lane, worked out once in one pass over the profiles in their order.
        var all = profiles as IReadOnlyList<SubscriberProfile> ?? [.. profiles];
        var keys = new ulong[all.Count];
        var laneOf = new byte[all.Count];
        var shares = new int[lanes];
        for (var i = 0; i < all.Count; i++)
        {
            keys[i] = all[i].MsisdnKey;
            laneOf[i] = (byte)LaneRouter.LaneOf(keys[i], lanes);
            shares[laneOf[i]]++;
        }

        for (var lane = 0; lane < lanes; lane++)
        {
            _engines[lane] = new RatingEngine(tariff) { AcceptsProfileLines = true };

            // A state exists only for a subscriber with an accepted record: at most one per profile and one per 64
            // bytes of input, so a small input reserves little.
            _engines[lane].EnsureCapacity(shares[lane], (int)Math.Min(shares[lane], inputBytes / MinCdrBytes));
        }

        // The tables are far larger than the cache and the keys in no order: each insert would wait on a miss, so the
        // place of the profile a few ahead is asked for while this one is put.
        for (var i = 0; i < all.Count; i++)
        {
            var ahead = i + InsertAhead;
            if (ahead < all.Count)
            {
                _engines[laneOf[ahead]].PrefetchProfile(keys[ahead]);
            }

            _engines[laneOf[i]].SetProfile(all[i]);
        }
    }

    /// <summary>
    /// About what a run over a subscriber file and a CDR file of these sizes allocates, with room to spare: the profiles, a
    /// usage state and its table places for each subscriber with records (at most one per profile line, one per CDR line),
    /// the pass's blocks and buffers, what the pass makes on its way (at most a byte per byte of input, capped) and the rest. Nearly
    /// all of it lives to the end of the run, so the run is best done without collections
    /// (<see cref="Memory.CollectionFreeRegion"/>); a run that allocates more just meets its first collection there.
    /// </summary>
    public static long RunBytes(long subscriberFileBytes, long cdrFileBytes)
    {
        var states = Math.Min(subscriberFileBytes / ProfileLineBytes, cdrFileBytes / MinCdrBytes);
        return SubscriberFile.LoadBytes(subscriberFileBytes) + (states * (Unsafe.SizeOf<UsageState>() + 64)) + LanePass.BlocksBytes
            + Math.Min(cdrFileBytes * PassBytesPerInputByte, PassBytesMax) + OtherBytes;
    }

    /// <summary>The default number of lanes: one per core.</summary>
    public static int DefaultLanes => Math.Clamp(Environment.ProcessorCount, 1, LaneRouter.MaxLanes);

    public Tariff Tariff => _tariff;

    /// <summary>
    /// Rates the file's lines in file order into the four files (rated, reminders, rejected, bills). Blocks until the
    /// input is read to its end and every output is written to its file; <paramref name="onBytes"/> hears the input
    /// bytes done so far.
    /// </summary>
    public LaneTotals Run(string cdrPath, GatheringFile rated, GatheringFile reminders, GatheringFile rejected,
        GatheringFile bills, Action<long>? onBytes, CancellationToken cancel)
    {
        var workers = _engines.Select(engine => new RatingWorker(engine)).ToArray();

        // About three bytes out per byte in, shared by the lanes.
        var pass = LanePass.Run(cdrPath, new LaneRouter(_lanes), workers, () => new LaneOutput(Files, 4 * LanePass.BlockBytes / _lanes),
            new ByteMerger([rated, reminders, rejected, bills], _lanes), onBytes, cancel);
        long ratedCount = 0, fees = 0, rejectedCount = 0, reminderCount = 0, billCount = 0;
        foreach (var worker in workers)
        {
            ratedCount += worker.Totals.RatedCount;
            fees += worker.Totals.FeeCount;
            rejectedCount += worker.Totals.RejectedCount;
            reminderCount += worker.Totals.ReminderCount;
            billCount += worker.Totals.BillCount;
        }

        // A clock record is every lane's; lane 0 counts it.
        return new LaneTotals(pass.Lines, ratedCount, fees, rejectedCount, reminderCount, billCount, workers.Sum(w => w.Located),
            workers[0].Clocks, workers.Sum(w => w.Profiles), pass.Decoded);
    }

    /// <summary>A lane: rates its lines of each block with its engine into its buffers.</summary>
    private sealed class RatingWorker(RatingEngine engine) : LaneWorker<LaneOutput>
    {
        private readonly RecordWriter _writer = new();
        private LaneSink _sink;

        public JsonlSink Totals;

        public long Located { get; private set; }

        public long Clocks { get; private set; }

        public long Profiles { get; private set; }

        public override void BeginBlock(LaneOutput parts)
        {
            var buffers = parts.Buffers;
            _sink = new LaneSink(new JsonlSink(_writer, buffers[0], buffers[1], buffers[2], buffers[3]), parts);
        }

        public override void Line(ReadOnlySpan<byte> line, long number, bool everyLane, LaneOutput parts)
        {
            if (everyLane)
            {
                _sink.BeginClock();
            }

            switch (engine.Process(line, ref _sink))
            {
                case RatingResult.Located:
                    Located++;
                    break;
                case RatingResult.Clock:
                    Clocks++;
                    break;
                case RatingResult.Profile:
                    Profiles++;
                    break;
            }

            if (everyLane)
            {
                _sink.EndClock();
            }
        }

        public override int PrefetchDepth => RatingEngine.PrefetchDepth;

        public override void Prefetch(ReadOnlySpan<ulong> ahead) => engine.Prefetch(ahead);

        public override void EndBlock(LaneOutput parts)
        {
            Totals.RatedCount += _sink.Inner.RatedCount;
            Totals.FeeCount += _sink.Inner.FeeCount;
            Totals.RejectedCount += _sink.Inner.RejectedCount;
            Totals.ReminderCount += _sink.Inner.ReminderCount;
            Totals.BillCount += _sink.Inner.BillCount;
        }
    }
}
