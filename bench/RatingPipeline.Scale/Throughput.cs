using System.Diagnostics;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// CDRs per second one rater rates with every output and state record acknowledged and the offsets committed,
/// on an embedded cluster with 1, 2 and 4 partitions: the checkpointed pipeline (a checkpoint every second, the
/// default) and the same rater checkpointing after every batch (<c>Rater:CheckpointInterval=0</c>, the loop before the
/// pipeline). The CDRs are streamed in with at most <see cref="LagCap"/> unconsumed (the mock keeps only ~5 MiB per
/// partition, so they cannot be preloaded). Baselines in the same run: a bare consume → produce passthrough of the same
/// records with the same clients, batching and acknowledgement wait (no rating, no state); the same passthrough sending
/// rated-size records through the product's producer wrapper (the rater's output volume and acknowledgement cost
/// without its rating); and kcat reading a preloaded
/// <c>cdrs</c> topic (the raw client ceiling of this cluster). A warm-up of every loop runs first, in rounds until one compiles
/// almost nothing (the JIT has reached its steady state), and is not reported; each run says what the JIT cost in it.
/// </summary>
internal static class Throughput
{
    private const int LagCap = 20_000;
    private const int Subscribers = 10_000;
    private const int WarmUp = 100_000;

    /// <summary>A warm-up round that compiles fewer methods than this (over its four loops) ends the warm-up.</summary>
    private const int WarmMethods = 100;

    private const int MaxWarmRounds = 5;

    /// <summary>About the size of a rated record (403 B on average for the offline 1,000,000-CDR set of bench/rate-throughput.sh).</summary>
    internal const int RatedRecordBytes = 400;

    public static void Run(int cdrs, int[] partitionCounts, int lanes = 1, int rounds = 1)
    {
        Section($"Throughput, one rater with {lanes} lane(s) ({N(cdrs)} CDRs over {N(Subscribers)} subscribers streamed in; all outputs acknowledged)");
        var lanesText = lanes.ToString(Invariant);
        var pipelined = new Dictionary<string, string> { ["Rater:Lanes"] = lanesText };
        var perBatch = new Dictionary<string, string> { ["Rater:Lanes"] = lanesText, ["Rater:CheckpointInterval"] = "00:00:00" };
        var (profiles, keys, values) = EmbeddedRun.Generate(7, Subscribers, cdrs);
        var tariffPath = EmbeddedRun.WriteDemoTariff("throughput");

        // The first runs in a process pay the JIT (tiered compilation: instrumented code, then optimised code) and first-use
        // costs. The warm-up runs every loop until a round of them compiles fewer than WarmMethods methods, so the
        // measured runs see the steady state: one short round left most of the rater's code to be recompiled during the
        // first measured run (1,653 methods, 1.2 µs of JIT per CDR, against 244 in the next round's).
        var warm = Math.Min(cdrs, WarmUp);
        var warmRounds = 0;
        long compiled;
        do
        {
            warmRounds++;
            compiled = RaterRun(partitionCounts[0], profiles, keys[..warm], values[..warm], tariffPath, pipelined).Jitted
                + RaterRun(partitionCounts[0], profiles, keys[..warm], values[..warm], tariffPath, perBatch).Jitted
                + PassthroughRun(partitionCounts[0], keys[..warm], values[..warm]).Jitted
                + PassthroughRun(partitionCounts[0], keys[..warm], values[..warm], ratedSized: true).Jitted;
        }
        while (compiled >= WarmMethods && warmRounds < MaxWarmRounds);

        Row("warm-up (not reported)", $"{warmRounds} round(s)", $"({N(warm)} CDRs through each loop per round; {N(compiled)} methods compiled in the last, "
            + $"{(compiled < WarmMethods ? "steady" : $"still ≥ {WarmMethods}: the first measured runs include JIT")})");

        var ratios = partitionCounts.ToDictionary(p => p, _ => new List<(double Speed, double Cpu)>());
        for (var round = 1; round <= rounds; round++)
        {
            var prefix = rounds > 1 ? $"[{round}] " : "";
            foreach (var partitions in partitionCounts)
            {
                var rater = RaterRun(partitions, profiles, keys, values, tariffPath, pipelined);
                var everyBatch = RaterRun(partitions, profiles, keys, values, tariffPath, perBatch);
                var passthrough = PassthroughRun(partitions, keys, values);
                var sized = PassthroughRun(partitions, keys, values, ratedSized: true);
                Row($"{prefix}{partitions} partition(s): rater, checkpoint every 1 s", $"{N(cdrs / rater.Committed.TotalSeconds)} CDRs/s", rater.Note(cdrs));
                Row($"{prefix}{partitions} partition(s): rater, checkpoint every batch", $"{N(cdrs / everyBatch.Committed.TotalSeconds)} CDRs/s", everyBatch.Note(cdrs));
                Row($"{prefix}{partitions} partition(s): baseline consume → produce passthrough", $"{N(cdrs / passthrough.Committed.TotalSeconds)} rec/s", passthrough.Note(cdrs));
                Row($"{prefix}{partitions} partition(s): passthrough of rated-size records", $"{N(cdrs / sized.Committed.TotalSeconds)} rec/s",
                    sized.Note(cdrs) + $"; the rater's CPU per CDR {rater.Cpu.TotalMicroseconds / sized.Cpu.TotalMicroseconds:F2} × this one's");
                var ratio = passthrough.Committed.TotalSeconds / rater.Committed.TotalSeconds;
                var cpuRatio = rater.Cpu.TotalMicroseconds / passthrough.Cpu.TotalMicroseconds;
                ratios[partitions].Add((ratio, cpuRatio));
                Row($"{prefix}{partitions} partition(s): rater / passthrough", $"{ratio:F2}",
                    $"(target ≥ 0.80: {(ratio >= 0.8 ? "met" : "MISSED")}; every batch: {passthrough.Committed.TotalSeconds / everyBatch.Committed.TotalSeconds:F2}; "
                    + $"to all consumed: {passthrough.Consumed.TotalSeconds / rater.Consumed.TotalSeconds:F2}; "
                    + $"CPU per CDR {cpuRatio:F2} × the passthrough's)");
                KcatCeiling(partitions, keys, values);
            }
        }

        if (rounds > 1)
        {
            foreach (var (partitions, list) in ratios)
            {
                var speed = Median(list.Select(r => r.Speed));
                Row($"{partitions} partition(s): rater / passthrough, median of {rounds} rounds", $"{speed:F2}",
                    $"(target ≥ 0.80: {(speed >= 0.8 ? "met" : "MISSED")}; rounds {string.Join(", ", list.Select(r => r.Speed.ToString("F2", Invariant)))}; "
                    + $"CPU per CDR {Median(list.Select(r => r.Cpu)):F2} × the passthrough's, target ≤ 1.50; rounds {string.Join(", ", list.Select(r => r.Cpu.ToString("F2", Invariant)))})");
            }
        }

        File.Delete(tariffPath);
    }

    private static FeedTimes RaterRun(int partitions, byte[][] profiles, byte[][] keys, byte[][] values, string tariffPath, IReadOnlyDictionary<string, string> settings)
    {
        using var cluster = EmbeddedCluster.Start(partitions);
        EmbeddedRun.ProduceProfiles(cluster, profiles);
        var group = $"scale-rater-{Guid.NewGuid():N}";
        var app = EmbeddedRun.StartRater(cluster, tariffPath, group, batchMaxWaitMs: 100, settings);
        try
        {
            var consumedBefore = RaterMetrics.ReadTotals().Consumed;
            return Feed(cluster, group, keys, values, () => RaterMetrics.ReadTotals().Consumed - consumedBefore);
        }
        finally
        {
            EmbeddedRun.Stop(app);
        }
    }

    /// <summary>
    /// The rater's loop without rating or state: consume a batch, produce each record, wait for the acknowledgements,
    /// commit. With <paramref name="ratedSized"/>, each record goes out as the rater's rated record would: a value of
    /// <see cref="RatedRecordBytes"/> (the record's bytes, padded), through the product's producer wrapper and its direct
    /// producer with a delivery report counted per record, acknowledged per batch — the rater's output volume and
    /// acknowledgement cost without its rating, state, bills and reminders, so the gap between the two says what those cost.
    /// </summary>
    private static FeedTimes PassthroughRun(int partitions, byte[][] keys, byte[][] values, bool ratedSized = false)
    {
        using var cluster = EmbeddedCluster.Start(partitions);
        var group = $"scale-passthrough-{Guid.NewGuid():N}";
        long consumed = 0;
        using var stop = new CancellationTokenSource();
        var loop = Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(cluster.BootstrapServers, group, "none", forEmbeddedCluster: true))
                .SetLogHandler((_, _) => { }).Build();
            var config = KafkaClientTuning.Producer(cluster.BootstrapServers);
            config.QueueBufferingMaxMessages = 1_000_000;
            // The rated-size records go out as the rater's outputs do: through a direct producer beside the client.
            using var acknowledged = ratedSized
                ? new AcknowledgedProducer(new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build(), DirectProducer.Build(config))
                : AcknowledgedProducer.Build(config);
            var producer = acknowledged.Client;
            var message = new Message<byte[], byte[]>();
            consumer.Subscribe(cluster.Topics.Cdrs);
            var batch = new List<ConsumeResult<byte[], byte[]>>(5000);
            while (!stop.IsCancellationRequested)
            {
                batch.Clear();
                var first = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (first is null)
                {
                    continue;
                }

                batch.Add(first);
                var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 10);
                while (batch.Count < 5000 && Stopwatch.GetTimestamp() < deadline && consumer.Consume(TimeSpan.FromMilliseconds(5)) is { } next)
                {
                    batch.Add(next);
                }

                if (ratedSized)
                {
                    var group = new AcknowledgementGroup();
                    foreach (var record in batch)
                    {
                        ProduceRatedSized(acknowledged, message, record, cluster.Topics.RatedCdrs, group);
                    }

                    acknowledged.Await(group, TimeSpan.FromSeconds(60), "rated-size passthrough");
                }
                else
                {
                    foreach (var record in batch)
                    {
                        producer.Produce(new TopicPartition(cluster.Topics.RatedCdrs, record.Partition), new Message<byte[], byte[]> { Key = record.Message.Key, Value = record.Message.Value });
                    }

                    producer.Flush(TimeSpan.FromSeconds(60));
                }

                consumer.Commit(batch.GroupBy(r => r.Partition.Value).Select(g => new TopicPartitionOffset(cluster.Topics.Cdrs, g.Key, g.Max(r => r.Offset.Value) + 1)));
                Interlocked.Add(ref consumed, batch.Count);
            }

            consumer.Close();
        }, stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            return Feed(cluster, group, keys, values, () => Interlocked.Read(ref consumed));
        }
        finally
        {
            stop.Cancel();
            loop.Wait(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// The rated-size passthrough's work per record: a value of <see cref="RatedRecordBytes"/> (the record's bytes,
    /// padded) under the record's key, produced through <paramref name="producer"/> into <paramref name="group"/> on the
    /// record's partition of <paramref name="topic"/> (<paramref name="message"/> is reused). With a direct producer the
    /// value is a reused buffer handed over as a span, as the rater's outputs are; otherwise a new array per record.
    /// </summary>
    internal static void ProduceRatedSized(AcknowledgedProducer producer, Message<byte[], byte[]> message, ConsumeResult<byte[], byte[]> record,
        string topic, AcknowledgementGroup group)
    {
        if (producer.Direct is not null)
        {
            // As the rater hands over its outputs: a slice of a reused buffer, copied by the client.
            var scratch = message.Value is { Length: RatedRecordBytes } reused ? reused : message.Value = new byte[RatedRecordBytes];
            record.Message.Value.AsSpan(0, Math.Min(record.Message.Value.Length, RatedRecordBytes)).CopyTo(scratch);
            producer.CountIn(group, 1);
            producer.ProduceCounted(new TopicPartition(topic, record.Partition), record.Message.Key, scratch, null, group);
            return;
        }

        var value = new byte[RatedRecordBytes];
        record.Message.Value.AsSpan(0, Math.Min(record.Message.Value.Length, value.Length)).CopyTo(value);
        message.Key = record.Message.Key;
        message.Value = value;
        producer.Produce(new TopicPartition(topic, record.Partition), message, group);
    }

    /// <summary>
    /// Streams the CDRs in, never more than <see cref="LagCap"/> ahead of what the system under test consumed, and
    /// returns the time from the first CDR produced to every CDR consumed and to every CDR's offset committed by
    /// <paramref name="group"/>, and the process's CPU time over the latter.
    /// </summary>
    internal static FeedTimes Feed(EmbeddedCluster cluster, string group, byte[][] keys, byte[][] values, Func<long> consumed)
    {
        using var producer = EmbeddedRun.NewProducer(cluster);
        using var offsets = new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(cluster.BootstrapServers, group, "none", forEmbeddedCluster: true))
            .SetLogHandler((_, _) => { }).Build();
        var tps = Enumerable.Range(0, cluster.Partitions).Select(p => new TopicPartition(cluster.Topics.Cdrs, p)).ToList();
        var cpu = Cpu();
        var jit = System.Runtime.JitInfo.GetCompilationTime();
        var jitted = System.Runtime.JitInfo.GetCompiledMethodCount();
        var clock = Stopwatch.StartNew();
        // What was consumed is read again only when the cap is reached: the rater's figure comes from its metrics, and
        // reading them per record would cost the process more CPU than the loop being measured.
        var known = 0L;
        for (var i = 0; i < values.Length; i++)
        {
            while (i - known >= LagCap)
            {
                known = consumed();
                if (i - known >= LagCap)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }

            while (true)
            {
                try
                {
                    producer.Produce(cluster.Topics.Cdrs, new Message<byte[], byte[]> { Key = keys[i], Value = values[i] });
                    break;
                }
                catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }

        producer.Flush(TimeSpan.FromSeconds(60));
        EmbeddedRun.WaitUntil(() => consumed() >= values.Length, TimeSpan.FromMinutes(10), "all consumed");
        var rated = clock.Elapsed;
        EmbeddedRun.WaitUntil(() => offsets.Committed(tps, TimeSpan.FromSeconds(10)).Sum(c => Math.Max(0, c.Offset.Value)) >= values.Length,
            TimeSpan.FromMinutes(2), "all committed");
        return new FeedTimes(rated, clock.Elapsed, Cpu() - cpu, System.Runtime.JitInfo.GetCompilationTime() - jit,
            System.Runtime.JitInfo.GetCompiledMethodCount() - jitted);
    }

    /// <summary>
    /// One run: every record consumed (rated), every offset committed (durable), the process's CPU time until then, and
    /// the JIT's part of it (methods compiled, and the time compiling them, in any thread): code still being compiled in a
    /// measured run means the warm-up did not reach the steady state.
    /// </summary>
    internal sealed record FeedTimes(TimeSpan Consumed, TimeSpan Committed, TimeSpan Cpu, TimeSpan Jit, long Jitted)
    {
        public string Note(int records) =>
            $"({Committed.TotalSeconds:F1} s to all committed, {Consumed.TotalSeconds:F1} s to all consumed; CPU {Cpu.TotalMicroseconds / records:F1} µs per record, "
            + $"of which JIT {Jit.TotalMicroseconds / records:F1} µs ({N(Jitted)} methods); load {LoadAverage()})";
    }

    /// <summary>kcat reading a preloaded cdrs topic from the beginning to its end: what a plain client gets from this cluster.</summary>
    private static void KcatCeiling(int partitions, byte[][] keys, byte[][] values)
    {
        using var cluster = EmbeddedCluster.Start(partitions);
        var count = Math.Min(values.Length, 20_000 * partitions); // stays under the mock's ~5 MiB per partition
        using (var producer = EmbeddedRun.NewProducer(cluster))
        {
            for (var i = 0; i < count; i++)
            {
                producer.Produce(cluster.Topics.Cdrs, new Message<byte[], byte[]> { Key = keys[i], Value = values[i] });
            }

            producer.Flush(TimeSpan.FromSeconds(60));
        }

        if (KcatRead(cluster.BootstrapServers, cluster.Topics.Cdrs, cluster.Topics.Reminders) is { } kcat)
        {
            Row($"{partitions} partition(s): ceiling, kcat -C -e (preloaded)", KcatRate(kcat, out var note), note);
        }
        else
        {
            Row($"{partitions} partition(s): ceiling, kcat", "not installed");
        }
    }
}
