using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Reference;

/// <summary>An input the command refuses (a tariff, or a line of the subscriber file): the run stops (SPEC §2.2, §3, §6).</summary>
public sealed class RefRefusal(string message) : Exception(message);

/// <summary>One entry of a plan's <c>rates</c> (SPEC §3); an absent <c>type</c>, <c>zone</c>, <c>direction</c> or <c>dest</c> is "*".</summary>
public sealed record RefRate(string Type, string Zone, string Direction, string Dest, bool UseAllowance, bool Capped,
    long FirstIncrement, long Increment, long Unit, long Price);

/// <summary>A <c>zeroRated</c> entry (SPEC §3).</summary>
public sealed record RefZeroRule(string Pattern, IReadOnlyList<string> Types, RefInstant From, RefInstant? To, string Reason,
    IReadOnlyList<string>? Zones);

/// <summary>A plan (SPEC §3), with its scaled minimum (§7.6) worked out once.</summary>
public sealed record RefPlan(string Id, long VoiceAllowance, long SmsAllowance, long DataAllowance, IReadOnlyList<long> Thresholds,
    long? HighSpendThreshold, long? LowBalanceThreshold, IReadOnlyList<long> DataCapTiers, long? DefaultDataCap,
    IReadOnlyList<RefRate> Rates, long? MonthlyFee, long ScaledMinimum)
{
    public long AllowanceOf(string type) => type switch
    {
        "voice" => VoiceAllowance,
        "sms" => SmsAllowance,
        _ => DataAllowance,
    };

    /// <summary>
    /// SPEC §3: the first rate, in list order, whose <c>type</c>, <c>zone</c>, <c>direction</c> and <c>dest</c> each
    /// equal the CDR's or are "*". A data CDR has no direction or dest (null here): it matches only entries where those are "*".
    /// </summary>
    public RefRate? FirstRate(string type, string zone, string? direction, string? dest) =>
        Rates.FirstOrDefault(r => Fits(r.Type, type) && Fits(r.Zone, zone) && Fits(r.Direction, direction) && Fits(r.Dest, dest));

    private static bool Fits(string field, string? value) => field == "*" || (value is not null && field == value);
}

/// <summary>
/// The tariff document of SPEC §3, read with <see cref="JsonDocument"/>. It checks the refusal rules that matter for
/// rating (ranges, the 10^15 charge bound, patterns, <c>zeroRated[].zones</c> names, cap tiers, the monthly minimum's
/// rate and bound, the §7 members' ranges); it is not a complete tariff validator.
/// </summary>
public sealed partial class RefTariff
{
    private static readonly string[] CdrTypes = ["voice", "sms", "data"];

    private RefTariff()
    {
    }

    public string Version { get; private init; } = "";

    /// <summary><c>utcOffset</c> as written: fee records' cycle-start instants are written with it (§7.5).</summary>
    public string UtcOffsetText { get; private init; } = "";

    public long UtcOffsetTicks { get; private init; }

    public IReadOnlyList<string> HomeMcc { get; private init; } = [];

    /// <summary><c>zones</c> in document order.</summary>
    public IReadOnlyList<(string Zone, IReadOnlyList<string> Mccs)> Zones { get; private init; } = [];

    public string DefaultRoamingZone { get; private init; } = "";

    public IReadOnlyList<RefZeroRule> ZeroRated { get; private init; } = [];

    public IReadOnlyDictionary<string, RefPlan> Plans { get; private init; } = new Dictionary<string, RefPlan>();

    /// <summary><c>vasNoticeLeadHours</c>, default 24 (§3, §7.4).</summary>
    public int VasNoticeLeadHours { get; private init; }

    /// <summary><c>planExpiryNoticeDays</c>, default 7 (§3, §7.7).</summary>
    public int PlanExpiryNoticeDays { get; private init; }

    /// <summary><c>lateGraceHours</c> G, default 0 (§3, §7.11).</summary>
    public int LateGraceHours { get; private init; }

    /// <summary>SPEC §3: domestic when <c>visitedMcc</c> is absent or in <c>homeMcc</c>; else the zone listing it, else the default.</summary>
    public string ZoneOf(string? visitedMcc)
    {
        if (visitedMcc is null || HomeMcc.Contains(visitedMcc))
        {
            return "domestic";
        }

        foreach (var (zone, mccs) in Zones)
        {
            if (mccs.Contains(visitedMcc))
            {
                return zone;
            }
        }

        return DefaultRoamingZone;
    }

    /// <summary>
    /// SPEC §3: the first <c>zeroRated</c> entry that applies: of the CDR's type, its pattern matching the whole
    /// normalised peer, <c>from</c> ≤ start &lt; <c>to</c>, and the CDR's zone listed when the entry has <c>zones</c>.
    /// A data CDR has no peer, so none applies to it.
    /// </summary>
    public RefZeroRule? ZeroRuleFor(string type, string? normalisedPeer, long start, string zone) =>
        normalisedPeer is null
            ? null
            : ZeroRated.FirstOrDefault(z => z.Types.Contains(type) && PatternMatches(z.Pattern, normalisedPeer)
                && start >= z.From.UtcTicks && (z.To is null || start < z.To.UtcTicks)
                && (z.Zones is null || z.Zones.Contains(zone)));

    /// <summary>Digits and <c>x</c>; <c>x</c> matches any one digit; a final <c>*</c> matches any remaining digits, possibly none.</summary>
    public static bool PatternMatches(string pattern, string peer)
    {
        var star = pattern.EndsWith('*');
        var fixedPart = star ? pattern[..^1] : pattern;
        if (star ? peer.Length < fixedPart.Length : peer.Length != fixedPart.Length)
        {
            return false;
        }

        for (var i = 0; i < fixedPart.Length; i++)
        {
            if (fixedPart[i] != 'x' && fixedPart[i] != peer[i])
            {
                return false;
            }
        }

        return true;
    }

    public static RefTariff Load(byte[] json)
    {
        using var document = RefJson.TryParseObject(json, out var why) ?? throw new RefRefusal($"tariff: {why}");
        var root = document.RootElement;
        var offsetText = Str(root, "utcOffset", "$.utcOffset");
        var offset = RefInstant.OffsetTicks(offsetText) ?? throw new RefRefusal($"tariff: $.utcOffset {offsetText} is no offset");

        var zones = new List<(string, IReadOnlyList<string>)>();
        if (RefJson.Member(root, "zones") is { } zonesElement)
        {
            foreach (var zone in Obj(zonesElement, "$.zones").EnumerateObject())
            {
                zones.Add((zone.Name, [.. Arr(zone.Value, $"$.zones.{zone.Name}").Select((m, i) => Mcc(m, $"$.zones.{zone.Name}[{i}]"))]));
            }
        }

        var homeMcc = RefJson.Member(root, "homeMcc") is { } home ? [.. Arr(home, "$.homeMcc").Select((m, i) => Mcc(m, $"$.homeMcc[{i}]"))] : new List<string>();
        var defaultZone = Str(root, "defaultRoamingZone", "$.defaultRoamingZone");
        var zoneNames = new HashSet<string>(zones.Select(z => z.Item1).Append("domestic").Append(defaultZone), StringComparer.Ordinal);

        var zeroRated = new List<RefZeroRule>();
        if (RefJson.Member(root, "zeroRated") is { } zeroElement)
        {
            var i = 0;
            foreach (var entry in Arr(zeroElement, "$.zeroRated"))
            {
                zeroRated.Add(ZeroRule(entry, $"$.zeroRated[{i++}]", zoneNames));
            }
        }

        var plans = new Dictionary<string, RefPlan>(StringComparer.Ordinal);
        foreach (var plan in Obj(RefJson.Member(root, "plans") ?? throw new RefRefusal("tariff: $.plans is missing"), "$.plans").EnumerateObject())
        {
            plans[plan.Name] = Plan(plan.Name, plan.Value, $"$.plans.{plan.Name}");
        }

        return new RefTariff
        {
            Version = Str(root, "version", "$.version"),
            UtcOffsetText = offsetText,
            UtcOffsetTicks = offset,
            HomeMcc = homeMcc,
            Zones = zones,
            DefaultRoamingZone = defaultZone,
            ZeroRated = zeroRated,
            Plans = plans,
            VasNoticeLeadHours = (int)(OptionalInt(root, "vasNoticeLeadHours", 0, 720, "$.vasNoticeLeadHours") ?? 24),
            PlanExpiryNoticeDays = (int)(OptionalInt(root, "planExpiryNoticeDays", 1, 90, "$.planExpiryNoticeDays") ?? 7),
            LateGraceHours = (int)(OptionalInt(root, "lateGraceHours", 0, 648, "$.lateGraceHours") ?? 0),
        };
    }

    private static RefZeroRule ZeroRule(JsonElement entry, string path, HashSet<string> zoneNames)
    {
        Obj(entry, path);
        var pattern = Str(entry, "pattern", path + ".pattern");
        if (!PatternShape().IsMatch(pattern))
        {
            throw new RefRefusal($"tariff: {path}.pattern {pattern} is not digits and x with an optional final *");
        }

        var types = Arr(RefJson.Member(entry, "types") ?? throw new RefRefusal($"tariff: {path}.types is missing"), path + ".types")
            .Select((t, i) => t.ValueKind == JsonValueKind.String && CdrTypes.Contains(t.GetString())
                ? t.GetString()!
                : throw new RefRefusal($"tariff: {path}.types[{i}] is no CDR type")).ToList();
        var from = RefInstant.Parse(Str(entry, "from", path + ".from")) ?? throw new RefRefusal($"tariff: {path}.from is no instant");
        RefInstant? to = null;
        if (RefJson.Member(entry, "to") is { } toElement)
        {
            to = RefInstant.Parse(toElement.ValueKind == JsonValueKind.String ? toElement.GetString() : null)
                ?? throw new RefRefusal($"tariff: {path}.to is no instant");
        }

        List<string>? zones = null;
        if (RefJson.Member(entry, "zones") is { } zonesElement)
        {
            // §3: a non-empty array of zone names — domestic, a key of zones, or defaultRoamingZone (a name may repeat).
            zones = [.. Arr(zonesElement, path + ".zones").Select((z, i) => z.ValueKind == JsonValueKind.String && zoneNames.Contains(z.GetString()!)
                ? z.GetString()!
                : throw new RefRefusal($"tariff: {path}.zones[{i}] is no zone name"))];
            if (zones.Count == 0)
            {
                throw new RefRefusal($"tariff: {path}.zones is empty");
            }
        }

        return new RefZeroRule(pattern, types, from, to, Str(entry, "reason", path + ".reason"), zones);
    }

    private static RefPlan Plan(string id, JsonElement plan, string path)
    {
        Obj(plan, path);
        long voice = 0, sms = 0, data = 0;
        if (RefJson.Member(plan, "allowances") is { } allowances)
        {
            Obj(allowances, path + ".allowances");
            voice = OptionalInt(allowances, "voiceSec", 0, long.MaxValue, path + ".allowances.voiceSec") ?? 0;
            sms = OptionalInt(allowances, "smsCount", 0, long.MaxValue, path + ".allowances.smsCount") ?? 0;
            data = OptionalInt(allowances, "dataBytes", 0, long.MaxValue, path + ".allowances.dataBytes") ?? 0;
        }

        var thresholds = RefJson.Member(plan, "reminderThresholds") is { } t
            ? Arr(t, path + ".reminderThresholds").Select((x, i) => RefJson.IntegerIn(x, long.MinValue, long.MaxValue)
                ?? throw new RefRefusal($"tariff: {path}.reminderThresholds[{i}] is no integer")).ToList()
            : [];
        var tiers = RefJson.Member(plan, "dataCapTiers") is { } c
            ? Arr(c, path + ".dataCapTiers").Select((x, i) => RefJson.IntegerIn(x, 0, long.MaxValue)
                ?? throw new RefRefusal($"tariff: {path}.dataCapTiers[{i}] is no integer")).ToList()
            : [];
        var defaultCap = OptionalInt(plan, "defaultDataCap", 0, long.MaxValue, path + ".defaultDataCap");
        if (defaultCap is { } cap && !tiers.Contains(cap))
        {
            throw new RefRefusal($"tariff: {path}.defaultDataCap is not in dataCapTiers");
        }

        var rates = new List<RefRate>();
        var ri = 0;
        foreach (var rate in Arr(RefJson.Member(plan, "rates") ?? throw new RefRefusal($"tariff: {path}.rates is missing"), path + ".rates"))
        {
            rates.Add(Rate(rate, $"{path}.rates[{ri++}]"));
        }

        if (rates.Count == 0)
        {
            throw new RefRefusal($"tariff: {path}.rates is empty");
        }

        // §3 monthlyFee; §7.6 the scaled minimum: (amount × price × 60 + D / 2) / D with D = unit × atPricePerMinute,
        // price and unit of the plan's rate for a domestic, national, mo voice CDR.
        var monthlyFee = OptionalInt(plan, "monthlyFee", 0, 1_000_000_000_000, path + ".monthlyFee");
        long scaled = 0;
        if (RefJson.Member(plan, "monthlyMinimum") is { } minimum)
        {
            Obj(minimum, path + ".monthlyMinimum");
            var amount = OptionalInt(minimum, "amount", 0, 1_000_000_000_000, path + ".monthlyMinimum.amount")
                ?? throw new RefRefusal($"tariff: {path}.monthlyMinimum.amount is missing");
            var perMinute = OptionalInt(minimum, "atPricePerMinute", 1, 1_000_000_000, path + ".monthlyMinimum.atPricePerMinute")
                ?? throw new RefRefusal($"tariff: {path}.monthlyMinimum.atPricePerMinute is missing");
            var theRate = rates.FirstOrDefault(r => r.Type is "voice" or "*" && r.Zone is "domestic" or "*"
                    && r.Direction is "mo" or "*" && r.Dest is "national" or "*")
                ?? throw new RefRefusal($"tariff: {path}.monthlyMinimum needs a rate for a domestic, national, mo voice CDR");
            var n = (BigInteger)amount * theRate.Price * 60;
            var d = (BigInteger)theRate.Unit * perMinute;
            var s = (n + (d / 2)) / d;
            if (s > 1_000_000_000_000_000)
            {
                throw new RefRefusal($"tariff: {path}.monthlyMinimum scales above 10^15");
            }

            scaled = (long)s;
        }

        return new RefPlan(id, voice, sms, data, thresholds, OptionalInt(plan, "highSpendThreshold", 0, long.MaxValue, path + ".highSpendThreshold"),
            OptionalInt(plan, "lowBalanceThreshold", 0, long.MaxValue, path + ".lowBalanceThreshold"), tiers, defaultCap, rates, monthlyFee, scaled);
    }

    private static RefRate Rate(JsonElement rate, string path)
    {
        Obj(rate, path);
        string Field(string name, params string[] allowed)
        {
            if (RefJson.Member(rate, name) is not { } v)
            {
                return "*";
            }

            var s = v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new RefRefusal($"tariff: {path}.{name} is no string");
            return allowed.Length == 0 || allowed.Contains(s) ? s : throw new RefRefusal($"tariff: {path}.{name} {s} is not allowed");
        }

        bool Flag(string name) => RefJson.Member(rate, name) is { } v
            ? v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new RefRefusal($"tariff: {path}.{name} is no bool"),
            }
            : false;

        var type = Field("type", "voice", "sms", "data", "*");
        var zone = Field("zone");
        var direction = Field("direction", "mo", "mt", "*");
        var dest = Field("dest", "national", "intl", "*");
        var unit = OptionalInt(rate, "unit", 1, long.MaxValue, path + ".unit") ?? throw new RefRefusal($"tariff: {path}.unit is missing");
        var increment = OptionalInt(rate, "increment", 1, long.MaxValue, path + ".increment") ?? throw new RefRefusal($"tariff: {path}.increment is missing");
        var first = OptionalInt(rate, "firstIncrement", 1, long.MaxValue, path + ".firstIncrement") ?? increment;
        var price = OptionalInt(rate, "price", 0, 1_000_000_000, path + ".price") ?? throw new RefRefusal($"tariff: {path}.price is missing");
        var parsed = new RefRate(type, zone, direction, dest, Flag("useAllowance"), Flag("capped"), first, increment, unit, price);

        // §3: refused when the rate could charge one CDR more than 10^15 micros, with B at its range limit.
        BigInteger maxB = 0;
        if (type is "voice" or "*")
        {
            maxB = BigInteger.Max(maxB, ReferenceRater.BillableVoice(parsed, 86_400));
        }

        if (type is "sms" or "*")
        {
            maxB = BigInteger.Max(maxB, 1);
        }

        if (type is "data" or "*")
        {
            maxB = BigInteger.Max(maxB, ReferenceRater.BillableData(parsed, 1_000_000_000_000));
        }

        if (ReferenceRater.Charge(maxB, parsed) > 1_000_000_000_000_000)
        {
            throw new RefRefusal($"tariff: {path} could charge one CDR more than 10^15 micros");
        }

        return parsed;
    }

    private static JsonElement Obj(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Object ? e : throw new RefRefusal($"tariff: {path} is no object");

    private static List<JsonElement> Arr(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.Array ? [.. e.EnumerateArray()] : throw new RefRefusal($"tariff: {path} is no array");

    private static string Str(JsonElement obj, string name, string path) =>
        RefJson.Member(obj, name) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw new RefRefusal($"tariff: {path} is no string");

    private static string Mcc(JsonElement e, string path) =>
        e.ValueKind == JsonValueKind.String && RefJson.IsAsciiDigits(e.GetString()!, 3, 3) ? e.GetString()! : throw new RefRefusal($"tariff: {path} is no MCC");

    private static long? OptionalInt(JsonElement obj, string name, BigInteger min, BigInteger max, string path) =>
        RefJson.Member(obj, name) is { } v
            ? RefJson.IntegerIn(v, min, max) ?? throw new RefRefusal($"tariff: {path} is no integer in [{min}, {max}]")
            : null;

    public static RefTariff Load(string json) => Load(Encoding.UTF8.GetBytes(json));

    [GeneratedRegex(@"\A[0-9x]+\*?\z|\A\*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PatternShape();
}
