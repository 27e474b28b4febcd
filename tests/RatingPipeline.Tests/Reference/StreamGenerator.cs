using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RatingPipeline.Tests.Reference;

/// <summary>One generated input: the three files of <c>ratingctl rate</c> as text.</summary>
public sealed record GeneratedStream(int Seed, string Flavour, string TariffJson, string SubscribersJsonl, string CdrsJsonl);

/// <summary>
/// Random, reproducible (seeded) inputs for comparing the engine with the reference: a tariff with the §7 members
/// (late grace 0, 48 or odd hours, notice lead hours, monthly fees, monthly minimums, zones on zero-rating entries),
/// several subscribers (postpaid and prepaid, cycle days 1–28, caps, services ordered and cancelled around their due
/// instant, plan terms, own minimums — one equal to the plan's scaled minimum — msisdns whose byte order is not their
/// numeric order, one on a plan the tariff lacks), and a CDR file mixing CDRs, clock records (in order, repeated, out of
/// order, at close instants, jumps past 12 cycles), profile lines (plan, service, balance, cycle-day changes and broken
/// ones), location records, late CDRs within and beyond the grace, resent lines, bad lines and blank lines.
/// One seed in five is a compatibility stream (§7.10): no §7 member, clock, profile line or location record.
/// </summary>
public sealed class StreamGenerator
{
    private static readonly string[] Msisdns = ["8613800000001", "8613800000002", "86138000000", "99999", "123456789012345"];
    private const string GonePlanMsisdn = "8613800000004";
    private const string LateArrival = "8613800000009";
    private const string Unknown = "8613899999999";
    private static readonly string[] PlanNames = ["basic", "mini", "biz", "paygo"];
    private static readonly string[] Peers =
    [
        "13900000000", "13900000000", "13900000000", "+4420700000", "00447786205094", "+447537410217", "004475374102",
        "0044753741039", "+4475374103912", "10086", "+8613900000000", "008613900000000", "95555",
    ];

    private static readonly string?[] Mccs = [null, null, null, null, "460", "454", "455", "466", "440", "262", "310"];
    private static readonly string[] ServiceIds = ["news", "weather", "music", "video", "vip.1", "a_b-c"];
    private static readonly string[] Offsets = ["+08:00", "+08:00", "+08:00", "Z", "Z", "-05:00", "+05:30", "+23:00", "-00:30"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Lines as a person would write them: <c>+</c> and Chinese as themselves, not as <c>\u</c> escapes.</summary>
    private static readonly JsonSerializerOptions Plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Random _r;
    private readonly bool _compat;
    private readonly long _offsetTicks;
    private readonly string _offsetText;
    private readonly int _leadHours;
    private readonly int _graceHours;
    private readonly JsonObject _tariff;
    private readonly RefTariff _parsedTariff;
    private readonly Dictionary<string, JsonObject> _profiles = new(StringComparer.Ordinal);
    private readonly List<string> _lines = [];
    private readonly List<string> _resendable = [];
    private readonly List<string> _ids = [];
    private readonly Dictionary<string, string> _earlierAsOf = new(StringComparer.Ordinal);
    private long? _lastOrdered;
    private long _cursor;
    private string? _lastClock;
    private long _lastClockTicks;
    private int _nextId;

    private StreamGenerator(int seed)
    {
        _r = new Random(seed);
        _compat = seed % 5 == 4;
        _offsetText = Pick("+08:00", "+08:00", "+08:00", "+08:00", "Z", "-05:00", "+05:30");
        _offsetTicks = RefInstant.OffsetTicks(_offsetText)!.Value;
        _leadHours = _compat ? 24 : Pick(-1, 0, 1, 24, 24, 25, 47, 71, 720, 719);
        _graceHours = _compat ? 0 : Pick(-1, 0, 0, 48, 48, 48, 1, 7, 23, 47, 49, 71, 95, 169, 647, 648);
        _tariff = Tariff();
        _parsedTariff = RefTariff.Load(_tariff.ToJsonString());
        if (_leadHours < 0)
        {
            _leadHours = 24;
        }

        if (_graceHours < 0)
        {
            _graceHours = 0;
        }

        // The stream starts on a random day around November 2026, at local midnight plus a little.
        _cursor = LocalMidnight(new DateOnly(2026, 10, 20).AddDays(_r.Next(0, 60))) + (_r.Next(0, 3600) * TimeSpan.TicksPerSecond);
        _lastClockTicks = _cursor;
    }

    public static GeneratedStream Generate(int seed)
    {
        var g = new StreamGenerator(seed);
        var subscribers = g.Subscribers();
        var count = g._r.Next(60, 500);
        for (var i = 0; i < count; i++)
        {
            g.Step();
        }

        return new GeneratedStream(seed, g._compat ? "compat" : "full", g._tariff.ToJsonString(Indented),
            subscribers, string.Concat(g._lines.Select(l => l + "\n")));
    }

    // ---------------------------------------------------------------- tariff

    private JsonObject Tariff()
    {
        var tariff = new JsonObject
        {
            ["version"] = $"gen-{_r.Next(1000)}",
            ["currency"] = "CNY",
            ["utcOffset"] = _offsetText,
            ["homeMcc"] = new JsonArray("460"),
            ["zones"] = new JsonObject { ["HMT"] = new JsonArray("454", "455", "466"), ["Z1"] = new JsonArray("440", "450", "310") },
            ["defaultRoamingZone"] = "ROW",
        };
        if (!_compat)
        {
            if (_graceHours >= 0)
            {
                tariff["lateGraceHours"] = _graceHours;
            }

            if (_leadHours >= 0)
            {
                tariff["vasNoticeLeadHours"] = _leadHours;
            }

            if (Chance(50))
            {
                tariff["planExpiryNoticeDays"] = Pick(1, 3, 7, 30, 90);
            }
        }

        JsonArray? Zones(params string[] names) => _compat || Chance(30) ? null : new JsonArray([.. names.Select(n => (JsonNode)n)]);
        JsonObject Zero(string pattern, JsonArray types, string from, string? to, string reason, JsonArray? zones)
        {
            var o = new JsonObject { ["pattern"] = pattern, ["types"] = types, ["from"] = from };
            if (to is not null)
            {
                o["to"] = to;
            }

            o["reason"] = reason;
            if (zones is not null)
            {
                o["zones"] = zones;
            }

            return o;
        }

        tariff["zeroRated"] = new JsonArray(
            Zero("00447786205094", new JsonArray("sms"), "2012-05-20T00:00:00+08:00", null, "apple-activation", Zones("domestic")),
            Zero("004475374102xx", new JsonArray("sms"), "2012-05-20T00:00:00+08:00", null, "apple-activation", Zones("domestic", "domestic")),
            Zero("0044753741039*", new JsonArray("sms"), "2026-11-10T00:00:00+08:00", "2026-12-20T00:00:00Z", "apple-activation-2026", Zones("domestic", "HMT")),
            Zero("10086", new JsonArray("sms", "voice"), "2010-01-01T00:00:00+08:00", null, "customer-service", Zones("domestic", "ROW", "Z1")));

        var plans = new JsonObject();
        foreach (var name in PlanNames)
        {
            plans[name] = Plan(name);
        }

        tariff["plans"] = plans;
        return tariff;
    }

    private JsonObject Plan(string name)
    {
        var plan = new JsonObject();
        if (Chance(85))
        {
            var allowances = new JsonObject();
            if (Chance(85))
            {
                allowances["voiceSec"] = Pick(0L, 60L, 300L, 600L, 6000L);
            }

            if (Chance(85))
            {
                allowances["smsCount"] = Pick(0L, 1L, 5L, 20L);
            }

            if (Chance(85))
            {
                allowances["dataBytes"] = Pick(0L, 1_048_576L, 52_428_800L, 314_572_800L);
            }

            plan["allowances"] = allowances;
        }

        // Beside the usual percentages, thresholds outside 0–127 (SPEC §3 sets no range): above 100 fires once a plan
        // change leaves more used than the new allowance, 0 or below on the first CDR.
        plan["reminderThresholds"] = PickOf(() => new JsonArray(80, 100), () => new JsonArray(50, 80, 100), () => new JsonArray(100),
            () => new JsonArray(), () => new JsonArray(100, 80), () => new JsonArray(150, 80, -5), () => new JsonArray(100, 200, 1000));
        if (Chance(70))
        {
            plan["highSpendThreshold"] = Pick(1_000_000L, 20_000_000L, 60_000_000L, 200_000_000L);
        }

        if (Chance(80))
        {
            plan["lowBalanceThreshold"] = Pick(1_000_000L, 5_000_000L, 10_000_000L);
        }

        if (Chance(70))
        {
            var tiers = PickOf(() => new long[] { 2_000_000, 20_000_000 }, () => new long[] { 50_000_000, 100_000_000, 200_000_000 }, () => new long[] { 0, 1_000_000 });
            plan["dataCapTiers"] = new JsonArray([.. tiers.Select(t => (JsonNode)t)]);
            if (Chance(70))
            {
                plan["defaultDataCap"] = tiers[_r.Next(tiers.Length)];
            }
        }

        if (!_compat)
        {
            if (name != "biz" && Chance(80))
            {
                plan["monthlyFee"] = Pick(0L, 18_000_000L, 58_000_000L, _r.Next(1, 100_000_000));
            }

            if (name is "basic" or "biz" || Chance(20))
            {
                // Kept below the 10^15 bound on the scaled minimum: a price per minute of 1 micro only with a tiny amount.
                var tiny = Chance(10);
                plan["monthlyMinimum"] = new JsonObject
                {
                    ["amount"] = tiny ? _r.Next(0, 1000) : Pick(0L, 50_000_000L, 100_000_000L, _r.Next(1, 1_000_000_000)),
                    ["atPricePerMinute"] = tiny ? 1 : Pick(300_000L, 100_000L, 999_999L, _r.Next(1000, 1_000_000)),
                };
            }
        }

        var rates = new JsonArray();
        JsonObject Rate(string? type, string? zone, string? direction, string? dest, long unit, long increment, long? first, long price,
            bool allowance = false, bool capped = false)
        {
            var rate = new JsonObject();
            if (type is not null)
            {
                rate["type"] = type;
            }

            if (zone is not null)
            {
                rate["zone"] = zone;
            }

            if (direction is not null)
            {
                rate["direction"] = direction;
            }

            if (dest is not null)
            {
                rate["dest"] = dest;
            }

            if (allowance || Chance(10))
            {
                rate["useAllowance"] = allowance;
            }

            if (capped)
            {
                rate["capped"] = true;
            }

            if (first is not null)
            {
                rate["firstIncrement"] = first;
            }

            rate["increment"] = increment;
            rate["unit"] = unit;
            rate["price"] = price;
            return rate;
        }

        if (name != "paygo")
        {
            rates.Add(Rate("voice", "domestic", "mo", "national", Pick(1L, 6L, 60L, 1000L), Pick(1L, 6L, 60L), Chance(50) ? Pick(1L, 6L, 30L, 60L) : null,
                _r.Next(0, 1_000_001), allowance: Chance(80)));
            rates.Add(Rate("voice", "domestic", "mt", null, 60, 60, null, Pick(0L, 0L, 50_000L)));
            rates.Add(Rate("voice", "domestic", "mo", "intl", 60, 6, 6, 1_990_000));
            rates.Add(Rate("sms", "domestic", "mo", "national", 1, 1, null, _r.Next(0, 200_001), allowance: Chance(80)));
            rates.Add(Rate("sms", "*", "mt", null, 1, 1, null, 0));
            rates.Add(Rate("data", "domestic", null, null, 1_048_576, Pick(1L, 1024L, 10_240L), null, _r.Next(0, 500_001), allowance: Chance(80),
                capped: Chance(70)));
            rates.Add(Rate("voice", "HMT", Chance(50) ? "*" : null, null, 60, 60, null, 990_000));
            rates.Add(Rate("sms", "HMT", "mo", null, 1, 1, null, 360_000));
            if (Chance(80))
            {
                rates.Add(Rate("data", "HMT", null, null, 1_048_576, 10_240, null, 3_000_000, capped: Chance(20)));
            }

            rates.Add(Rate("sms", "*", "mo", "*", 1, 1, null, 1_000_000));
            if (Chance(70))
            {
                rates.Add(Rate("data", "Z1", null, null, 1_048_576, 10_240, null, 5_000_000));
            }
        }
        else if (Chance(50))
        {
            rates.Add(Rate("sms", "domestic", null, null, 1, 1, null, 100_000));
        }

        rates.Add(Rate("voice", Chance(50) ? "*" : null, "*", Chance(50) ? "*" : null, 60, 60, Chance(50) ? 60 : null, Pick(100_000L, 2_990_000L)));
        plan["rates"] = rates;
        return plan;
    }

    // ---------------------------------------------------------------- subscribers

    private string Subscribers()
    {
        var lines = new List<string>();
        for (var i = 0; i < Msisdns.Length; i++)
        {
            var profile = NewProfile(Msisdns[i], PlanNames[i % PlanNames.Length], prepaid: i is 1 or 4);
            _profiles[Msisdns[i]] = profile;
            lines.Add(Text(profile));
        }

        var gone = new JsonObject { ["msisdn"] = GonePlanMsisdn, ["plan"] = "gone", ["cycleDay"] = 1 };
        _profiles[GonePlanMsisdn] = gone;
        lines.Add(Text(gone));

        // One msisdn given twice: the later line wins (§2.2); a blank line in between is skipped.
        if (Chance(50))
        {
            var again = NewProfile(Msisdns[0], PlanNames[_r.Next(PlanNames.Length)], prepaid: false);
            _profiles[Msisdns[0]] = again;
            lines.Add("");
            lines.Add(Text(again));
        }

        return string.Concat(lines.Select(l => l + "\n"));
    }

    private JsonObject NewProfile(string msisdn, string plan, bool prepaid)
    {
        var p = new JsonObject { ["msisdn"] = msisdn, ["plan"] = plan, ["cycleDay"] = Pick(1, 1, 15, 28, _r.Next(1, 29)) };
        if (prepaid)
        {
            p["prepaid"] = true;
            p["balance"] = Pick(-1_000_000L, 6_000_000L, 25_000_000L, _r.Next(0, 200_000_000));
            p["balanceAsOf"] = Instant(_cursor - (_r.Next(-48, 24 * 20) * TimeSpan.TicksPerHour));
        }
        else if (Chance(20))
        {
            p["prepaid"] = false;
        }

        if (Chance(30))
        {
            p["highSpendThreshold"] = Pick(500_000L, 5_000_000L, 60_000_000L);
        }

        if (_parsedTariff.Plans.TryGetValue(plan, out var tariffPlan) && tariffPlan.DataCapTiers.Count > 0 && Chance(40))
        {
            p["dataCap"] = tariffPlan.DataCapTiers[_r.Next(tariffPlan.DataCapTiers.Count)];
        }

        if (Chance(20))
        {
            p["language"] = Pick("zh", "en");
            p["reminders"] = Pick("on", "off");
            p["channels"] = new JsonArray("sms", "email");
            p["email"] = "someone@example.com";
        }

        if (!_compat)
        {
            var scaled = tariffPlan?.ScaledMinimum ?? 0;
            if (Chance(40))
            {
                p["monthlyMinimum"] = Pick(scaled, scaled, scaled + _r.Next(1, 100_000_000));
            }

            if (Chance(70))
            {
                var services = new JsonArray();
                var count = _r.Next(1, 5);
                foreach (var id in ServiceIds.OrderBy(_ => _r.Next()).Take(count))
                {
                    services.Add(NewService(id, (int)LongOf(p["cycleDay"]!)));
                }

                p["services"] = services;
            }

            if (Chance(40))
            {
                p["planEndsAt"] = Instant(Chance(50)
                    ? LocalMidnight(LocalDateOf(_cursor).AddDays(_r.Next(0, 120)))
                    : _cursor + (_r.Next(0, 24 * 120) * TimeSpan.TicksPerHour));
            }
        }

        return p;
    }

    private JsonObject NewService(string id, int cycleDay = 1)
    {
        // Ordered before the stream, during it, or just now; at the same instant as the service before; or so that it is
        // due exactly at the start of a cycle. Cancelled before its due instant, exactly at it, at a cycle start, later, or never.
        var cycleStart = NextCycleStart(_cursor + (_r.Next(-40, 60) * TimeSpan.TicksPerDay), cycleDay);
        var ordered = _r.Next(10) switch
        {
            0 when _lastOrdered is { } same => same,
            1 or 2 => cycleStart - (_leadHours * TimeSpan.TicksPerHour),
            _ => Pick(_cursor - (_r.Next(1, 24 * 45) * TimeSpan.TicksPerHour), _cursor + (_r.Next(0, 24 * 90) * TimeSpan.TicksPerHour),
                _cursor + (_r.Next(0, 3600) * TimeSpan.TicksPerSecond)),
        };
        _lastOrdered = ordered;
        var orderedText = Instant(ordered);
        var orderedAt = RefInstant.Parse(orderedText)!;
        var due = orderedAt.UtcTicks + (_leadHours * TimeSpan.TicksPerHour);
        var service = new JsonObject
        {
            ["id"] = id,
            ["name"] = new JsonObject { ["zh"] = "服务" + id, ["en"] = "Service " + id, ["fr"] = "ignored" },
            ["price"] = Pick(0L, 2_000_000L, 5_000_000L, _r.Next(1, 30_000_000)),
            ["orderedAt"] = orderedText,
        };
        switch (_r.Next(8))
        {
            case 0:
                service["cancelledAt"] = Instant(orderedAt.UtcTicks + ((due - orderedAt.UtcTicks) / 2));
                break;
            case 1:
                service["cancelledAt"] = Instant(due); // cancelled exactly at due: never charged
                break;
            case 2:
                service["cancelledAt"] = Instant(due + (_r.Next(1, 24 * 60) * TimeSpan.TicksPerHour));
                break;
            case 3:
                service["cancelledAt"] = null;
                break;
            case 4:
                service["cancelledAt"] = orderedText; // cancelled at the order instant
                break;
            case 5:
                service["cancelledAt"] = Instant(NextCycleStart(orderedAt.UtcTicks + (_r.Next(0, 60) * TimeSpan.TicksPerDay), cycleDay)); // at a cycle start
                break;
            default:
                break;
        }

        return service;
    }

    // ---------------------------------------------------------------- the CDR file

    private void Step()
    {
        // Time moves on: mostly minutes to hours, sometimes days.
        _cursor += Pick(0L, _r.Next(1, 3600) * TimeSpan.TicksPerSecond, _r.Next(1, 8) * TimeSpan.TicksPerHour,
            _r.Next(1, 8) * TimeSpan.TicksPerHour, _r.Next(1, 4) * TimeSpan.TicksPerDay);
        var roll = _r.Next(100);
        if (_compat && roll is >= 50 and < 80)
        {
            roll = _r.Next(0, 50);
        }

        switch (roll)
        {
            case < 42:
                Cdr(_cursor);
                break;
            case < 46:
                // Near a cycle boundary of the subscriber: just before, at, or just after local midnight on its cycle day,
                // or at (or just before) the end of the late grace after it.
                var (who, when) = NearBoundary();
                Cdr(when, who);
                break;
            case < 50:
                // Late: within hours (inside or beyond the grace) or weeks back.
                Cdr(_cursor - Pick(_r.Next(1, 100 * 60) * TimeSpan.TicksPerMinute, _r.Next(20, 70) * TimeSpan.TicksPerDay));
                break;
            case < 62:
                Clock();
                break;
            case < 68:
                Location();
                break;
            case < 74:
                ProfileLine();
                break;
            case < 80:
                Cdr(_cursor);
                break;
            case < 85:
                if (_resendable.Count > 0)
                {
                    _lines.Add(_resendable[_r.Next(Math.Max(0, _resendable.Count - 10), _resendable.Count)]);
                }

                break;
            case < 91:
                BadLine();
                break;
            case < 93:
                EdgeLine();
                break;
            case < 96:
                _lines.Add(Pick("", "   ", "\r", "\t"));
                break;
            default:
                // A bigger move: to the next local midnight, a few days, or (rarely) many months.
                _cursor = Pick(LocalMidnight(LocalDateOf(_cursor).AddDays(1)), _cursor + (_r.Next(3, 20) * TimeSpan.TicksPerDay),
                    _cursor + (_r.Next(3, 20) * TimeSpan.TicksPerDay));
                break;
        }
    }

    private string Subscriber() =>
        _r.Next(100) switch
        {
            < 85 => Msisdns[_r.Next(Msisdns.Length)],
            < 90 => GonePlanMsisdn,
            < 95 => LateArrival,
            _ => Unknown,
        };

    private string NextId()
    {
        // Mostly fresh ids; sometimes an id another subscriber used (not a duplicate for this one).
        var id = _ids.Count > 0 && Chance(3) ? _ids[_r.Next(_ids.Count)] : $"i{_nextId++}";
        _ids.Add(id);
        return id;
    }

    private void Cdr(long start, string? msisdn = null)
    {
        msisdn ??= Subscriber();
        var type = Pick("voice", "voice", "sms", "sms", "data", "data");
        var cdr = new JsonObject { ["id"] = NextId(), ["type"] = type, ["msisdn"] = msisdn };
        if (type != "data" || Chance(10))
        {
            cdr["direction"] = Chance(70) ? "mo" : "mt";
            cdr["peer"] = Peers[_r.Next(Peers.Length)];
        }

        cdr["start"] = Instant(start);
        if (type == "voice" || Chance(5))
        {
            cdr["durationSec"] = Pick(0, _r.Next(1, 900), _r.Next(1, 900), _r.Next(1, 900), _r.Next(900, 86_401), 86_400);
        }

        if (type == "data" || Chance(5))
        {
            cdr["bytes"] = Pick(0L, _r.Next(1, 100_000), _r.Next(100_000, 2_000_000_000), _r.Next(100_000, 2_000_000_000), 1_000_000_000_000L);
        }

        var mcc = Mccs[_r.Next(Mccs.Length)];
        if (mcc is not null || Chance(10))
        {
            cdr["visitedMcc"] = mcc;
        }

        if (Chance(5))
        {
            cdr["extra"] = new JsonObject { ["note"] = "ignored", ["n"] = 1.5e3 };
        }

        var line = Text(cdr);
        _lines.Add(Chance(3) ? line + "\r" : line);
        _resendable.Add(line);
    }

    private (string Msisdn, long At) NearBoundary()
    {
        var msisdn = Msisdns[_r.Next(Msisdns.Length)];
        var cycleDay = (int)LongOf(_profiles[msisdn]["cycleDay"]!);
        var date = LocalDateOf(_cursor);
        var boundary = new DateOnly(date.Year, date.Month, cycleDay);
        if (boundary > date)
        {
            boundary = boundary.AddMonths(-1);
        }

        var at = LocalMidnight(boundary);
        return (msisdn, at + Pick(-1L, -TimeSpan.TicksPerSecond, -10 * TimeSpan.TicksPerSecond, 0L, 5 * TimeSpan.TicksPerSecond,
            (_graceHours * TimeSpan.TicksPerHour) - 1, _graceHours * TimeSpan.TicksPerHour));
    }

    private void Clock()
    {
        if (_compat)
        {
            Cdr(_cursor);
            return;
        }

        string at;
        switch (_r.Next(20))
        {
            case < 10:
                at = Instant(_cursor);
                break;
            case < 12:
                at = Instant(LocalMidnight(LocalDateOf(_cursor)));
                break;
            case < 14:
                at = _lastClock ?? Instant(_cursor);
                break;
            case < 16:
                at = Instant(_lastClockTicks - (_r.Next(1, 24 * 10) * TimeSpan.TicksPerHour));
                break;
            case < 17:
                // A jump past the 12-cycle bound (or right to it).
                _cursor = LocalMidnight(LocalDateOf(_cursor).AddMonths(Pick(12, 13, 14, 25, 40)).AddDays(_r.Next(0, 3))) + TimeSpan.TicksPerHour;
                at = Instant(_cursor);
                break;
            default:
                // The close instant of a cycle that just ended for someone: its end + G hours, or just before it.
                at = Instant(NearBoundary().At + Pick(0L, _graceHours * TimeSpan.TicksPerHour));
                break;
        }

        var clock = new JsonObject { ["type"] = "clock", ["at"] = at };
        if (Chance(10))
        {
            // Every other member is ignored (§7.1).
            clock["id"] = "clock-" + _nextId;
            clock["msisdn"] = Msisdns[0];
        }

        _lines.Add(Text(clock));
        var parsed = RefInstant.Parse(at)!;
        if (parsed.UtcTicks > _lastClockTicks)
        {
            _lastClockTicks = parsed.UtcTicks;
        }

        _lastClock = at;
    }

    private void Location()
    {
        if (_compat)
        {
            Cdr(_cursor);
            return;
        }

        var location = new JsonObject { ["id"] = NextId(), ["type"] = "location", ["msisdn"] = Subscriber() };
        if (Chance(95))
        {
            location["start"] = Instant(Chance(90) ? _cursor : _cursor - (_r.Next(1, 72) * TimeSpan.TicksPerHour));
        }

        var mcc = Mccs[_r.Next(Mccs.Length)];
        if (mcc is not null || Chance(20))
        {
            location["visitedMcc"] = Chance(95) ? mcc : "45";
        }

        var line = Text(location);
        _lines.Add(line);
        _resendable.Add(line);
    }

    private void ProfileLine()
    {
        if (_compat)
        {
            Cdr(_cursor);
            return;
        }

        var msisdn = _r.Next(10) == 0 ? LateArrival : Msisdns[_r.Next(Msisdns.Length)];
        var profile = _profiles.TryGetValue(msisdn, out var current)
            ? (JsonObject)current.DeepClone()
            : NewProfile(msisdn, PlanNames[_r.Next(PlanNames.Length)], prepaid: Chance(30));
        switch (_r.Next(12))
        {
            case 0:
            case 1:
                // A plan change; the own minimum follows the new plan's scaled minimum when it would fall below it (mostly).
                var plan = PlanNames[_r.Next(PlanNames.Length)];
                profile["plan"] = Chance(5) ? "gone" : plan;
                if (_parsedTariff.Plans.TryGetValue(plan, out var p))
                {
                    if (profile["dataCap"] is { } cap && !p.DataCapTiers.Contains(LongOf(cap)))
                    {
                        profile.Remove("dataCap");
                    }

                    if (profile["monthlyMinimum"] is { } own && LongOf(own) < p.ScaledMinimum && Chance(80))
                    {
                        profile["monthlyMinimum"] = p.ScaledMinimum;
                    }
                }

                break;
            case 2:
            case 3:
                // A new service, or one cancelled.
                var services = profile["services"] as JsonArray ?? [];
                profile["services"] = services;
                var existing = services.OfType<JsonObject>().ToList();
                if (existing.Count > 0 && Chance(50))
                {
                    var s = existing[_r.Next(existing.Count)];
                    var ordered = RefInstant.Parse((string)s["orderedAt"]!)!;
                    var due = ordered.UtcTicks + (_leadHours * TimeSpan.TicksPerHour);
                    s["cancelledAt"] = Instant(Pick(Math.Max(ordered.UtcTicks, _cursor), due, Math.Max(ordered.UtcTicks, _cursor + TimeSpan.TicksPerDay)));
                }
                else
                {
                    var free = ServiceIds.Where(id => existing.All(s => (string?)s["id"] != id)).ToList();
                    if (free.Count > 0)
                    {
                        services.Add(NewService(free[_r.Next(free.Count)], (int)LongOf(profile["cycleDay"]!)));
                    }
                }

                break;
            case 4:
                // A top-up: a new balance as of a new instant; sometimes the same instant written another way, or the
                // value before the last one again; sometimes a switch to postpaid (and later back).
                if (profile["prepaid"] is JsonValue v && (bool)v)
                {
                    var msisdnKey = (string)profile["msisdn"]!;
                    var asOfNow = (string)profile["balanceAsOf"]!;
                    profile["balance"] = _r.Next(0, 50_000_000);
                    profile["balanceAsOf"] = _r.Next(10) switch
                    {
                        0 => Rewritten(asOfNow),
                        1 when _earlierAsOf.TryGetValue(msisdnKey, out var earlier) => earlier,
                        _ => Instant(_cursor - (_r.Next(0, 48) * TimeSpan.TicksPerHour) - (_nextId * TimeSpan.TicksPerSecond)),
                    };
                    _earlierAsOf[msisdnKey] = asOfNow;
                    if (Chance(10))
                    {
                        profile["prepaid"] = false;
                    }
                }
                else if (profile["balanceAsOf"] is not null && Chance(50))
                {
                    profile["prepaid"] = true;
                }
                else
                {
                    profile["highSpendThreshold"] = Pick(1_000_000L, 30_000_000L);
                }

                break;
            case 5:
                profile["planEndsAt"] = Instant(Chance(50)
                    ? LocalMidnight(LocalDateOf(_cursor).AddDays(_r.Next(0, 20)))
                    : _cursor + (_r.Next(-24, 24 * 20) * TimeSpan.TicksPerHour));
                break;
            case 6:
                profile["cycleDay"] = _r.Next(1, 29);
                break;
            case 7:
                var scaled = _parsedTariff.Plans.TryGetValue((string)profile["plan"]!, out var ownPlan) ? ownPlan.ScaledMinimum : 0;
                profile["monthlyMinimum"] = Pick(scaled, scaled + 1_000_000);
                break;
            case 8:
                // Broken: below the plan's scaled minimum, a bad cycle day, a cap not among the tiers, a repeated service id.
                var planOf = _parsedTariff.Plans.TryGetValue((string)profile["plan"]!, out var bp) ? bp : null;
                switch (_r.Next(4))
                {
                    case 0 when planOf is { ScaledMinimum: > 0 }:
                        profile["monthlyMinimum"] = planOf.ScaledMinimum - 1;
                        break;
                    case 1:
                        profile["dataCap"] = 123;
                        break;
                    case 2:
                        profile["services"] = new JsonArray(NewService("news"), NewService("news"));
                        break;
                    default:
                        profile["cycleDay"] = Pick(0, 29);
                        break;
                }

                break;
            case 9:
                // Broken: prepaid without balanceAsOf, cancelled before ordered, a bad msisdn.
                switch (_r.Next(3))
                {
                    case 0:
                        profile["prepaid"] = true;
                        profile.Remove("balanceAsOf");
                        break;
                    case 1:
                        var s = NewService("vip.1");
                        s["cancelledAt"] = "2000-01-01T00:00:00Z";
                        profile["services"] = new JsonArray(s);
                        break;
                    default:
                        profile["msisdn"] = "86-138";
                        break;
                }

                break;
            default:
                // Unchanged: a profile line that replaces the profile with the same one.
                break;
        }

        var line = new JsonObject { ["type"] = "profile" };
        foreach (var (name, value) in profile)
        {
            line[name] = value?.DeepClone();
        }

        var text = Text(line);
        _lines.Add(text);
        using var document = JsonDocument.Parse(text);
        if (RefProfile.Parse(document.RootElement, _parsedTariff, out _) is not null)
        {
            _profiles[(string)profile["msisdn"]!] = profile;
        }
    }

    private void BadLine()
    {
        var id = NextId();
        var msisdn = Msisdns[_r.Next(Msisdns.Length)];
        var start = Instant(_cursor);
        var good = $"{{\"id\":\"{id}\",\"type\":\"voice\",\"msisdn\":\"{msisdn}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"{start}\",\"durationSec\":60}}";
        _lines.Add(_r.Next(24) switch
        {
            0 => "not json",
            1 => good[..^5],
            2 => good.Replace("\"durationSec\":60", "\"durationSec\":1.5", StringComparison.Ordinal),
            3 => good.Replace("\"durationSec\":60", "\"durationSec\":6e1", StringComparison.Ordinal),
            4 => good.Replace("\"durationSec\":60", "\"durationSec\":\"60\"", StringComparison.Ordinal),
            5 => good.Replace("{\"id\"", "{\"id\":\"x\",\"id\"", StringComparison.Ordinal),
            6 => good.Replace("\"durationSec\":60", "\"durationSec\":60,\"x\":{\"a\":1,\"a\":2}", StringComparison.Ordinal),
            7 => good.Replace(start, start.Replace("T", " ", StringComparison.Ordinal), StringComparison.Ordinal),
            8 => good.Replace(start, "2026-11-31T10:00:00+08:00", StringComparison.Ordinal),
            9 => good + " x",
            10 => $"{{\"type\":\"clock\",\"at\":\"2026-13-01T00:00:00Z\",\"id\":\"{id}\",\"msisdn\":\"{msisdn}\"}}",
            11 => "{\"type\":\"clock\"}",
            12 => good.Replace($"\"id\":\"{id}\"", $"\"id\":\"{new string('x', 65)}\"", StringComparison.Ordinal),
            13 => good.Replace($"\"msisdn\":\"{msisdn}\"", "\"msisdn\":\"86138abc\"", StringComparison.Ordinal),
            14 => good.Replace("\"voice\"", "\"fax\"", StringComparison.Ordinal),
            15 => good.Replace("\"13900000000\"", Pick("\"+\"", "\"139-0000\"", "\"" + new string('1', 33) + "\""), StringComparison.Ordinal),
            16 => good.Replace("\"mo\"", "\"xx\"", StringComparison.Ordinal),
            17 => good.Replace("\"durationSec\":60", Pick("\"durationSec\":86401", "\"durationSec\":-1"), StringComparison.Ordinal),
            18 => good.Replace("\"durationSec\":60", "\"durationSec\":60,\"visitedMcc\":\"4600\"", StringComparison.Ordinal),
            19 => "[" + good + "]",
            20 => good.Replace("\"durationSec\":60", "\"durationSec\":NaN", StringComparison.Ordinal),
            21 => good.Replace("\"durationSec\":60", "\"durationSec\":60 /* note */", StringComparison.Ordinal),
            22 => good.Replace(start, "2026-11-05T10:00:00+24:00", StringComparison.Ordinal),
            _ => good.Replace("\"durationSec\":60", "\"durationSec\":60,", StringComparison.Ordinal),
        });
    }

    /// <summary>
    /// Lines at the edge of §2.1 and §2.3 (valid or not by a literal reading): <c>-0</c>, a byte-order mark, month 13,
    /// a name repeated through an escape, escaped values, non-ASCII digits, a lone surrogate escape and a huge number in
    /// an ignored member, deep nesting, tab white space, a leap second.
    /// </summary>
    private void EdgeLine()
    {
        var id = NextId();
        var msisdn = Msisdns[_r.Next(Msisdns.Length)];
        var start = Instant(_cursor);
        var good = $"{{\"id\":\"{id}\",\"type\":\"voice\",\"msisdn\":\"{msisdn}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"{start}\",\"durationSec\":60}}";
        var line = _r.Next(14) switch
        {
            0 => good.Replace("\"durationSec\":60", "\"durationSec\":-0", StringComparison.Ordinal),
            1 => "\uFEFF" + good,
            2 => good.Replace(start, "2026-13-01T00:00:00Z", StringComparison.Ordinal),
            3 => good.Replace("{\"id\"", "{\"\\u0069d\":\"dup\",\"id\"", StringComparison.Ordinal),
            4 => good.Replace("\"voice\"", "\"\\u0076oice\"", StringComparison.Ordinal).Replace($"\"{id}\"", $"\"\\u0041{id}\"", StringComparison.Ordinal),
            5 => good.Replace($"\"{msisdn}\"", "\"８６１３８００００００１\"", StringComparison.Ordinal),
            6 => good.Replace("\"13900000000\"", "\"١٣٩٠٠٠٠٠٠٠٠\"", StringComparison.Ordinal),
            7 => good.Replace("\"durationSec\":60", "\"durationSec\":60,\"note\":\"\\ud800\"", StringComparison.Ordinal),
            8 => good.Replace("\"durationSec\":60", "\"durationSec\":60,\"big\":1e999,\"long\":123456789012345678901234567890", StringComparison.Ordinal),
            9 => good.Replace("\"durationSec\":60", "\"durationSec\":60,\"deep\":" + new string('[', 100) + new string(']', 100), StringComparison.Ordinal),
            10 => good.Replace(",", ",\t", StringComparison.Ordinal) + "\t",
            11 => good.Replace(start, start[..17] + "60" + start[19..], StringComparison.Ordinal),
            12 => good.Replace("\"durationSec\":60", "\"durationSec\":60,\"visitedMcc\":\"45a\"", StringComparison.Ordinal),
            _ => good.Replace("\"durationSec\":60", "\"durationSec\":0086400", StringComparison.Ordinal),
        };
        _lines.Add(line);
    }

    /// <summary>The same instant written in another offset (or the same text when it cannot be).</summary>
    private string Rewritten(string text)
    {
        var instant = RefInstant.Parse(text)!;
        for (var i = 0; i < 5; i++)
        {
            var other = Instant(instant.UtcTicks);
            if (other != text)
            {
                return other;
            }
        }

        return text;
    }

    // ---------------------------------------------------------------- time and picks

    private DateOnly LocalDateOf(long utcTicks) => DateOnly.FromDateTime(new DateTime(utcTicks + _offsetTicks, DateTimeKind.Unspecified));

    /// <summary>00:00 local on the first date after the instant's local date whose day is the cycle day.</summary>
    private long NextCycleStart(long utcTicks, int cycleDay)
    {
        var date = LocalDateOf(utcTicks).AddDays(1);
        while (date.Day != cycleDay)
        {
            date = date.AddDays(1);
        }

        return LocalMidnight(date);
    }

    private long LocalMidnight(DateOnly date) => date.ToDateTime(TimeOnly.MinValue).Ticks - _offsetTicks;

    /// <summary>An instant written in one of several offsets, sometimes with fraction digits (whole seconds are written exactly).</summary>
    private string Instant(long utcTicks)
    {
        var offsetText = Chance(70) ? _offsetText : Offsets[_r.Next(Offsets.Length)];
        var offset = RefInstant.OffsetTicks(offsetText)!.Value;
        var local = new DateTime(utcTicks + offset, DateTimeKind.Unspecified);
        var text = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var fractionTicks = local.Ticks % TimeSpan.TicksPerSecond;
        if (fractionTicks != 0)
        {
            text += "." + fractionTicks.ToString("D7", CultureInfo.InvariantCulture);
        }
        else if (Chance(10))
        {
            text += Pick(".0", ".000", ".0000000");
        }

        return text + offsetText;
    }

    /// <summary>A record as one JSON line; one in twenty with the default escaping (<c>\u002B</c>, <c>\u670D</c>), which must read the same.</summary>
    private string Text(JsonObject record) => Chance(5) ? record.ToJsonString() : record.ToJsonString(Plain);

    /// <summary>An integer member however it was set (an in-memory int or long, or parsed).</summary>
    private static long LongOf(JsonNode node) => long.Parse(node.ToJsonString(), CultureInfo.InvariantCulture);

    private bool Chance(int percent) => _r.Next(100) < percent;

    private T Pick<T>(params T[] choices) => choices[_r.Next(choices.Length)];

    private T PickOf<T>(params Func<T>[] choices) => choices[_r.Next(choices.Length)]();
}
