using System.Diagnostics;
using Confluent.Kafka;

namespace RatingPipeline.Kafka;

/// <summary>
/// What one partition holds to be read: from <see cref="Start"/> up to <see cref="End"/>, the offset its next record
/// gets when the read began (its high watermark then). <see cref="Low"/> is the first offset the cluster still held.
/// </summary>
public readonly record struct PartitionRange(int Partition, long Low, long Start, long End)
{
    /// <summary>Nothing to read: the partition has no record at or after <see cref="Start"/>.</summary>
    public bool IsEmpty => End <= Start;
}

/// <summary>How a read to the end is bounded and what becomes of the consumer's assignment.</summary>
public sealed record ReadToEndOptions
{
    /// <summary>The longest a read may take; past it the read throws (<see cref="ErrorCode.Local_TimedOut"/>).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// False (a one-off read): the partitions are assigned for the read alone and unassigned after it; records at or
    /// after a partition's end are left out. True (restore, then follow): the partitions are added to what the consumer
    /// already follows and stay assigned; every record consumed meanwhile, of any partition and past the end too, is
    /// handed out, since the consumer's position has moved past it.
    /// </summary>
    public bool Follow { get; init; }

    /// <summary>Called with each non-fatal consume error the client rides out by itself (it fetches again from the same position).</summary>
    public Action<Error>? OnRetriedError { get; init; }
}

/// <summary>
/// Reads partitions of one topic from a start offset to the end they have when the read begins: a rater's state and
/// profile restore, the sender's notice-log and profile restore, ratingctl's topic snapshots, and whoever reads a
/// whole topic back (fault suite, benchmarks, tests). Bounded by a deadline and by cancellation; a non-fatal consume
/// error is ridden out (the client fetches again), a fatal one ends the read with a <see cref="KafkaException"/>
/// naming what was read. A partition is done when a record at or past its end offset minus one arrives, when the
/// consumer reports it at its end (<c>enable.partition.eof</c>), or when the consumer's position reached its end
/// (offsets past the last record that carry none, e.g. transaction markers).
/// </summary>
public static class PartitionReader
{
    /// <summary>How long a watermark query may wait for the cluster.</summary>
    public static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>The partition numbers of <paramref name="topic"/>, in order; throws <see cref="InvalidOperationException"/> when it does not exist.</summary>
    public static IReadOnlyList<int> PartitionsOf(IClient client, string topic)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var admin = new DependentAdminClientBuilder(client.Handle).Build();
        var metadata = admin.GetMetadata(topic, QueryTimeout);
        var partitions = metadata.Topics.SingleOrDefault(t => t.Topic == topic && !t.Error.IsError)?.Partitions.Select(p => p.PartitionId).Order().ToList();
        return partitions is { Count: > 0 } ? partitions : throw new InvalidOperationException($"topic {topic} does not exist");
    }

    /// <summary>The ranges of whole partitions: from the first offset the cluster holds to the end.</summary>
    public static IReadOnlyList<PartitionRange> Whole<TKey, TValue>(IConsumer<TKey, TValue> consumer, string topic, IEnumerable<int> partitions) =>
        Ranges(consumer, partitions.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

    /// <summary>
    /// The range of each partition from its start in <paramref name="from"/> (<see cref="Offset.Beginning"/>, or one
    /// below the first offset held: the first offset held) to its end now. All partitions belong to one topic.
    /// </summary>
    public static IReadOnlyList<PartitionRange> Ranges<TKey, TValue>(IConsumer<TKey, TValue> consumer, IEnumerable<TopicPartitionOffset> from)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        var ranges = new List<PartitionRange>();
        foreach (var start in from)
        {
            var marks = consumer.QueryWatermarkOffsets(start.TopicPartition, QueryTimeout);
            var low = Math.Max(0, marks.Low.Value);
            var first = start.Offset.Value >= low ? start.Offset.Value : low;
            ranges.Add(new PartitionRange(start.Partition.Value, low, first, Math.Max(0, marks.High.Value)));
        }

        return ranges;
    }

    /// <summary>
    /// The records of <paramref name="topic"/> in <paramref name="ranges"/>, as they arrive (partitions interleaved,
    /// each in offset order), until every range reached its end. See <see cref="ReadToEndOptions.Follow"/> for what is
    /// handed out besides. The consumer must read no other topic.
    /// </summary>
    public static IEnumerable<ConsumeResult<TKey, TValue>> ReadToEnd<TKey, TValue>(
        IConsumer<TKey, TValue> consumer, string topic, IReadOnlyList<PartitionRange> ranges, ReadToEndOptions options, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(ranges);
        ArgumentNullException.ThrowIfNull(options);
        var pending = ranges.Where(r => !r.IsEmpty).ToDictionary(r => r.Partition, r => r.End);
        if (options.Follow)
        {
            consumer.IncrementalAssign(ranges.Select(r => new TopicPartitionOffset(topic, r.Partition, r.Start)).ToList());
        }
        else if (pending.Count == 0)
        {
            return [];
        }
        else
        {
            consumer.Assign(ranges.Where(r => !r.IsEmpty).Select(r => new TopicPartitionOffset(topic, r.Partition, r.Start)));
        }

        return Read(consumer, topic, pending, options, cancel);
    }

    private static IEnumerable<ConsumeResult<TKey, TValue>> Read<TKey, TValue>(
        IConsumer<TKey, TValue> consumer, string topic, Dictionary<int, long> pending, ReadToEndOptions options, CancellationToken cancel)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(options.Timeout.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (pending.Count > 0)
            {
                cancel.ThrowIfCancellationRequested();
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    KafkaThrow.TimedOut($"reading {topic} partitions [{string.Join(',', pending.Keys)}] did not reach their end offsets [{string.Join(',', pending.Values)}] within {options.Timeout.TotalSeconds:F0} s");
                }

                var record = ConsumeOrRetry(consumer, PollSlice, options.OnRetriedError, topic);
                if (record is null)
                {
                    AtPosition(consumer, topic, pending);
                    continue;
                }

                var partition = record.Partition.Value;
                if (record.IsPartitionEOF)
                {
                    if (pending.TryGetValue(partition, out var at) && record.Offset.Value >= at)
                    {
                        pending.Remove(partition);
                    }

                    continue;
                }

                var within = pending.TryGetValue(partition, out var end) && record.Offset.Value < end;
                if (pending.ContainsKey(partition) && record.Offset.Value + 1 >= end)
                {
                    pending.Remove(partition);
                }

                if (within || options.Follow)
                {
                    yield return record;
                }
            }
        }
        finally
        {
            if (!options.Follow)
            {
                consumer.Unassign();
            }
        }
    }

    /// <summary>
    /// One record, or null when none came within <paramref name="timeout"/> or the client reported a non-fatal error
    /// (a fetch refused while a broker fails or a partition moves: the client fetches again from the same position).
    /// A fatal error throws a <see cref="KafkaException"/> naming <paramref name="what"/>.
    /// </summary>
    public static ConsumeResult<TKey, TValue>? ConsumeOrRetry<TKey, TValue>(IConsumer<TKey, TValue> consumer, TimeSpan timeout, Action<Error>? retried, string what)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            retried?.Invoke(e.Error);
            return null;
        }
        catch (ConsumeException e)
        {
            KafkaThrow.Fatal($"consuming {what}", e.Error);
            return null;
        }
    }

    /// <summary>Takes out the partitions whose position reached their end without a record to tell it (offsets without records).</summary>
    private static void AtPosition<TKey, TValue>(IConsumer<TKey, TValue> consumer, string topic, Dictionary<int, long> pending)
    {
        foreach (var (partition, end) in pending.ToList())
        {
            try
            {
                if (consumer.Position(new TopicPartition(topic, partition)).Value >= end)
                {
                    pending.Remove(partition);
                }
            }
            catch (KafkaException)
            {
                // No position known yet: the next record or the next look tells.
            }
        }
    }
}
