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

    public static readonly IReadOnlyList<string> All = [Allowance, DataCap, HighSpend, LowBalance, Roaming];
}

/// <summary>A roaming rate as carried by a roaming reminder: price in micros per <see cref="Unit"/>.</summary>
public readonly record struct RoamingRate(long Price, long Unit);

/// <summary>
/// A reminder event read from <c>reminders</c> (SPEC §5). Which figures are meaningful depends on
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

    public required byte[] Raw { get; init; }

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
            error = e.Message;
            return null;
        }
    }

    private static string Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() ?? "" : "";

    private static string Required(string value, string name) =>
        value.Length > 0 ? value : throw new FormatException($"reminder needs {name}");

    private static long Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n)
            ? n
            : throw new FormatException($"reminder needs {name} as an integer");

    private static RoamingRate? Rate(JsonElement root, string name)
    {
        if (!root.TryGetProperty("rates", out var rates) || rates.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("roaming reminder needs rates");
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
