namespace RatingPipeline.Sender.Channels;

/// <summary>The channels a profile can choose.</summary>
public static class ChannelNames
{
    public const string Sms = "sms";
    public const string Email = "email";
    public const string Voice = "voice";

    public static readonly IReadOnlyList<string> All = [Sms, Email, Voice];
}

/// <summary>One notice to deliver: the rendered text, to whom, with its idempotency key <see cref="Key"/>.</summary>
public sealed record Notice(string EventId, string Channel, string To, string Text, string Subject)
{
    /// <summary>
    /// The notice's idempotency key, <c>eventId:channel</c>: the SMS and the voice call of one event are two
    /// notices, so a gateway serving both never takes one for a repeat of the other.
    /// </summary>
    public string Key => KeyOf(EventId, Channel);

    public static string KeyOf(string eventId, string channel) => $"{eventId}:{channel}";
}

/// <summary>
/// A way to reach a subscriber. One call is one attempt: it returns when the gateway or server accepted
/// the notice, and throws <see cref="TransientDeliveryException"/> (worth retrying) or
/// <see cref="PermanentDeliveryException"/> (never).
/// </summary>
public interface INoticeChannel
{
    string Name { get; }

    Task SendAsync(Notice notice, CancellationToken cancellationToken);
}

/// <summary>A failure that may pass: 408, 429, 5xx, a connection error, a 4xx SMTP reply.</summary>
public sealed class TransientDeliveryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A failure that will not pass by retrying: any other 4xx, a 5xx SMTP reply, a bad address.</summary>
public sealed class PermanentDeliveryException(string message, Exception? inner = null) : Exception(message, inner);
