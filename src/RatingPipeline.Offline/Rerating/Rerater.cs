using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Rerating;

/// <summary>Receives what a re-rate finds, in CDR stream order (then the rated records left without a CDR).</summary>
public interface IRerateReceiver
{
    void Adjustment(Adjustment adjustment);

    void Mismatch(RerateMismatch mismatch);
}

/// <summary>The counts of one re-rate run.</summary>
public sealed class RerateSummary
{
    private readonly long[] _mismatches = new long[Enum.GetValues<RerateMismatchKind>().Length];

    /// <summary>Rated records of the old run taken in.</summary>
    public long RatedRecords { get; internal set; }

    /// <summary>CDR lines replayed (blank lines not counted).</summary>
    public long CdrLines { get; internal set; }

    /// <summary>CDRs rated by both the old run and the replay, whose charges were compared.</summary>
    public long Compared { get; internal set; }

    /// <summary>Compared CDRs whose new charge differs from the rated record's charge.</summary>
    public long Changed { get; internal set; }

    /// <summary>Compared CDRs whose charge the adjustments already recorded bring to the new charge (nothing to write).</summary>
    public long AlreadyAdjusted { get; internal set; }

    /// <summary>Adjustments written in this run, and the sum of their differences (micros).</summary>
    public long Adjustments { get; internal set; }

    public long Difference { get; internal set; }

    /// <summary>Adjustments whose old and new tariff versions are the same string (the tariff changed without a new version).</summary>
    public long SameVersionAdjustments { get; internal set; }

    /// <summary>
    /// Rated records of the old run that come before their subscriber's part of the CDR stream (a stream that begins
    /// mid-cycle: a file suffix, a topic past its retention): taken as rated, neither compared nor reported.
    /// </summary>
    public long TakenAsRated { get; internal set; }

    /// <summary>Subscribers with records taken as rated: their replay was taken up where the old run stood.</summary>
    public long SubscribersTakenUp { get; internal set; }

    /// <summary>CDRs left out because their rated record is of a cycle the re-rate was not asked for (<c>--cycles</c>).</summary>
    public long OutsideCycles { get; internal set; }

    /// <summary>
    /// Narrowed by the old tariff (<see cref="RerateScope"/>): the subscribers replayed, and the non-blank CDR lines and
    /// the rated records of the others, left out. Null when every subscriber was replayed.
    /// </summary>
    public (int Subscribers, long CdrLinesLeftOut, long RatedRecordsLeftOut)? Scope { get; set; }

    public long Mismatches => _mismatches.Sum();

    public long MismatchesOf(RerateMismatchKind kind) => _mismatches[(int)kind];

    internal void Count(RerateMismatchKind kind) => _mismatches[(int)kind]++;

    /// <summary>Takes out what one adjustment or mismatch added (its subscriber is re-rated again, apart).</summary>
    internal void Uncount(Adjustment? adjustment, RerateMismatch? mismatch)
    {
        if (adjustment is not null)
        {
            Adjustments--;
            Difference = checked(Difference - adjustment.Difference);
            if (adjustment.OldTariffVersion == adjustment.NewTariffVersion)
            {
                SameVersionAdjustments--;
            }
        }

        if (mismatch is not null)
        {
            _mismatches[(int)mismatch.Kind]--;
        }
    }

    /// <summary>Adds the counts of a re-rate of some subscribers again, apart, but its records and lines (counted once already).</summary>
    internal void AddReplayedAgain(RerateSummary other)
    {
        var (records, lines) = (RatedRecords, CdrLines);
        Add(other);
        (RatedRecords, CdrLines) = (records, lines);
    }

    /// <summary>Adds the counts of a re-rate of other subscribers (another lane's).</summary>
    internal void Add(RerateSummary other)
    {
        RatedRecords += other.RatedRecords;
        CdrLines += other.CdrLines;
        Compared += other.Compared;
        Changed += other.Changed;
        AlreadyAdjusted += other.AlreadyAdjusted;
        Adjustments += other.Adjustments;
        Difference = checked(Difference + other.Difference);
        SameVersionAdjustments += other.SameVersionAdjustments;
        TakenAsRated += other.TakenAsRated;
        SubscribersTakenUp += other.SubscribersTakenUp;
        OutsideCycles += other.OutsideCycles;
        for (var i = 0; i < _mismatches.Length; i++)
        {
            _mismatches[i] += other._mismatches[i];
        }
    }

    /// <summary>
    /// The one-line summary: <c>N records compared, N adjustments, total difference X micros; N already adjusted, N
    /// mismatches</c>, with the count per kind when there are mismatches, then the CDRs of other cycles left out and the
    /// records taken as rated, when there are any.
    /// </summary>
    public override string ToString()
    {
        var text = $"{Compared} records compared, {Adjustments} adjustments, total difference {Difference} micros; "
            + $"{AlreadyAdjusted} already adjusted, {Mismatches} mismatches";
        if (Mismatches > 0)
        {
            var parts = Enum.GetValues<RerateMismatchKind>()
                .Where(k => MismatchesOf(k) > 0)
                .Select(k => $"{MismatchesOf(k)} {RerateMismatch.KindName(k)}");
            text += $" ({string.Join(", ", parts)})";
        }

        if (OutsideCycles > 0)
        {
            text += $"; {OutsideCycles} CDRs of other cycles left out";
        }

        if (TakenAsRated > 0)
        {
            text += $"; {TakenAsRated} rated records before the replay taken as rated ({SubscribersTakenUp} subscribers taken up where the old run stood)";
        }

        if (Scope is { } scope)
        {
            text += $"; narrowed to the change: {scope.Subscribers} subscribers replayed, {scope.CdrLinesLeftOut} CDR lines and "
                + $"{scope.RatedRecordsLeftOut} rated records of the others left out";
        }

        return text;
    }
}

/// <summary>Everything one re-rate produced (for callers that hold results in memory).</summary>
public sealed record RerateResult(IReadOnlyList<Adjustment> Adjustments, IReadOnlyList<RerateMismatch> Mismatches, RerateSummary Summary);

/// <summary>
/// Re-rates CDRs already rated under an older tariff. The original CDR stream is replayed, in arrival order,
/// through a fresh <see cref="RatingEngine"/> holding the new tariff, exactly as live rating does, so every
/// effect of a changed record on later ones (allowance left, data cap, spend) shows in their charges. Each
/// CDR the old run rated is compared; a changed charge becomes an <see cref="Adjustment"/> unless the
/// <see cref="AdjustmentLedger"/> already brings the charge there. CDRs rated by only one side are reported as
/// <see cref="RerateMismatch"/>es.
/// </summary>
/// <remarks>
/// <para>
/// Use: <see cref="AddRated(RatedRecord)"/> for every rated record of the old run (in the order the run wrote them, per
/// subscriber: a file, or a topic read to its end), then <see cref="Scan"/> for every line of the CDR stream, then
/// <see cref="Replay"/> for the same lines in the same order, then <see cref="Finish(IRerateReceiver)"/> once.
/// </para>
/// <para>
/// Which line is which rated record (the scan): per subscriber, the rated CDRs are the run's accepted CDRs in order,
/// so they are a subsequence of its CDR lines; a line and a record are the same CDR when id, type and start agree.
/// From the end, each record takes the last such line before the line of the record after it; a record no line is
/// left for is a gap (<c>rated-without-cdr</c>). The stream's beginning (a file suffix, a topic past its retention)
/// is after the last gap whose earlier matched records can all be resends the run rejected as duplicates: among
/// the 32 records before it, and fewer there than the gaps. The records before it are taken as rated. Then, from
/// the beginning, each later record takes the earliest line that keeps the order (an original before its resend).
/// While replaying, a line the replay rejects passes its record on to a later copy, a line before the subscriber's
/// first re-rated one that carries the next record's key takes it over when it is no duplicate, and a first re-rated
/// record the replay rejects as late or duplicate turns out to be a resend of a record before the beginning.
/// </para>
/// <para>
/// Taking up (a stream that begins mid-cycle starts where the old run stood): at a subscriber's first line, its
/// state is made from the records before the beginning and its first re-rated record: the cycle of the last record
/// before it as that record left it (running totals; the other types' used units from the last earlier record of
/// each), then the cycles of the fee records after it (fees are charged in the state's cycle: the cycle the run had
/// moved into, and its spend S), then the first re-rated record's cycle as it stood before that record (its
/// running totals less its own share: used units of its type, capped charges D, spend S). The ids of the last 32
/// records before the beginning are the duplicate memory; the latest start among those records and fees is the
/// stream time. Then every cycle is taken up at its first re-rated record, and the used units of a type at the first
/// of that type: the counters the old run had just before. A cycle the replay opened itself had the same before its
/// first record in both runs; a cycle already open when the stream began gets the old run's counters; a previous
/// cycle the old run still kept open for late records (SPEC §7.11) is kept open.
/// </para>
/// </remarks>
public sealed class Rerater
{
    /// <summary>How many profiles ahead of its insert a profile's place in the engine's table is asked for.</summary>
    private const int ProfileInsertAhead = 8;

    private readonly RatingEngine _engine;
    private readonly OldRecords _old = new();

    private readonly SubscriberMap<Subscriber> _subscribers = new();
    private readonly string _version;
    private readonly CdrDecoder _peek = new();
    private readonly IReadOnlySet<string>? _cycles;

    // Per cycle text of the table: 1 when chosen (--cycles), -1 when not, 0 not yet looked up.
    private sbyte[] _chosen = [];

    // What the scan found in each non-blank line, in stream order; the replay takes them in the same order.
    private LineEntry[] _lines = new LineEntry[1024];

    /// <summary><see cref="Align"/>'s scratch per subscriber: which records a line holds, and how many of them before each.</summary>
    private bool[] _matched = new bool[64];
    private int[] _matchedBefore = new int[64];
    private int _lineCount;
    private int _replayedLines;

    // The single pass (Speculate): no scan, each line matched on the fly with its subscriber's next record; the subscribers
    // it cannot be sure of, by msisdn key.
    private bool _speculative;
    private readonly List<ulong> _failed = [];
    private bool _scanned;
    private bool _aligned;
    private bool _finished;

    /// <param name="newTariff">The tariff to re-rate under.</param>
    /// <param name="profiles">The subscriber profiles of the original run.</param>
    /// <param name="ledger">Adjustments already recorded.</param>
    /// <param name="cycles">
    /// When given, only these cycles (<c>yyyy-MM-dd</c>) are re-rated: a CDR whose rated record is of another cycle is
    /// left out of the replay, and each chosen cycle is taken up at its first re-rated record.
    /// </param>
    /// <param name="profileLines">
    /// Whether profile lines in the CDR stream replace profiles, as in an offline run (a CDR file); on Kafka they were
    /// rejected, so a stream read from a topic is replayed without (the default).
    /// </param>
    public Rerater(Tariff newTariff, IEnumerable<SubscriberProfile> profiles, AdjustmentLedger? ledger = null,
        IReadOnlySet<string>? cycles = null, bool profileLines = false)
    {
        _cycles = cycles;
        _engine = new RatingEngine(newTariff) { AcceptsProfileLines = profileLines };

        // The profile table sized once, and each profile's place asked for a few ahead of its insert (the keys come in no
        // order, so each insert would wait on a cache miss), as the rating lanes do.
        var all = profiles as IReadOnlyList<SubscriberProfile> ?? [.. profiles];
        _engine.EnsureCapacity(all.Count, all.Count);
        for (var i = 0; i < all.Count; i++)
        {
            if (i + ProfileInsertAhead < all.Count)
            {
                _engine.PrefetchProfile(all[i + ProfileInsertAhead].MsisdnKey);
            }

            _engine.SetProfile(all[i]);
        }

        _version = newTariff.Version;
        Ledger = ledger ?? new AdjustmentLedger();
    }

    public Tariff Tariff => _engine.Tariff;

    /// <summary>
    /// Replays without a scan (call before the first line; not with chosen cycles): each CDR line of a subscriber is
    /// matched on the fly with its next rated record (the same id, type and start), else it is one the old run did not
    /// rate. That is the matching of the two walks (see the remarks) whenever every record finds its line this way and
    /// the replay does not move a record: the walk from the end then leaves no record without a line, so the stream
    /// begins before the first record, and the walk from the beginning takes each record's earliest line in order,
    /// which is the next-record rule. A subscriber for which either may fail is given up (<see cref="Failed"/>): a record
    /// left without a line at the end, a line with the id of the second record before the first was matched (pulled
    /// forward), a later copy of a record whose line the replay rejected (passed on), a first record rejected as late
    /// or a duplicate (a copy before the stream), an id whose hash another id shares. Its lines are then no longer
    /// replayed, and whatever it told the receiver must be dropped: the caller replays those subscribers again with
    /// the scan (<see cref="RerateLanes"/>).
    /// </summary>
    internal void Speculate()
    {
        if (_scanned || _aligned || _cycles is not null)
        {
            throw new InvalidOperationException("the single pass starts before any line, and re-rates every cycle");
        }

        _speculative = true;
        _aligned = true; // nothing to align: lines meet their records while replaying
    }

    /// <summary>
    /// After <see cref="Finish(IRerateReceiver)"/> of a single pass (<see cref="Speculate"/>): the msisdn keys of the
    /// subscribers it gave up, each once.
    /// </summary>
    internal IReadOnlyList<ulong> Failed => _failed;

    /// <summary>
    /// The summary of a single pass without what the given subscribers added to it by their charges compared
    /// (<see cref="RerateSummary.Compared"/>, <see cref="RerateSummary.Changed"/>, <see cref="RerateSummary.AlreadyAdjusted"/>);
    /// what they reported (adjustments, mismatches) the caller takes out with the reports themselves.
    /// </summary>
    internal void UncountCompared(RerateSummary summary)
    {
        foreach (var key in _failed)
        {
            var (compared, changed, alreadyAdjusted) = _subscribers[key].Counted;
            summary.Compared -= compared;
            summary.Changed -= changed;
            summary.AlreadyAdjusted -= alreadyAdjusted;
        }
    }

    private void Fail(Subscriber subscriber)
    {
        if (!subscriber.Failed)
        {
            subscriber.Failed = true;
            _failed.Add(subscriber.Key);
        }
    }

    /// <summary>
    /// The single pass's match of a CDR line of a subscriber with key <paramref name="lineKey"/> (<see cref="Speculate"/>):
    /// its next record, or -1; the subscriber given up where the match may not be the two walks'.
    /// </summary>
    private int MatchNext(Subscriber subscriber, ulong lineKey, ulong idHash)
    {
        var index = subscriber.Next;
        if (index >= 0 && _old[index].Key == lineKey)
        {
            subscriber.Next = _old[index].NextOfSubscriber;
            if (idHash != _old[index].IdHash || _old[index].Is(OldFlags.NonAsciiId))
            {
                Fail(subscriber);
                return -1;
            }

            return index;
        }

        if ((!subscriber.Started && index >= 0 && _old[index].NextOfSubscriber is >= 0 and var second && _old[second].Key == lineKey)
            || (subscriber.RejectedKeys is { } rejected && rejected.Contains(lineKey)))
        {
            Fail(subscriber);
        }

        return -1;
    }

    /// <summary>The recorded adjustments plus those of this run.</summary>
    public AdjustmentLedger Ledger { get; }

    public RerateSummary Summary { get; } = new();

    /// <summary>
    /// Makes room for about <paramref name="records"/> rated records before they are taken in (a hint: more or fewer
    /// still work): the records' array is then sized once instead of doubled step by step.
    /// </summary>
    internal void ExpectRated(int records)
    {
        _old.EnsureCapacity(records);
    }

    /// <summary>
    /// Makes room for about <paramref name="lines"/> lines of the CDR stream before the scan (a hint, as for
    /// <see cref="ExpectRated"/>): the scan's entries are then not doubled step by step, each doubling leaving the
    /// smaller array behind.
    /// </summary>
    internal void ExpectLines(int lines)
    {
        if (lines > _lines.Length && !_scanned)
        {
            Array.Resize(ref _lines, lines);
        }
    }

    /// <summary>
    /// Takes in one rated record of the old run (before the scan starts), in the order the run wrote them. A fee record
    /// (<see cref="RatedRecord.IsFee"/>) is no CDR to compare: one written before a subscriber's part of the stream tells
    /// the cycle the run had moved into, the cycle's spend after it, and a time the run had reached.
    /// </summary>
    public void AddRated(RatedRecord record) => AddRated(record, _old.Count);

    /// <summary>
    /// <see cref="AddRated(RatedRecord)"/> with the record's place in the old run's output (its line in the rated file),
    /// which <see cref="Finish(IRerateReceiver, Action{long})"/> tells after each record it reports.
    /// </summary>
    internal void AddRated(RatedRecord record, long order)
    {
        var line = new RatedLine
        {
            Id = TextOf(record.Id),
            Msisdn = TextOf(record.Msisdn),
            Type = TextOf(record.Type),
            Start = TextOf(record.Start),
            Cycle = TextOf(record.Cycle),
            Plan = TextOf(record.Plan),
            TariffVersion = TextOf(record.TariffVersion),
            Zone = TextOf(record.Zone),
            ZeroRated = TextOf(record.ZeroRated),
            Direction = TextOf(record.Direction),
            Peer = TextOf(record.Peer),
            MsisdnKey = record.MsisdnKey,
            CdrType = record.CdrType,
            StartTicks = record.StartTicks,
            BillableUnits = record.BillableUnits,
            AllowanceUnits = record.AllowanceUnits,
            OverageUnits = record.OverageUnits,
            Charge = record.Charge,
            UsedAfter = record.UsedAfter ?? 0,
            CappedAfter = record.CappedAfter ?? 0,
            SpendAfter = record.SpendAfter ?? 0,
            HasUsedAfter = record.UsedAfter.HasValue,
            HasCappedAfter = record.CappedAfter.HasValue,
            HasSpendAfter = record.SpendAfter.HasValue,
            IsFee = record.IsFee,
        };
        AddRated(ref line, order);

        static RatedText TextOf(string? text) =>
            text is null ? default : new RatedText { Utf8 = System.Text.Encoding.UTF8.GetBytes(text), Text = text, IsPresent = true };
    }

    /// <summary>
    /// <see cref="AddRated(RatedRecord, long)"/> for a record read without objects (<see cref="RatedRecordReader.TryParseLine"/>):
    /// its fields are kept in <see cref="OldRecords"/>.
    /// </summary>
    internal void AddRated(ref RatedLine record, long order)
    {
        if (_scanned || _aligned)
        {
            throw new InvalidOperationException("rated records must all be added before the CDR stream is scanned");
        }

        if (record.IsFee)
        {
            var feeCycle = _old.CycleDay(_old.TextOf(in record.Cycle));
            if (feeCycle != int.MinValue)
            {
                SubscriberOf(record.MsisdnKey).Fees.Add(new Fee(_old.Count, feeCycle, record.StartTicks,
                    record.HasSpendAfter ? record.SpendAfter : null));
            }

            return;
        }

        var index = _old.Add(ref record, order);
        ref var old = ref _old[index];
        Summary.RatedRecords++;
        var subscriber = SubscriberOf(record.MsisdnKey);
        old.NextOfSubscriber = -1;
        if (subscriber.Last < 0)
        {
            subscriber.Next = index;
        }
        else
        {
            _old[subscriber.Last].NextOfSubscriber = index; // a store, not waited for (a load of the list's end would be)
        }

        subscriber.Last = index;

        subscriber.Records.Add(index);
        old.PreviousCapped = subscriber.LastCapped.GetValueOrDefault(old.Cycle) - 1;
        if (old.Is(OldFlags.HasCapped))
        {
            subscriber.LastCapped[old.Cycle] = index + 1;
        }
    }

    /// <summary>Takes in one line of the CDR stream (the first pass, before <see cref="Replay"/> of the same lines).</summary>
    // A hot method, optimised at its first call (bench/README: "Hot methods optimised at once").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scan(ReadOnlySpan<byte> line)
    {
        if (_aligned)
        {
            throw new InvalidOperationException("the CDR stream must be scanned before the replay starts");
        }

        _scanned = true;
        if (SubscriberFile.IsBlank(line))
        {
            return;
        }

        if (_lineCount == _lines.Length)
        {
            Array.Resize(ref _lines, _lines.Length * 2);
        }

        // What the replay needs of the line, so it decodes it no more: whose CDR or location record it is, and the id.
        ref var entry = ref _lines[_lineCount++];
        entry = new LineEntry { Length = line.Length, Kind = RecordKind.Clock, Subscriber = null };
        if (_peek.Decode(line, out var cdr) != InvalidCause.None)
        {
            entry.Invalid = true;
            return;
        }

        entry.Kind = cdr.Kind;
        entry.MsisdnKey = cdr.MsisdnKey;
        if (cdr.Kind == RecordKind.Cdr)
        {
            var subscriber = entry.Subscriber = SubscriberOf(cdr.MsisdnKey);
            if (subscriber.Lines.Capacity == 0)
            {
                // Room for a line per rated record and a few rejected ones, at once: growing step by step leaves every
                // smaller list behind, fresh memory touched for nothing.
                subscriber.Lines.Capacity = subscriber.Records.Count + 2;
            }

            subscriber.Lines.Add(OldRecords.LineKey(cdr.Id, cdr.Type, cdr.Start));
            entry.IdHash = XxHash3.HashToUInt64(cdr.Id);
        }
    }

    /// <summary>
    /// The subscriber of a CDR or location record line the replay knows (with its msisdn key, whether it is a CDR and
    /// the hash of its id), from the scan's entry for it or, without a scan, from the record as <see cref="Replay"/> decoded it (<paramref name="isDecoded"/>: without a fault).
    /// </summary>
    private bool TryOwner(ReadOnlySpan<byte> cdr, bool isDecoded, in Cdr decoded, out Subscriber subscriber, out ulong msisdnKey, out bool isCdr,
        out ulong idHash, out ulong lineKey)
    {
        subscriber = null!;
        msisdnKey = 0;
        isCdr = false;
        idHash = 0;
        lineKey = 0;
        if (_scanned)
        {
            if (_replayedLines >= _lineCount)
            {
                throw new InvalidOperationException("the replayed CDR stream holds more lines than the scanned one");
            }

            ref var entry = ref _lines[_replayedLines++];
            if (entry.Length != cdr.Length)
            {
                throw new InvalidOperationException("the replayed CDR stream differs from the scanned one");
            }

            if (entry.Invalid || entry.Kind is not (RecordKind.Cdr or RecordKind.Location))
            {
                return false;
            }

            msisdnKey = entry.MsisdnKey;
            isCdr = entry.Kind == RecordKind.Cdr;
            idHash = entry.IdHash;
            if (entry.Subscriber is { } known)
            {
                subscriber = known;
                return true;
            }

            return _subscribers.TryGetValue(msisdnKey, out subscriber!);
        }

        if (!isDecoded || decoded.Kind is not (RecordKind.Cdr or RecordKind.Location)
            || !_subscribers.TryGetValue(decoded.MsisdnKey, out subscriber!))
        {
            return false;
        }

        msisdnKey = decoded.MsisdnKey;
        isCdr = decoded.Kind == RecordKind.Cdr;
        idHash = XxHash3.HashToUInt64(decoded.Id);
        if (isCdr)
        {
            lineKey = OldRecords.LineKey(decoded.Id, decoded.Type, decoded.Start);
        }

        return true;
    }

    /// <summary>
    /// Hints the subscribers of the records the replay comes to next (<see cref="RatingEngine.Prefetch"/>: their
    /// profiles and states are brought into the cache while the records before them are replayed).
    /// </summary>
    /// <remarks>
    /// The re-rate's own data of those lines comes with it, found from the scan's entries: the subscriber three lines
    /// ahead, the place of its next line's record two ahead (its subscriber came a line ago), and that record one ahead.
    /// </remarks>
    internal void Prefetch(ReadOnlySpan<ulong> ahead)
    {
        _engine.Prefetch(ahead);
        if (_speculative)
        {
            // Without a scan's entries: from the msisdn keys, the subscriber's entry three lines ahead (ahead[2]), the
            // subscriber two ahead (its entry came a line ago), and the record its next line is matched with.
            if (ahead.Length >= 3)
            {
                _subscribers.PrefetchSlot(ahead[2]);
                CacheHints.Object(_subscribers.Peek(ahead[1]));
                if (_subscribers.Peek(ahead[0]) is { Next: >= 0 and var matchedNext } && matchedNext < _old.Count)
                {
                    ref var next = ref _old[matchedNext];
                    CacheHints.At(ref next);
                    CacheHints.At(ref Unsafe.AddByteOffset(ref next, 64));
                }
            }

            return;
        }

        var line = _replayedLines; // the line replayed next
        if (line + 3 < _lineCount)
        {
            CacheHints.Object(_lines[line + 3].Subscriber);
        }

        if (line + 2 < _lineCount && _lines[line + 2].Subscriber is { LineRecord: { } twoAhead } second && second.Replayed < twoAhead.Length)
        {
            CacheHints.At(ref twoAhead[second.Replayed]);
        }

        if (line + 1 < _lineCount && _lines[line + 1].Subscriber is { LineRecord: { } oneAhead } first && first.Replayed < oneAhead.Length
            && oneAhead[first.Replayed] is >= 0 and var record && record < _old.Count)
        {
            ref var old = ref _old[record];
            CacheHints.At(ref old);
            CacheHints.At(ref Unsafe.AddByteOffset(ref old, 64));
        }
    }

    /// <summary>How many lines ahead <see cref="PrefetchSubscribers"/> wants to hear of.</summary>
    internal const int SubscriberPrefetchDepth = 3;

    /// <summary>
    /// Hints the subscribers of the lines the reading of the rated file or the scan comes to next (<paramref name="ahead"/>[0]
    /// the next; 0 where not known): the entry of the one three ahead, the subscriber of the one two ahead (its entry came
    /// a line ago), and the lists of the next one (it came a line ago) with its last record's link to the next, step by step as
    /// each step's data has arrived.
    /// </summary>
    internal void PrefetchSubscribers(ReadOnlySpan<ulong> ahead)
    {
        if (ahead.Length < SubscriberPrefetchDepth)
        {
            return;
        }

        _subscribers.PrefetchSlot(ahead[2]);
        CacheHints.Object(_subscribers.Peek(ahead[1]));
        if (_subscribers.Peek(ahead[0]) is { } next)
        {
            CacheHints.Object(next.Records);
            CacheHints.Object(next.Lines);
            if (next.Last >= 0 && next.Last < _old.Count)
            {
                CacheHints.At(ref _old[next.Last].NextOfSubscriber); // the link the next record sets
            }
        }
    }

    /// <summary>Replays one CDR (the bytes of one record; a blank line is skipped) under the new tariff.</summary>
    // A hot method, optimised at its first call (bench/README: "Hot methods optimised at once").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Replay(ReadOnlySpan<byte> cdr, IRerateReceiver receiver)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the re-rate is finished");
        }

        if (!_aligned)
        {
            if (!_scanned && _old.Count > 0)
            {
                throw new InvalidOperationException("scan the CDR stream before replaying it");
            }

            Align();
        }

        if (SubscriberFile.IsBlank(cdr))
        {
            return;
        }

        Summary.CdrLines++;
        var oldIndex = -1;
        Subscriber? owner = null;
        var ordinal = -1;

        // Without a scan the line is decoded here, once: to know whose it is, and for the engine.
        Cdr decoded = default;
        var isDecoded = !_scanned && _peek.Decode(cdr, out decoded) == InvalidCause.None;
        if (TryOwner(cdr, isDecoded, in decoded, out var subscriber, out var msisdnKey, out var isCdr, out var idHash, out var lineKey))
        {
            if (!subscriber.Begun)
            {
                Begin(subscriber, msisdnKey);
            }

            if (isCdr && _speculative)
            {
                owner = subscriber;
                oldIndex = subscriber.Failed ? -1 : MatchNext(subscriber, lineKey, idHash);
                if (subscriber.Failed)
                {
                    return; // replayed again in full, with the scan
                }

                if (oldIndex >= 0)
                {
                    subscriber.Started = true;
                    _old[oldIndex].Set(OldFlags.Done, true);
                    TakeUp(subscriber, msisdnKey, oldIndex);
                }
            }
            else if (isCdr)
            {
                if (subscriber.Replayed >= subscriber.Lines.Count)
                {
                    throw new InvalidOperationException("the replayed CDR stream holds more lines than the scanned one");
                }

                owner = subscriber;
                ordinal = subscriber.Replayed++;
                oldIndex = subscriber.LineRecord![ordinal];
                var pulled = false;
                if (oldIndex < 0 && !subscriber.Started)
                {
                    oldIndex = PullForward(subscriber, msisdnKey, ordinal);
                    pulled = oldIndex >= 0;
                }

                subscriber.Started |= oldIndex >= 0;
                if (oldIndex >= 0 && (idHash != _old[oldIndex].IdHash || _old[oldIndex].Is(OldFlags.NonAsciiId)))
                {
                    oldIndex = -1; // two ids with one hash: not this record (an id must be ASCII to be matched)
                }

                if (oldIndex >= 0)
                {
                    _old[oldIndex].Set(OldFlags.Done, true);
                    if (!Chosen(_old[oldIndex].Cycle))
                    {
                        Summary.OutsideCycles++;
                        return; // a CDR of a cycle not chosen: left out of the replay
                    }

                    if (!pulled)
                    {
                        TakeUp(subscriber, msisdnKey, oldIndex);
                    }
                }
            }
        }

        var sink = default(ReplaySink);
        sink.Tariff = _engine.Tariff;
        sink.WantsId = oldIndex < 0;
        var result = isDecoded ? _engine.ProcessDecoded(_peek, in decoded, cdr, ref sink) : _engine.Process(cdr, ref sink);
        if (result == RatingResult.Rated && sink.HasRated)
        {
            if (oldIndex < 0)
            {
                if (_cycles is not null && !_cycles.Contains(BillingCycle.ToText(sink.CycleDay)))
                {
                    return; // a CDR of a cycle not chosen that only the new tariff rates
                }

                Report(receiver, new RerateMismatch(RerateMismatchKind.RatedOnlyByNewTariff, sink.Id!, MsisdnKey.ToText(sink.MsisdnKey),
                    BillingCycle.ToText(sink.CycleDay), null, sink.Charge, null, _version, null,
                    "the new tariff rates this CDR; the old run has no rated record with its id and msisdn"));
                return;
            }

            Compare(owner!, oldIndex, in sink, receiver);
        }
        else if (result == RatingResult.Rejected && oldIndex >= 0)
        {
            if (_speculative)
            {
                if (sink.Reason is RejectReason.Late or RejectReason.Duplicate && owner!.Records[0] == oldIndex)
                {
                    Fail(owner); // perhaps a copy of a record before the stream (CopyBeforeStream)
                    return;
                }

                (owner!.RejectedKeys ??= []).Add(_old[oldIndex].Key); // a later copy would take the record on (PassOn)
            }
            else if (PassOn(owner!, ordinal, oldIndex) || CopyBeforeStream(owner!, oldIndex, sink.Reason))
            {
                return;
            }

            ref var old = ref _old[oldIndex];
            Report(receiver, new RerateMismatch(RerateMismatchKind.RejectedByNewTariff, _old.Id(oldIndex), _old.Msisdn(oldIndex), _old.Text(old.Cycle),
                old.Charge, null, _old.Text(old.Version), _version, RecordNames.ReasonText(sink.Reason),
                $"the old run rated this CDR; the new tariff rejects it: {sink.Detail}"));
        }
    }

    /// <summary>
    /// A line the replay rejects passes its rated record on to the next later copy of it (same id) that is no rated
    /// record's line: the old run rated that copy (a CDR rejected and sent again, e.g. after its profile was fixed).
    /// False when there is none: the record stays with this line.
    /// </summary>
    private bool PassOn(Subscriber subscriber, int ordinal, int oldIndex)
    {
        foreach (var (_, j) in subscriber.PositionsOf(subscriber.Lines[ordinal]))
        {
            if (j > ordinal && subscriber.LineRecord![j] < 0)
            {
                subscriber.LineRecord[j] = oldIndex;
                _old[oldIndex].Set(OldFlags.Done, false);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Before the subscriber's first re-rated line: a line no rated record was given to, that carries the id of the
    /// record after the first re-rated one, whose line comes later. When the id is not in the replay's duplicate memory,
    /// this line may be that record's own (the line given to the first re-rated record then being a resend of a record
    /// from before the stream, which <see cref="CopyBeforeStream"/> finds when the replay rejects it), so it takes the
    /// record over, replayed as it stands. Returns the record, or -1.
    /// </summary>
    private int PullForward(Subscriber subscriber, ulong msisdnKey, int ordinal)
    {
        var hash = subscriber.Lines[ordinal];
        var second = subscriber.Start + 1 < subscriber.Records.Count ? subscriber.Records[subscriber.Start + 1] : -1;
        foreach (var (_, j) in subscriber.PositionsOf(hash))
        {
            if (j <= ordinal || subscriber.LineRecord![j] != second || second < 0)
            {
                continue;
            }

            ref readonly var state = ref _engine.StateOrNullRef(msisdnKey);
            if (!Unsafe.IsNullRef(in state) && state.RecentIds.Contains(_old[subscriber.LineRecord[j]].IdHash))
            {
                return -1; // a duplicate now: the later copy is the rated one
            }

            var index = subscriber.LineRecord[j];
            subscriber.LineRecord[j] = -1;
            subscriber.LineRecord[ordinal] = index;
            return index;
        }

        return -1;
    }

    /// <summary>
    /// The replay starts a subscriber from the state the old run had before its first re-rated record, so a record the
    /// old run accepted there is accepted again, unless the tariff changed what is late (grace, offset). When the replay
    /// rejects that first record as late or a duplicate, its line is a copy the old run rejected too, sent again after
    /// the stream began, and the record itself comes before the stream: it is taken as rated, and the subscriber's state
    /// takes its counters after it and its id. False for any other record or reason.
    /// </summary>
    private bool CopyBeforeStream(Subscriber subscriber, int oldIndex, RejectReason reason)
    {
        if (reason is not (RejectReason.Late or RejectReason.Duplicate) || subscriber.Start >= subscriber.Records.Count
            || subscriber.Records[subscriber.Start] != oldIndex)
        {
            return false;
        }

        ref var record = ref _old[oldIndex];
        record.Set(OldFlags.BeforeStream, true);
        record.Set(OldFlags.Done, false);
        var key = record.MsisdnKey;
        ref readonly var state = ref _engine.StateOrNullRef(key);
        if (record.UsedAfter is { } usedAfter && TryCycle(record.Cycle, out var cycle) && !Unsafe.IsNullRef(in state)
            && (state.CycleDay == cycle || state.Previous?.Cycle == cycle))
        {
            ref var counters = ref _engine.TakeUpCycle(key, cycle, record.StartTicks);
            counters.Used[(int)record.CdrType] = usedAfter;
            counters.Capped = record.CappedAfter ?? counters.Capped;
            counters.Spend = record.SpendAfter ?? counters.Spend;
        }

        _engine.TakeUpHistory(key, [record.IdHash], record.StartTicks);
        return true;
    }

    /// <summary>
    /// Reports the old run's rated records that no CDR of the stream matched, and counts those before the stream's
    /// beginning (taken as rated). Call once, after the last CDR.
    /// </summary>
    public void Finish(IRerateReceiver receiver) => Finish(receiver, null);

    /// <summary>
    /// <see cref="Finish(IRerateReceiver)"/>, telling <paramref name="afterRecord"/> the place (given to
    /// <see cref="AddRated(RatedRecord, long)"/>) of each record after reporting it.
    /// </summary>
    internal void Finish(IRerateReceiver receiver, Action<long>? afterRecord)
    {
        if (_finished)
        {
            return;
        }

        if (!_aligned)
        {
            Align();
        }

        _finished = true;
        if (_speculative)
        {
            // A record left without a line: the walks may find a gap, or the stream's beginning after it.
            foreach (var subscriber in _subscribers.Values)
            {
                if (subscriber.Next >= 0)
                {
                    Fail(subscriber);
                }
            }
        }

        var takenUp = new HashSet<ulong>();
        for (var i = 0; i < _old.Count; i++)
        {
            ref var old = ref _old[i];
            if (old.Is(OldFlags.Done) || !Chosen(old.Cycle) || (_speculative && _subscribers[old.MsisdnKey].Failed))
            {
                continue;
            }

            if (old.Is(OldFlags.BeforeStream))
            {
                Summary.TakenAsRated++;
                takenUp.Add(old.MsisdnKey);
                continue;
            }

            Report(receiver, new RerateMismatch(RerateMismatchKind.RatedWithoutCdr, _old.Id(i), _old.Msisdn(i), _old.Text(old.Cycle), old.Charge, null,
                _old.Text(old.Version), _version, null, "no CDR with this id and msisdn came in the CDR stream, so it could not be re-rated"));
            afterRecord?.Invoke(old.Order);
        }

        Summary.SubscribersTakenUp = takenUp.Count;
    }

    /// <summary>Re-rates in memory: all rated records, then all CDRs in order (scanned, then replayed).</summary>
    public static RerateResult Run(Tariff newTariff, IEnumerable<SubscriberProfile> profiles, IEnumerable<RatedRecord> oldRated,
        IEnumerable<ReadOnlyMemory<byte>> cdrs, AdjustmentLedger? ledger = null, IReadOnlySet<string>? cycles = null, bool profileLines = true)
    {
        var rerater = new Rerater(newTariff, profiles, ledger, cycles, profileLines);
        foreach (var record in oldRated)
        {
            rerater.AddRated(record);
        }

        var lines = cdrs as IReadOnlyList<ReadOnlyMemory<byte>> ?? [.. cdrs];
        foreach (var cdr in lines)
        {
            rerater.Scan(cdr.Span);
        }

        var collector = new Collector();
        foreach (var cdr in lines)
        {
            rerater.Replay(cdr.Span, collector);
        }

        rerater.Finish(collector);
        return new RerateResult(collector.Adjustments, collector.Mismatches, rerater.Summary);
    }

    private Subscriber SubscriberOf(ulong msisdnKey)
    {
        var subscriber = _subscribers.GetOrAdd(msisdnKey, static () => new Subscriber());
        subscriber.Key = msisdnKey;
        return subscriber;
    }

    /// <summary>The cycle of the subscriber's usage state, <see cref="int.MinValue"/> without one (read in place: a state is too large to copy per look).</summary>
    private int CycleOfState(ulong msisdnKey)
    {
        ref readonly var state = ref _engine.StateOrNullRef(msisdnKey);
        return Unsafe.IsNullRef(in state) ? int.MinValue : state.CycleDay;
    }

    /// <summary>Matches every subscriber's CDR lines with its rated records (see the remarks of <see cref="Rerater"/>).</summary>
    // A hot method, optimised at its first call (bench/README: "Hot methods optimised at once").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Align()
    {
        _aligned = true;
        foreach (var subscriber in _subscribers.Values)
        {
            var records = subscriber.Records;
            var lines = subscriber.Lines;
            var n = records.Count;
            if (LinesAreRecords(subscriber))
            {
                // The common case of a whole stream: line j is record j for every j. Each record then takes its own line
                // in both walks below (the last line with its key before the next record's is its own, and so is the
                // earliest after the previous one's), none is before the stream, and the lines' positions by key are
                // made only if the replay asks (a rejected record passed on, a line pulled forward).
                subscriber.LineRecord = [.. records];
                subscriber.Start = 0;
                continue;
            }

            subscriber.LineRecord = new int[lines.Count];
            Array.Fill(subscriber.LineRecord, -1);

            // From the end: each record takes the last line with its id before the line of the record after it.
            if (_matched.Length < n + 1)
            {
                _matched = new bool[Math.Max(n + 1, _matched.Length * 2)];
                _matchedBefore = new int[_matched.Length];
            }

            var matched = _matched.AsSpan(0, n);
            matched.Clear();
            var bound = lines.Count;
            var firstMatched = n;
            for (var i = n - 1; i >= 0; i--)
            {
                var list = subscriber.PositionsOf(_old[records[i]].Key);
                var at = LastBefore(list, bound);
                if (at >= 0)
                {
                    matched[i] = true;
                    bound = list[at].Line;
                    firstMatched = i;
                }
            }

            // The stream's beginning: after the last record no line holds (the last of a run of such records) whose matched
            // predecessors can all be resends the run rejected as duplicates: among the 32 records before that beginning,
            // and fewer there than the records no line holds. None matched: every record is before it.
            var matchedBefore = _matchedBefore.AsSpan(0, n + 1);
            matchedBefore[0] = 0;
            for (var i = 0; i < n; i++)
            {
                matchedBefore[i + 1] = matchedBefore[i] + (matched[i] ? 1 : 0);
            }

            var start = firstMatched == n ? n : 0;
            for (var i = n - 1; i >= 0 && start == 0; i--)
            {
                var from = Math.Max(0, i + 1 - IdMemory.Capacity);
                var resends = matchedBefore[i + 1] - matchedBefore[from];
                if (!matched[i] && (i == n - 1 || matched[i + 1]) && (firstMatched > i || i + 1 - firstMatched <= IdMemory.Capacity)
                    && resends <= i + 1 - from - resends)
                {
                    start = i + 1;
                }
            }

            subscriber.Start = start;
            for (var i = 0; i < start; i++)
            {
                _old[records[i]].Set(OldFlags.BeforeStream, true);
            }

            // From the beginning: each record after it (gaps aside) takes the earliest line with its id that keeps the order.
            var next = start;
            for (var j = 0; j < lines.Count; j++)
            {
                while (next < n && !matched[next])
                {
                    next++;
                }

                if (next < n && lines[j] == _old[records[next]].Key)
                {
                    subscriber.LineRecord[j] = records[next++];
                }
            }
        }
    }

    /// <summary>Whether the subscriber's CDR lines are its rated records' lines one for one, in order (same count, same keys).</summary>
    private bool LinesAreRecords(Subscriber subscriber)
    {
        var records = CollectionsMarshal.AsSpan(subscriber.Records);
        var lines = CollectionsMarshal.AsSpan(subscriber.Lines);
        if (records.Length != lines.Length)
        {
            return false;
        }

        for (var j = 0; j < records.Length; j++)
        {
            if (j + 4 < records.Length)
            {
                CacheHints.At(ref _old[records[j + 4]]); // the records of a subscriber lie apart in the array
            }

            if (lines[j] != _old[records[j]].Key)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A subscriber's first line: its state as the old run had it where the stream begins. A state the replay made
    /// before (only clocks can) is dropped, keeping its stream time and clock mark: the old run's stands instead. The
    /// cycle of the last record before the stream is taken up as that record left it (its running totals; the other
    /// types' used units from the last earlier record of each), then the cycle of the first re-rated record as it
    /// stood before that record (its running totals less its own share), the later cycle ending the earlier one as an
    /// advance would; the ids of the last 32 records before the stream become the duplicate memory.
    /// </summary>
    private void Begin(Subscriber subscriber, ulong msisdnKey)
    {
        subscriber.Begun = true;
        var records = subscriber.Records;
        if (records.Count == 0)
        {
            return;
        }

        var streamTime = long.MinValue;
        var mark = UsageState.NoMark;
        ref readonly var made = ref _engine.StateOrNullRef(msisdnKey);
        if (!Unsafe.IsNullRef(in made))
        {
            streamTime = made.StreamTime;
            mark = made.Mark;
            _engine.RemoveState(msisdnKey);
        }

        var earlier = Math.Min(subscriber.Start, records.Count);
        for (var i = 0; i < earlier; i++)
        {
            streamTime = Math.Max(streamTime, _old[records[i]].StartTicks);
        }

        // Fee records before the stream: written before the first re-rated record (fees sort by the CDR records before them).
        var firstIndex = earlier < records.Count ? records[earlier] : int.MaxValue;
        var fees = subscriber.Fees;
        foreach (var fee in fees)
        {
            if (fee.Order <= firstIndex)
            {
                streamTime = Math.Max(streamTime, fee.StartTicks);
            }
        }

        if (earlier > 0 && _old[records[earlier - 1]] is { UsedAfter: { } usedAfter } last && TryCycle(last.Cycle, out var lastCycle))
        {
            ref var counters = ref _engine.TakeUpCycle(msisdnKey, lastCycle, streamTime);
            if (!Unsafe.IsNullRef(ref counters))
            {
                counters.Used[(int)last.CdrType] = usedAfter;
                counters.Capped = last.CappedAfter ?? counters.Capped;
                counters.Spend = last.SpendAfter ?? counters.Spend;
                var seeded = Seeded.Cycle | TypeBit((int)last.CdrType);
                for (var i = earlier - 2; i >= 0 && (seeded & Seeded.AllTypes) != Seeded.AllTypes; i--)
                {
                    var before = _old[records[i]];
                    var bit = TypeBit((int)before.CdrType);
                    if ((seeded & bit) == 0 && before.Cycle == last.Cycle && before.UsedAfter is { } used)
                    {
                        counters.Used[(int)before.CdrType] = used;
                        seeded |= bit;
                    }
                }

                subscriber.Seeded[lastCycle] = seeded;
            }
        }

        // Fees charged after that record: the cycle the run had moved into (fees are charged in the state's cycle) and its S.
        var lastIndex = earlier > 0 ? records[earlier - 1] : -1;
        foreach (var fee in fees)
        {
            if (fee.Order > firstIndex || fee.Order <= lastIndex || fee.SpendAfter is not { } spendAfter
                || CycleOfState(msisdnKey) > fee.Cycle)
            {
                continue;
            }

            ref var counters = ref _engine.TakeUpCycle(msisdnKey, fee.Cycle, streamTime);
            if (!Unsafe.IsNullRef(ref counters))
            {
                counters.Spend = spendAfter;
                subscriber.Seeded[fee.Cycle] = subscriber.Seeded.GetValueOrDefault(fee.Cycle) | Seeded.Cycle;
            }
        }

        if (earlier < records.Count)
        {
            var first = records[earlier];
            subscriber.ReplayFrom = int.MaxValue; // the replay has been in no cycle yet: any may be taken up
            TakeUp(subscriber, msisdnKey, first, Math.Max(streamTime, _old[first].StartTicks));
        }

        // The duplicate memory: the ids of the last 32 records before the stream.
        Span<ulong> ids = stackalloc ulong[IdMemory.Capacity];
        var count = 0;
        for (var i = Math.Max(0, earlier - IdMemory.Capacity); i < earlier; i++)
        {
            ids[count++] = _old[records[i]].IdHash;
        }

        _engine.TakeUpHistory(msisdnKey, ids[..count], streamTime, mark);
        subscriber.ReplayFrom = CycleOfState(msisdnKey);
    }

    /// <summary>
    /// Before a re-rated record is replayed: at the first re-rated record of its cycle, the cycle's D and S as the old run
    /// had them before it, and at the first of its type in the cycle, the type's used units likewise.
    /// </summary>
    private void TakeUp(Subscriber subscriber, ulong msisdnKey, int index, long? at = null)
    {
        ref var record = ref _old[index];
        if (record.UsedAfter is not { } usedAfter || !TryCycle(record.Cycle, out var cycle))
        {
            return;
        }

        var type = (int)record.CdrType;
        var seeded = subscriber.Seeded.GetValueOrDefault(cycle);
        if ((seeded & (Seeded.Cycle | TypeBit(type))) == (Seeded.Cycle | TypeBit(type)))
        {
            return;
        }

        subscriber.Seeded[cycle] = seeded | Seeded.Cycle | TypeBit(type);

        // A cycle older than the state's is taken up only when the replay has never been in it: the old run kept it open
        // for late records while the replay began after it. One the replay ended itself stays as the replay left it.
        if (CycleOfState(msisdnKey) > cycle && cycle >= subscriber.ReplayFrom)
        {
            return;
        }

        ref var counters = ref _engine.TakeUpCycle(msisdnKey, cycle, at ?? record.StartTicks);
        if (Unsafe.IsNullRef(ref counters))
        {
            return;
        }

        if ((seeded & TypeBit(type)) == 0)
        {
            counters.Used[type] = usedAfter - record.AllowanceUnits;
        }

        if ((seeded & Seeded.Cycle) == 0)
        {
            counters.Capped = CappedBefore(index);
            if (record.SpendAfter is { } spend)
            {
                counters.Spend = spend - record.Charge;
            }
        }
    }

    /// <summary>
    /// D of a record's cycle before it: the cappedAfter of the subscriber's previous record of that cycle, or, with none
    /// in the rated records, its own cappedAfter less its charge when its rate is capped.
    /// </summary>
    private long CappedBefore(int index)
    {
        ref var record = ref _old[index];
        if (record.PreviousCapped >= 0)
        {
            return _old[record.PreviousCapped].Capped;
        }

        return (record.CappedAfter ?? 0) - (RateWasCapped(index) ? record.Charge : 0);
    }

    /// <summary>Whether the rate that rated record <paramref name="index"/> is capped (its charge then counted into D), under the replay's tariff.</summary>
    private bool RateWasCapped(int index)
    {
        ref var old = ref _old[index];
        if (old.Charge == 0)
        {
            return false; // nothing to count, whatever the rate (most first records of a cycle are in the allowance)
        }

        var tariff = _engine.Tariff;
        var zone = -1;
        for (var i = 0; i < tariff.ZoneIds.Count && zone < 0; i++)
        {
            zone = tariff.ZoneIds[i] == _old.Text(old.Zone) ? i : -1;
        }

        if (zone < 0 || !tariff.TryGetPlan(_old.Text(old.Plan), out var plan))
        {
            return false;
        }

        var direction = (old.Direction < 0 ? null : _old.Text(old.Direction)) switch { "mo" => Direction.Mo, "mt" => Direction.Mt, _ => Direction.None };
        var peer = _old.Peer(index);
        var dest = old.CdrType == CdrType.Data || peer is null ? Dest.None : Tariff.DestOf(System.Text.Encoding.ASCII.GetBytes(peer));
        var rate = plan.FindRate(old.CdrType, zone, direction, dest);
        return rate >= 0 && plan.Rates[rate].Capped;
    }

    private static Seeded TypeBit(int type) => (Seeded)(1 << type);

    /// <summary>The day number of a cycle text of the table; false when it is no date.</summary>
    private bool TryCycle(int text, out int dayNumber)
    {
        dayNumber = _old.CycleDay(text);
        return dayNumber != int.MinValue;
    }

    /// <summary>Whether a cycle text of the table is re-rated: every cycle, or one of those chosen.</summary>
    private bool Chosen(int cycle)
    {
        if (_cycles is null)
        {
            return true;
        }

        if (cycle >= _chosen.Length)
        {
            Array.Resize(ref _chosen, Math.Max(cycle + 1, _chosen.Length * 2));
        }

        if (_chosen[cycle] == 0)
        {
            _chosen[cycle] = _cycles.Contains(_old.Text(cycle)) ? (sbyte)1 : (sbyte)-1;
        }

        return _chosen[cycle] > 0;
    }

    /// <summary>The position in <paramref name="positions"/> (ascending lines) of the last line before <paramref name="bound"/>, or -1.</summary>
    private static int LastBefore(ReadOnlySpan<(ulong Key, int Line)> positions, int bound)
    {
        int low = 0, high = positions.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (positions[middle].Line < bound)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low - 1;
    }

    private void Compare(Subscriber owner, int oldIndex, in ReplaySink replay, IRerateReceiver receiver)
    {
        ref var old = ref _old[oldIndex];
        Summary.Compared++;
        owner.Counted.Compared++;
        var newCharge = replay.Charge;
        if (newCharge != old.Charge)
        {
            Summary.Changed++;
            owner.Counted.Changed++;
        }

        // The charge as it stands: the rated record's, or the latest adjustment's already recorded for the CDR (the
        // record's strings are made only when the ledger may hold a re-rating adjustment of the subscriber or the charge
        // changed).
        var latest = Ledger.MayHoldRerateAdjustmentFor(old.MsisdnKey) ? Ledger.LatestFor(_old.Msisdn(oldIndex), _old.Text(old.Cycle), _old.Id(oldIndex)) : null;
        var standing = latest?.NewCharge ?? old.Charge;
        if (newCharge == standing)
        {
            if (latest is not null)
            {
                Summary.AlreadyAdjusted++;
                owner.Counted.AlreadyAdjusted++;
            }

            return;
        }

        var standingVersion = latest?.NewTariffVersion ?? _old.Text(old.Version);
        var id = _old.Id(oldIndex);
        var msisdn = _old.Msisdn(oldIndex);
        var cycle = _old.Text(old.Cycle);

        if (IsAmbiguous(oldIndex))
        {
            Report(receiver, new RerateMismatch(RerateMismatchKind.AmbiguousId, id, msisdn, cycle, standing, newCharge,
                standingVersion, _version, null,
                "the old run rated this id more than once for the subscriber in this cycle, so an adjustment id would not name one CDR; adjust by hand"));
            return;
        }

        var adjustmentId = Adjustment.IdOf(msisdn, cycle, id, standingVersion, _version);
        var adjustment = new Adjustment(adjustmentId, id, msisdn, cycle, standing, newCharge, checked(newCharge - standing),
            standingVersion, _version, replay.ZeroRated);
        if (!Ledger.Add(adjustment))
        {
            Ledger.TryGet(adjustmentId, out var recorded);
            Report(receiver, new RerateMismatch(RerateMismatchKind.AdjustmentIdAlreadyRecorded, id, msisdn, cycle, standing,
                newCharge, standingVersion, _version, null,
                $"adjustment {adjustmentId} is already recorded (difference {recorded.Difference}); not written again although the charge stands at {standing}"));
            return;
        }

        Summary.Adjustments++;
        Summary.Difference = checked(Summary.Difference + adjustment.Difference);
        if (standingVersion == _version)
        {
            Summary.SameVersionAdjustments++;
        }

        receiver.Adjustment(adjustment);
    }

    /// <summary>
    /// Whether the old run rated the record's id more than once for its subscriber in its cycle (msisdn:cycle:id then names
    /// no one CDR). Worked out for all the subscriber's records at its first question, which only a changed charge asks:
    /// the reading of the rated file pays nothing for it (a table of every record's id was one cache miss per record).
    /// </summary>
    private bool IsAmbiguous(int index)
    {
        var subscriber = _subscribers[_old[index].MsisdnKey];
        if (!subscriber.IdsChecked)
        {
            MarkAmbiguous(subscriber);
        }

        return _old[index].Is(OldFlags.Ambiguous);
    }

    /// <summary>Flags the subscriber's records whose id another of its records of the same cycle has (<see cref="OldFlags.Ambiguous"/>).</summary>
    private void MarkAmbiguous(Subscriber subscriber)
    {
        subscriber.IdsChecked = true;
        var firstOfId = new FirstOfId(_old);
        firstOfId.EnsureCapacity(subscriber.Records.Count);
        Dictionary<(int Cycle, string Id), int>? firstOfIdText = null;
        foreach (var index in subscriber.Records)
        {
            if (firstOfId.TryAdd(index, out var first))
            {
                continue;
            }

            ref var old = ref _old[index];
            if (!_old.IdBytes(first).SequenceEqual(_old.IdBytes(index)))
            {
                // Another id with the same hash: told apart by the text.
                firstOfIdText ??= [];
                firstOfIdText.TryAdd((old.Cycle, _old.Id(first)), first);
                if (firstOfIdText.TryAdd((old.Cycle, _old.Id(index)), index))
                {
                    continue;
                }

                first = firstOfIdText[(old.Cycle, _old.Id(index))];
            }

            // Same id rated twice in one cycle: msisdn:cycle:id no longer names one CDR.
            _old[first].Set(OldFlags.Ambiguous, true);
            old.Set(OldFlags.Ambiguous, true);
        }
    }

    private void Report(IRerateReceiver receiver, RerateMismatch mismatch)
    {
        Summary.Count(mismatch.Kind);
        receiver.Mismatch(mismatch);
    }

    /// <summary>What is already taken up of one cycle of a subscriber: the used units per type, and D and S.</summary>
    [Flags]
    private enum Seeded : byte
    {
        None = 0,
        AllTypes = 0b111,
        Cycle = 0b1000,
    }

    /// <summary>One subscriber: its rated records, its CDR lines, and how far its replay has come.</summary>
    /// <summary>Orders a subscriber's line positions by key, then line (what <see cref="Subscriber.PositionsOf"/> searches).</summary>
    private readonly struct KeyThenLine : IComparer<(ulong Key, int Line)>
    {
        public int Compare((ulong Key, int Line) x, (ulong Key, int Line) y) =>
            x.Key != y.Key ? x.Key.CompareTo(y.Key) : x.Line.CompareTo(y.Line);
    }

    private sealed class Subscriber
    {
        /// <summary>Its rated records (indexes of <see cref="_old"/>), in the order the old run wrote them.</summary>
        public List<int> Records { get; } = [];

        /// <summary>The keys (<see cref="OldRecords.LineKey"/>) of its CDR lines, in stream order (from the scan).</summary>
        public List<ulong> Lines { get; } = [];

        /// <summary>Its lines by key, then line (<see cref="PositionsOf"/>), made at the first search.</summary>
        private (ulong Key, int Line)[]? _positions;

        /// <summary>Per CDR line, the rated record it is (-1: one the old run did not rate).</summary>
        public int[]? LineRecord { get; set; }

        /// <summary>The position in <see cref="Records"/> of its first record in the stream (the records before it taken as rated).</summary>
        public int Start { get; set; }

        public int Replayed { get; set; }

        /// <summary>Its msisdn key.</summary>
        public ulong Key { get; set; }

        /// <summary>Its last record taken in so far (-1: none), whose <see cref="OldRecord.NextOfSubscriber"/> the next one sets.</summary>
        public int Last { get; set; } = -1;

        /// <summary>In the single pass: its record the next line is matched with (-1 when none is left).</summary>
        public int Next { get; set; } = -1;

        /// <summary>In the single pass: whether its lines may be matched otherwise than one by one in order (it is replayed again in full).</summary>
        public bool Failed { get; set; }

        /// <summary>In the single pass: the keys of its records whose lines the replay rejected (a later copy would take them on).</summary>
        public List<ulong>? RejectedKeys { get; set; }

        /// <summary>What its CDRs added to the summary's compared, changed and already adjusted counts (taken out again when it fails).</summary>
        public (int Compared, int Changed, int AlreadyAdjusted) Counted;

        public bool Begun { get; set; }

        /// <summary>Whether its records' ids were checked for one rated twice in a cycle (<see cref="MarkAmbiguous"/>).</summary>
        public bool IdsChecked { get; set; }

        /// <summary>Whether a line of it that is a rated record's was replayed.</summary>
        public bool Started { get; set; }

        /// <summary>The cycle of its state once taken up: a cycle older than this the replay has never been in.</summary>
        public int ReplayFrom { get; set; } = int.MinValue;

        public CycleMap<Seeded> Seeded;

        /// <summary>Per cycle, its latest rated record with a cappedAfter so far (index + 1; 0: none), while the rated records are taken in.</summary>
        public CycleMap<int> LastCapped;

        /// <summary>Its fee records, in the order the old run wrote them.</summary>
        public List<Fee> Fees { get; } = [];

        /// <summary>The positions of the lines with a key, in line order.</summary>
        public ReadOnlySpan<(ulong Key, int Line)> PositionsOf(ulong key)
        {
            var positions = (_positions ??= SortedPositions()).AsSpan();
            int low = 0, high = positions.Length;
            while (low < high)
            {
                var middle = (low + high) >>> 1;
                if (positions[middle].Key < key)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            var end = low;
            while (end < positions.Length && positions[end].Key == key)
            {
                end++;
            }

            return positions[low..end];
        }

        /// <summary>Where each key occurs among the lines, in line order.</summary>
        private (ulong Key, int Line)[] SortedPositions()
        {
            var positions = new (ulong Key, int Line)[Lines.Count];
            for (var j = 0; j < positions.Length; j++)
            {
                positions[j] = (Lines[j], j);
            }

            positions.AsSpan().Sort(default(KeyThenLine));
            return positions;
        }
    }

    /// <summary>
    /// A value per cycle of a subscriber (what is taken up of it; its latest capped record). A subscriber's records span
    /// few cycles, so the first two are held in place, inside the subscriber (a field, not an object of its own: one
    /// cache line fewer per look), and any more in a short list.
    /// </summary>
    private struct CycleMap<TValue>
        where TValue : struct
    {
        private int _count;
        private int _cycle0;
        private int _cycle1;
        private TValue _value0;
        private TValue _value1;
        private (int Cycle, TValue Value)[]? _more;

        public TValue this[int cycle]
        {
            readonly get => GetValueOrDefault(cycle);
            set
            {
                if (_count > 0 && _cycle0 == cycle)
                {
                    _value0 = value;
                    return;
                }

                if (_count > 1 && _cycle1 == cycle)
                {
                    _value1 = value;
                    return;
                }

                for (var i = 2; i < _count; i++)
                {
                    if (_more![i - 2].Cycle == cycle)
                    {
                        _more[i - 2].Value = value;
                        return;
                    }
                }

                switch (_count)
                {
                    case 0:
                        (_cycle0, _value0) = (cycle, value);
                        break;
                    case 1:
                        (_cycle1, _value1) = (cycle, value);
                        break;
                    default:
                        _more ??= new (int, TValue)[2];
                        if (_count - 2 == _more.Length)
                        {
                            Array.Resize(ref _more, _more.Length * 2);
                        }

                        _more[_count - 2] = (cycle, value);
                        break;
                }

                _count++;
            }
        }

        public readonly TValue GetValueOrDefault(int cycle)
        {
            if (_count > 0 && _cycle0 == cycle)
            {
                return _value0;
            }

            if (_count > 1 && _cycle1 == cycle)
            {
                return _value1;
            }

            for (var i = 2; i < _count; i++)
            {
                if (_more![i - 2].Cycle == cycle)
                {
                    return _more[i - 2].Value;
                }
            }

            return default;
        }
    }

    /// <summary>
    /// What the scan found in one non-blank line of the CDR stream: its kind and msisdn key (for a record the decoder
    /// accepts), for a CDR its subscriber and the hash of its id, and its length (the replay checks it is the same line).
    /// </summary>
    private struct LineEntry
    {
        public Subscriber? Subscriber;
        public ulong MsisdnKey;
        public ulong IdHash;
        public int Length;
        public RecordKind Kind;
        public bool Invalid;
    }

    /// <summary>
    /// A fee record of the old run: <see cref="Order"/> is the number of rated CDR records taken in before it (so it comes
    /// after the record with index <see cref="Order"/> − 1 and before the one with index <see cref="Order"/>).
    /// </summary>
    private readonly record struct Fee(int Order, int Cycle, long StartTicks, long? SpendAfter);

    /// <summary>Captures the engine's verdict on one CDR (fee records of the replay's own cycle starts are not CDRs).</summary>
    private struct ReplaySink : IRatingSink
    {
        public Tariff Tariff;
        public bool WantsId;
        public bool HasRated;
        public string? Id;
        public ulong MsisdnKey;
        public int CycleDay;
        public long Charge;
        public string? ZeroRated;
        public RejectReason Reason;
        public string? Detail;

        public void Rated(in RatedCdr rated)
        {
            if (rated.IsFee)
            {
                return;
            }

            HasRated = true;
            MsisdnKey = rated.MsisdnKey;
            CycleDay = rated.CycleDay;
            Charge = rated.Charge;
            ZeroRated = rated.IsZeroRated ? ReasonOf(Tariff, rated.ZeroRated) : null;
            Id = WantsId ? System.Text.Encoding.UTF8.GetString(rated.Id) : null;
        }

        public readonly void Reminder(in ReminderEvent reminder)
        {
        }

        public readonly void Bill(in BillRecord bill)
        {
        }

        public void Rejected(in RejectedCdr rejected)
        {
            Reason = rejected.Reason;
            Detail = rejected.Detail;
        }

        private static string ReasonOf(Tariff tariff, ReadOnlySpan<byte> reason)
        {
            foreach (var rule in tariff.ZeroRating.Rules)
            {
                if (reason.SequenceEqual(rule.ReasonUtf8))
                {
                    return rule.Reason;
                }
            }

            return System.Text.Encoding.UTF8.GetString(reason);
        }
    }

    private sealed class Collector : IRerateReceiver
    {
        public List<Adjustment> Adjustments { get; } = [];

        public List<RerateMismatch> Mismatches { get; } = [];

        public void Adjustment(Adjustment adjustment) => Adjustments.Add(adjustment);

        public void Mismatch(RerateMismatch mismatch) => Mismatches.Add(mismatch);
    }
}
