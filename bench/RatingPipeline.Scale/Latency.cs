using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// CDR-to-reminder latency: CDRs are produced at a steady rate to an embedded cluster where one rater runs with
/// <c>Rater:BatchMaxWait</c> = 100 ms; watchers read <c>reminders</c> and <c>rated-cdrs</c> as they appear and
/// time each record from the moment its CDR was handed to the producer (so the producer's linger, the broker,
/// the rater's batch wait, rating, both acknowledgement waits and the watcher's fetch are all inside). Baseline
/// in the same run: a watcher reading the <c>cdrs</c> topic itself, the broker hop every figure contains. The
/// first two seconds of CDRs (connections, metadata, JIT) are produced but not timed.
/// </summary>
internal static class Latency
{
    private const int Subscribers = 10_000;
    private const int Partitions = 4;

    public static void Run(int ratePerSecond, int seconds)
    {
        Section($"CDR-to-reminder latency ({N(ratePerSecond)} CDRs/s for {seconds} s over {N(Subscribers)} subscribers, {Partitions} partitions, batches of up to 100 ms)");
        var (profiles, keys, values) = EmbeddedRun.Generate(11, Subscribers, ratePerSecond * seconds);
        var ids = values.Select(v => StringField(v, "id")).ToArray();
        var tariffPath = EmbeddedRun.WriteDemoTariff("latency");
        using var cluster = EmbeddedCluster.Start(Partitions);
        EmbeddedRun.ProduceProfiles(cluster, profiles);
        var app = EmbeddedRun.StartRater(cluster, tariffPath, $"scale-latency-{Guid.NewGuid():N}", batchMaxWaitMs: 100);
        var sent = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        using var stop = new CancellationTokenSource();
        var watchers = new[]
        {
            new Watcher(cluster, cluster.Topics.Cdrs, "id", sent),
            new Watcher(cluster, cluster.Topics.RatedCdrs, "id", sent),
            new Watcher(cluster, cluster.Topics.Reminders, "cdrId", sent),
        };
        var threads = watchers.Select(w => w.Start(stop.Token)).ToList();
        try
        {
            EmbeddedRun.WaitUntil(() => watchers.All(w => w.Assigned), TimeSpan.FromSeconds(30), "watchers assigned");
            Pace(cluster, keys, values, ids, sent, ratePerSecond);

            // Everything produced is rated within a few batches; give the last ones two seconds to arrive.
            var quiet = Stopwatch.StartNew();
            var seen = watchers.Sum(w => w.Count);
            while (quiet.Elapsed < TimeSpan.FromSeconds(2))
            {
                Thread.Sleep(100);
                var now = watchers.Sum(w => w.Count);
                if (now != seen)
                {
                    seen = now;
                    quiet.Restart();
                }
            }
        }
        finally
        {
            stop.Cancel();
            threads.ForEach(t => t.Join(TimeSpan.FromSeconds(30)));
            EmbeddedRun.Stop(app);
            File.Delete(tariffPath);
        }

        Report("baseline: CDR readable on cdrs (broker hop)", watchers[0]);
        Report("CDR → rated record readable on rated-cdrs", watchers[1]);
        Report("CDR → reminder readable on reminders", watchers[2]);
        var p99 = watchers[2].Percentile(0.99);
        Row("reminder p99 against the target", $"{p99 * 1000:F0} ms", $"(target < 1,000 ms: {(p99 < 1 ? "met" : "MISSED")}; load {LoadAverage()})");
    }

    /// <summary>Produces the CDRs at <paramref name="ratePerSecond"/>, each at its due time, noting when each id was handed over.</summary>
    private static void Pace(EmbeddedCluster cluster, byte[][] keys, byte[][] values, string?[] ids, ConcurrentDictionary<string, long> sent, int ratePerSecond)
    {
        using var producer = EmbeddedRun.NewProducer(cluster);
        var warmUp = 2 * ratePerSecond; // the first two seconds (connections, metadata, JIT) are not timed
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < values.Length; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / ratePerSecond);
            if (due > clock.Elapsed)
            {
                Thread.Sleep(due - clock.Elapsed);
            }

            if (i >= warmUp && ids[i] is { } id)
            {
                sent.TryAdd(id, Stopwatch.GetTimestamp()); // a duplicate keeps its first hand-over
            }

            producer.Produce(cluster.Topics.Cdrs, new Message<byte[], byte[]> { Key = keys[i], Value = values[i] });
        }

        producer.Flush(TimeSpan.FromSeconds(60));
    }

    private static void Report(string name, Watcher watcher)
    {
        if (watcher.Count == 0)
        {
            Row(name, "no records");
            return;
        }

        Row(name, $"p50 {watcher.Percentile(0.5) * 1000:F0} ms", $"p99 {watcher.Percentile(0.99) * 1000:F0} ms, max {watcher.Percentile(1) * 1000:F0} ms ({N(watcher.Count)} records)");
    }

    /// <summary>A top-level string member of a JSON object, or null (not JSON, not an object, no such string: the malformed part of the mix).</summary>
    private static string? StringField(byte[] value, string name)
    {
        try
        {
            using var document = JsonDocument.Parse(value);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var field) && field.ValueKind == JsonValueKind.String
                ? field.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Reads one topic from its start and records, per record, the time since its CDR was handed to the producer.</summary>
    private sealed class Watcher(EmbeddedCluster cluster, string topic, string idField, ConcurrentDictionary<string, long> sent)
    {
        private readonly List<double> _seconds = [];
        private volatile bool _assigned;

        public bool Assigned => _assigned;

        public int Count
        {
            get
            {
                lock (_seconds)
                {
                    return _seconds.Count;
                }
            }
        }

        public Thread Start(CancellationToken stop)
        {
            var thread = new Thread(() => Loop(stop)) { IsBackground = true, Name = $"watch {topic}" };
            thread.Start();
            return thread;
        }

        public double Percentile(double p)
        {
            lock (_seconds)
            {
                var sorted = _seconds.Order().ToList();
                return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
            }
        }

        private void Loop(CancellationToken stop)
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(cluster.BootstrapServers, $"watch-{Guid.NewGuid():N}", "none", forEmbeddedCluster: true))
                .SetLogHandler((_, _) => { }).Build();
            consumer.Assign(Enumerable.Range(0, cluster.Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            _assigned = true;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (!stop.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(50));
                var arrived = Stopwatch.GetTimestamp();
                if (record?.Message.Value is not { } value || StringField(value, idField) is not { } id || !sent.TryGetValue(id, out var handedOver))
                {
                    continue;
                }

                // One figure per record: a CDR's second reminder (or a repeated output) is a record of its own.
                var key = idField == "id" ? id : $"{id}#{record.Offset.Value}@{record.Partition.Value}";
                if (seen.Add(key))
                {
                    lock (_seconds)
                    {
                        _seconds.Add(Stopwatch.GetElapsedTime(handedOver, arrived).TotalSeconds);
                    }
                }
            }

            consumer.Close();
        }
    }
}
