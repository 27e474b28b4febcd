using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Properties;

/// <summary>A subscriber profile as the reference reads it (SPEC §2.2).</summary>
public sealed record ReferenceProfile(string Msisdn, string Plan, int CycleDay, bool Prepaid = false, long Balance = 0,
    string? BalanceAsOf = null, long? HighSpendThreshold = null, long? DataCap = null)
{
    public static ReferenceProfile Parse(string json)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        return new ReferenceProfile((string)o["msisdn"]!, (string)o["plan"]!, (int)o["cycleDay"]!, (bool?)o["prepaid"] ?? false,
            (long?)o["balance"] ?? 0, (string?)o["balanceAsOf"], (long?)o["highSpendThreshold"], (long?)o["dataCap"]);
    }
}

/// <summary>
/// A second, deliberately plain reading of SPEC §3–§5 — JSON documents walked as they are, instants through
/// <see cref="DateTimeOffset"/>, charges in <see cref="BigInteger"/>, patterns as regular expressions, lists scanned
/// in order — used to check the engine's outputs record by record on generated streams. It covers the record
/// shapes the generator writes; it is not a product component.
/// </summary>
public sealed partial class ReferenceRater
{
    private static readonly string[] TypeNames = ["voice", "sms", "data"];

    private readonly JsonObject _tariff;
    private readonly TimeSpan _offset;
    private readonly Dictionary<string, ReferenceProfile> _profiles = [];
    private readonly Dictionary<string, State> _states = [];

    public ReferenceRater(string tariffJson)
    {
        _tariff = JsonNode.Parse(tariffJson)!.AsObject();
        var offset = (string)_tariff["utcOffset"]!;
        _offset = offset == "Z" ? TimeSpan.Zero : TimeSpan.ParseExact(offset[1..], "hh\\:mm", CultureInfo.InvariantCulture) * (offset[0] == '-' ? -1 : 1);
    }

    public List<JsonObject> Rated { get; } = [];

    public List<JsonObject> Reminders { get; } = [];

    public List<JsonObject> Rejected { get; } = [];

    public void SetProfile(ReferenceProfile profile) => _profiles[profile.Msisdn] = profile;

    public void Process(string line)
    {
        // §2.1: one JSON object, no name given twice (then §5 copies id and msisdn where they are strings).
        JsonObject cdr;
        try
        {
            cdr = JsonNode.Parse(line, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false })!.AsObject();
        }
        catch (JsonException)
        {
            Reject("invalid", line, null);
            return;
        }

        if (!Valid(cdr))
        {
            Reject("invalid", line, cdr);
            return;
        }

        var id = (string)cdr["id"]!;
        var msisdn = (string)cdr["msisdn"]!;
        var type = Array.IndexOf(TypeNames, (string)cdr["type"]!);
        var startText = (string)cdr["start"]!;
        var start = ParseInstant(startText)!.Value;

        // §4.1
        if (!_profiles.TryGetValue(msisdn, out var profile))
        {
            Reject("unknown-subscriber", line, cdr);
            return;
        }

        if (_tariff["plans"]![profile.Plan] is not JsonObject plan)
        {
            Reject("unknown-plan", line, cdr);
            return;
        }

        // §4.2: the latest local cycleDay 00:00 at or before start.
        var local = start.ToOffset(_offset);
        var cycle = new DateOnly(local.Year, local.Month, profile.CycleDay);
        if (local.Day < profile.CycleDay)
        {
            cycle = cycle.AddMonths(-1);
        }

        _states.TryGetValue(msisdn, out var state);
        if (state is not null && cycle < state.Cycle)
        {
            Reject("late", line, cdr);
            return;
        }

        // §4.3
        if (state is not null && state.RecentIds.Contains(id))
        {
            Reject("duplicate", line, cdr);
            return;
        }

        // §3 zone and dest, §4.4 zero-rating or the rate.
        var mcc = (string?)cdr["visitedMcc"];
        var zone = Zone(mcc);
        string? peer = type == 2 ? null : Normalise((string)cdr["peer"]!);
        var zeroReason = peer is null ? null : ZeroRated(peer, TypeNames[type], start);
        JsonObject? rate = null;
        if (zeroReason is null)
        {
            var direction = type == 2 ? null : (string)cdr["direction"]!;
            var dest = peer is null ? null : peer.StartsWith("00", StringComparison.Ordinal) && !peer.StartsWith("0086", StringComparison.Ordinal) ? "intl" : "national";
            rate = FindRate(plan, TypeNames[type], zone, direction, dest);
            if (rate is null)
            {
                Reject("no-rate", line, cdr);
                return;
            }
        }

        // Accepted.
        if (state is null)
        {
            state = new State { Cycle = cycle };
            _states[msisdn] = state;
        }
        else if (cycle > state.Cycle)
        {
            state.Cycle = cycle;
            state.Used = new long[3];
            state.AllowanceFired.Clear();
            state.D = 0;
            state.S = 0;
            state.DataCapFired = false;
            state.HighSpendFired = false;
        }

        state.RecentIds.Add(id);
        if (state.RecentIds.Count > 32)
        {
            state.RecentIds.RemoveAt(0);
        }

        if (profile.Prepaid && state.PrepaidAsOf != profile.BalanceAsOf)
        {
            state.PrepaidAsOf = profile.BalanceAsOf;
            state.PrepaidCharges = 0;
            state.LowBalanceFired = false;
        }

        var cycleText = cycle.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var rated = new JsonObject
        {
            ["id"] = id, ["msisdn"] = msisdn, ["type"] = TypeNames[type], ["start"] = startText, ["cycle"] = cycleText,
            ["plan"] = profile.Plan, ["tariffVersion"] = (string)_tariff["version"]!, ["zone"] = zone,
        };
        var reminderBase = new JsonObject { ["msisdn"] = msisdn, ["cycle"] = cycleText, ["cdrId"] = id, ["at"] = startText };
        if (zeroReason is not null)
        {
            rated["billableUnits"] = 0;
            rated["allowanceUnits"] = 0;
            rated["overageUnits"] = 0;
            rated["charge"] = 0;
            rated["zeroRated"] = zeroReason;
            Rated.Add(rated);
            Roaming(state, plan, mcc, zone, start, id, reminderBase);
            return;
        }

        // §4.5
        var first = (long?)rate!["firstIncrement"] ?? (long)rate["increment"]!;
        var increment = (long)rate["increment"]!;
        long b = type switch
        {
            0 => (long)cdr["durationSec"]! == 0 ? 0 : first + (CeilDiv(Math.Max(0, (long)cdr["durationSec"]! - first), increment) * increment),
            1 => 1,
            _ => CeilDiv((long)cdr["bytes"]!, increment) * increment,
        };

        // §4.6
        var allowance = Allowance(plan, type);
        long a = 0;
        if ((bool?)rate["useAllowance"] == true)
        {
            a = Math.Min(allowance - state.Used[type], b);
            state.Used[type] += a;
        }

        var o = b - a;

        // §4.7
        var unit = (long)rate["unit"]!;
        var price = (long)rate["price"]!;
        var c = (long)(((new BigInteger(o) * price) + (unit / 2)) / unit);
        long? cap = null;
        if ((bool?)rate["capped"] == true)
        {
            cap = profile.DataCap ?? (long?)plan["defaultDataCap"];
            if (cap is { } k)
            {
                c = Math.Min(c, Math.Max(0, k - state.D));
            }

            state.D += c;
        }

        state.S += c;
        if (profile.Prepaid && start >= ParseInstant(profile.BalanceAsOf!)!.Value)
        {
            state.PrepaidCharges += c;
        }

        rated["billableUnits"] = b;
        rated["allowanceUnits"] = a;
        rated["overageUnits"] = o;
        rated["charge"] = c;
        rated["zeroRated"] = null;
        Rated.Add(rated);

        // §4.8, in order.
        if (allowance > 0)
        {
            foreach (var t in ((JsonArray?)plan["reminderThresholds"] ?? []).Select(n => (long)n!).Order())
            {
                if (!state.AllowanceFired.Contains((type, t)) && state.Used[type] * 100 >= t * allowance)
                {
                    state.AllowanceFired.Add((type, t));
                    Remind(reminderBase, "allowance", $"{TypeNames[type]}:{t}", new()
                    {
                        ["type"] = TypeNames[type], ["threshold"] = t, ["used"] = state.Used[type], ["allowance"] = allowance,
                        ["overagePrice"] = price, ["overageUnit"] = unit,
                    });
                }
            }
        }

        if (cap is { } capValue && !state.DataCapFired && state.D == capValue)
        {
            state.DataCapFired = true;
            Remind(reminderBase, "data-cap", $"{capValue}", new() { ["cap"] = capValue, ["charged"] = state.D });
        }

        if ((profile.HighSpendThreshold ?? (long?)plan["highSpendThreshold"]) is { } h && !state.HighSpendFired && state.S >= h)
        {
            state.HighSpendFired = true;
            Remind(reminderBase, "high-spend", $"{h}", new() { ["threshold"] = h, ["spend"] = state.S });
        }

        if (profile.Prepaid && c > 0 && (long?)plan["lowBalanceThreshold"] is { } l && !state.LowBalanceFired)
        {
            var remaining = profile.Balance - state.PrepaidCharges;
            if (remaining < l)
            {
                state.LowBalanceFired = true;
                Remind(reminderBase, "low-balance", profile.BalanceAsOf!, new() { ["threshold"] = l, ["remaining"] = remaining });
            }
        }

        Roaming(state, plan, mcc, zone, start, id, reminderBase);
    }

    private void Roaming(State state, JsonObject plan, string? mcc, string zone, DateTimeOffset start, string id, JsonObject reminderBase)
    {
        if (zone == "domestic")
        {
            return;
        }

        if (state.RoamingMcc == mcc && start - state.RoamingStart < TimeSpan.FromHours(24))
        {
            return;
        }

        state.RoamingMcc = mcc;
        state.RoamingStart = start;
        JsonNode? Offer(string type, string? direction, string? dest) =>
            FindRate(plan, type, zone, direction, dest) is { } r ? new JsonObject { ["price"] = (long)r["price"]!, ["unit"] = (long)r["unit"]! } : null;
        Remind(reminderBase, "roaming", $"{mcc}:{id}", new()
        {
            ["mcc"] = mcc, ["zone"] = zone,
            ["rates"] = new JsonObject
            {
                ["voiceMo"] = Offer("voice", "mo", "national"), ["voiceMt"] = Offer("voice", "mt", "national"),
                ["smsMo"] = Offer("sms", "mo", "national"), ["data"] = Offer("data", null, null),
            },
        });
    }

    private void Remind(JsonObject reminderBase, string kind, string detail, JsonObject fields)
    {
        var reminder = (JsonObject)reminderBase.DeepClone();
        reminder["eventId"] = $"{reminder["msisdn"]}:{reminder["cycle"]}:{kind}:{detail}";
        reminder["kind"] = kind;
        foreach (var (name, value) in fields.ToList())
        {
            fields.Remove(name);
            reminder[name] = value;
        }

        Reminders.Add(reminder);
    }

    private void Reject(string reason, string line, JsonObject? cdr)
    {
        var rejected = new JsonObject { ["reason"] = reason, ["raw"] = line };
        foreach (var member in (string[])["id", "msisdn"])
        {
            if (cdr?[member] is JsonValue value && value.GetValueKind() == JsonValueKind.String)
            {
                rejected[member] = (string)value!;
            }
        }

        Rejected.Add(rejected);
    }

    /// <summary>§3: the first rate whose type, zone, direction and dest equal the CDR's or are "*" / absent.</summary>
    private static JsonObject? FindRate(JsonObject plan, string type, string zone, string? direction, string? dest)
    {
        static bool Matches(JsonObject rate, string name, string? value) =>
            (string?)rate[name] is not { } wanted || wanted == "*" || wanted == value;

        return ((JsonArray)plan["rates"]!).Select(r => r!.AsObject()).FirstOrDefault(r =>
            Matches(r, "type", type) && Matches(r, "zone", zone) && Matches(r, "direction", direction) && Matches(r, "dest", dest));
    }

    private string Zone(string? mcc)
    {
        if (mcc is null || ((JsonArray)_tariff["homeMcc"]!).Any(m => (string?)m == mcc))
        {
            return "domestic";
        }

        foreach (var (zone, mccs) in (JsonObject?)_tariff["zones"] ?? [])
        {
            if (((JsonArray)mccs!).Any(m => (string?)m == mcc))
            {
                return zone;
            }
        }

        return (string)_tariff["defaultRoamingZone"]!;
    }

    private string? ZeroRated(string peer, string type, DateTimeOffset start)
    {
        foreach (var entry in ((JsonArray?)_tariff["zeroRated"] ?? []).Select(e => e!.AsObject()))
        {
            var pattern = (string)entry["pattern"]!;
            var regex = "^" + (pattern.EndsWith('*') ? pattern[..^1].Replace("x", "[0-9]", StringComparison.Ordinal) + "[0-9]*"
                : pattern.Replace("x", "[0-9]", StringComparison.Ordinal)) + "$";
            var types = ((JsonArray)entry["types"]!).Select(t => (string?)t);
            var from = ParseInstant((string)entry["from"]!)!.Value;
            var to = (string?)entry["to"] is { } toText ? ParseInstant(toText) : null;
            if (Regex.IsMatch(peer, regex, RegexOptions.CultureInvariant) && types.Contains(type) && start >= from && (to is null || start < to))
            {
                return (string)entry["reason"]!;
            }
        }

        return null;
    }

    private static long Allowance(JsonObject plan, int type) =>
        (long?)plan["allowances"]?[type switch { 0 => "voiceSec", 1 => "smsCount", _ => "dataBytes" }] ?? 0;

    private static string Normalise(string peer) => peer.StartsWith('+') ? "00" + peer[1..] : peer;

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>§2.1 for the shapes the generator writes.</summary>
    private static bool Valid(JsonObject cdr)
    {
        static bool IsString(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String;
        static bool Integer(JsonNode? n, long max) =>
            n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.ToJsonString().All(char.IsAsciiDigit) && long.TryParse(v.ToJsonString(), out var x) && x <= max;

        if (!IsString(cdr["id"]) || ((string)cdr["id"]!).Length is 0 or > 64 || ((string)cdr["id"]!).Any(ch => ch is < ' ' or > '~'))
        {
            return false;
        }

        var type = IsString(cdr["type"]) ? (string)cdr["type"]! : null;
        if (type is not ("voice" or "sms" or "data") || !IsString(cdr["msisdn"]) || !MsisdnPattern().IsMatch((string)cdr["msisdn"]!)
            || !IsString(cdr["start"]) || ParseInstant((string)cdr["start"]!) is null)
        {
            return false;
        }

        if (cdr["visitedMcc"] is { } mcc && (!IsString(mcc) || !MccPattern().IsMatch((string)mcc!)))
        {
            return false;
        }

        return type switch
        {
            "data" => Integer(cdr["bytes"], 1_000_000_000_000),
            _ => IsString(cdr["direction"]) && (string)cdr["direction"]! is "mo" or "mt" && IsString(cdr["peer"]) && PeerPattern().IsMatch((string)cdr["peer"]!)
                 && (type == "sms" || Integer(cdr["durationSec"], 86_400)),
        };
    }

    /// <summary>§2.3, or null.</summary>
    private static DateTimeOffset? ParseInstant(string text)
    {
        var m = InstantPattern().Match(text);
        if (!m.Success)
        {
            return null;
        }

        int Part(int i) => int.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        var (year, month, day, hour, minute, second) = (Part(1), Part(2), Part(3), Part(4), Part(5), Part(6));
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return null;
        }

        var offset = TimeSpan.Zero;
        if (m.Groups[9].Success)
        {
            if (Part(10) > 23 || Part(11) > 59)
            {
                return null;
            }

            offset = new TimeSpan(Part(10), Part(11), 0) * (m.Groups[9].Value == "-" ? -1 : 1);
        }

        var fraction = m.Groups[7].Success ? long.Parse(m.Groups[7].Value.PadRight(7, '0'), CultureInfo.InvariantCulture) : 0;
        return new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fraction);
    }

    [GeneratedRegex(@"^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,7}))?(Z|([+-])([0-9]{2}):([0-9]{2}))$", RegexOptions.CultureInvariant)]
    private static partial Regex InstantPattern();

    [GeneratedRegex(@"^[0-9]{5,15}$", RegexOptions.CultureInvariant)]
    private static partial Regex MsisdnPattern();

    [GeneratedRegex(@"^\+?[0-9]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex PeerPattern();

    [GeneratedRegex(@"^[0-9]{3}$", RegexOptions.CultureInvariant)]
    private static partial Regex MccPattern();

    private sealed class State
    {
        public DateOnly Cycle { get; set; }

        public long[] Used { get; set; } = new long[3];

        public HashSet<(int Type, long Threshold)> AllowanceFired { get; } = [];

        public long D { get; set; }

        public long S { get; set; }

        public bool DataCapFired { get; set; }

        public bool HighSpendFired { get; set; }

        public string? PrepaidAsOf { get; set; }

        public long PrepaidCharges { get; set; }

        public bool LowBalanceFired { get; set; }

        public string? RoamingMcc { get; set; }

        public DateTimeOffset RoamingStart { get; set; }

        public List<string> RecentIds { get; } = [];
    }
}
