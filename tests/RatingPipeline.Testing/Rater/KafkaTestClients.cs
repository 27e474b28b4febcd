using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>A record read back with the .NET client: exact bytes (binary state, invalid UTF-8 included).</summary>
internal sealed record TopicRecord(int Partition, long Offset, byte[]? Key, byte[]? Value, IReadOnlyList<KeyValuePair<string, byte[]>> Headers)
{
    public string KeyText => RecordKeys.Text(Key);
}

/// <summary>Reads whole topics and consumer-group progress with the .NET client.</summary>
internal static class TopicReader
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Every record of every partition of <paramref name="topic"/>, from the beginning to the end it has now.</summary>
    public static List<TopicRecord> ReadAll(string bootstrap, string topic, int partitions)
    {
        var config = KafkaClientTuning.Consumer(bootstrap, $"reader-{Guid.NewGuid():N}", "headers", forEmbeddedCluster: true);
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var ranges = PartitionReader.Whole(consumer, topic, Enumerable.Range(0, partitions));
        var records = new List<TopicRecord>();
        try
        {
            foreach (var result in PartitionReader.ReadToEnd(consumer, topic, ranges, new ReadToEndOptions { Timeout = Patience }))
            {
                var headers = result.Message.Headers?.Select(h => KeyValuePair.Create(h.Key, h.GetValueBytes())).ToList() ?? [];
                records.Add(new TopicRecord(result.Partition.Value, result.Offset.Value, result.Message.Key, result.Message.Value, headers));
            }
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_TimedOut)
        {
            Assert.Fail($"reading {topic} did not reach its end offsets {string.Join(',', ranges.Select(r => r.End))} within {Patience}: {e.Message}");
        }

        consumer.Close();
        return records;
    }

    /// <summary>The last record per key of a changelog topic (what a compacted topic keeps).</summary>
    public static Dictionary<string, TopicRecord> LastPerKey(IEnumerable<TopicRecord> records) =>
        records.GroupBy(r => r.KeyText).ToDictionary(g => g.Key, g => g.MaxBy(r => (r.Partition, r.Offset))!);
}

/// <summary>How far a consumer group has committed on a topic, against the topic's end offsets.</summary>
internal sealed class GroupProgress : IDisposable
{
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly List<TopicPartition> _partitions;

    public GroupProgress(string bootstrap, string group, string topic, int partitions)
    {
        var config = KafkaClientTuning.Consumer(bootstrap, group, "none", forEmbeddedCluster: true);
        _consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        _partitions = [.. Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p))];
    }

    /// <summary>Committed offsets summed over the partitions (a partition without a commit counts 0).</summary>
    public long Committed() =>
        _consumer.Committed(_partitions, TimeSpan.FromSeconds(10)).Sum(o => Math.Max(0, o.Offset.Value));

    /// <summary>End offsets summed over the partitions.</summary>
    public long End() => _partitions.Sum(p => _consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);

    /// <summary>Waits until the group has committed everything the topic holds now; fails with the gap otherwise.</summary>
    public async Task WaitUntilCaughtUpAsync(TimeSpan timeout, Func<string>? diagnostics = null)
    {
        var end = End();
        var caughtUp = await Poll.UntilAsync(() => Committed() >= end, timeout, TimeSpan.FromMilliseconds(200));
        if (!caughtUp)
        {
            Assert.Fail($"the group committed {Committed()} of {end} records within {timeout}{diagnostics?.Invoke()}");
        }
    }

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}

/// <summary>A .NET producer for test input (keyed like mediation and the BSS key theirs): every record acknowledged or the test fails.</summary>
internal sealed class TestProducer(string bootstrap) : IDisposable
{
    private readonly AcknowledgedProducer _producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(bootstrap), keepClientLog: true);

    /// <summary>Everything produced: once a record failed, every later flush fails too.</summary>
    private readonly AcknowledgementGroup _produced = new();

    public void Produce(string topic, string? key, byte[]? value) =>
        _producer.Produce(topic, new Message<byte[], byte[]> { Key = AcknowledgedProducer.Utf8Key(key)!, Value = value! }, _produced);

    /// <summary>Waits until everything produced so far is acknowledged; throws if that fails (also off the test thread).</summary>
    public void Flush()
    {
        try
        {
            _producer.Await(_produced, TimeSpan.FromSeconds(30), "test input");
        }
        catch (KafkaException e)
        {
            throw new InvalidOperationException($"test input not delivered: {e.Message}", e);
        }
    }

    public void Dispose() => _producer.Dispose();
}

/// <summary>
/// CDRs arriving over time, as from mediation: a background task produces them in chunks with a pause between
/// chunks (each chunk acknowledged before the next), so the rater can be stopped or killed while they stream in.
/// </summary>
internal sealed class CdrStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly Task _run;
    private int _produced;
    private int _limit;

    /// <param name="bootstrap">The cluster.</param>
    /// <param name="topic">The topic to produce to (key: the CDR's msisdn).</param>
    /// <param name="cdrs">The CDRs, in order.</param>
    /// <param name="chunk">CDRs per chunk.</param>
    /// <param name="pause">Wait between chunks.</param>
    /// <param name="holdAt">Stop before this many CDRs until <see cref="Release"/> or <see cref="ReleaseTo"/> (the whole stream when absent).</param>
    public CdrStream(string bootstrap, string topic, IReadOnlyList<byte[]> cdrs, int chunk, TimeSpan pause, int? holdAt = null)
    {
        Total = cdrs.Count;
        _limit = holdAt ?? int.MaxValue;
        _run = Task.Run(() =>
        {
            using var producer = new TestProducer(bootstrap);
            for (var i = 0; i < cdrs.Count && !_cancel.IsCancellationRequested; i += chunk)
            {
                var heldSince = Stopwatch.GetTimestamp();
                while (i >= Volatile.Read(ref _limit) && !_cancel.IsCancellationRequested)
                {
                    if (Stopwatch.GetElapsedTime(heldSince) > TimeSpan.FromMinutes(2))
                    {
                        throw new InvalidOperationException($"the CDR stream was held at {i} and never released");
                    }

                    _cancel.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(20));
                }

                var end = Math.Min(cdrs.Count, i + chunk);
                for (var j = i; j < end; j++)
                {
                    producer.Produce(topic, RecordKeys.Of(cdrs[j]), cdrs[j]);
                }

                producer.Flush();
                Volatile.Write(ref _produced, end);
                _cancel.Token.WaitHandle.WaitOne(pause);
            }
        });
    }

    public int Total { get; }

    public int Produced => Volatile.Read(ref _produced);

    /// <summary>Lets a held stream go on to its end.</summary>
    public void Release() => ReleaseTo(int.MaxValue);

    /// <summary>Lets a held stream go on up to (before) <paramref name="count"/> CDRs, rounded up to its chunk, and hold there.</summary>
    public void ReleaseTo(int count) => Volatile.Write(ref _limit, Math.Max(Volatile.Read(ref _limit), count));

    /// <summary>Waits for the last chunk; fails if the stream does not end within <paramref name="timeout"/>.</summary>
    public async Task WaitCompleteAsync(TimeSpan timeout)
    {
        var finished = await Task.WhenAny(_run, Task.Delay(timeout));
        Assert.That(finished, Is.SameAs(_run), $"CDR stream still producing after {timeout} ({Produced} of {Total})");
        await _run;
        Assert.That(Produced, Is.EqualTo(Total), "CDRs produced");
    }

    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            // Disposing after a failure: the first failure is the one reported.
        }

        _cancel.Dispose();
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Produced} of {Total} CDRs produced");
}
