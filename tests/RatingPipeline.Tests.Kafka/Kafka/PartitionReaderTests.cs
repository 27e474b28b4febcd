using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

/// <summary>
/// Reading partitions to their end: everything up to the end offsets seen when the read began, in offset order per
/// partition, nothing after them; bounded in time; records of partitions a restoring consumer already follows are
/// not lost.
/// </summary>
[TestFixture]
[Category("kafka")]
public sealed class PartitionReaderTests
{
    private const string Topic = "bills";

    [Test]
    public void A_read_returns_every_record_up_to_the_end_offsets_seen_when_it_began_and_none_after()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 3);
        using var producer = Producer(cluster);
        Produce(producer, partition: 0, count: 50, tag: "before");
        Produce(producer, partition: 2, count: 7, tag: "before");
        using var consumer = Consumer(cluster);

        var ranges = PartitionReader.Whole(consumer, Topic, [0, 1, 2]);
        Produce(producer, partition: 0, count: 5, tag: "after");
        var read = PartitionReader.ReadToEnd(consumer, Topic, ranges, new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(30) }).ToList();

        Assert.That(ranges.Select(r => (r.Partition, r.Start, r.End)), Is.EqualTo(new[] { (0, 0L, 50L), (1, 0L, 0L), (2, 0L, 7L) }));
        Assert.That(read.Select(r => Encoding.UTF8.GetString(r.Message.Value)), Is.All.StartsWith("before"));
        Assert.That(read.Where(r => r.Partition.Value == 0).Select(r => r.Offset.Value), Is.EqualTo(Enumerable.Range(0, 50).Select(i => (long)i)));
        Assert.That(read.Count(r => r.Partition.Value == 2), Is.EqualTo(7));
        Assert.That(consumer.Assignment, Is.Empty, "a one-off read gives its partitions back");
    }

    [Test]
    public void A_read_of_empty_partitions_returns_at_once()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var consumer = Consumer(cluster);
        var clock = Stopwatch.StartNew();

        var read = PartitionReader.ReadToEnd(consumer, Topic, PartitionReader.Whole(consumer, Topic, [0, 1]), new ReadToEndOptions()).ToList();

        Assert.That(read, Is.Empty);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void A_read_starting_at_an_offset_returns_the_records_from_there()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        using var producer = Producer(cluster);
        Produce(producer, partition: 0, count: 20, tag: "r");
        using var consumer = Consumer(cluster);

        var ranges = PartitionReader.Ranges(consumer, [new TopicPartitionOffset(Topic, 0, 15)]);
        var read = PartitionReader.ReadToEnd(consumer, Topic, ranges, new ReadToEndOptions()).Select(r => r.Offset.Value).ToList();

        Assert.That(read, Is.EqualTo(new long[] { 15, 16, 17, 18, 19 }));
    }

    [Test]
    public void A_read_that_cannot_reach_the_end_stops_at_its_deadline_with_a_timeout()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        using var producer = Producer(cluster);
        Produce(producer, partition: 0, count: 10, tag: "r");
        using var consumer = Consumer(cluster);
        var ranges = PartitionReader.Whole(consumer, Topic, [0]);
        cluster.Mock.SetBrokerDown(1);
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<KafkaException>(() => PartitionReader.ReadToEnd(consumer, Topic, ranges, new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(2) }).ToList());

        Assert.That(error!.Error.Code, Is.EqualTo(ErrorCode.Local_TimedOut));
        Assert.That(error.Message, Does.Contain(Topic).And.Contain("[0]"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)));
        cluster.Mock.SetBrokerUp(1);
    }

    [Test]
    public void A_restore_that_follows_hands_out_the_records_of_partitions_already_followed()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var producer = Producer(cluster);
        Produce(producer, partition: 1, count: 30, tag: "restore");
        using var consumer = Consumer(cluster);
        consumer.Assign(new TopicPartitionOffset(Topic, 0, Offset.Beginning));
        Produce(producer, partition: 0, count: 5, tag: "followed");

        var read = PartitionReader.ReadToEnd(consumer, Topic, PartitionReader.Whole(consumer, Topic, [1]), new ReadToEndOptions { Follow = true }).ToList();
        var later = new List<ConsumeResult<byte[], byte[]>>();
        var deadline = Stopwatch.StartNew();
        while (read.Count(r => r.Partition.Value == 0) + later.Count < 5 && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } record)
            {
                later.Add(record);
            }
        }

        Assert.That(read.Count(r => r.Partition.Value == 1), Is.EqualTo(30));
        Assert.That(read.Where(r => r.Partition.Value == 0).Concat(later).Select(r => r.Offset.Value), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }),
            "every record of the followed partition is handed out once, during the restore or after it");
        Assert.That(consumer.Assignment.Select(p => p.Partition.Value).Order(), Is.EqualTo(new[] { 0, 1 }), "the restored partition stays followed");
    }

    private static AcknowledgedProducer Producer(EmbeddedCluster cluster) => AcknowledgedProducer.Build(KafkaClientTuning.Producer(cluster.BootstrapServers));

    private static IConsumer<byte[], byte[]> Consumer(EmbeddedCluster cluster) =>
        new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(cluster.BootstrapServers, $"reader-{Guid.NewGuid():N}", "none", forEmbeddedCluster: true))
            .SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();

    private static void Produce(AcknowledgedProducer producer, int partition, int count, string tag)
    {
        var written = new AcknowledgementGroup();
        for (var i = 0; i < count; i++)
        {
            producer.Produce(new TopicPartition(Topic, partition), new Message<byte[], byte[]> { Key = [(byte)i], Value = Encoding.UTF8.GetBytes($"{tag}-{i}") }, written);
        }

        Assert.That(producer.Drain(written, TimeSpan.FromSeconds(30)) ? written.Failed : written.Pending, Is.Zero, "every record acknowledged");
    }
}
