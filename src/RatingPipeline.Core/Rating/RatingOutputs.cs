using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rating;

/// <summary>
/// Receives the engine's outputs. Implemented by structs and passed as a generic parameter, so the calls
/// inline instead of dispatching virtually (the Kestrel parser's pattern).
/// </summary>
public interface IRatingSink
{
    void Rated(in RatedCdr rated);

    void Reminder(in ReminderEvent reminder);

    void Rejected(in RejectedCdr rejected);
}

/// <summary>A rated CDR (one per accepted CDR).</summary>
public ref struct RatedCdr
{
    public ReadOnlySpan<byte> Id;
    public ReadOnlySpan<byte> Msisdn;
    public ulong MsisdnKey;
    public CdrType Type;
    public ReadOnlySpan<byte> Start;
    public long StartTicks;
    public int CycleDay;
    public ReadOnlySpan<byte> Plan;
    public ReadOnlySpan<byte> TariffVersion;
    public ReadOnlySpan<byte> Zone;
    public long BillableUnits;
    public long AllowanceUnits;
    public long OverageUnits;
    public long Charge;

    /// <summary>The zero-rating rule's reason, or empty when the CDR was not zero-rated.</summary>
    public ReadOnlySpan<byte> ZeroRated;

    public bool IsZeroRated;

    /// <summary>Index of the zero-rating rule in the tariff's list, or -1.</summary>
    public int ZeroRuleIndex;
}

public enum ReminderKind : byte
{
    Allowance,
    DataCap,
    HighSpend,
    LowBalance,
    Roaming,
}

/// <summary>A reminder event. Which value fields are meaningful depends on <see cref="Kind"/>.</summary>
public ref struct ReminderEvent
{
    public ReminderKind Kind;
    public ReadOnlySpan<byte> Msisdn;
    public ulong MsisdnKey;
    public int CycleDay;
    public ReadOnlySpan<byte> CdrId;

    /// <summary>The triggering CDR's <c>start</c> as received.</summary>
    public ReadOnlySpan<byte> At;

    /// <summary>allowance: the CDR type.</summary>
    public CdrType Type;

    /// <summary>allowance: percentage; high-spend and low-balance: micros.</summary>
    public long Threshold;

    /// <summary>allowance: used units; data-cap: charged (D); high-spend: spend (S); low-balance: remaining.</summary>
    public long Amount;

    /// <summary>allowance: the plan's allowance; data-cap: the cap K.</summary>
    public long Limit;

    /// <summary>allowance: price and unit of the CDR's rate (the price beyond the plan).</summary>
    public long OveragePrice;

    public long OverageUnit;

    /// <summary>low-balance: balanceAsOf as given.</summary>
    public ReadOnlySpan<byte> BalanceAsOf;

    /// <summary>roaming: visited MCC, its zone, and the plan whose rates for that zone are listed.</summary>
    public int Mcc;

    public int ZoneIndex;
    public ReadOnlySpan<byte> Zone;
    public RatePlan? Plan;
}

/// <summary>A rejected record: the reason, a human detail, and the original bytes.</summary>
public ref struct RejectedCdr
{
    public RejectReason Reason;
    public string Detail;
    public ReadOnlySpan<byte> Raw;

    /// <summary>Copied when the record parses as one object and the member is a string (even an invalid one).</summary>
    public ReadOnlySpan<byte> Id;

    public bool HasId;
    public ReadOnlySpan<byte> Msisdn;
    public bool HasMsisdn;
    public ulong MsisdnKey;
}

/// <summary>What happened to one input record.</summary>
public enum RatingResult : byte
{
    Rated,
    Rejected,

    /// <summary>Already applied to the subscriber's state (its offset is ≤ the state's offset tag).</summary>
    Skipped,
}
