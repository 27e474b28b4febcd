using RatingPipeline.Tariffs;

namespace RatingPipeline.Subscribers;

/// <summary>
/// A subscriber's profile (compacted topic <c>subscribers</c>, key = msisdn). A later profile for the same
/// msisdn replaces the earlier one from then on without resetting usage already counted in the cycle.
/// </summary>
public sealed class SubscriberProfile
{
    public required string Msisdn { get; init; }

    public required ulong MsisdnKey { get; init; }

    public required string Plan { get; init; }

    /// <summary>Day of month (1–28) on which the billing cycle starts at 00:00 local time.</summary>
    public required int CycleDay { get; init; }

    public bool Prepaid { get; init; }

    /// <summary>Prepaid balance in micros at <see cref="BalanceAsOf"/>.</summary>
    public long Balance { get; init; }

    /// <summary>The balance instant as given (used verbatim in low-balance event ids).</summary>
    public string? BalanceAsOf { get; init; }

    public long BalanceAsOfTicks { get; init; }

    public long? HighSpendThreshold { get; init; }

    /// <summary>The data spending cap the subscriber chose (micros), one of the plan's tiers.</summary>
    public long? DataCap { get; init; }

    public string Language { get; init; } = "zh";

    /// <summary>False when the subscriber opted out of reminders (<c>"reminders": "off"</c>).</summary>
    public bool RemindersOn { get; init; } = true;

    public IReadOnlyList<string> Channels { get; init; } = ["sms"];

    public string? Email { get; init; }

    internal byte[] BalanceAsOfUtf8 { get; init; } = [];

    private byte[]? _msisdnUtf8;

    /// <summary>The msisdn as UTF-8 bytes (made when the profile is read, or at first use).</summary>
    internal byte[] MsisdnUtf8
    {
        get => _msisdnUtf8 ??= System.Text.Encoding.UTF8.GetBytes(Msisdn);
        init => _msisdnUtf8 = value;
    }

    /// <summary>The plan id's number in <see cref="NameTable.Plans"/>.</summary>
    public int PlanNameId
    {
        get => _planNameId ??= NameTable.Plans.Intern(Plan);
        init => _planNameId = value;
    }

    private int? _planNameId;

    /// <summary>The subscriber's own monthly minimum spend (micros); it may raise the plan's scaled minimum, never lower it.</summary>
    public long? MonthlyMinimum { get; init; }

    /// <summary>Monthly value-added services (at most 16), in the order given.</summary>
    public IReadOnlyList<SubscribedService> Services { get; init; } = [];

    /// <summary>The end of the plan's term as given (SPEC §7.7), or null.</summary>
    public string? PlanEndsAt { get; init; }

    public long PlanEndsAtTicks { get; init; }

    internal byte[] PlanEndsAtUtf8 { get; init; } = [];

    // The plan resolved against one tariff instance; re-resolved when the tariff changes.
    private Tariff? _resolvedFor;
    private RatePlan? _plan;

    internal RatePlan? ResolvePlan(Tariff tariff)
    {
        if (!ReferenceEquals(_resolvedFor, tariff))
        {
            _plan = tariff.TryGetPlan(Plan, out var plan) ? plan : null;
            _resolvedFor = tariff;
        }

        return _plan;
    }

    /// <summary>
    /// Parses and validates one profile (a strict single pass, <see cref="ProfileReader"/>). Returns null and an error
    /// for a profile that breaks the rules; a <c>dataCap</c> and a <c>monthlyMinimum</c> are checked against the plan
    /// when the plan is in <paramref name="tariff"/>.
    /// </summary>
    public static SubscriberProfile? TryParse(ReadOnlySpan<byte> utf8, Tariff? tariff, out string error) =>
        ProfileReader.TryRead(utf8, tariff, out error);

    /// <summary>Largest number of services one profile may list.</summary>
    public const int MaxServices = 16;

}
