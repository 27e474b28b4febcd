using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// Time to restore usage states from <c>rater-state</c>, per 100,000 subscribers, read and decoded the way the
/// rater restores an assigned partition: one reader, the partition assigned from its beginning to the end offset
/// seen first, every record decoded and put in the engine, last record per key winning. The mock cluster keeps
/// only ~5 MiB per partition, so the 100,000 states (~400 B each with a full duplicate memory) are spread over 16
/// partitions and read one after another; the figure is the total. Baselines in the same run: the same reads
/// without decoding, and kcat reading the whole topic.
/// </summary>
internal static class RestoreTime
{
    private const int Partitions = 16;

    public static void Run(int subscribers, int runs)
    {
        Section($"Restore of usage states from rater-state ({N(subscribers)} subscribers over {Partitions} partitions, median of {runs})");
        using var cluster = EmbeddedCluster.Start(Partitions);
        var topic = cluster.Topics.RaterState;
        var state = UsageState.New();
        state.HasCycle = true;
        state.CycleDay = 20_400;
        for (var i = 0; i < IdMemory.Capacity; i++)
        {
            state.RecentIds.Add((ulong)i * 0x9E3779B97F4A7C15UL);
        }

        long bytes = 0;
        using (var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientTuning.Producer(cluster.BootstrapServers)).Build())
        {
            for (var i = 0; i < subscribers; i++)
            {
                state.OffsetTag = i;
                var value = UsageStateCodec.ToArray(in state);
                var key = Encoding.ASCII.GetBytes(SyntheticData.MsisdnOf(i));
                bytes += key.Length + value.Length;
                Produce(producer, new TopicPartition(topic, i % Partitions), key, value);
            }

            producer.Flush(TimeSpan.FromSeconds(60));
        }

        Row("records produced", N(subscribers), $"({N(bytes / 1048576.0, 1)} MiB of keys and values, {N(bytes / (double)Partitions / 1048576.0, 2)} MiB per partition)");
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        var restored = 0;
        var cpus = new List<TimeSpan>();
        var withDecode = Median(runs, () =>
        {
            var cpu = Cpu();
            var engine = new RatingEngine(tariff);
            var clock = Stopwatch.StartNew();
            restored = Read(cluster.BootstrapServers, topic, (key, value) =>
            {
                if (MsisdnKey.TryCompute(key, out var k) && UsageStateCodec.TryRead(value, out var s))
                {
                    engine.SetState(k, in s);
                }
            });
            var elapsed = clock.Elapsed;
            cpus.Add(Cpu() - cpu);
            if (engine.StateCount != subscribers)
            {
                throw new InvalidOperationException($"restored {engine.StateCount} states, expected {subscribers}");
            }

            return elapsed;
        });
        var readCpus = new List<TimeSpan>();
        var readOnly = Median(runs, () =>
        {
            var cpu = Cpu();
            var elapsed = Figures.Time(() => Read(cluster.BootstrapServers, topic, (_, _) => { }));
            readCpus.Add(Cpu() - cpu);
            return elapsed;
        });
        var per100k = 100_000.0 / subscribers;
        static TimeSpan MedianOf(List<TimeSpan> list) => list.OrderBy(t => t).ElementAt(list.Count / 2);
        Row("restore (read + decode + into the engine)", $"{withDecode.TotalSeconds * per100k:F2} s", $"per 100,000 subscribers (wall; CPU {MedianOf(cpus).TotalSeconds * per100k:F2} s; load {LoadAverage()})");
        Row("baseline: the same reads, no decoding", $"{readOnly.TotalSeconds * per100k:F2} s", $"per 100,000 (wall; CPU {MedianOf(readCpus).TotalSeconds * per100k:F2} s)");
        if (KcatRead(cluster.BootstrapServers, topic, cluster.Topics.Reminders) is { } kcat)
        {
            var net = Math.Max(0, (kcat.Read - kcat.Start).TotalSeconds);
            Row("baseline: kcat -C -e, whole topic (all partitions at once)", $"{net * per100k:F2} s", $"per 100,000, net of kcat's start; {KcatRate(kcat, out var note)} {note}");
        }
        else
        {
            Row("baseline: kcat", "not installed");
        }
    }

    /// <summary>As the rater's restore: one reader for all partitions, each read from its beginning to its end offset.</summary>
    private static int Read(string bootstrap, string topic, Action<byte[], byte[]> apply)
    {
        var config = KafkaClientTuning.Consumer(bootstrap, "scale-restore", "none", forEmbeddedCluster: true);
        using var reader = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        var read = new ReadToEndOptions { Timeout = TimeSpan.FromMinutes(5) };
        var count = 0;
        for (var p = 0; p < Partitions; p++)
        {
            foreach (var record in PartitionReader.ReadToEnd(reader, topic, PartitionReader.Whole(reader, topic, [p]), read))
            {
                apply(record.Message.Key, record.Message.Value);
                count++;
            }
        }

        return count;
    }

    private static void Produce(IProducer<byte[], byte[]> producer, TopicPartition tp, byte[] key, byte[] value)
    {
        while (true)
        {
            try
            {
                producer.Produce(tp, new Message<byte[], byte[]> { Key = key, Value = value });
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }
}
