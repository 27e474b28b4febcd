using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rating;

/// <summary>
/// Receives the engine's outputs. Implemented by structs and passed as a generic parameter, so the calls
/// inline instead of dispatching virtually (the Kestrel parser's pattern).
/// </summary>
public interface IRatingSink
{
    /// <summary>A rated CDR or a fee record (both go to <c>rated-cdrs</c> / <c>rated.jsonl</c>).</summary>
    void Rated(in RatedCdr rated);

    void Reminder(in ReminderEvent reminder);

    void Rejected(in RejectedCdr rejected);

    /// <summary>The bill of a closed cycle (SPEC §7.8).</summary>
    void Bill(in BillRecord bill);
}

/// <summary>
/// A rated CDR (one per accepted CDR) or a fee record (one per fee charge, <see cref="IsFee"/>). The engine fills a rated
/// CDR without clearing it first (<c>ProcessSubscriberRecord</c>): a new field must be assigned there on both paths, the
/// zero-rated one and the charged one (a test counts the fields to remind whoever adds one).
/// </summary>
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

    /// <summary>The zone name; empty for a fee record (written as null).</summary>
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

    // Per-call details (SPEC §5).
    public Direction Direction;

    /// <summary>The normalised peer; empty for data and fee records.</summary>
    public ReadOnlySpan<byte> Peer;

    public long DurationSec;
    public long Bytes;

    /// <summary>Visited MCC 0–999, or -1 (home network).</summary>
    public int VisitedMcc;

    // Running totals of the record's cycle after it (SPEC §5).
    public long UsedAfter;
    public long CappedAfter;
    public long SpendAfter;

    /// <summary>
    /// The id and the tariff's texts (plan, version, zone, zero-rating reason) are known to go out as written (no JSON
    /// escape): the id was read by the decoder's canonical-shape scan and the tariff's texts were checked once. The
    /// msisdn (digits) and start (an instant as written) always are.
    /// </summary>
    public bool TextsVerbatim;

    // Fee records (SPEC §7.5).
    public bool IsFee;
    public FeeKind FeeKind;

    /// <summary>The service's id for a service fee; empty for the monthly fee.</summary>
    public ReadOnlySpan<byte> ServiceId;
}

public enum ReminderKind : byte
{
    Allowance,
    DataCap,
    HighSpend,
    LowBalance,
    Roaming,
    PlanChange,
    VasPrecharge,
    PlanExpiry,
}

/// <summary>A reminder event. Which value fields are meaningful depends on <see cref="Kind"/>.</summary>
public ref struct ReminderEvent
{
    public ReminderKind Kind;
    public ReadOnlySpan<byte> Msisdn;
    public ulong MsisdnKey;
    public int CycleDay;

    /// <summary>The triggering record's id (or the fee record's id); see <see cref="HasCdrId"/>.</summary>
    public ReadOnlySpan<byte> CdrId;

    /// <summary>False where the reminder has no triggering record (a clock, a service notice): <c>cdrId</c> is null.</summary>
    public bool HasCdrId;

    /// <summary>The triggering record's <c>start</c> as received (or the fee's instant, the clock's <c>at</c>, the order instant).</summary>
    public ReadOnlySpan<byte> At;

    /// <summary>allowance: the CDR type.</summary>
    public CdrType Type;

    /// <summary>allowance: percentage; high-spend and low-balance: micros.</summary>
    public long Threshold;

    /// <summary>allowance: used units; data-cap: charged (D); high-spend: spend (S); low-balance: remaining; vas-precharge: price.</summary>
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

    /// <summary>plan-change: the state's plan (from) and the profile's (to); plan-expiry: the plan (<see cref="PlanTo"/>).</summary>
    public ReadOnlySpan<byte> PlanFrom;

    public ReadOnlySpan<byte> PlanTo;

    /// <summary>plan-change and plan-expiry: the plan's monthly fee, when it has one.</summary>
    public long MonthlyFee;

    public bool HasMonthlyFee;

    /// <summary>plan-change: the record's id or the clock's at (the eventId's trigger).</summary>
    public ReadOnlySpan<byte> Trigger;

    /// <summary>vas-precharge: the service's id, names, order instant as given and first charge instant as written.</summary>
    public ReadOnlySpan<byte> ServiceId;

    public ReadOnlySpan<byte> NameZh;
    public ReadOnlySpan<byte> NameEn;
    public ReadOnlySpan<byte> ChargeAt;

    /// <summary>plan-expiry: planEndsAt as given.</summary>
    public ReadOnlySpan<byte> EndsAt;
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

/// <summary>The bill of one closed cycle (SPEC §7.6, §7.8).</summary>
public ref struct BillRecord
{
    public ReadOnlySpan<byte> Msisdn;
    public ulong MsisdnKey;
    public int CycleDay;
    public int CycleEnd;
    public ReadOnlySpan<byte> Plan;
    public ReadOnlySpan<byte> TariffVersion;

    /// <summary>The cycle's counters: count, billable units, used (allowance) units and charge per type.</summary>
    public CycleCounters Counters;

    /// <summary>The fees charged in the cycle, in charge order.</summary>
    public ReadOnlySpan<FeeEntry> Fees;

    public long UsageCharge;
    public long FeeCharge;
    public long Minimum;
    public long TopUp;
    public long Total;
}

/// <summary>What happened to one input record.</summary>
public enum RatingResult : byte
{
    Rated,
    Rejected,

    /// <summary>Already applied to the subscriber's state (its offset is ≤ the state's offset tag).</summary>
    Skipped,

    /// <summary>An accepted location record (no rated record).</summary>
    Located,

    /// <summary>A clock record applied (whether or not it changed anything).</summary>
    Clock,

    /// <summary>An accepted offline profile line.</summary>
    Profile,
}
