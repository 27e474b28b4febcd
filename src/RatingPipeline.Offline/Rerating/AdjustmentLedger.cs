namespace RatingPipeline.Rerating;

/// <summary>
/// The adjustments already recorded (the content of <c>adjustments.jsonl</c>) plus those added in this run.
/// It answers two questions for re-rating: is an adjustment id already recorded (then it is never written
/// again), and what does a rated CDR's charge stand at after the re-rating adjustments recorded for it (so a
/// second re-rate under yet another tariff credits only what is still owed, never the same amount twice). A
/// goodwill credit is recorded like any entry but changes no charge: it is given on top of what the CDR costs, so
/// a re-rate neither takes it back nor counts it towards the charge.
/// </summary>
public sealed class AdjustmentLedger
{
    private readonly Dictionary<string, LedgerEntry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Msisdn, string Cycle, string Id), Adjustment> _latest = [];
    private readonly List<LedgerEntry> _all = [];

    // The msisdn keys of the re-rating adjustments (a filter before the look-up by strings); set when one has a msisdn
    // that makes no key, and then every look-up is made.
    private readonly HashSet<ulong> _adjustedKeys = [];
    private bool _unkeyed;

    /// <summary>Entries recorded before, read but never changed through this ledger (shared by the lanes of a re-rate).</summary>
    private readonly AdjustmentLedger? _recorded;

    public AdjustmentLedger()
    {
    }

    private AdjustmentLedger(AdjustmentLedger recorded) => _recorded = recorded;

    /// <summary>A ledger holding <paramref name="recorded"/>, in file order (later adjustments of a CDR build on earlier ones).</summary>
    public AdjustmentLedger(IEnumerable<LedgerEntry> recorded)
    {
        foreach (var adjustment in recorded)
        {
            Add(adjustment);
        }
    }

    public int Count => (_recorded?.Count ?? 0) + _all.Count;

    /// <summary>All adjustments, recorded ones first, in the order they were added.</summary>
    public IReadOnlyList<LedgerEntry> Adjustments => _recorded is null ? _all : [.. _recorded.Adjustments, .. _all];

    /// <summary>The entries added to this ledger itself (of an overlay: not those of the ledger it lies over).</summary>
    internal IReadOnlyList<LedgerEntry> Added => _all;

    /// <summary>
    /// A ledger over <paramref name="recorded"/>: it answers for the recorded entries and its own, adds only to its own, and
    /// never changes <paramref name="recorded"/>, so several overlays (one per lane) may read it at once.
    /// </summary>
    internal static AdjustmentLedger Over(AdjustmentLedger recorded) => new(recorded);

    public bool TryGet(string adjustmentId, out LedgerEntry adjustment) =>
        _byId.TryGetValue(adjustmentId, out adjustment!) || (_recorded is not null && _recorded.TryGet(adjustmentId, out adjustment));

    /// <summary>
    /// Whether a re-rating adjustment may be recorded for a CDR of the subscriber with this msisdn key (false: certainly
    /// none, and <see cref="LatestFor"/> need not be asked; its strings need not be made).
    /// </summary>
    public bool MayHoldRerateAdjustmentFor(ulong msisdnKey) =>
        (_latest.Count > 0 && (_unkeyed || _adjustedKeys.Contains(msisdnKey))) || (_recorded?.MayHoldRerateAdjustmentFor(msisdnKey) ?? false);

    /// <summary>The latest re-rating adjustment recorded for the CDR (msisdn, cycle, id), if any: its new charge is the charge as it stands.</summary>
    public Adjustment? LatestFor(string msisdn, string cycle, string id) =>
        _latest.TryGetValue((msisdn, cycle, id), out var adjustment) ? adjustment : _recorded?.LatestFor(msisdn, cycle, id);

    /// <summary>Adds an entry; false (and nothing changes) when its id is already recorded.</summary>
    public bool Add(LedgerEntry entry)
    {
        if ((_recorded is not null && _recorded.TryGet(entry.AdjustmentId, out _)) || !_byId.TryAdd(entry.AdjustmentId, entry))
        {
            return false;
        }

        if (entry is Adjustment adjustment)
        {
            _latest[(adjustment.Msisdn, adjustment.Cycle, adjustment.Id)] = adjustment;
            if (Records.MsisdnKey.TryCompute(adjustment.Msisdn, out var key))
            {
                _adjustedKeys.Add(key);
            }
            else
            {
                _unkeyed = true;
            }
        }

        _all.Add(entry);
        return true;
    }
}

/// <summary>Count and sum of differences (micros) of a set of adjustments.</summary>
public readonly record struct AdjustmentSum(long Count, long Difference)
{
    public AdjustmentSum Plus(long difference) => new(Count + 1, checked(Difference + difference));
}

/// <summary>
/// Per-subscriber, per-kind and grand totals of a set of ledger entries; subscribers in ordinal msisdn order,
/// <see cref="ByKind"/> indexed by <see cref="AdjustmentKind"/>.
/// </summary>
public sealed record AdjustmentTotals(IReadOnlyList<(string Msisdn, AdjustmentSum Sum)> Subscribers, AdjustmentSum Total, IReadOnlyList<AdjustmentSum> ByKind)
{
    public static AdjustmentTotals Of(IEnumerable<LedgerEntry> adjustments)
    {
        var bySubscriber = new SortedDictionary<string, AdjustmentSum>(StringComparer.Ordinal);
        var byKind = new AdjustmentSum[Enum.GetValues<AdjustmentKind>().Length];
        var total = default(AdjustmentSum);
        foreach (var a in adjustments)
        {
            bySubscriber[a.Msisdn] = bySubscriber.GetValueOrDefault(a.Msisdn).Plus(a.Difference);
            byKind[(int)a.Kind] = byKind[(int)a.Kind].Plus(a.Difference);
            total = total.Plus(a.Difference);
        }

        return new AdjustmentTotals([.. bySubscriber.Select(kv => (kv.Key, kv.Value))], total, byKind);
    }
}
