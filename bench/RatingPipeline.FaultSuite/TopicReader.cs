using Confluent.Kafka;
using RatingPipeline.Kafka;

namespace RatingPipeline.FaultSuite;

/// <summary>One record as read back from a topic.</summary>
internal sealed record TopicRecord(int Partition, long Offset, byte[]? Key, byte[]? Value, Headers? Headers)
{
    public string? Header(string name) =>
        Headers is not null && Headers.TryGetLastBytes(name, out var bytes) ? System.Text.Encoding.UTF8.GetString(bytes) : null;

    public int Size => (Key?.Length ?? 0) + (Value?.Length ?? 0) + (Headers?.Sum(h => h.Key.Length + (h.GetValueBytes()?.Length ?? 0)) ?? 0);
}

/// <summary>Everything a topic holds, partition by partition, and what is missing from it.</summary>
internal sealed class TopicContents(string topic, int partitions)
{
    public string Topic { get; } = topic;

    public List<TopicRecord> Records { get; } = [];

    /// <summary>Per partition: the first offset still held (above 0 only when the cluster dropped older records).</summary>
    public long[] Low { get; } = new long[partitions];

    public long[] High { get; } = new long[partitions];

    /// <summary>Per partition: key, value and header bytes of the records read.</summary>
    public long[] Bytes { get; } = new long[partitions];

    /// <summary>Offsets skipped between two records read (a hole in the log).</summary>
    public long Gaps { get; set; }

    /// <summary>Records the cluster no longer holds: the low watermarks above 0, and the holes.</summary>
    public long Dropped => Low.Sum() + Gaps;

    public long LargestPartitionBytes => Bytes.Length == 0 ? 0 : Bytes.Max();
}

/// <summary>Reads whole topics from their beginning to the end offsets seen when reading starts.</summary>
internal static class TopicReader
{
    public static TopicContents Read(string bootstrap, string topic, int partitions, TimeSpan timeout)
    {
        var config = KafkaClientTuning.Consumer(bootstrap, $"fault-suite-reader-{Guid.NewGuid():N}", "headers", forEmbeddedCluster: true);
        config.ClientId = "fault-suite-reader";
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        var contents = new TopicContents(topic, partitions);
        var ranges = PartitionReader.Whole(consumer, topic, Enumerable.Range(0, partitions));
        var next = new long[partitions];
        foreach (var range in ranges)
        {
            contents.Low[range.Partition] = range.Low;
            contents.High[range.Partition] = range.End;
            next[range.Partition] = range.Low;
        }

        foreach (var record in PartitionReader.ReadToEnd(consumer, topic, ranges, new ReadToEndOptions { Timeout = timeout }))
        {
            var p = record.Partition.Value;
            var offset = record.Offset.Value;
            if (offset > next[p])
            {
                contents.Gaps += offset - next[p];
            }

            next[p] = offset + 1;
            var copy = new TopicRecord(p, offset, record.Message.Key, record.Message.Value, record.Message.Headers);
            contents.Records.Add(copy);
            contents.Bytes[p] += copy.Size;
        }

        // A partition can end in offsets without records (the read ends when the consumer's position gets there).
        contents.Gaps += ranges.Sum(r => Math.Max(0, r.End - next[r.Partition]));
        consumer.Close();
        return contents;
    }
}
