using RatingPipeline.IO;
using RatingPipeline.Lanes;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rerating;

/// <summary>
/// Re-rates on several threads with the result of one <see cref="Rerater"/>: subscribers are sharded by msisdn as the
/// rating lanes shard them (<see cref="LaneRouter"/>), each lane a <see cref="Rerater"/> with its share of the profiles,
/// of the old run's rated records and of the CDR stream, and its own ledger over the recorded one (an adjustment id
/// names its msisdn, so no two lanes can write the same). The rated file is read, then the CDR file replayed through
/// the lanes (<see cref="LanePass"/>) in a single pass (<see cref="SinglePass"/>) or scanned first; what the lanes find
/// while replaying is merged back into the order of the CDR lines, and the rated records left without a CDR into the
/// order of the rated file — so the receiver hears exactly what one re-rater tells it, in the same order.
/// </summary>
public sealed class RerateLanes
{
    /// <summary>Fewer bytes than any CDR line of SPEC's layout takes (id, type, msisdn, start and their names).</summary>
    private const long MinCdrLineBytes = 80;

    /// <summary>The largest share of lines made room for at once (more still work).</summary>
    private const int MaxExpectedLinesPerLane = 1 << 26;

    /// <summary>How much of the CDR file <see cref="MayBeWholeStream"/> counts the lines of.</summary>
    private const int SampleBytes = 4 << 20;

    /// <summary>
    /// The lines per rated record below which a CDR file is taken for part of the stream (a whole one holds a line per
    /// record, and the rejected ones).
    /// </summary>
    private const double WholeStreamShare = 0.9;

    private readonly Rerater[] _lanes;
    private readonly AdjustmentLedger _recorded;
    private readonly List<LedgerEntry> _added = [];
    private readonly Tariff _tariff;
    private readonly IReadOnlyCollection<SubscriberProfile> _profiles;
    private readonly IReadOnlySet<string>? _cycles;
    private readonly bool _profileLines;
    private string? _ratedPath;
    private IRerateReceiver? _receiver;

    /// <summary>
    /// About what a re-rate over files of these sizes allocates, with room to spare: what a rating run of the subscribers and
    /// CDRs does (<see cref="RatingLanes.RunBytes"/>) and the old run's records, about a byte per byte of the rated file
    /// (each record's numbers and keys, its id and peer). Nearly all of it lives to the end, so the re-rate is best done
    /// without collections (<see cref="Memory.CollectionFreeRegion"/>).
    /// </summary>
    public static long RunBytes(long subscriberFileBytes, long ratedFileBytes, long cdrFileBytes) =>
        RatingLanes.RunBytes(subscriberFileBytes, cdrFileBytes) + (ratedFileBytes / 4 * 5);

    /// <param name="newTariff">The tariff to re-rate under.</param>
    /// <param name="profiles">The subscriber profiles of the original run.</param>
    /// <param name="recorded">Adjustments already recorded (read, never changed).</param>
    /// <param name="cycles">As for <see cref="Rerater"/>: only these cycles, when given.</param>
    /// <param name="profileLines">As for <see cref="Rerater"/>: whether profile lines in the CDR stream replace profiles.</param>
    /// <param name="lanes">The number of lanes (1 to <see cref="LaneRouter.MaxLanes"/>).</param>
    public RerateLanes(Tariff newTariff, IReadOnlyCollection<SubscriberProfile> profiles, AdjustmentLedger? recorded, IReadOnlySet<string>? cycles,
        bool profileLines, int lanes)
    {
        LanePass.CheckLanes(lanes);
        _recorded = recorded ?? new AdjustmentLedger();
        (_tariff, _profiles, _cycles, _profileLines) = (newTariff, profiles, cycles, profileLines);
        var shares = new List<SubscriberProfile>[lanes];
        for (var lane = 0; lane < lanes; lane++)
        {
            shares[lane] = [];
        }

        foreach (var profile in profiles)
        {
            shares[LaneRouter.LaneOf(profile.MsisdnKey, lanes)].Add(profile);
        }

        // Each lane takes in its share of the profiles on its own thread (the inserts wait on memory, one lane per core).
        _lanes = new Rerater[lanes];
        Parallel.For(0, lanes, lane => _lanes[lane] = new Rerater(newTariff, shares[lane], AdjustmentLedger.Over(_recorded), cycles, profileLines));
    }

    /// <summary>The counts of the run (after <see cref="Run"/>).</summary>
    public RerateSummary Summary { get; } = new();

    /// <summary>
    /// Whether <see cref="Run"/> replays the CDR file in a single pass, matching lines with records on the fly
    /// (<see cref="Rerater.Speculate"/>), and replays the subscribers it gives up again with the scan; else (and always
    /// with chosen cycles) the file is scanned, then replayed. Both find the same.
    /// </summary>
    public bool SinglePass { get; init; } = true;

    /// <summary>Where the single pass writes the files of the subscribers it replays again (a folder of its own inside, removed after); null: the temporary folder.</summary>
    public string? WorkFolder { get; init; }

    /// <summary>After <see cref="Run"/>: the subscribers the single pass gave up and replayed again with the scan (0 without a single pass).</summary>
    public int ReplayedAgain { get; private set; }

    /// <summary>The recorded adjustments, then those of this run in the order they were written.</summary>
    public IReadOnlyList<LedgerEntry> Ledger => [.. _recorded.Adjustments, .. _added];

    /// <summary>
    /// Takes in the old run's rated file (fee records included), each record into the lane of its subscriber. Throws
    /// <see cref="RatedFileException"/> for the first line that is no rated record. Call once, before <see cref="Run"/>.
    /// <paramref name="onBytes"/> hears the bytes of the file taken in so far.
    /// </summary>
    public void ReadRated(string ratedPath, CancellationToken cancel, Action<long>? onBytes = null)
    {
        _ratedPath = ratedPath;
        RatedFileLanes.ReadForRerate(ratedPath, _lanes, cancel, onBytes);
    }

    /// <summary>
    /// Re-rates: the CDR file replayed (in a single pass, or scanned first: <see cref="SinglePass"/>), then the rated
    /// records left without a CDR reported. Call once, after <see cref="ReadRated"/>. <paramref name="onScanned"/> and
    /// <paramref name="onReplayed"/> hear the bytes of the CDR file each pass has finished so far (in a single pass both
    /// hear the one pass).
    /// </summary>
    public RerateSummary Run(string cdrPath, IRerateReceiver receiver, CancellationToken cancel, Action<long>? onScanned = null,
        Action<long>? onReplayed = null)
    {
        _receiver = receiver;
        if (!SinglePass || _cycles is not null)
        {
            return RunScanned(cdrPath, Tell, cancel, onScanned, onReplayed);
        }

        if (!MayBeWholeStream(cdrPath))
        {
            // Two passes where the caller expected one: without a report for the scan, the replay's report tells both
            // (the first half of the file's bytes the scan, the second the replay).
            var size = new FileInfo(cdrPath).Length;
            return onScanned is not null || onReplayed is null
                ? RunScanned(cdrPath, Tell, cancel, onScanned, onReplayed)
                : RunScanned(cdrPath, Tell, cancel, bytes => onReplayed(bytes / 2), bytes => onReplayed((size / 2) + ((bytes + 1) / 2)));
        }

        foreach (var lane in _lanes)
        {
            lane.Speculate();
        }

        // What the lanes find is held until the end: only then is it known which subscribers the pass gave up.
        var found = new List<RerateEvent>();
        var replay = Replay(cdrPath, found.Add, cancel, onScanned is null && onReplayed is null ? null : bytes =>
        {
            onScanned?.Invoke(bytes);
            onReplayed?.Invoke(bytes);
        });
        var failed = new HashSet<ulong>();
        foreach (var lane in _lanes)
        {
            Summary.Add(lane.Summary);
            lane.UncountCompared(Summary);
            failed.UnionWith(lane.Failed);
        }

        Summary.CdrLines = replay.Lines;
        ReplayedAgain = failed.Count;
        if (failed.Count == 0)
        {
            found.ForEach(Tell);
            return Summary;
        }

        // The subscribers given up: their findings dropped, and found again by a re-rate of them alone with the scan, over
        // copies of the files with their lines only (each line keeping its number), merged back in line order.
        var kept = new List<RerateEvent>(found.Count);
        foreach (var told in found)
        {
            if (failed.Contains(KeyOf(told)))
            {
                Summary.Uncount(told.Adjustment, told.Mismatch);
            }
            else
            {
                kept.Add(told);
            }
        }

        var again = new List<RerateEvent>();
        var folder = Path.Combine(WorkFolder ?? Path.GetTempPath(), $".rerate-again-{Environment.ProcessId}-{Guid.NewGuid():N}");
        using (var scope = RerateScope.Keeping(failed, cdrPath, _ratedPath ?? throw new InvalidOperationException("read the rated file first"), folder, cancel))
        {
            var exact = new RerateLanes(_tariff, [.. _profiles.Where(p => failed.Contains(p.MsisdnKey))], _recorded, null, _profileLines, _lanes.Length)
            {
                SinglePass = false,
            };
            exact.ReadRated(scope.RatedPath, cancel);
            exact.RunScanned(scope.CdrPath, again.Add, cancel, null, null);
            Summary.AddReplayedAgain(exact.Summary);
        }

        var (k, a) = (0, 0);
        while (k < kept.Count || a < again.Count)
        {
            Tell(a == again.Count || (k < kept.Count && kept[k].Line <= again[a].Line) ? kept[k++] : again[a++]);
        }

        return Summary;
    }

    /// <summary>
    /// Whether the CDR file holds about as many lines as the old run rated records, judged by the lines of its first
    /// <see cref="SampleBytes"/>: a stream that begins mid-cycle (a topic kept for days, the rated records for the
    /// whole cycle) holds far fewer, and the single pass would give up nearly every subscriber, each re-rated again
    /// with the scan; such a stream is scanned from the outset.
    /// </summary>
    private bool MayBeWholeStream(string cdrPath)
    {
        var records = _lanes.Sum(lane => lane.Summary.RatedRecords);
        if (records == 0 || !File.Exists(cdrPath))
        {
            return records == 0;
        }

        using var file = File.OpenHandle(cdrPath);
        var length = RandomAccess.GetLength(file);
        var sample = new byte[(int)Math.Min(length, SampleBytes)];
        var read = RandomAccess.Read(file, sample, 0);
        var lines = sample.AsSpan(0, read).Count((byte)'\n');
        var estimated = lines == 0 ? 1 : (double)length / read * lines;
        return estimated >= records * WholeStreamShare;
    }

    /// <summary>The scan, then the replay, then the records left without a CDR, each finding told in order.</summary>
    private RerateSummary RunScanned(string cdrPath, Action<RerateEvent> tell, CancellationToken cancel, Action<long>? onScanned, Action<long>? onReplayed)
    {
        // Each lane's share of the lines, from the file's size: a CDR line is longer than this, so the guess errs on the
        // side of room.
        if (File.Exists(cdrPath) && new FileInfo(cdrPath).Length / MinCdrLineBytes / _lanes.Length is var share and > 0)
        {
            foreach (var lane in _lanes)
            {
                lane.ExpectLines((int)Math.Min(share, MaxExpectedLinesPerLane));
            }
        }

        RatedFileLanes.Offer(cdrPath, [.. _lanes.Select(r => new RerateScanWorker(r))], cancel, onScanned);
        var replay = Replay(cdrPath, tell, cancel, onReplayed);
        foreach (var lane in _lanes)
        {
            Summary.Add(lane.Summary);
        }

        Summary.CdrLines = replay.Lines; // a clock is every lane's line, and one line of the stream
        return Summary;
    }

    /// <summary>The replay through the lanes, then each lane's finish (the records no CDR matched, in the order of the rated file).</summary>
    private PassTotals Replay(string cdrPath, Action<RerateEvent> tell, CancellationToken cancel, Action<long>? onReplayed)
    {
        var merger = new EventMerger(tell, _lanes.Length);
        var workers = _lanes.Select(r => new ReplayWorker(r)).ToArray();
        var replay = LanePass.Run(cdrPath, new LaneRouter(_lanes.Length), workers, () => new LaneEvents(), merger, onReplayed, cancel);

        // The records no CDR matched, each a segment ordered by its line in the rated file.
        var parts = new LaneEvents[_lanes.Length];
        for (var lane = 0; lane < _lanes.Length; lane++)
        {
            var events = parts[lane] = new LaneEvents();
            _lanes[lane].Finish(new LaneReceiver { Parts = events, Line = long.MaxValue }, order => events.EndSegment((ulong)order));
        }

        merger.MergeByOrder(parts);
        return replay;
    }

    private void Tell(RerateEvent told)
    {
        if (told.Adjustment is { } adjustment)
        {
            _added.Add(adjustment);
            _receiver!.Adjustment(adjustment);
        }
        else
        {
            _receiver!.Mismatch(told.Mismatch!);
        }
    }

    private static ulong KeyOf(RerateEvent told) =>
        MsisdnKey.TryCompute(told.Adjustment?.Msisdn ?? told.Mismatch!.Msisdn, out var key) ? key : 0;

    /// <summary>An adjustment or a mismatch, as the re-rater told it, and the number of the CDR line it is of (<see cref="long.MaxValue"/>: a record without one).</summary>
    private readonly record struct RerateEvent(Adjustment? Adjustment, RerateMismatch? Mismatch, long Line);

    /// <summary>What one lane found in one block (or at the finish): its events, in segments.</summary>
    private sealed class LaneEvents() : LaneParts(1)
    {
        public List<RerateEvent> Events { get; } = [];

        protected override int End(int channel) => Events.Count;

        protected override void Clear() => Events.Clear();
    }

    private sealed class LaneReceiver : IRerateReceiver
    {
        public LaneEvents Parts { get; set; } = null!;

        /// <summary>The line being replayed.</summary>
        public long Line { get; set; }

        public void Adjustment(Adjustment adjustment) => Parts.Events.Add(new RerateEvent(adjustment, null, Line));

        public void Mismatch(RerateMismatch mismatch) => Parts.Events.Add(new RerateEvent(null, mismatch, Line));
    }

    /// <summary>A lane: replays its lines of each block.</summary>
    private sealed class ReplayWorker(Rerater rerater) : LaneWorker<LaneEvents>
    {
        private readonly LaneReceiver _receiver = new();

        public override void BeginBlock(LaneEvents parts) => _receiver.Parts = parts;

        public override int PrefetchDepth => RatingEngine.PrefetchDepth;

        public override void Prefetch(ReadOnlySpan<ulong> ahead) => rerater.Prefetch(ahead);

        public override void Line(ReadOnlySpan<byte> line, long number, bool everyLane, LaneEvents parts)
        {
            var before = parts.Events.Count;
            _receiver.Line = number;
            rerater.Replay(line, _receiver);
            if (everyLane && parts.Events.Count != before)
            {
                // A clock record is replayed by every lane; it changes states, but is no CDR to compare.
                throw new InvalidOperationException($"line {number}: a record every lane replays told the re-rate something");
            }
        }
    }

    /// <summary>Tells the lanes' events in processing order.</summary>
    private sealed class EventMerger(Action<RerateEvent> tell, int lanes) : OrderedMerger<LaneEvents>(lanes)
    {
        private readonly int[] _told = new int[lanes];

        public override void Merge(LineBlock<LaneEvents> block)
        {
            if (Lanes == 1)
            {
                _told[0] = 0;
                TellUpTo(block.Parts[0], 0, block.Parts[0].Events.Count);
                return;
            }

            base.Merge(block);
        }

        protected override void Begin(LaneEvents[] parts) => Array.Clear(_told);

        protected override void Take(LaneEvents[] parts, int lane, int segment) => TellUpTo(parts[lane], lane, parts[lane].SegmentEnd(segment, 0));

        private void TellUpTo(LaneEvents parts, int lane, int end)
        {
            for (; _told[lane] < end; _told[lane]++)
            {
                tell(parts.Events[_told[lane]]);
            }
        }
    }
}
