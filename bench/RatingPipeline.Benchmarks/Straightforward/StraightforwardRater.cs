using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RatingPipeline.Benchmarks.Straightforward;

/// <summary>
/// The rating loop a user would write without the engine: <see cref="JsonSerializer"/> into plain classes,
/// <see cref="DateTimeOffset"/> for the billing cycle, dictionaries for profiles and usage, and a LINQ scan of
/// the plan's rate list. It covers the common path of the specification (validation by deserialisation, unknown
/// subscriber, late, duplicate, zero-rating, rate, allowance, charge, data cap) and emits no reminders, so it does
/// less work than the engine. It is the comparison baseline, not product code.
/// </summary>
public sealed class StraightforwardRater
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        AllowDuplicateProperties = false,
    };

    private readonly TariffDocument _tariff;
    private readonly TimeSpan _utcOffset;
    private readonly List<(ZeroRatedDocument Entry, Regex Pattern)> _zeroRated;
    private readonly Dictionary<string, ProfileDocument> _profiles = [];
    private readonly Dictionary<string, SubscriberUsage> _usage = [];

    public StraightforwardRater(byte[] tariffJson, IEnumerable<byte[]> profileLines)
    {
        _tariff = JsonSerializer.Deserialize<TariffDocument>(tariffJson, Options) ?? throw new ArgumentException("no tariff", nameof(tariffJson));
        _utcOffset = TimeSpan.Parse(_tariff.UtcOffset.TrimStart('+'), CultureInfo.InvariantCulture);
        _zeroRated = _tariff.ZeroRated
            .Select(z => (z, new Regex("^" + z.Pattern.Replace("x", "[0-9]", StringComparison.Ordinal).Replace("*", "[0-9]*", StringComparison.Ordinal) + "$", RegexOptions.Compiled)))
            .ToList();
        foreach (var line in profileLines)
        {
            var profile = JsonSerializer.Deserialize<ProfileDocument>(line, Options)!;
            _profiles[profile.Msisdn] = profile;
        }
    }

    /// <summary>Forgets all usage (a new run over the same subscribers).</summary>
    public void ResetUsage() => _usage.Clear();

    /// <summary>Rates one CDR; null when it is rejected.</summary>
    public RatedRecord? Rate(ReadOnlySpan<byte> json)
    {
        CdrDocument? cdr;
        DateTimeOffset start;
        try
        {
            cdr = JsonSerializer.Deserialize<CdrDocument>(json, Options);
            if (cdr?.Start is null)
            {
                return null;
            }

            start = DateTimeOffset.ParseExact(cdr.Start, "yyyy-MM-dd'T'HH:mm:ssK", CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            return null; // invalid
        }

        if (cdr.Id is null || cdr.Msisdn is null || cdr.Type is not ("voice" or "sms" or "data"))
        {
            return null;
        }

        var isData = cdr.Type == "data";
        if ((!isData && (cdr.Direction is not ("mo" or "mt") || cdr.Peer is null))
            || (cdr.Type == "voice" && cdr.DurationSec is null) || (isData && cdr.Bytes is null))
        {
            return null;
        }

        if (!_profiles.TryGetValue(cdr.Msisdn, out var profile) || !_tariff.Plans.TryGetValue(profile.Plan, out var plan))
        {
            return null; // unknown subscriber or plan
        }

        // The cycle starts at 00:00 local time on the subscriber's cycle day.
        var local = start.ToOffset(_utcOffset);
        var cycle = new DateTime(local.Year, local.Month, profile.CycleDay, 0, 0, 0, DateTimeKind.Unspecified);
        if (local.Day < profile.CycleDay)
        {
            cycle = cycle.AddMonths(-1);
        }

        _usage.TryGetValue(cdr.Msisdn, out var usage);
        if (usage is not null && (cycle < usage.Cycle || usage.RecentIds.Contains(cdr.Id)))
        {
            return null; // late or duplicate
        }

        var peer = cdr.Peer is not null && cdr.Peer.StartsWith('+') ? "00" + cdr.Peer[1..] : cdr.Peer;
        var zone = cdr.VisitedMcc is null || _tariff.HomeMcc.Contains(cdr.VisitedMcc)
            ? "domestic"
            : _tariff.Zones.FirstOrDefault(z => z.Value.Contains(cdr.VisitedMcc)).Key ?? _tariff.DefaultRoamingZone;
        var zeroRated = isData
            ? null
            : _zeroRated.FirstOrDefault(z => z.Entry.Types.Contains(cdr.Type) && start >= z.Entry.From
                && (z.Entry.To is null || start < z.Entry.To) && z.Pattern.IsMatch(peer!)).Entry;

        RateDocument? rate = null;
        if (zeroRated is null)
        {
            var direction = isData ? null : cdr.Direction;
            var dest = isData ? null : peer!.StartsWith("00", StringComparison.Ordinal) && !peer.StartsWith("0086", StringComparison.Ordinal) ? "intl" : "national";
            rate = plan.Rates.FirstOrDefault(r => Matches(r.Type, cdr.Type) && Matches(r.Zone, zone) && Matches(r.Direction, direction) && Matches(r.Dest, dest));
            if (rate is null)
            {
                return null; // no rate
            }
        }

        // Accepted.
        if (usage is null)
        {
            usage = new SubscriberUsage { Cycle = cycle };
            _usage[cdr.Msisdn] = usage;
        }
        else if (cycle > usage.Cycle)
        {
            usage.Cycle = cycle;
            usage.Used.Clear();
            usage.CappedCharges = 0;
            usage.Spend = 0;
        }

        usage.RecentIds.Enqueue(cdr.Id);
        if (usage.RecentIds.Count > 32)
        {
            usage.RecentIds.Dequeue();
        }

        var cycleText = cycle.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (zeroRated is not null)
        {
            return new RatedRecord(cdr.Id, cdr.Msisdn, cdr.Type, cdr.Start, cycleText, profile.Plan, zone, 0, 0, 0, 0, zeroRated.Reason);
        }

        var billable = cdr.Type switch
        {
            "voice" => BillableSeconds(cdr.DurationSec!.Value, rate!.FirstIncrement ?? rate.Increment, rate.Increment),
            "sms" => 1,
            _ => RoundUp(cdr.Bytes!.Value, rate!.Increment),
        };

        long allowanceUnits = 0;
        if (rate!.UseAllowance)
        {
            var allowance = plan.Allowances.GetValueOrDefault(AllowanceName(cdr.Type));
            var used = usage.Used.GetValueOrDefault(cdr.Type);
            allowanceUnits = Math.Min(allowance - used, billable);
            usage.Used[cdr.Type] = used + allowanceUnits;
        }

        var overage = billable - allowanceUnits;
        var charge = ((overage * rate.Price) + (rate.Unit / 2)) / rate.Unit;
        if (rate.Capped && (profile.DataCap ?? plan.DefaultDataCap) is { } cap)
        {
            charge = Math.Min(charge, Math.Max(0, cap - usage.CappedCharges));
            usage.CappedCharges += charge;
        }

        usage.Spend += charge;
        return new RatedRecord(cdr.Id, cdr.Msisdn, cdr.Type, cdr.Start, cycleText, profile.Plan, zone, billable, allowanceUnits, overage, charge, null);
    }

    private static bool Matches(string? criterion, string? value) => criterion is null or "*" || criterion == value;

    private static long BillableSeconds(long duration, long first, long increment) =>
        duration == 0 ? 0 : first + RoundUp(Math.Max(0, duration - first), increment);

    private static long RoundUp(long value, long increment) => (value + increment - 1) / increment * increment;

    private static string AllowanceName(string type) => type switch
    {
        "voice" => "voiceSec",
        "sms" => "smsCount",
        _ => "dataBytes",
    };
}
