using RatingPipeline.Records;

namespace RatingPipeline.Tariffs;

/// <summary>A plan of the tariff: allowances, reminder thresholds, spend and cap settings, and its rate list.</summary>
public sealed class RatePlan
{
    internal RatePlan(string id, long[] allowance, int[] reminderThresholds, long? highSpendThreshold,
        long? lowBalanceThreshold, long[] dataCapTiers, long? defaultDataCap, Rate[] rates)
    {
        Id = id;
        IdUtf8 = System.Text.Encoding.UTF8.GetBytes(id);
        Allowances = allowance;
        ReminderThresholds = reminderThresholds;
        HighSpendThreshold = highSpendThreshold;
        LowBalanceThreshold = lowBalanceThreshold;
        DataCapTiers = dataCapTiers;
        DefaultDataCap = defaultDataCap;
        Rates = rates;
        RateTable = [];
    }

    public string Id { get; }

    internal byte[] IdUtf8 { get; }

    /// <summary>Allowance per <see cref="CdrType"/> in units (seconds, messages, bytes); 0 when the plan has none.</summary>
    public IReadOnlyList<long> Allowances { get; }

    /// <summary>Percentages, ascending and distinct.</summary>
    public IReadOnlyList<int> ReminderThresholds { get; }

    public long? HighSpendThreshold { get; }

    public long? LowBalanceThreshold { get; }

    public IReadOnlyList<long> DataCapTiers { get; }

    public long? DefaultDataCap { get; }

    public IReadOnlyList<Rate> Rates { get; }

    /// <summary>Compiled lookup: (type, zone, direction, dest) → index into <see cref="Rates"/>, or -1.</summary>
    internal short[] RateTable { get; set; }

    internal int ZoneCount { get; set; }

    public long Allowance(CdrType type) => Allowances[(int)type];

    /// <summary>The first matching rate's index, or -1 (no-rate). An array lookup: the list is not scanned per CDR.</summary>
    public int FindRate(CdrType type, int zone, Direction direction, Dest dest) =>
        RateTable[(((((int)type * ZoneCount) + zone) * 3) + (int)direction) * 3 + (int)dest];

    internal static int TableIndex(int zoneCount, CdrType type, int zone, Direction direction, Dest dest) =>
        (((((int)type * zoneCount) + zone) * 3) + (int)direction) * 3 + (int)dest;
}
