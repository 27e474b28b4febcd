using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Confluent.Kafka;

namespace RatingPipeline.Kafka;

/// <summary>
/// The Kafka faults the product raises itself, in one place (as Sep's <c>SepThrow</c>): each method never returns and
/// stays out of stack traces, so the loops that call it keep a small body, and every fault of a kind reads alike.
/// A worker ends its session on any of them and starts over from its last commit.
/// </summary>
public static class KafkaThrow
{
    /// <summary>Something the product waits for (acknowledgements, a restore reaching its end) did not happen in time.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void TimedOut(string what) => throw new KafkaException(new Error(ErrorCode.Local_TimedOut, what));

    /// <summary>A record was not delivered: the client's delivery report carried an error.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void DeliveryFailed(string what, string error) => throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{what} delivery failed: {error}"));

    /// <summary>The client reported a fatal error (it cannot go on; only new clients can).</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Fatal(string what, Error error) => throw new KafkaException(new Error(error.Code, $"{what}: {error.Reason}", isFatal: true));

    /// <summary>The client refused a record at once (unknown partition, record too large, a fatal error, …).</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Refused(string topic, Error error) =>
        throw new KafkaException(new Error(error.Code, $"{topic}: the client refused the record: {error.Reason}", isFatal: error.Code == ErrorCode.Local_Fatal));
}
