using System.IO.Hashing;
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
    /// Subscribers whose replay began mid-cycle: their cycle was taken up from the running totals of their first
    /// replayed record, the records before it taken as rated.
    /// </summary>
    public long TakenUpMidCycle { get; internal set; }

    /// <summary>CDRs left out because their rated record is of a cycle the re-rate was not asked for (<c>--cycles</c>).</summary>
    public long OutsideCycles { get; internal set; }

    public long Mismatches => _mismatches.Sum();

    public long MismatchesOf(RerateMismatchKind kind) => _mismatches[(int)kind];

    internal void Count(RerateMismatchKind kind) => _mismatches[(int)kind]++;

    /// <summary>The one-line summary: <c>N records compared, N adjustments, total difference X micros; …</c>.</summary>
    public override string ToString()
    {
        var text = $"{Compared} records compared, {Adjustments} adjustments, total difference {Difference} micros; "
            + $"{AlreadyAdjusted} already adjusted, {Mismatches} mismatches";
        if (OutsideCycles > 0)
        {
            text += $"; {OutsideCycles} CDRs of other cycles left out";
        }

        if (TakenUpMidCycle > 0)
        {
            text += $"; {TakenUpMidCycle} subscribers taken up mid-cycle (the records before their first replayed one taken as rated)";
        }
        if (Mismatches == 0)
        {
            return text;
        }

        var parts = Enum.GetValues<RerateMismatchKind>()
            .Where(k => MismatchesOf(k) > 0)
            .Select(k => $"{MismatchesOf(k)} {RerateMismatch.KindName(k)}");
        return $"{text} ({string.Join(", ", parts)})";
    }
}

/// <summary>Everything one re-rate produced (for callers that hold results in memory).</summary>
public sealed record RerateResult(IReadOnlyList<Adjustment> Adjustments, IReadOnlyList<RerateMismatch> Mismatches, RerateSummary Summary);

/// <summary>
/// Re-rates CDRs already rated under an older tariff. The original CDR stream is replayed, in arrival order,
/// through a fresh <see cref="RatingEngine"/> holding the new tariff, exactly as live rating does, so every
/// effect of a changed record on later ones (allowance left, data cap, spend) shows in their charges. Each
/// CDR the old run rated (matched by msisdn and id, the k-th rated record of a pair to the k-th CDR of that
/// pair the replay rates or rejects) is compared; a changed charge becomes an <see cref="Adjustment"/>
/// unless the <see cref="AdjustmentLedger"/> already brings the charge there. CDRs rated by only one side
/// are reported as <see cref="RerateMismatch"/>es.
/// </summary>
/// <remarks>
/// Use: <see cref="AddRated"/> for every rated record of the old run (any order, e.g. a file or a topic read
/// to its end), then <see cref="Replay"/> for every CDR in stream order, then <see cref="Finish"/> once.
/// </remarks>
public sealed class Rerater
{
    private readonly RatingEngine _engine;
    private readonly List<RatedRecord> _old = [];
    private readonly List<int> _next = [];
    private readonly List<bool> _done = [];
    private readonly List<bool> _ambiguous = [];

    // (msisdn key, id hash) → first and last index of the chain of old records with that key, in file order.
    private readonly Dictionary<(ulong Msisdn, ulong IdHash), (int Head, int Tail)> _pending = [];
    private readonly string _version;
    private readonly CdrDecoder _peek = new();
    private readonly IReadOnlySet<string>? _cycles;

    // Per subscriber, the cycle its replay began in; per (subscriber, type), whether that cycle's used units are taken up.
    private readonly Dictionary<ulong, int> _firstCycle = [];
    private readonly Dictionary<ulong, List<int>> _bySubscriber = [];
    private readonly HashSet<(ulong Msisdn, CdrType Type)> _takenUp = [];
    private bool _replaying;
    private bool _finished;

    /// <param name="newTariff">The tariff to re-rate under.</param>
    /// <param name="profiles">The subscriber profiles of the original run.</param>
    /// <param name="ledger">Adjustments already recorded.</param>
    /// <param name="cycles">
    /// When given, only these cycles (<c>yyyy-MM-dd</c>) are re-rated: a CDR whose rated record is of another cycle is
    /// left out of the replay, so the first replayed record of a chosen cycle takes the cycle up from its running totals.
    /// </param>
    public Rerater(Tariff newTariff, IEnumerable<SubscriberProfile> profiles, AdjustmentLedger? ledger = null, IReadOnlySet<string>? cycles = null)
    {
        _cycles = cycles;
        _engine = new RatingEngine(newTariff);
        foreach (var profile in profiles)
        {
            _engine.SetProfile(profile);
        }

        _version = newTariff.Version;
        Ledger = ledger ?? new AdjustmentLedger();
    }

    public Tariff Tariff => _engine.Tariff;

    /// <summary>The recorded adjustments plus those of this run.</summary>
    public AdjustmentLedger Ledger { get; }

    public RerateSummary Summary { get; } = new();

    /// <summary>Takes in one rated record of the old run (before the replay starts).</summary>
    public void AddRated(RatedRecord record)
    {
        if (_replaying)
        {
            throw new InvalidOperationException("rated records must all be added before the replay starts");
        }

        var index = _old.Count;
        _old.Add(record);
        _next.Add(-1);
        _done.Add(false);
        _ambiguous.Add(false);
        Summary.RatedRecords++;
        if (!_bySubscriber.TryGetValue(record.MsisdnKey, out var mine))
        {
            _bySubscriber[record.MsisdnKey] = mine = [];
        }

        mine.Add(index);
        var key = (record.MsisdnKey, IdHash(record.Id));
        if (!_pending.TryGetValue(key, out var chain))
        {
            _pending[key] = (index, index);
            return;
        }

        for (var i = chain.Head; i >= 0; i = _next[i])
        {
            if (_old[i].Cycle == record.Cycle && _old[i].Id == record.Id)
            {
                // Same id rated twice in one cycle: msisdn:cycle:id no longer names one CDR.
                _ambiguous[i] = true;
                _ambiguous[index] = true;
            }
        }

        _next[chain.Tail] = index;
        _pending[key] = (chain.Head, index);
    }

    /// <summary>Replays one CDR (the bytes of one record; a blank line is skipped) under the new tariff.</summary>
    public void Replay(ReadOnlySpan<byte> cdr, IRerateReceiver receiver)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the re-rate is finished");
        }

        _replaying = true;
        if (SubscriberFile.IsBlank(cdr))
        {
            return;
        }

        Summary.CdrLines++;
        if (!TakeUp(cdr))
        {
            return;
        }

        var sink = new ReplaySink(this);
        var result = _engine.Process(cdr, ref sink);
        if (result == RatingResult.Rated)
        {
            if (sink.OldIndex < 0)
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

            Compare(_old[sink.OldIndex], in sink, receiver);
        }
        else if (result == RatingResult.Rejected && sink.OldIndex >= 0)
        {
            var old = _old[sink.OldIndex];
            Report(receiver, new RerateMismatch(RerateMismatchKind.RejectedByNewTariff, old.Id, old.Msisdn, old.Cycle, old.Charge, null,
                old.TariffVersion, _version, RecordNames.ReasonText(sink.Reason), $"the old run rated this CDR; the new tariff rejects it: {sink.Detail}"));
        }
    }

    /// <summary>
    /// A replay that begins mid-cycle starts where the original run stood (the records before it are taken as rated):
    /// at a subscriber's first replayed record, the cycle's capped charges D and spend S are set to the record's running
    /// totals minus its own contribution, and at the first replayed record of each type in that cycle, the used units of
    /// the type likewise. Later cycles begin within the replay, so the replay's own counters are right for them. Records
    /// without running totals (written before they existed) leave the counters as the replay has them.
    /// </summary>
    /// <returns>False when the CDR is of a cycle not chosen (<c>--cycles</c>): it is left out of the replay.</returns>
    private bool TakeUp(ReadOnlySpan<byte> line)
    {
        if (_peek.Decode(line, out var cdr) != InvalidCause.None || cdr.Kind != RecordKind.Cdr)
        {
            return true;
        }

        var index = Peek(cdr.MsisdnKey, cdr.Id);
        if (index >= 0 && _cycles is not null && !_cycles.Contains(_old[index].Cycle))
        {
            _done[index] = true;
            Summary.OutsideCycles++;
            return false;
        }

        if (index < 0 || _old[index] is not { UsedAfter: { } usedAfter } old || !TryCycle(old.Cycle, out var cycle))
        {
            return true;
        }

        var first = !_firstCycle.TryGetValue(cdr.MsisdnKey, out var firstCycle);
        if (first)
        {
            _firstCycle[cdr.MsisdnKey] = firstCycle = cycle;
        }

        if (cycle != firstCycle || !_takenUp.Add((cdr.MsisdnKey, old.CdrType)))
        {
            return true;
        }

        long? capped = first && old.CappedAfter is { } d ? d - (RateWasCapped(old) ? old.Charge : 0) : null;
        long? spend = first && old.SpendAfter is { } s ? s - old.Charge : null;

        // The duplicate memory as the original run had it: the ids of the subscriber's last 32 rated records before this
        // one (the rated file is in processing order), so a copy split from its original by the cut is still a duplicate.
        List<string>? recent = null;
        if (first)
        {
            var mine = _bySubscriber[cdr.MsisdnKey];
            var at = mine.BinarySearch(index);
            recent = [.. mine.Take(at < 0 ? ~at : at).TakeLast(IdMemory.Capacity).Select(i => _old[i].Id)];
        }

        var used = usedAfter - old.AllowanceUnits;
        if (_engine.SeedCycle(cdr.MsisdnKey, cycle, cdr.StartTicks, old.CdrType, used, capped, spend, recent) && first
            && (used != 0 || capped is not (null or 0) || spend is not (null or 0)))
        {
            // Counted when the cycle had usage before the replay's first record: the replay began mid-cycle.
            Summary.TakenUpMidCycle++;
        }

        return true;
    }

    /// <summary>Whether the rate that rated <paramref name="old"/> is capped (its charge then counted into D), under the replay's tariff.</summary>
    private bool RateWasCapped(RatedRecord old)
    {
        var tariff = _engine.Tariff;
        var zone = -1;
        for (var i = 0; i < tariff.ZoneIds.Count && zone < 0; i++)
        {
            zone = tariff.ZoneIds[i] == old.Zone ? i : -1;
        }

        if (old.Charge == 0 || zone < 0 || !tariff.TryGetPlan(old.Plan, out var plan))
        {
            return false;
        }

        var direction = old.Direction switch { "mo" => Direction.Mo, "mt" => Direction.Mt, _ => Direction.None };
        var dest = old.CdrType == CdrType.Data || old.Peer is null ? Dest.None : Tariff.DestOf(System.Text.Encoding.ASCII.GetBytes(old.Peer));
        var rate = plan.FindRate(old.CdrType, zone, direction, dest);
        return rate >= 0 && plan.Rates[rate].Capped;
    }

    private static bool TryCycle(string text, out int dayNumber)
    {
        dayNumber = 0;
        if (!Instant.TryParse(text + "T00:00:00Z", out var ticks))
        {
            return false;
        }

        dayNumber = (int)(ticks / Instant.TicksPerDay);
        return true;
    }

    /// <summary>The first old record of (msisdn, id) not yet matched, left unmatched; -1 when none.</summary>
    private int Peek(ulong msisdnKey, ReadOnlySpan<byte> id)
    {
        if (!_pending.TryGetValue((msisdnKey, XxHash3.HashToUInt64(id)), out var chain))
        {
            return -1;
        }

        for (var i = chain.Head; i >= 0; i = _next[i])
        {
            if (!_done[i] && System.Text.Ascii.Equals(id, _old[i].Id))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Reports the old run's rated records that no CDR of the stream matched. Call once, after the last CDR.</summary>
    public void Finish(IRerateReceiver receiver)
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        for (var i = 0; i < _old.Count; i++)
        {
            if (!_done[i] && (_cycles is null || _cycles.Contains(_old[i].Cycle)))
            {
                var old = _old[i];
                Report(receiver, new RerateMismatch(RerateMismatchKind.RatedWithoutCdr, old.Id, old.Msisdn, old.Cycle, old.Charge, null,
                    old.TariffVersion, _version, null, "no CDR with this id and msisdn came in the CDR stream, so it could not be re-rated"));
            }
        }
    }

    /// <summary>Re-rates in memory: all rated records, then all CDRs in order.</summary>
    public static RerateResult Run(Tariff newTariff, IEnumerable<SubscriberProfile> profiles, IEnumerable<RatedRecord> oldRated,
        IEnumerable<ReadOnlyMemory<byte>> cdrs, AdjustmentLedger? ledger = null)
    {
        var rerater = new Rerater(newTariff, profiles, ledger);
        foreach (var record in oldRated)
        {
            rerater.AddRated(record);
        }

        var collector = new Collector();
        foreach (var cdr in cdrs)
        {
            rerater.Replay(cdr.Span, collector);
        }

        rerater.Finish(collector);
        return new RerateResult(collector.Adjustments, collector.Mismatches, rerater.Summary);
    }

    private void Compare(RatedRecord old, in ReplaySink replay, IRerateReceiver receiver)
    {
        Summary.Compared++;
        var newCharge = replay.Charge;
        if (newCharge != old.Charge)
        {
            Summary.Changed++;
        }

        // The charge as it stands: the rated record's, or the latest adjustment's already recorded for the CDR.
        var latest = Ledger.LatestFor(old.Msisdn, old.Cycle, old.Id);
        var standing = latest?.NewCharge ?? old.Charge;
        var standingVersion = latest?.NewTariffVersion ?? old.TariffVersion;
        if (newCharge == standing)
        {
            if (latest is not null)
            {
                Summary.AlreadyAdjusted++;
            }

            return;
        }

        if (_ambiguous[replay.OldIndex])
        {
            Report(receiver, new RerateMismatch(RerateMismatchKind.AmbiguousId, old.Id, old.Msisdn, old.Cycle, standing, newCharge,
                standingVersion, _version, null,
                "the old run rated this id more than once for the subscriber in this cycle, so an adjustment id would not name one CDR; adjust by hand"));
            return;
        }

        var adjustmentId = Adjustment.IdOf(old.Msisdn, old.Cycle, old.Id, standingVersion, _version);
        var adjustment = new Adjustment(adjustmentId, old.Id, old.Msisdn, old.Cycle, standing, newCharge, checked(newCharge - standing),
            standingVersion, _version, replay.ZeroRated);
        if (!Ledger.Add(adjustment))
        {
            Ledger.TryGet(adjustmentId, out var recorded);
            Report(receiver, new RerateMismatch(RerateMismatchKind.AdjustmentIdAlreadyRecorded, old.Id, old.Msisdn, old.Cycle, standing,
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

    private void Report(IRerateReceiver receiver, RerateMismatch mismatch)
    {
        Summary.Count(mismatch.Kind);
        receiver.Mismatch(mismatch);
    }

    private static ulong IdHash(string id)
    {
        Span<byte> buffer = stackalloc byte[256];
        var bytes = id.Length <= 64 ? buffer[..System.Text.Encoding.UTF8.GetBytes(id, buffer)] : System.Text.Encoding.UTF8.GetBytes(id);
        return XxHash3.HashToUInt64(bytes);
    }

    /// <summary>The first old record of (msisdn, id) not yet matched, marked matched; -1 when none is left.</summary>
    private int Take(ulong msisdnKey, ReadOnlySpan<byte> id)
    {
        if (!_pending.TryGetValue((msisdnKey, XxHash3.HashToUInt64(id)), out var chain))
        {
            return -1;
        }

        for (var i = chain.Head; i >= 0; i = _next[i])
        {
            if (!_done[i] && System.Text.Ascii.Equals(id, _old[i].Id))
            {
                _done[i] = true;
                return i;
            }
        }

        return -1;
    }

    /// <summary>Captures the engine's verdict on one CDR and takes its matching old record (no allocation on a match).</summary>
    private struct ReplaySink(Rerater owner) : IRatingSink
    {
        public int OldIndex = -1;
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
                return; // fee records are charged by the replay's clocks, not re-rated CDRs
            }

            MsisdnKey = rated.MsisdnKey;
            CycleDay = rated.CycleDay;
            Charge = rated.Charge;
            ZeroRated = rated.IsZeroRated ? ReasonOf(owner.Tariff, rated.ZeroRated) : null;
            OldIndex = owner.Take(rated.MsisdnKey, rated.Id);
            if (OldIndex < 0)
            {
                Id = System.Text.Encoding.UTF8.GetString(rated.Id);
            }
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

            // An invalid record was invalid for the old run as well: it cannot be the CDR a rated record came from.
            if (rejected.Reason != RejectReason.Invalid)
            {
                MsisdnKey = rejected.MsisdnKey;
                OldIndex = owner.Take(rejected.MsisdnKey, rejected.Id);
            }
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
