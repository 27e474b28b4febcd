using System.Globalization;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.Records;

namespace RatingPipeline.Rater;

/// <summary>
/// Headers of a record on <c>cdrs-dlq</c>, following Kafka Connect's dead-letter convention
/// (<c>__connect.errors.*</c>, UTF-8 string values), so existing tooling reads them: where the record came
/// from (topic, partition, offset), and why it was rejected — the reason code in
/// <c>__connect.errors.exception.class.name</c> and the human detail in <c>__connect.errors.exception.message</c>.
/// <para>
/// <see cref="Source"/> (<c>ratingpipeline.source</c> = <c>topic:partition:offset</c>) is the dead letter's
/// deterministic identity, as <c>id</c> is a rated record's and <c>eventId</c> a reminder's: the same rejected
/// record dead-lettered again after a crash carries the same value, so consumers de-duplicate on it.
/// </para>
/// </summary>
public static class DeadLetterHeaders
{
    public const string Topic = "__connect.errors.topic";
    public const string Partition = "__connect.errors.partition";
    public const string Offset = "__connect.errors.offset";
    public const string ConnectorName = "__connect.errors.connector.name";
    public const string Stage = "__connect.errors.stage";
    public const string Reason = "__connect.errors.exception.class.name";
    public const string Detail = "__connect.errors.exception.message";
    public const string Source = "ratingpipeline.source";

    /// <summary>The identity of the dead letter of the record at <paramref name="offset"/>: <c>topic:partition:offset</c>.</summary>
    public static string SourceOf(string topic, int partition, long offset) =>
        string.Create(CultureInfo.InvariantCulture, $"{topic}:{partition}:{offset}");

    public static Headers Create(string topic, int partition, long offset, RejectReason reason, string detail) => new()
    {
        { Topic, Encoding.UTF8.GetBytes(topic) },
        { Partition, Encoding.UTF8.GetBytes(partition.ToString(CultureInfo.InvariantCulture)) },
        { Offset, Encoding.UTF8.GetBytes(offset.ToString(CultureInfo.InvariantCulture)) },
        { ConnectorName, "ratingpipeline-rater"u8.ToArray() },
        { Stage, "RATING"u8.ToArray() },
        { Reason, Encoding.UTF8.GetBytes(RecordNames.ReasonText(reason)) },
        { Detail, Encoding.UTF8.GetBytes(detail) },
        { Source, Encoding.UTF8.GetBytes(SourceOf(topic, partition, offset)) },
    };
}
