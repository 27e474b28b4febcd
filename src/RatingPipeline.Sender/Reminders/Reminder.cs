using System.Globalization;
using System.Text.Json;

namespace RatingPipeline.Sender.Reminders;

/// <summary>The kinds of reminder the rater emits (SPEC §5), by their names in the records.</summary>
public static class ReminderKinds
{
    public const string Allowance = "allowance";
    public const string DataCap = "data-cap";
    public const string HighSpend = "high-spend";
    public const string LowBalance = "low-balance";
    public const string Roaming = "roaming";
    public const string PlanChange = "plan-change";
    public const string VasPrecharge = "vas-precharge";
    public const string PlanExpiry = "plan-expiry";

    public static readonly IReadOnlyList<string> All = [Allowance, DataCap, HighSpend, LowBalance, Roaming, PlanChange, VasPrecharge, PlanExpiry];
}

/// <summary>
/// The kinds of notice the sender renders: one per reminder kind, and <see cref="Bill"/>, the monthly-bill
/// notice made from a record of <c>bills</c> (SPEC §7.8).
/// </summary>
public static class NoticeKinds
{
    public const string Bill = "bill";

    public static readonly IReadOnlyList<string> All = [.. ReminderKinds.All, Bill];
}

/// <summary>A roaming rate as carried by a roaming reminder: price in micros per <see cref="Unit"/>.</summary>
public readonly record struct RoamingRate(long Price, long Unit);

/// <summary>
/// What a notice is made from: a reminder event read from <c>reminders</c> (SPEC §5, §7.7), or a bill read from
/// <c>bills</c> (SPEC §7.8, kind <see cref="NoticeKinds.Bill"/>). Which figures are meaningful depends on
/// <see cref="Kind"/>; <see cref="Raw"/> keeps the record exactly as received (dead letters and the
/// deferred backlog carry it unchanged).
/// </summary>
public sealed class Reminder
{
    public required string EventId { get; init; }

    public required string Msisdn { get; init; }

    public required string Kind { get; init; }

    public string Cycle { get; init; } = "";

    public string CdrId { get; init; } = "";

    /// <summary>The triggering CDR's <c>start</c> as received.</summary>
    public string At { get; init; } = "";

    /// <summary>allowance: <c>voice</c>, <c>sms</c> or <c>data</c>.</summary>
    public string Type { get; init; } = "";

    /// <summary>allowance: percentage; high-spend and low-balance: micros.</summary>
    public long Threshold { get; init; }

    /// <summary>allowance: used units (seconds, messages, bytes).</summary>
    public long Used { get; init; }

    /// <summary>allowance: the plan's allowance in units.</summary>
    public long Allowance { get; init; }

    public long OveragePrice { get; init; }

    public long OverageUnit { get; init; }

    /// <summary>data-cap: the cap K; charged: D (micros).</summary>
    public long Cap { get; init; }

    public long Charged { get; init; }

    /// <summary>high-spend: the cycle's spend S (micros).</summary>
    public long Spend { get; init; }

    /// <summary>low-balance: remaining balance (micros, may be negative).</summary>
    public long Remaining { get; init; }

    public string Mcc { get; init; } = "";

    public string Zone { get; init; } = "";

    public RoamingRate? VoiceMo { get; init; }

    public RoamingRate? VoiceMt { get; init; }

    public RoamingRate? SmsMo { get; init; }

    public RoamingRate? Data { get; init; }

    /// <summary>plan-change: the plan before and after.</summary>
    public string From { get; init; } = "";

    public string To { get; init; } = "";

    /// <summary>plan-change (the new plan's), plan-expiry (the plan's): monthly fee in micros; null when the plan has none.</summary>
    public long? MonthlyFee { get; init; }

    /// <summary>vas-precharge: the service's id, its name in each language and its price per cycle (micros).</summary>
    public string ServiceId { get; init; } = "";

    public string ServiceNameZh { get; init; } = "";

    public string ServiceNameEn { get; init; } = "";

    public long Price { get; init; }

    /// <summary>vas-precharge: when the service is first charged, as received, and as an instant.</summary>
    public string ChargeAt { get; init; } = "";

    public DateTimeOffset? ChargeAtInstant { get; init; }

    /// <summary>plan-expiry: the plan, and the end of its term as received and as an instant.</summary>
    public string Plan { get; init; } = "";

    public string EndsAt { get; init; } = "";

    public DateTimeOffset? EndsAtInstant { get; init; }

    /// <summary>bill: the cycle's end (the next cycle's first day) and its money figures (micros).</summary>
    public string CycleEnd { get; init; } = "";

    public long Total { get; init; }

    public long UsageCharge { get; init; }

    public long FeeCharge { get; init; }

    public long Minimum { get; init; }

    public long TopUp { get; init; }

    public required byte[] Raw { get; init; }

    /// <summary>The service name in <paramref name="language"/> (<c>en</c>, else <c>zh</c>).</summary>
    public string ServiceName(string language) => language == "en" ? ServiceNameEn : ServiceNameZh;

    /// <summary>Parses a reminder record; null and a reason when it is not one the sender can render.</summary>
    public static Reminder? TryParse(ReadOnlySpan<byte> utf8, out string error)
    {
        try
        {
            var raw = utf8.ToArray();
            using var document = JsonDocument.Parse(raw);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "reminder must be a JSON object";
                return null;
            }

            var kind = Text(root, "kind");
            if (!ReminderKinds.All.Contains(kind))
            {
                error = $"unknown reminder kind '{kind}'";
                return null;
            }

            var eventId = Text(root, "eventId");
            var msisdn = Text(root, "msisdn");
            if (eventId.Length == 0 || msisdn.Length == 0)
            {
                error = "reminder needs eventId and msisdn";
                return null;
            }

            var reminder = new Reminder
            {
                EventId = eventId,
                Msisdn = msisdn,
                Kind = kind,
                Cycle = Text(root, "cycle"),
                CdrId = Text(root, "cdrId"),
                At = Text(root, "at"),
                Raw = raw,
                Type = kind == ReminderKinds.Allowance ? Required(Text(root, "type"), "type") : "",
                Threshold = kind is ReminderKinds.Allowance or ReminderKinds.HighSpend or ReminderKinds.LowBalance ? Number(root, "threshold") : 0,
                Used = kind == ReminderKinds.Allowance ? Number(root, "used") : 0,
                Allowance = kind == ReminderKinds.Allowance ? Number(root, "allowance") : 0,
                OveragePrice = kind == ReminderKinds.Allowance ? Number(root, "overagePrice") : 0,
                OverageUnit = kind == ReminderKinds.Allowance ? Number(root, "overageUnit") : 0,
                Cap = kind == ReminderKinds.DataCap ? Number(root, "cap") : 0,
                Charged = kind == ReminderKinds.DataCap ? Number(root, "charged") : 0,
                Spend = kind == ReminderKinds.HighSpend ? Number(root, "spend") : 0,
                Remaining = kind == ReminderKinds.LowBalance ? Number(root, "remaining") : 0,
                Mcc = kind == ReminderKinds.Roaming ? Required(Text(root, "mcc"), "mcc") : "",
                Zone = kind == ReminderKinds.Roaming ? Required(Text(root, "zone"), "zone") : "",
                VoiceMo = kind == ReminderKinds.Roaming ? Rate(root, "voiceMo") : null,
                VoiceMt = kind == ReminderKinds.Roaming ? Rate(root, "voiceMt") : null,
                SmsMo = kind == ReminderKinds.Roaming ? Rate(root, "smsMo") : null,
                Data = kind == ReminderKinds.Roaming ? Rate(root, "data") : null,
                From = kind == ReminderKinds.PlanChange ? Required(Text(root, "from"), "from") : "",
                To = kind == ReminderKinds.PlanChange ? Required(Text(root, "to"), "to") : "",
                MonthlyFee = kind is ReminderKinds.PlanChange or ReminderKinds.PlanExpiry ? OptionalNumber(root, "monthlyFee") : null,
                ServiceId = kind == ReminderKinds.VasPrecharge ? Required(Text(root, "serviceId"), "serviceId") : "",
                ServiceNameZh = kind == ReminderKinds.VasPrecharge ? Name(root, "zh") : "",
                ServiceNameEn = kind == ReminderKinds.VasPrecharge ? Name(root, "en") : "",
                Price = kind == ReminderKinds.VasPrecharge ? Number(root, "price") : 0,
                ChargeAt = kind == ReminderKinds.VasPrecharge ? Required(Text(root, "chargeAt"), "chargeAt") : "",
                ChargeAtInstant = kind == ReminderKinds.VasPrecharge ? Instant(Text(root, "chargeAt"), "chargeAt") : null,
                Plan = kind == ReminderKinds.PlanExpiry ? Required(Text(root, "plan"), "plan") : "",
                EndsAt = kind == ReminderKinds.PlanExpiry ? Required(Text(root, "endsAt"), "endsAt") : "",
                EndsAtInstant = kind == ReminderKinds.PlanExpiry ? Instant(Text(root, "endsAt"), "endsAt") : null,
            };

            if (reminder.Type is not ("" or "voice" or "sms" or "data"))
            {
                error = $"unknown allowance type '{reminder.Type}'";
                return null;
            }

            if (kind == ReminderKinds.Allowance && reminder.OverageUnit <= 0)
            {
                error = "overageUnit must be ≥ 1";
                return null;
            }

            error = "";
            return reminder;
        }
        catch (JsonException e)
        {
            error = $"reminder is not valid JSON: {e.Message}";
            return null;
        }
        catch (FormatException e)
        {
            error = $"reminder {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// Parses a bill record of <c>bills</c> (SPEC §7.8) as the source of a monthly-bill notice (kind
    /// <see cref="NoticeKinds.Bill"/>); null and a reason when it is not one the sender can render.
    /// </summary>
    public static Reminder? TryParseBill(ReadOnlySpan<byte> utf8, out string error)
    {
        try
        {
            var raw = utf8.ToArray();
            using var document = JsonDocument.Parse(raw);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "bill must be a JSON object";
                return null;
            }

            var eventId = Text(root, "eventId");
            var msisdn = Text(root, "msisdn");
            if (eventId.Length == 0 || msisdn.Length == 0)
            {
                error = "bill needs eventId and msisdn";
                return null;
            }

            var bill = new Reminder
            {
                EventId = eventId,
                Msisdn = msisdn,
                Kind = NoticeKinds.Bill,
                Cycle = Required(Date(Text(root, "cycle"), "cycle"), "cycle"),
                CycleEnd = Required(Date(Text(root, "cycleEnd"), "cycleEnd"), "cycleEnd"),
                Plan = Text(root, "plan"),
                Total = Number(root, "total"),
                UsageCharge = Number(root, "usageCharge"),
                FeeCharge = Number(root, "feeCharge"),
                Minimum = Number(root, "minimum"),
                TopUp = Number(root, "topUp"),
                Raw = raw,
            };
            if (string.CompareOrdinal(bill.CycleEnd, bill.Cycle) <= 0)
            {
                error = $"bill cycleEnd {bill.CycleEnd} is not after its cycle {bill.Cycle}";
                return null;
            }

            error = "";
            return bill;
        }
        catch (JsonException e)
        {
            error = $"bill is not valid JSON: {e.Message}";
            return null;
        }
        catch (FormatException e)
        {
            error = $"bill {e.Message}";
            return null;
        }
    }

    /// <summary>Parses what a <c>notice-log</c> record of <paramref name="kind"/> carries as its source (a reminder, or a bill).</summary>
    public static Reminder? TryParse(string kind, ReadOnlySpan<byte> utf8, out string error) =>
        kind == NoticeKinds.Bill ? TryParseBill(utf8, out error) : TryParse(utf8, out error);

    private static string Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";

    private static string Required(string value, string name) =>
        value.Length > 0 ? value : throw new FormatException($"needs {name}");

    private static long Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n)
            ? n
            : throw new FormatException($"needs {name} as an integer");

    private static long? OptionalNumber(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null : Number(root, name);

    private static string Name(JsonElement root, string language) =>
        root.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.Object && name.TryGetProperty(language, out var text)
            && text.ValueKind == JsonValueKind.String && text.GetString() is { Length: > 0 } value
            ? value
            : throw new FormatException($"needs name.{language}");

    /// <summary>An instant as SPEC §2.3 writes it (<c>2026-11-11T09:00:00+08:00</c>, <c>…00.5Z</c>).</summary>
    private static DateTimeOffset Instant(string text, string name) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant)
            && (text.EndsWith('Z') || text.Length >= 6 && text[^6] is '+' or '-')
            ? instant
            : throw new FormatException($"{name} '{text}' is not an instant");

    /// <summary>A date <c>yyyy-MM-dd</c>, returned as written.</summary>
    private static string Date(string text, string name) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)
            ? text
            : throw new FormatException($"{name} '{text}' is not a date yyyy-MM-dd");

    private static RoamingRate? Rate(JsonElement root, string name)
    {
        if (!root.TryGetProperty("rates", out var rates) || rates.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("needs rates");
        }

        if (!rates.TryGetProperty(name, out var rate) || rate.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (rate.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"rates.{name} must be an object or null");
        }

        var price = Number(rate, "price");
        var unit = Number(rate, "unit");
        return unit >= 1 ? new RoamingRate(price, unit) : throw new FormatException($"rates.{name}.unit must be ≥ 1");
    }
}
