using System.Text;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

/// <summary>
/// The producer that drives librdkafka directly for a worker's outputs: what it writes reads back from the cluster
/// exactly as produced (keys absent, empty or set; values from spans of a larger buffer; headers; the partition asked
/// for or the partitioner's choice); its records count in and out of their groups like the Confluent.Kafka producer's
/// (failures with their topic and reason: <see cref="AcknowledgedProducerTests"/>); a group's registration leaves with
/// its last report; and it allocates nothing per record.
/// </summary>
[TestFixture]
[Category("kafka")]
public sealed class DirectProducerTests
{
    private const string Topic = "rated-cdrs";

    [Test]
    public void What_it_produces_reads_back_byte_for_byte_with_keys_headers_and_partitions()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var producer = Build(KafkaClientTuning.Producer(cluster.BootstrapServers));
        var group = new AcknowledgementGroup();
        // The values are slices of one buffer, as a worker's outputs are slices of its batch's bytes.
        var buffer = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 60).Select(i => $"<value {i}>")));
        var expected = new List<(int Partition, byte[]? Key, string Value, string? Source)>();
        producer.CountIn(group, 60);
        var at = 0;
        for (var i = 0; i < 60; i++)
        {
            var length = $"<value {i}>".Length;
            byte[]? key = (i % 3) switch { 0 => null, 1 => [], _ => Encoding.ASCII.GetBytes($"4477{i:D5}") };
            var headers = i % 4 == 0 ? new Headers { { "ratingpipeline.source", Encoding.ASCII.GetBytes($"cdrs:0:{i}") } } : null;
            producer.ProduceCounted(new TopicPartition(Topic, i % 2), key, buffer.AsSpan(at, length), headers, group);
            expected.Add((i % 2, key, Encoding.ASCII.GetString(buffer, at, length), headers is null ? null : $"cdrs:0:{i}"));
            at += length;
        }

        producer.Await(group, TimeSpan.FromSeconds(30), "direct records");
        var read = ReadAll(cluster, [0, 1]);

        Assert.Multiple(() =>
        {
            Assert.That((group.Produced, group.Pending, group.Failed), Is.EqualTo((60L, 0L, 0L)));
            Assert.That(producer.Direct!.GroupsInFlight, Is.Zero, "the group's registration left with its last report");
            Assert.That(read.Select(Describe), Is.EquivalentTo(expected.Select(e => (e.Partition, Show(e.Key), e.Value, e.Source))));
            // Order per partition is the order produced.
            Assert.That(read.Where(r => r.Partition.Value == 0).Select(r => Encoding.ASCII.GetString(r.Message.Value)),
                Is.EqualTo(expected.Where(e => e.Partition == 0).Select(e => e.Value)));
        });
    }

    [Test]
    public void A_flush_returns_when_every_record_is_acknowledged_with_or_without_a_limit([Values] bool limited)
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var producer = Build(KafkaClientTuning.Producer(cluster.BootstrapServers));
        var group = new AcknowledgementGroup();
        producer.CountIn(group, 500);
        for (var i = 0; i < 500; i++)
        {
            producer.ProduceCounted(new TopicPartition(Topic, i % 2), [(byte)i], "value"u8, null, group);
        }

        var left = producer.Flush(limited ? TimeSpan.FromSeconds(30) : Timeout.InfiniteTimeSpan);

        Assert.Multiple(() =>
        {
            Assert.That(left, Is.Zero, "nothing in flight after the flush");
            // The poll thread counts the last reports out just after the client's queue empties.
            Assert.That(producer.Drain(group, TimeSpan.FromSeconds(5)), Is.True);
            Assert.That(group.Failed, Is.Zero);
            Assert.That(ReadAll(cluster, [0, 1]), Has.Count.EqualTo(500));
        });
    }

    [Test]
    public void A_record_for_any_partition_goes_where_the_partitioner_puts_its_key()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 3);
        using var producer = Build(KafkaClientTuning.Producer(cluster.BootstrapServers));
        var group = new AcknowledgementGroup();
        producer.CountIn(group, 30);
        for (var i = 0; i < 30; i++)
        {
            producer.ProduceCounted(new TopicPartition(Topic, Partition.Any), Encoding.ASCII.GetBytes($"key-{i % 5}"), "v"u8, null, group);
        }

        producer.Await(group, TimeSpan.FromSeconds(30), "keyed records");
        var partitionsByKey = ReadAll(cluster, [0, 1, 2]).GroupBy(r => Encoding.ASCII.GetString(r.Message.Key)).ToDictionary(g => g.Key, g => g.Select(r => r.Partition.Value).Distinct().Count());

        Assert.That(partitionsByKey, Has.Count.EqualTo(5));
        Assert.That(partitionsByKey.Values, Is.All.EqualTo(1), "each key in one partition");
    }

    [Test]
    public void Records_counted_in_and_never_produced_are_taken_back_and_leave_no_registration()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        using var producer = Build(KafkaClientTuning.Producer(cluster.BootstrapServers));
        var group = new AcknowledgementGroup();
        producer.CountIn(group, 5);
        ProduceOne(producer, group, partition: 0);
        Assert.That(producer.Direct!.GroupsInFlight, Is.EqualTo(1));

        producer.CountOut(group, 4);
        producer.Await(group, TimeSpan.FromSeconds(30), "one record");

        Assert.Multiple(() =>
        {
            Assert.That((group.Produced, group.Pending), Is.EqualTo((1L, 0L)));
            Assert.That(producer.Direct!.GroupsInFlight, Is.Zero);
        });
    }

    [Test]
    public void A_partition_the_topic_does_not_have_is_refused_at_once()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var producer = Build(KafkaClientTuning.Producer(cluster.BootstrapServers));
        var group = new AcknowledgementGroup();
        producer.CountIn(group, 1);
        ProduceOne(producer, group, partition: 0);
        producer.Await(group, TimeSpan.FromSeconds(30), "first record"); // the client knows the topic's partitions now

        producer.CountIn(group, 1);
        var refused = Assert.Throws<KafkaException>(() => ProduceOne(producer, group, partition: 7));
        producer.CountOut(group, 1);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.Error.Code, Is.EqualTo(ErrorCode.Local_UnknownPartition));
            Assert.That(refused.Message, Does.Contain(Topic));
            Assert.That((group.Produced, group.Pending), Is.EqualTo((1L, 0L)));
        });
    }

    [Test]
    public void It_allocates_nothing_per_record()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        var config = KafkaClientTuning.Producer(cluster.BootstrapServers);
        config.QueueBufferingMaxMessages = 100_000;
        using var producer = Build(config);
        var key = "447700900123"u8.ToArray();
        var value = new byte[400];
        var warm = new AcknowledgementGroup();
        Produce(producer, warm, key, value, 1_000);
        producer.Await(warm, TimeSpan.FromSeconds(30), "warm-up");

        const int Records = 20_000;
        var group = new AcknowledgementGroup();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Produce(producer, group, key, value, Records);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        producer.Await(group, TimeSpan.FromSeconds(60), "measured records");

        // Confluent.Kafka's Produce with a delivery handler allocates a handler shim and a GCHandle per record, and the
        // value had to be a new byte[] of its own: about 450 bytes per record here.
        Assert.That(allocated / (double)Records, Is.LessThan(1.0), $"{allocated} bytes allocated for {Records} records");
    }

    private static void Produce(AcknowledgedProducer producer, AcknowledgementGroup group, byte[] key, byte[] value, int count)
    {
        producer.CountIn(group, count);
        var target = new TopicPartition(Topic, 0);
        for (var i = 0; i < count; i++)
        {
            producer.ProduceCounted(target, key, value, null, group);
        }
    }

    private static void ProduceOne(AcknowledgedProducer producer, AcknowledgementGroup group, int partition) =>
        producer.ProduceCounted(new TopicPartition(Topic, partition), [1], [2], null, group);

    private static AcknowledgedProducer Build(ProducerConfig config) =>
        new(new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build(), DirectProducer.Build(config));

    private static List<ConsumeResult<byte[], byte[]>> ReadAll(EmbeddedCluster cluster, int[] partitions)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(cluster.BootstrapServers, $"reader-{Guid.NewGuid():N}", "headers", forEmbeddedCluster: true))
            .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        return PartitionReader.ReadToEnd(consumer, Topic, PartitionReader.Whole(consumer, Topic, partitions), new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(30) }).ToList();
    }

    private static (int Partition, string Key, string Value, string? Source) Describe(ConsumeResult<byte[], byte[]> record) =>
        (record.Partition.Value, Show(record.Message.Key), Encoding.ASCII.GetString(record.Message.Value),
            record.Message.Headers is { Count: > 0 } headers && headers.TryGetLastBytes("ratingpipeline.source", out var source) ? Encoding.ASCII.GetString(source) : null);

    private static string Show(byte[]? key) => key is null ? "(none)" : $"[{Encoding.ASCII.GetString(key)}]";
}
