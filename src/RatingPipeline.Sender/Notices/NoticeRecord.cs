using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RatingPipeline.Sender.Notices;

/// <summary>Outcomes written to <c>notice-log</c>.</summary>
public static class NoticeOutcomes
{
    public const string Sent = "sent";
    public const string SuppressedOptOut = "suppressed-opt-out";
    public const string Deferred = "deferred";
    public const string Failed = "failed";

    /// <summary>A profile's <c>reminders</c> setting went from <c>on</c> to <c>off</c> (the opt-out itself).</summary>
    public const string OptOutRecorded = "opt-out-recorded";

    /// <summary>A profile's <c>reminders</c> setting went from <c>off</c> to <c>on</c>.</summary>
    public const string OptInRecorded = "opt-in-recorded";

    /// <summary>A mobile-originated SMS taken in by <c>POST /v1/mo</c>, not yet answered (kind <c>mo</c>).</summary>
    public const string Received = "received";

    /// <summary>A mobile-originated SMS answered: its command done and its replies sent (kind <c>mo</c>).</summary>
    public const string Answered = "answered";

    /// <summary>Outcomes after which the notice (or the recorded change, or the answered SMS) is never handled again.</summary>
    public static bool IsFinal(string outcome) => outcome is Sent or SuppressedOptOut or Failed or OptOutRecorded or OptInRecorded or Answered;

    /// <summary>Whether the record is a change of the <c>reminders</c> setting rather than the outcome of a notice.</summary>
    public static bool IsSettingChange(string outcome) => outcome is OptOutRecorded or OptInRecorded;
}

/// <summary>
/// One record of <c>notice-log</c> (key msisdn): what happened to the notice of one reminder (or bill) on one
/// channel, identified by its <see cref="IdempotencyKey"/> <c>eventId:channel</c>. A <c>deferred</c> record
/// carries the reminder itself and when it is due, so the backlog survives restarts. A change of a profile's
/// <c>reminders</c> setting is a record of its own (<c>opt-out-recorded</c>, <c>opt-in-recorded</c>, channel
/// <c>none</c>) with the time the sender saw it.
/// </summary>
public sealed record NoticeRecord
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public required string EventId { get; init; }

    public required string Msisdn { get; init; }

    public required string Kind { get; init; }

    /// <summary><c>sms</c>, <c>email</c> or <c>voice</c>; <c>none</c> for a record that delivers nothing (unreadable, setting change, inbound SMS).</summary>
    public required string Channel { get; init; }

    public required string Outcome { get; init; }

    /// <summary>The key the channel was given (<c>eventId:channel</c>); null for records that deliver nothing.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>Whether the notice goes out at once (quiet hours and the daily limit do not apply).</summary>
    public bool Urgent { get; init; }

    /// <summary>The notice text (for <c>deferred</c>: as rendered when deferred; it is rendered again when sent).</summary>
    public string? Text { get; init; }

    public string? Language { get; init; }

    /// <summary>Gateway or server calls made for this notice.</summary>
    public int Attempts { get; init; }

    /// <summary>Why it failed (<c>failed</c>) or was deferred (<c>deferred</c>).</summary>
    public string? Reason { get; init; }

    /// <summary>The reminder's <c>at</c> (the triggering CDR's start) as received.</summary>
    public string? At { get; init; }

    /// <summary>When this outcome was decided.</summary>
    public required DateTimeOffset LoggedAt { get; init; }

    /// <summary>When the channel accepted the notice (<c>sent</c> only).</summary>
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>When a <c>deferred</c> notice is due.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>The reminder as received (<c>deferred</c> only).</summary>
    public JsonElement? Reminder { get; init; }

    /// <summary>When the sender saw the profile change (<c>opt-out-recorded</c>, <c>opt-in-recorded</c>).</summary>
    public DateTimeOffset? SeenAt { get; init; }

    /// <summary>The timestamp of the changed profile's record on <c>subscribers</c> (<c>opt-out-recorded</c>, <c>opt-in-recorded</c>).</summary>
    public DateTimeOffset? ProfileAt { get; init; }

    /// <summary>The gateway's id of a mobile-originated SMS (kinds <c>mo</c> and <c>mo-reply</c>).</summary>
    public string? MoId { get; init; }

    /// <summary>The number the mobile-originated SMS was sent to (the gateway's <c>to</c>; <c>received</c> only).</summary>
    public string? ServiceNumber { get; init; }

    /// <summary>What the mobile-originated SMS asked: <c>list</c>, <c>cancel</c>, <c>cancel-all</c> or <c>help</c> (<c>answered</c>).</summary>
    public string? Command { get; init; }

    /// <summary>The ids of the services the command cancelled (<c>answered</c>, when it cancelled any).</summary>
    public IReadOnlyList<string>? Cancelled { get; init; }

    /// <summary>How many reply SMS the answer took (<c>answered</c>).</summary>
    public int? Replies { get; init; }

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static NoticeRecord? TryParse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var record = JsonSerializer.Deserialize<NoticeRecord>(utf8, Json);
            return record is { EventId.Length: > 0, Channel.Length: > 0, Outcome.Length: > 0 } ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
