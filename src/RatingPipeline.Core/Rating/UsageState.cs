using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RatingPipeline.Rating;

/// <summary>
/// One subscriber's state: the current billing cycle's counters and the memories that span cycles (SPEC §4, §7.2).
/// A fixed-size struct, so a dictionary of them holds no per-subscriber object for the common case; the rarer
/// parts — the cycle's fee list and the open previous cycle of the late grace — live in <see cref="Extras"/>,
/// made the first time a subscriber is charged a fee or keeps a cycle open, and reused from then on.
/// </summary>
public struct UsageState
{
    /// <summary><see cref="Mark"/> when no time-driven item was done yet ("none": just before the cycle's start).</summary>
    public const long NoMark = long.MinValue;

    /// <summary><see cref="PlanId"/> of a state restored from a record written before plans were kept.</summary>
    public const int UnknownPlan = -1;

    /// <summary>Input offset of the last record applied to this state (-1: none); lets a restarted rater skip it.</summary>
    public long OffsetTag;

    /// <summary>Always true for a state that exists (kept for readers of the state record).</summary>
    public bool HasCycle;

    /// <summary>Start day (days since 1970-01-01) of the state's cycle.</summary>
    public int CycleDay;

    /// <summary>The plan the state last rated under, as a number of <see cref="Subscribers.NameTable.Plans"/>.</summary>
    public int PlanId;

    /// <summary>The clock mark M (UTC ticks): time-driven items up to it are done; <see cref="NoMark"/> for none.</summary>
    public long Mark;

    /// <summary>The stream time τ: the latest start of accepted records and at of applied clocks (UTC ticks).</summary>
    public long StreamTime;

    /// <summary>The state's cycle: used units, D, S, bill sums and the cycle's reminder flags.</summary>
    public CycleCounters Counters;

    /// <summary>Whether the prepaid counter relates to <see cref="PrepaidAsOfTicks"/>.</summary>
    public bool PrepaidTracked;

    public bool LowBalanceFired;

    public long PrepaidAsOfTicks;

    /// <summary>Charges of records and fees at or after balanceAsOf.</summary>
    public long PrepaidCharges;

    /// <summary>MCC of the last roaming notice (-1: none) and the start of the record that triggered it.</summary>
    public int RoamingMcc;

    public long RoamingStartTicks;

    /// <summary>A 64-bit hash of the last <c>planEndsAt</c> text noticed (0: none).</summary>
    public ulong PlanEndsNoticed;

    public IdMemory RecentIds;

    /// <summary>The fee list of the cycle and the open previous cycle; null until first needed.</summary>
    public StateExtras? Extras;

    /// <summary>A subscriber's state before its first record: nothing used, no offset applied, no roaming, no plan yet.</summary>
    public static UsageState New()
    {
        var state = default(UsageState);
        Initialize(ref state);
        return state;
    }

    /// <summary>Makes <paramref name="state"/> what <see cref="New"/> returns, in place (no temporary copy).</summary>
    public static void Initialize(ref UsageState state)
    {
        state = default;
        state.OffsetTag = -1;
        state.RoamingMcc = -1;
        state.Mark = NoMark;
        state.PlanId = UnknownPlan;
    }

    [UnscopedRef]
    public ref PerType<long> Used => ref Counters.Used;

    [UnscopedRef]
    public ref PerType<UInt128> AllowanceFired => ref Counters.AllowanceFired;

    public readonly long CappedCharges => Counters.Capped;

    public readonly long Spend => Counters.Spend;

    public readonly bool DataCapFired => Counters.DataCapFired;

    public readonly bool HighSpendFired => Counters.HighSpendFired;

    /// <summary>The open previous cycle (SPEC §7.11), or null.</summary>
    public readonly PreviousCycle? Previous => Extras?.Previous is { IsOpen: true } p ? p : null;

    /// <summary>The fees charged in the state's cycle, in charge order.</summary>
    public readonly ReadOnlySpan<FeeEntry> Fees => Extras is null ? default : CollectionsMarshal.AsSpan(Extras.Fees);

    public StateExtras EnsureExtras() => Extras ??= new StateExtras();
}

/// <summary>The counters of one billing cycle (the state's, or the open previous one's).</summary>
public struct CycleCounters
{
    /// <summary>Allowance units used, by <see cref="Records.CdrType"/>.</summary>
    public PerType<long> Used;

    /// <summary>Capped (data) charges D.</summary>
    public long Capped;

    /// <summary>Spend S: CDR charges and fees.</summary>
    public long Spend;

    /// <summary>Bill sums by type: accepted CDRs (zero-rated ones included), billable units B and charges C.</summary>
    public PerType<long> Count;

    public PerType<long> Units;

    public PerType<long> Charges;

    /// <summary>Allowance reminders fired, by type: bit t for threshold t % (t from 0 to 127, the thresholds plans use).</summary>
    public PerType<UInt128> AllowanceFired;

    /// <summary>
    /// Allowance reminders fired for thresholds outside 0–127 (a tariff may list any integer; above 100 fires only once
    /// the used units exceed a smaller allowance), in firing order; null when none. Never changed in place — a new
    /// array per addition — so a copy of the counters (the open previous cycle's) may share it.
    /// </summary>
    public FiredThreshold[]? AllowanceFiredBeyond;

    public bool DataCapFired;
    public bool HighSpendFired;

    /// <summary>Whether the allowance reminder of <paramref name="type"/> at <paramref name="threshold"/> % fired in this cycle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool HasFired(Records.CdrType type, long threshold) =>
        (ulong)threshold < 128
            ? (AllowanceFired[(int)type] & (UInt128.One << (int)threshold)) != 0
            : HasFiredBeyond(type, threshold);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly bool HasFiredBeyond(Records.CdrType type, long threshold) =>
        AllowanceFiredBeyond is { } beyond && Array.IndexOf(beyond, new FiredThreshold(type, threshold)) >= 0;

    /// <summary>Records that the allowance reminder of <paramref name="type"/> at <paramref name="threshold"/> % fired (outside 0–127: a new array, rare).</summary>
    public void Fire(Records.CdrType type, long threshold)
    {
        if ((ulong)threshold < 128)
        {
            AllowanceFired[(int)type] |= UInt128.One << (int)threshold;
        }
        else
        {
            AllowanceFiredBeyond = [.. AllowanceFiredBeyond ?? [], new FiredThreshold(type, threshold)];
        }
    }
}

/// <summary>An allowance threshold outside 0–127 that fired for a CDR type (<see cref="CycleCounters.AllowanceFiredBeyond"/>).</summary>
public readonly record struct FiredThreshold(Records.CdrType Type, long Threshold);

/// <summary>A fee charged in a cycle: the monthly fee, or a service's (its id's number in <see cref="Subscribers.NameTable.Services"/>).</summary>
public readonly record struct FeeEntry(FeeKind Kind, int ServiceId, long Amount);

public enum FeeKind : byte
{
    Monthly = 0,
    Service = 1,
}

/// <summary>The parts of a state most subscribers need only now and then.</summary>
public sealed class StateExtras
{
    /// <summary>Fees charged in the state's cycle, in charge order.</summary>
    public List<FeeEntry> Fees { get; } = [];

    /// <summary>The previous cycle, kept open during the late grace; reused from cycle to cycle.</summary>
    public PreviousCycle? Previous { get; set; }

    public bool HasFee(int serviceId)
    {
        foreach (var fee in CollectionsMarshal.AsSpan(Fees))
        {
            if (fee.Kind == FeeKind.Service && fee.ServiceId == serviceId)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// An ended cycle kept open for late CDRs (SPEC §7.11): its name, its close instant, the bill members fixed when it
/// ended, and its own counters and fee list.
/// </summary>
public sealed class PreviousCycle
{
    public bool IsOpen { get; set; }

    public int Cycle { get; set; }

    public long CloseTicks { get; set; }

    public int CycleEnd { get; set; }

    public int PlanId { get; set; }

    public int TariffVersionId { get; set; }

    public long Minimum { get; set; }

    public CycleCounters Counters;

    public List<FeeEntry> Fees { get; } = [];
}

/// <summary>Three values, one per CDR type, inline.</summary>
[InlineArray(3)]
public struct PerType<T>
    where T : unmanaged
{
    private T _element;
}

/// <summary>The last 32 accepted ids (CDRs and location records) as 64-bit hashes, oldest overwritten first.</summary>
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
