using RatingPipeline.Records;

namespace RatingPipeline.Tariffs;

/// <summary>
/// A loaded, validated tariff (immutable; a reload builds a new one). Zones are numbered: 0 is
/// <c>domestic</c>, then the roaming zones in document order, then the default roaming zone if no zone
/// of that name is listed.
/// </summary>
public sealed class Tariff
{
    public const int Domestic = 0;

    internal Tariff(string version, string? currency, string utcOffset, long utcOffsetTicks, string[] zoneIds,
        short[] mccZone, string[] homeMcc, ZeroRatingTable zeroRating, Dictionary<string, RatePlan> plans, TariffSchedule schedule)
    {
        Schedule = schedule;
        UtcOffsetUtf8 = System.Text.Encoding.UTF8.GetBytes(utcOffset);
        Version = version;
        VersionUtf8 = System.Text.Encoding.UTF8.GetBytes(version);
        VersionNameId = Subscribers.NameTable.TariffVersions.Intern(version);
        Currency = currency;
        UtcOffset = utcOffset;
        UtcOffsetTicks = utcOffsetTicks;
        ZoneIds = zoneIds;
        ZoneIdsUtf8 = [.. zoneIds.Select(System.Text.Encoding.UTF8.GetBytes)];
        MccZone = mccZone;
        HomeMcc = homeMcc;
        ZeroRating = zeroRating;
        Plans = plans;
        var byName = new RatePlan?[plans.Count == 0 ? 0 : plans.Keys.Max(Subscribers.NameTable.Plans.Intern) + 1];
        foreach (var (id, plan) in plans)
        {
            byName[Subscribers.NameTable.Plans.Intern(id)] = plan;
        }

        _plansByNameId = byName;
    }

    /// <summary>The plans by the number of their id in <see cref="Subscribers.NameTable.Plans"/> (null: not in this tariff).</summary>
    private readonly RatePlan?[] _plansByNameId;

    /// <summary>The plan whose id has this number in <see cref="Subscribers.NameTable.Plans"/>, or null when the tariff has no such plan.</summary>
    internal RatePlan? PlanOf(int planNameId) => (uint)planNameId < (uint)_plansByNameId.Length ? _plansByNameId[planNameId] : null;

    public string Version { get; }

    internal byte[] VersionUtf8 { get; }

    /// <summary>The version's number in <see cref="Subscribers.NameTable.TariffVersions"/>.</summary>
    internal int VersionNameId { get; }

    public string? Currency { get; }

    public string UtcOffset { get; }

    /// <summary>The offset as written, for fee instants at the start of a cycle (<c>2026-12-01T00:00:00+08:00</c>).</summary>
    internal byte[] UtcOffsetUtf8 { get; }

    /// <summary>The time-driven settings of SPEC §7: notice lead, plan-expiry window, late grace.</summary>
    public TariffSchedule Schedule { get; }

    /// <summary>Local time = UTC + this many ticks (fixed offset, no daylight saving).</summary>
    public long UtcOffsetTicks { get; }

    public IReadOnlyList<string> ZoneIds { get; }

    internal byte[][] ZoneIdsUtf8 { get; }

    public IReadOnlyList<string> HomeMcc { get; }

    /// <summary>MCC 0–999 → zone number.</summary>
    internal short[] MccZone { get; }

    public ZeroRatingTable ZeroRating { get; }

    public IReadOnlyDictionary<string, RatePlan> Plans { get; }

    /// <summary>Zone number of a CDR's visited MCC (-1 = absent = domestic).</summary>
    public int ZoneOf(int visitedMcc) => visitedMcc < 0 ? Domestic : MccZone[visitedMcc];

    public static Dest DestOf(ReadOnlySpan<byte> normalisedPeer) =>
        normalisedPeer.StartsWith("00"u8) && !normalisedPeer.StartsWith("0086"u8) ? Dest.Intl : Dest.National;

    public bool TryGetPlan(string id, out RatePlan plan) => ((Dictionary<string, RatePlan>)Plans).TryGetValue(id, out plan!);

    internal int ZoneCount => ZoneIds.Count;

    internal static CdrType[] AllTypes { get; } = [CdrType.Voice, CdrType.Sms, CdrType.Data];
}

/// <summary>
/// The tariff's time-driven settings: hours from a service's order to its first charge, days before a plan's end
/// when its expiry notice goes out, and hours an ended cycle stays open for late CDRs.
/// </summary>
public sealed record TariffSchedule(int VasNoticeLeadHours, int PlanExpiryNoticeDays, int LateGraceHours)
{
    public long VasNoticeLeadTicks => VasNoticeLeadHours * Time.Instant.TicksPerHour;

    public long PlanExpiryNoticeTicks => PlanExpiryNoticeDays * Time.Instant.TicksPerDay;

    public long LateGraceTicks => LateGraceHours * Time.Instant.TicksPerHour;
}
