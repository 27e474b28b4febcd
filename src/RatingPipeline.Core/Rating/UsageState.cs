using System.Runtime.CompilerServices;

namespace RatingPipeline.Rating;

/// <summary>
/// One subscriber's usage for the billing cycle and the memories that span cycles. A fixed-size struct
/// (no references), so a dictionary of them holds no per-subscriber objects and rating allocates nothing.
/// </summary>
public struct UsageState
{
    /// <summary>Input offset of the last CDR applied to this state (-1: none); lets a restarted rater skip it.</summary>
    public long OffsetTag;

    public bool HasCycle;

    /// <summary>Start day (days since 1970-01-01) of the current cycle.</summary>
    public int CycleDay;

    /// <summary>Allowance units used this cycle, by <see cref="Records.CdrType"/>.</summary>
    public PerType<long> Used;

    /// <summary>Allowance reminders fired this cycle, by type: bit t for threshold t %.</summary>
    public PerType<UInt128> AllowanceFired;

    /// <summary>Capped (data) charges this cycle, D.</summary>
    public long CappedCharges;

    /// <summary>Spend this cycle, S.</summary>
    public long Spend;

    public bool DataCapFired;
    public bool HighSpendFired;

    /// <summary>Whether the prepaid counter relates to <see cref="PrepaidAsOfTicks"/>.</summary>
    public bool PrepaidTracked;

    public long PrepaidAsOfTicks;

    /// <summary>Charges of CDRs starting at or after balanceAsOf.</summary>
    public long PrepaidCharges;

    public bool LowBalanceFired;

    /// <summary>MCC of the last roaming notice (-1: none) and the start of the CDR that triggered it.</summary>
    public int RoamingMcc;

    public long RoamingStartTicks;

    public IdMemory RecentIds;

    public static UsageState New() => new() { OffsetTag = -1, RoamingMcc = -1 };

    /// <summary>Moves to a newer cycle: usage, D and S to 0, cycle reminders re-armed; memories kept.</summary>
    public void StartCycle(int cycleDay)
    {
        HasCycle = true;
        CycleDay = cycleDay;
        Used = default;
        AllowanceFired = default;
        CappedCharges = 0;
        Spend = 0;
        DataCapFired = false;
        HighSpendFired = false;
    }
}

/// <summary>Three values, one per CDR type, inline.</summary>
[InlineArray(3)]
public struct PerType<T>
    where T : unmanaged
{
    private T _element;
}

/// <summary>The last 32 accepted CDR ids as 64-bit hashes, oldest overwritten first.</summary>
public struct IdMemory
{
    public const int Capacity = 32;

    public IdRing Hashes;
    public byte Count;
    public byte Next;

    public readonly bool Contains(ulong hash)
    {
        ReadOnlySpan<ulong> hashes = Hashes;
        return hashes[..Count].Contains(hash);
    }

    public void Add(ulong hash)
    {
        Hashes[Next] = hash;
        Next = (byte)((Next + 1) % Capacity);
        if (Count < Capacity)
        {
            Count++;
        }
    }

    [InlineArray(Capacity)]
    public struct IdRing
    {
        private ulong _element;
    }
}
