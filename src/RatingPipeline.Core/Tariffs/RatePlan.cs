using RatingPipeline.Records;

namespace RatingPipeline.Tariffs;

/// <summary>A plan of the tariff: allowances, reminder thresholds, spend and cap settings, and its rate list.</summary>
public sealed class RatePlan
{
    // The arrays behind the read-only lists: the rating path indexes them directly (no interface calls, and no
    // enumerator allocated by a foreach over an IReadOnlyList).
    private readonly long[] _allowances;
    private readonly long[] _reminderThresholds;
    private readonly Rate[] _rates;

    internal RatePlan(string id, long[] allowance, long[] reminderThresholds, long? highSpendThreshold,
        long? lowBalanceThreshold, long[] dataCapTiers, long? defaultDataCap, Rate[] rates)
    {
        Id = id;
        IdUtf8 = System.Text.Encoding.UTF8.GetBytes(id);
        _allowances = allowance;
        _reminderThresholds = reminderThresholds;
        _rates = rates;
        HighSpendThreshold = highSpendThreshold;
        LowBalanceThreshold = lowBalanceThreshold;
        DataCapTiers = dataCapTiers;
        DefaultDataCap = defaultDataCap;
        RateTable = [];
    }

    public string Id { get; }

    internal byte[] IdUtf8 { get; }

    /// <summary>Allowance per <see cref="CdrType"/> in units (seconds, messages, bytes); 0 when the plan has none.</summary>
    public IReadOnlyList<long> Allowances => _allowances;

    /// <summary>Percentages, ascending and distinct.</summary>
    public IReadOnlyList<long> ReminderThresholds => _reminderThresholds;

    internal ReadOnlySpan<long> ReminderThresholdSpan => _reminderThresholds;

    public long? HighSpendThreshold { get; }

    public long? LowBalanceThreshold { get; }

    public IReadOnlyList<long> DataCapTiers { get; }

    public long? DefaultDataCap { get; }

    /// <summary>Charged each time a state moves into a cycle (SPEC §7.5); null when the plan has none.</summary>
    public long? MonthlyFee { get; init; }

    /// <summary>The monthly minimum spend as stated: an amount at a reference per-minute price (SPEC §7.6).</summary>
    public MonthlyMinimum? Minimum { get; init; }

    /// <summary>The minimum scaled to this plan's per-minute price; 0 without a minimum.</summary>
    public long ScaledMinimum { get; internal set; }

    public IReadOnlyList<Rate> Rates => _rates;

    /// <summary>Compiled lookup: (type, zone, direction, dest) → index into <see cref="Rates"/>, or -1.</summary>
    internal short[] RateTable { get; set; }

    internal int ZoneCount { get; set; }

    public long Allowance(CdrType type) => _allowances[(int)type];

    /// <summary>The rate at an index returned by <see cref="FindRate"/>.</summary>
    internal Rate RateAt(int index) => _rates[index];

    /// <summary>The first matching rate's index, or -1 (no-rate). An array lookup: the list is not scanned per CDR.</summary>
    public int FindRate(CdrType type, int zone, Direction direction, Dest dest) =>
        RateTable[(((((int)type * ZoneCount) + zone) * 3) + (int)direction) * 3 + (int)dest];

    internal static int TableIndex(int zoneCount, CdrType type, int zone, Direction direction, Dest dest) =>
        (((((int)type * zoneCount) + zone) * 3) + (int)direction) * 3 + (int)dest;
}

/// <summary>A monthly minimum spend of <see cref="Amount"/> micros when a minute costs <see cref="AtPricePerMinute"/> micros.</summary>
public sealed record MonthlyMinimum(long Amount, long AtPricePerMinute);
