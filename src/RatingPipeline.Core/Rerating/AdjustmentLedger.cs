namespace RatingPipeline.Rerating;

/// <summary>
/// The adjustments already recorded (the content of <c>adjustments.jsonl</c>) plus those added in this run.
/// It answers two questions for re-rating: is an adjustment id already recorded (then it is never written
/// again), and what does a rated CDR's charge stand at after the adjustments recorded for it (so a second
/// re-rate under yet another tariff credits only what is still owed, never the same amount twice).
/// </summary>
public sealed class AdjustmentLedger
{
    private readonly Dictionary<string, Adjustment> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Msisdn, string Cycle, string Id), Adjustment> _latest = [];
    private readonly List<Adjustment> _all = [];

    public AdjustmentLedger()
    {
    }

    /// <summary>A ledger holding <paramref name="recorded"/>, in file order (later adjustments of a CDR build on earlier ones).</summary>
    public AdjustmentLedger(IEnumerable<Adjustment> recorded)
    {
        foreach (var adjustment in recorded)
        {
            Add(adjustment);
        }
    }

    public int Count => _all.Count;

    /// <summary>All adjustments, recorded ones first, in the order they were added.</summary>
    public IReadOnlyList<Adjustment> Adjustments => _all;

    public bool TryGet(string adjustmentId, out Adjustment adjustment) => _byId.TryGetValue(adjustmentId, out adjustment!);

    /// <summary>The latest adjustment recorded for the CDR (msisdn, cycle, id), if any: its new charge is the charge as it stands.</summary>
    public Adjustment? LatestFor(string msisdn, string cycle, string id) =>
        _latest.TryGetValue((msisdn, cycle, id), out var adjustment) ? adjustment : null;

    /// <summary>Adds an adjustment; false (and nothing changes) when its id is already recorded.</summary>
    public bool Add(Adjustment adjustment)
    {
        if (!_byId.TryAdd(adjustment.AdjustmentId, adjustment))
        {
            return false;
        }

        if (!adjustment.IsGoodwill)
        {
            // Goodwill does not change what a CDR's rating stands at: a re-rate compares charges, not credits granted.
            _latest[(adjustment.Msisdn, adjustment.Cycle, adjustment.Id)] = adjustment;
        }

        _all.Add(adjustment);
        return true;
    }
}

/// <summary>Count and sum of differences (micros) of a set of adjustments.</summary>
public readonly record struct AdjustmentSum(long Count, long Difference)
{
    public AdjustmentSum Plus(long difference) => new(Count + 1, checked(Difference + difference));
}

/// <summary>Per-subscriber and grand totals of a set of adjustments; subscribers in ordinal msisdn order.</summary>
public sealed record AdjustmentTotals(IReadOnlyList<(string Msisdn, AdjustmentSum Sum)> Subscribers, AdjustmentSum Total)
{
    public static AdjustmentTotals Of(IEnumerable<Adjustment> adjustments)
    {
        var bySubscriber = new SortedDictionary<string, AdjustmentSum>(StringComparer.Ordinal);
        var total = default(AdjustmentSum);
        foreach (var a in adjustments)
        {
            bySubscriber[a.Msisdn] = bySubscriber.GetValueOrDefault(a.Msisdn).Plus(a.Difference);
            total = total.Plus(a.Difference);
        }

        return new AdjustmentTotals([.. bySubscriber.Select(kv => (kv.Key, kv.Value))], total);
    }
}
