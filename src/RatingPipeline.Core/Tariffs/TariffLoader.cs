using System.Text.Json;
using RatingPipeline.Json;
using RatingPipeline.Records;
using RatingPipeline.Time;

namespace RatingPipeline.Tariffs;

/// <summary>
/// Loads and validates a tariff document. Anything that breaks a rule is refused with a
/// <see cref="TariffException"/> whose message starts with the JSON path of the bad element, e.g.
/// <c>plans.basic-58.rates[3].increment: must be an integer ≥ 1</c>. Unknown members are ignored.
/// </summary>
public static class TariffLoader
{
    /// <summary>The largest charge one CDR may produce under any rate (10^15 micros = 10^9 currency units).</summary>
    public const long MaxChargePerCdr = 1_000_000_000_000_000;

    /// <summary>Zone numbers and rate indices are 16-bit in the compiled lookup tables: at most this many roaming zones…</summary>
    public const int MaxZones = short.MaxValue - 1;

    /// <summary>…and at most this many rates in one plan.</summary>
    public const int MaxRatesPerPlan = short.MaxValue;

    private const long MaxDurationSec = 86_400;
    private const long MaxBytes = 1_000_000_000_000;

    /// <summary>Monthly fees and minimum amounts: 0 ≤ n ≤ 10^12 micros.</summary>
    private const long MaxFee = 1_000_000_000_000;

    public static Tariff LoadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TariffException($"cannot read tariff file {path}", e);
        }

        return Load(bytes);
    }

    public static Tariff Load(ReadOnlySpan<byte> utf8)
    {
        if (!StrictJson.TryCheck(utf8, out var badPath, out var error))
        {
            throw new TariffException($"{badPath}: {error}");
        }

        using var document = JsonDocument.Parse(utf8.ToArray(), StrictJson.DocumentOptions);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TariffException("$: must be an object");
        }

        var version = RequiredString(root, "version", "");
        if (version.Length == 0)
        {
            throw new TariffException("version: must not be empty");
        }

        var currency = OptionalString(root, "currency", "");
        var utcOffset = RequiredString(root, "utcOffset", "");
        if (!Instant.TryParseOffset(System.Text.Encoding.UTF8.GetBytes(utcOffset), out var offsetTicks))
        {
            throw new TariffException("utcOffset: must be Z, +HH:MM or -HH:MM");
        }

        var homeMcc = root.TryGetProperty("homeMcc", out var home) && home.ValueKind != JsonValueKind.Null ? StringArray(home, "homeMcc") : [];
        var mccZone = new short[1000];
        var mccOwner = new string?[1000];
        for (var i = 0; i < homeMcc.Length; i++)
        {
            var mcc = ParseMcc(homeMcc[i], $"homeMcc[{i}]");
            mccOwner[mcc] = "homeMcc";
        }

        var zoneIds = new List<string> { "domestic" };
        if (root.TryGetProperty("zones", out var zones) && zones.ValueKind != JsonValueKind.Null)
        {
            Expect(zones, JsonValueKind.Object, "zones");
            foreach (var zone in zones.EnumerateObject())
            {
                var path = $"zones.{zone.Name}";
                CheckZoneName(zone.Name, path);
                if (zoneIds.Count > MaxZones)
                {
                    throw new TariffException($"{path}: a tariff may define at most {MaxZones} roaming zones");
                }

                zoneIds.Add(zone.Name);
                var mccs = StringArray(zone.Value, path);
                for (var i = 0; i < mccs.Length; i++)
                {
                    var mcc = ParseMcc(mccs[i], $"{path}[{i}]");

                    // An MCC in homeMcc stays domestic even if a zone lists it; listed in two zones, the first wins.
                    if (mccOwner[mcc] is null)
                    {
                        mccOwner[mcc] = path;
                        mccZone[mcc] = (short)(zoneIds.Count - 1);
                    }
                }
            }
        }

        var defaultZone = RequiredString(root, "defaultRoamingZone", "");
        CheckZoneName(defaultZone, "defaultRoamingZone");
        var defaultZoneIndex = zoneIds.IndexOf(defaultZone);
        if (defaultZoneIndex < 0)
        {
            zoneIds.Add(defaultZone);
            defaultZoneIndex = zoneIds.Count - 1;
        }

        for (var mcc = 0; mcc < 1000; mcc++)
        {
            if (mccOwner[mcc] is null)
            {
                mccZone[mcc] = (short)defaultZoneIndex;
            }
        }

        var rules = new List<ZeroRatingRule>();
        if (root.TryGetProperty("zeroRated", out var zeroRated) && zeroRated.ValueKind != JsonValueKind.Null)
        {
            Expect(zeroRated, JsonValueKind.Array, "zeroRated");
            var i = 0;
            foreach (var entry in zeroRated.EnumerateArray())
            {
                rules.Add(ZeroRule(entry, $"zeroRated[{i++}]", zoneIds));
            }
        }

        var schedule = new TariffSchedule(
            VasNoticeLeadHours: (int)(OptionalLong(root, "vasNoticeLeadHours", "", 0, 720) ?? 24),
            PlanExpiryNoticeDays: (int)(OptionalLong(root, "planExpiryNoticeDays", "", 1, 90) ?? 7),
            LateGraceHours: (int)(OptionalLong(root, "lateGraceHours", "", 0, 648) ?? 0));

        var plansElement = Required(root, "plans", "");
        Expect(plansElement, JsonValueKind.Object, "plans");
        var plans = new Dictionary<string, RatePlan>(StringComparer.Ordinal);
        foreach (var plan in plansElement.EnumerateObject())
        {
            plans.Add(plan.Name, Plan(plan.Name, plan.Value, $"plans.{plan.Name}", zoneIds));
        }

        if (plans.Count == 0)
        {
            throw new TariffException("plans: must hold at least one plan");
        }

        var tariff = new Tariff(version, currency, utcOffset, offsetTicks, [.. zoneIds], mccZone, homeMcc,
            new ZeroRatingTable(rules), plans, schedule);
        foreach (var plan in plans.Values)
        {
            Compile(plan, tariff);
            ScaleMinimum(plan, $"plans.{plan.Id}");
        }

        return tariff;
    }

    private static void CheckZoneName(string name, string path)
    {
        if (name.Length == 0 || name is "domestic" or "*")
        {
            throw new TariffException($"{path}: a roaming zone may not be named \"{name}\"");
        }
    }

    private static ZeroRatingRule ZeroRule(JsonElement entry, string path, List<string> zoneIds)
    {
        Expect(entry, JsonValueKind.Object, path);
        var pattern = RequiredString(entry, "pattern", path);
        if (!ZeroRatingRule.IsValidPattern(pattern))
        {
            throw new TariffException($"{path}.pattern: must be digits and x with an optional final * (got \"{pattern}\")");
        }

        var typeNames = StringArray(Required(entry, "types", path), $"{path}.types");

        var types = new List<CdrType>();
        for (var i = 0; i < typeNames.Length; i++)
        {
            types.Add(ParseType(typeNames[i], $"{path}.types[{i}]", allowStar: false)!.Value);
        }

        var from = RequiredString(entry, "from", path);
        if (!Instant.TryParse(from, out var fromTicks))
        {
            throw new TariffException($"{path}.from: must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)");
        }

        var to = OptionalString(entry, "to", path);
        var toTicks = long.MaxValue;
        if (to is not null && !Instant.TryParse(to, out toTicks))
        {
            throw new TariffException($"{path}.to: must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)");
        }

        var reason = RequiredString(entry, "reason", path);
        if (reason.Length == 0)
        {
            throw new TariffException($"{path}.reason: must not be empty");
        }

        // zones (optional): the entry applies only in the listed zones; a name may repeat; absent = every zone.
        bool[]? zoneMask = null;
        if (entry.TryGetProperty("zones", out var zonesElement) && zonesElement.ValueKind != JsonValueKind.Null)
        {
            var names = StringArray(zonesElement, $"{path}.zones");
            if (names.Length == 0)
            {
                throw new TariffException($"{path}.zones: must name at least one zone (omit it for every zone)");
            }

            zoneMask = new bool[zoneIds.Count];
            for (var i = 0; i < names.Length; i++)
            {
                var zone = zoneIds.IndexOf(names[i]);
                if (zone < 0)
                {
                    throw new TariffException(
                        $"{path}.zones[{i}]: must be \"domestic\", a key of zones or the defaultRoamingZone (got \"{names[i]}\")");
                }

                zoneMask[zone] = true;
            }
        }

        return new ZeroRatingRule(pattern, types, from, fromTicks, to, toTicks, reason) { ZoneMask = zoneMask };
    }

    private static RatePlan Plan(string id, JsonElement plan, string path, List<string> zoneIds)
    {
        Expect(plan, JsonValueKind.Object, path);
        var allowance = new long[3];
        if (plan.TryGetProperty("allowances", out var allowances) && allowances.ValueKind != JsonValueKind.Null)
        {
            Expect(allowances, JsonValueKind.Object, $"{path}.allowances");
            allowance[(int)CdrType.Voice] = OptionalLong(allowances, "voiceSec", $"{path}.allowances", 0, long.MaxValue) ?? 0;
            allowance[(int)CdrType.Sms] = OptionalLong(allowances, "smsCount", $"{path}.allowances", 0, long.MaxValue) ?? 0;
            allowance[(int)CdrType.Data] = OptionalLong(allowances, "dataBytes", $"{path}.allowances", 0, long.MaxValue) ?? 0;
        }

        var thresholds = new SortedSet<long>();
        if (plan.TryGetProperty("reminderThresholds", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            Expect(t, JsonValueKind.Array, $"{path}.reminderThresholds");
            var i = 0;
            foreach (var item in t.EnumerateArray())
            {
                var itemPath = $"{path}.reminderThresholds[{i++}]";
                // Percentages, any integer (SPEC §3 sets no range); a threshold listed twice fires once. Above 100 fires only
                // once the used units exceed a smaller allowance (after a plan change), 0 or below on the type's first CDR.
                thresholds.Add(Integer(item, itemPath, long.MinValue, long.MaxValue));
            }
        }

        var highSpend = OptionalLong(plan, "highSpendThreshold", path, 0, long.MaxValue);
        var lowBalance = OptionalLong(plan, "lowBalanceThreshold", path, 0, long.MaxValue);
        var tiers = new List<long>();
        if (plan.TryGetProperty("dataCapTiers", out var tiersElement) && tiersElement.ValueKind != JsonValueKind.Null)
        {
            Expect(tiersElement, JsonValueKind.Array, $"{path}.dataCapTiers");
            var i = 0;
            foreach (var item in tiersElement.EnumerateArray())
            {
                tiers.Add(Integer(item, $"{path}.dataCapTiers[{i++}]", 0, long.MaxValue));
            }
        }

        var defaultCap = OptionalLong(plan, "defaultDataCap", path, 0, long.MaxValue);
        if (defaultCap is { } cap && !tiers.Contains(cap))
        {
            throw new TariffException($"{path}.defaultDataCap: {cap} is not one of dataCapTiers");
        }

        var ratesElement = Required(plan, "rates", path);
        Expect(ratesElement, JsonValueKind.Array, $"{path}.rates");
        var rates = new List<Rate>();
        var r = 0;
        foreach (var item in ratesElement.EnumerateArray())
        {
            rates.Add(ParseRate(item, $"{path}.rates[{r++}]"));
        }

        if (rates.Count == 0)
        {
            throw new TariffException($"{path}.rates: must hold at least one rate");
        }

        if (rates.Count > MaxRatesPerPlan)
        {
            throw new TariffException($"{path}.rates: a plan may hold at most {MaxRatesPerPlan} rates");
        }

        var monthlyFee = OptionalLong(plan, "monthlyFee", path, 0, MaxFee);
        MonthlyMinimum? minimum = null;
        if (plan.TryGetProperty("monthlyMinimum", out var minimumElement) && minimumElement.ValueKind != JsonValueKind.Null)
        {
            var minimumPath = $"{path}.monthlyMinimum";
            Expect(minimumElement, JsonValueKind.Object, minimumPath);
            minimum = new MonthlyMinimum(
                RequiredLong(minimumElement, "amount", minimumPath, 0, MaxFee),
                RequiredLong(minimumElement, "atPricePerMinute", minimumPath, 1, 1_000_000_000));
        }

        return new RatePlan(id, allowance, [.. thresholds], highSpend, lowBalance, [.. tiers], defaultCap, [.. rates])
        {
            MonthlyFee = monthlyFee,
            Minimum = minimum,
        };
    }

    /// <remarks>A rate naming a zone the tariff does not define is kept; it simply never matches.</remarks>
    private static Rate ParseRate(JsonElement rate, string path)
    {
        Expect(rate, JsonValueKind.Object, path);
        var typeName = OptionalString(rate, "type", path);
        var type = typeName is null ? null : ParseType(typeName, $"{path}.type", allowStar: true);
        var zone = OptionalString(rate, "zone", path);
        if (zone == "*")
        {
            zone = null;
        }

        var directionName = OptionalString(rate, "direction", path);
        Direction? direction = directionName switch
        {
            null or "*" => null,
            "mo" => Direction.Mo,
            "mt" => Direction.Mt,
            _ => throw new TariffException($"{path}.direction: must be \"mo\", \"mt\" or \"*\""),
        };
        var destName = OptionalString(rate, "dest", path);
        Dest? dest = destName switch
        {
            null or "*" => null,
            "national" => Dest.National,
            "intl" => Dest.Intl,
            _ => throw new TariffException($"{path}.dest: must be \"national\", \"intl\" or \"*\""),
        };
        var useAllowance = OptionalBool(rate, "useAllowance", path) ?? false;
        var capped = OptionalBool(rate, "capped", path) ?? false;
        var unit = RequiredLong(rate, "unit", path, 1, long.MaxValue);
        var increment = RequiredLong(rate, "increment", path, 1, long.MaxValue);
        var firstIncrement = OptionalLong(rate, "firstIncrement", path, 1, long.MaxValue) ?? increment;
        var price = RequiredLong(rate, "price", path, 0, 1_000_000_000);
        var parsed = new Rate(type, zone, direction, dest, useAllowance, capped, firstIncrement, increment, unit, price);
        foreach (var t in Tariff.AllTypes)
        {
            // A data CDR has no direction or dest: a rate naming one can never charge it.
            if ((type is null || type == t) && (t != CdrType.Data || (direction is null && dest is null)))
            {
                var maxUnits = MaxBillableUnits(parsed, t);
                if (maxUnits > long.MaxValue)
                {
                    throw new TariffException($"{path}: billable units of one {t.ToString().ToLowerInvariant()} CDR could exceed 2^63-1");
                }

                var charge = Pricing.Charge(maxUnits, parsed);
                if (charge > MaxChargePerCdr)
                {
                    throw new TariffException(
                        $"{path}: could charge {charge} micros for one {t.ToString().ToLowerInvariant()} CDR, more than 10^15");
                }
            }
        }

        return parsed;
    }

    /// <summary>
    /// The plan's scaled monthly minimum (SPEC §7.6): the minimum is <c>amount</c> when a minute costs
    /// <c>atPricePerMinute</c>, and scales with the plan's own per-minute price, the price × 60 / unit of the rate a
    /// domestic, national, mo voice CDR finds. (N + D/2) / D with N = amount × price × 60 and D = unit × atPricePerMinute.
    /// </summary>
    private static void ScaleMinimum(RatePlan plan, string path)
    {
        if (plan.Minimum is not { } minimum)
        {
            return;
        }

        var rateIndex = plan.FindRate(CdrType.Voice, Tariff.Domestic, Direction.Mo, Dest.National);
        if (rateIndex < 0)
        {
            throw new TariffException($"{path}.monthlyMinimum: the plan needs a rate for a domestic, national, mo voice CDR to scale its minimum");
        }

        var rate = plan.RateAt(rateIndex);
        var scaled = Pricing.ScaledMinimum(minimum.Amount, minimum.AtPricePerMinute, rate);
        if (scaled > MaxChargePerCdr)
        {
            throw new TariffException($"{path}.monthlyMinimum: the scaled minimum {scaled} micros is more than 10^15");
        }

        plan.ScaledMinimum = (long)scaled;
    }

    /// <summary>Billable units of the largest CDR the record format allows, for the overflow check.</summary>
    internal static Int128 MaxBillableUnits(Rate rate, CdrType type) => type switch
    {
        CdrType.Voice => rate.FirstIncrement + (CeilDiv(Math.Max(0, MaxDurationSec - rate.FirstIncrement), rate.Increment) * (Int128)rate.Increment),
        CdrType.Sms => 1,
        _ => CeilDiv(MaxBytes, rate.Increment) * (Int128)rate.Increment,
    };

    private static long CeilDiv(long a, long b) => (a / b) + (a % b == 0 ? 0 : 1);

    /// <summary>Builds the (type, zone, direction, dest) → first-matching-rate table.</summary>
    private static void Compile(RatePlan plan, Tariff tariff)
    {
        var zoneCount = tariff.ZoneCount;
        var table = new short[3 * zoneCount * 3 * 3];
        Array.Fill(table, (short)-1);
        foreach (var type in Tariff.AllTypes)
        {
            for (var zone = 0; zone < zoneCount; zone++)
            {
                if (type == CdrType.Data)
                {
                    table[RatePlan.TableIndex(zoneCount, type, zone, Direction.None, Dest.None)] =
                        First(plan, type, tariff.ZoneIds[zone], null, null);
                    continue;
                }

                foreach (var direction in (Direction[])[Direction.Mo, Direction.Mt])
                {
                    foreach (var dest in (Dest[])[Dest.National, Dest.Intl])
                    {
                        table[RatePlan.TableIndex(zoneCount, type, zone, direction, dest)] =
                            First(plan, type, tariff.ZoneIds[zone], direction, dest);
                    }
                }
            }
        }

        plan.RateTable = table;
        plan.ZoneCount = zoneCount;
    }

    private static short First(RatePlan plan, CdrType type, string zone, Direction? direction, Dest? dest)
    {
        for (var i = 0; i < plan.Rates.Count; i++)
        {
            var rate = plan.Rates[i];
            if ((rate.Type is null || rate.Type == type) && (rate.Zone is null || rate.Zone == zone)
                && (rate.Direction is null || rate.Direction == direction) && (rate.Dest is null || rate.Dest == dest))
            {
                // A data CDR has no direction or dest: only entries without them (or "*") match, as above.
                return (short)i;
            }
        }

        return -1;
    }

    private static CdrType? ParseType(string name, string path, bool allowStar) => name switch
    {
        "voice" => CdrType.Voice,
        "sms" => CdrType.Sms,
        "data" => CdrType.Data,
        "*" when allowStar => null,
        _ => throw new TariffException($"{path}: must be \"voice\", \"sms\"{(allowStar ? ", \"data\" or \"*\"" : " or \"data\"")}"),
    };

    private static int ParseMcc(string mcc, string path)
    {
        if (mcc.Length != 3 || !mcc.All(char.IsAsciiDigit))
        {
            throw new TariffException($"{path}: an MCC is 3 ASCII digits (got \"{mcc}\")");
        }

        return int.Parse(mcc, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static JsonElement Required(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new TariffException($"{Join(path, name)}: is required");
        }

        return value;
    }

    private static string RequiredString(JsonElement parent, string name, string path) =>
        OptionalString(parent, name, path) ?? throw new TariffException($"{Join(path, name)}: is required");

    private static string? OptionalString(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        Expect(value, JsonValueKind.String, Join(path, name));
        return value.GetString()!;
    }

    private static bool? OptionalBool(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new TariffException($"{Join(path, name)}: must be true or false"),
        };
    }

    private static long RequiredLong(JsonElement parent, string name, string path, long min, long max) =>
        OptionalLong(parent, name, path, min, max) ?? throw new TariffException($"{Join(path, name)}: is required");

    private static long? OptionalLong(JsonElement parent, string name, string path, long min, long max)
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return Integer(value, Join(path, name), min, max);
    }

    /// <summary>An integer written as an integer token (no fraction or exponent) within [min, max].</summary>
    private static long Integer(JsonElement value, string path, long min, long max)
    {
        var raw = value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "";
        var digits = raw.StartsWith('-') ? raw[1..] : raw;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
        {
            throw new TariffException($"{path}: must be an integer {Range(min, max)}");
        }

        if (!value.TryGetInt64(out var n))
        {
            throw new TariffException($"{path}: must be an integer {Range(min, max)} (got {raw}, beyond the 64-bit range)");
        }

        if (n < min || n > max)
        {
            throw new TariffException($"{path}: must be an integer {Range(min, max)} (got {n})");
        }

        return n;
    }

    private static string Range(long min, long max) => max == long.MaxValue ? $"≥ {min}" : $"{min}..{max}";

    private static string[] StringArray(JsonElement array, string path)
    {
        Expect(array, JsonValueKind.Array, path);
        var result = new List<string>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            Expect(item, JsonValueKind.String, $"{path}[{i++}]");
            result.Add(item.GetString()!);
        }

        return [.. result];
    }

    private static void Expect(JsonElement value, JsonValueKind kind, string path)
    {
        if (value.ValueKind != kind)
        {
            throw new TariffException($"{path}: must be {Article(kind)} (got {value.ValueKind.ToString().ToLowerInvariant()})");
        }
    }

    private static string Article(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        _ => kind.ToString(),
    };

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
