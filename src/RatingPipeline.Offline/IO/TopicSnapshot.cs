using Confluent.Kafka;
using RatingPipeline.Kafka;

namespace RatingPipeline.IO;

/// <summary>
/// Reads a whole topic as it stands (every partition from its first offset to its end) into a JSON Lines
/// file, so the offline commands can work on a cluster's topics with the same code as on files.
/// </summary>
public static class TopicSnapshot
{
    public enum Mode
    {
        /// <summary>Every record, partition by partition in offset order (a subscriber's records keep their order).</summary>
        All,

        /// <summary>The last value per key (a compacted topic's view); a null value deletes the key.</summary>
        LastPerKey,

        /// <summary>Every distinct value once: records re-delivered after a crash are byte-identical.</summary>
        DistinctValues,
    }

    public static async Task<long> ExportAsync(string bootstrap, string topic, string path, Mode mode, CancellationToken cancel)
    {
        var records = Read(bootstrap, topic, cancel);
        var lines = mode switch
        {
            Mode.LastPerKey => LastPerKey(records),
            Mode.DistinctValues => Distinct(records),
            _ => records.Where(r => r.Value is not null).Select(r => r.Value!),
        };
        long count = 0;
        await using var file = new BufferedStream(File.Create(path), 1 << 16);
        foreach (var value in lines)
        {
            // One record per line: a line break in a value is JSON whitespace outside strings (and invalid inside
            // them), so writing it as a space keeps the record's meaning and its validity.
            await file.WriteAsync(value.Select(b => b == (byte)'\n' ? (byte)' ' : b).ToArray(), cancel);
            file.WriteByte((byte)'\n');
            count++;
        }

        return count;
    }

    /// <summary>Reads every partition of a topic to its end offset (as it was when reading began).</summary>
    public static IEnumerable<(int Partition, long Offset, byte[]? Key, byte[]? Value)> Read(string bootstrap, string topic, CancellationToken cancel)
    {
        var config = KafkaClientTuning.Consumer(bootstrap, $"ratingctl-snapshot-{Guid.NewGuid():N}", "none");
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        var read = new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(300) };
        foreach (var partition in PartitionReader.PartitionsOf(consumer, topic))
        {
            // Partition by partition: a subscriber's records keep their order, and only one partition is read at a time.
            var ranges = PartitionReader.Whole(consumer, topic, [partition]);
            foreach (var record in PartitionReader.ReadToEnd(consumer, topic, ranges, read, cancel))
            {
                yield return (partition, record.Offset.Value, record.Message.Key, record.Message.Value);
            }
        }

        consumer.Close();
    }

    private static IEnumerable<byte[]> LastPerKey(IEnumerable<(int Partition, long Offset, byte[]? Key, byte[]? Value)> records)
    {
        var last = new Dictionary<string, byte[]?>();
        var order = new List<string>();
        foreach (var (_, _, key, value) in records)
        {
            var k = Convert.ToBase64String(key ?? []);
            if (!last.ContainsKey(k))
            {
                order.Add(k);
            }

            last[k] = value;
        }

        return order.Select(k => last[k]).Where(v => v is not null)!;
    }

    private static IEnumerable<byte[]> Distinct(IEnumerable<(int Partition, long Offset, byte[]? Key, byte[]? Value)> records)
    {
        var seen = new HashSet<string>();
        foreach (var (_, _, _, value) in records)
        {
            if (value is not null && seen.Add(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(value))))
            {
                yield return value;
            }
        }
    }
}
