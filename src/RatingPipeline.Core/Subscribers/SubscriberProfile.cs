using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Subscribers;

/// <summary>
/// A subscriber's profile (compacted topic <c>subscribers</c>, key = msisdn). A later profile for the same
/// msisdn replaces the earlier one from then on without resetting usage already counted in the cycle.
/// </summary>
public sealed class SubscriberProfile
{
    // A long member not given (the nullable members are kept as a long each, without a flag beside it).
    private const long None = long.MinValue;

    // Msisdns of up to 16 bytes (every valid one: 5-15 digits) are kept in the profile itself, not in an array.
    private const int InlineMsisdn = 16;

    private MsisdnBytes _msisdnBytes;
    private byte _msisdnLength;
    private byte[]? _msisdnArray;
    private string? _msisdn;
    private int _planNameId = -1;
    private long _highSpendThreshold = None;
    private long _dataCap = None;
    private long _monthlyMinimum = None;

    public SubscriberProfile()
    {
    }

    /// <summary>A profile as the reader makes it: the msisdn as UTF-8 (its string made at first use).</summary>
#pragma warning disable CS8618 // Msisdn has no field of its own to set: its string is made from the bytes at first use.
    [SetsRequiredMembers]
    internal SubscriberProfile(ReadOnlySpan<byte> msisdnUtf8, ulong msisdnKey, string plan, int planNameId, int cycleDay)
#pragma warning restore CS8618
    {
        SetMsisdnBytes(msisdnUtf8);
        MsisdnKey = msisdnKey;
        Plan = plan;
        _planNameId = planNameId;
        CycleDay = cycleDay;
    }

    public required string Msisdn
    {
        get => _msisdn ??= System.Text.Encoding.UTF8.GetString(MsisdnUtf8);
        init
        {
            _msisdn = value;
            if (_msisdnLength == 0 && _msisdnArray is null)
            {
                SetMsisdnBytes(System.Text.Encoding.UTF8.GetBytes(value));
            }
        }
    }

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

    public long? HighSpendThreshold
    {
        get => _highSpendThreshold == None ? null : _highSpendThreshold;
        init => _highSpendThreshold = value ?? None;
    }

    /// <summary>The data spending cap the subscriber chose (micros), one of the plan's tiers.</summary>
    public long? DataCap
    {
        get => _dataCap == None ? null : _dataCap;
        init => _dataCap = value ?? None;
    }

    public string Language { get; init; } = "zh";

    /// <summary>False when the subscriber opted out of reminders (<c>"reminders": "off"</c>).</summary>
    public bool RemindersOn { get; init; } = true;

    public IReadOnlyList<string> Channels { get; init; } = ["sms"];

    public string? Email { get; init; }

    internal byte[] BalanceAsOfUtf8 { get; init; } = [];

    /// <summary>The msisdn as UTF-8 bytes (kept in the profile itself).</summary>
    internal ReadOnlySpan<byte> MsisdnUtf8
    {
        get => _msisdnArray ?? ((ReadOnlySpan<byte>)_msisdnBytes)[.._msisdnLength];
        init => SetMsisdnBytes(value);
    }

    /// <summary>The plan id's number in <see cref="NameTable.Plans"/>.</summary>
    public int PlanNameId
    {
        get => _planNameId >= 0 ? _planNameId : InternPlan(); // the first read interns, out of line: this one is inlined

        init => _planNameId = value;
    }

    private int InternPlan() => _planNameId = NameTable.Plans.Intern(Plan);

    /// <summary>The subscriber's own monthly minimum spend (micros); it may raise the plan's scaled minimum, never lower it.</summary>
    public long? MonthlyMinimum
    {
        get => _monthlyMinimum == None ? null : _monthlyMinimum;
        init => _monthlyMinimum = value ?? None;
    }

    /// <summary>Monthly value-added services (at most 16), in the order given.</summary>
    public IReadOnlyList<SubscribedService> Services { get; init; } = [];

    /// <summary>The end of the plan's term as given (SPEC §7.7), or null.</summary>
    public string? PlanEndsAt { get; init; }

    public long PlanEndsAtTicks { get; init; }

    internal byte[] PlanEndsAtUtf8 { get; init; } = [];

    /// <summary>The profile's plan in <paramref name="tariff"/> (by the number of its id, no look-up by name), or null.</summary>
    internal RatePlan? ResolvePlan(Tariff tariff) => tariff.PlanOf(PlanNameId);

    /// <summary>
    /// Parses and validates one profile (a strict single pass, <see cref="ProfileReader"/>). Returns null and an error
    /// for a profile that breaks the rules; a <c>dataCap</c> and a <c>monthlyMinimum</c> are checked against the plan
    /// when the plan is in <paramref name="tariff"/>.
    /// </summary>
    public static SubscriberProfile? TryParse(ReadOnlySpan<byte> utf8, Tariff? tariff, out string error) =>
        ProfileReader.TryRead(utf8, tariff, out error);

    /// <summary>Largest number of services one profile may list.</summary>
    public const int MaxServices = 16;

    private void SetMsisdnBytes(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length is > 0 and <= InlineMsisdn)
        {
            utf8.CopyTo(_msisdnBytes);
            _msisdnLength = (byte)utf8.Length;
            _msisdnArray = null;
        }
        else
        {
            _msisdnLength = 0;
            _msisdnArray = utf8.ToArray();
        }
    }

    [InlineArray(InlineMsisdn)]
    private struct MsisdnBytes
    {
        private byte _first;
    }
}
