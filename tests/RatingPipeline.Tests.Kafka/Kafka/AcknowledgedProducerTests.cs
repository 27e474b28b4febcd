using System.Text;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

/// <summary>
/// The product's producer on the embedded cluster: a group of records counts in when produced and out when its
/// delivery report comes, and a failed report is counted with its topic and reason, with the delivery reports the
/// product asks for (no copies of headers, no timestamps or persistence status per record).
/// </summary>
[TestFixture]
[Category("kafka")]
public sealed class AcknowledgedProducerTests
{
    [Test]
    public void The_product_asks_for_delivery_reports_without_fields()
    {
        Assert.That(KafkaClientTuning.Producer("127.0.0.1:9092").DeliveryReportFields, Is.EqualTo("none"));
    }

    [Test]
    public void A_group_drains_when_every_record_is_acknowledged()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(cluster.BootstrapServers));
        var group = new AcknowledgementGroup();
        for (var i = 0; i < 50; i++)
        {
            var message = new Message<byte[], byte[]>
            {
                Key = Encoding.ASCII.GetBytes($"k{i}"),
                Value = Encoding.ASCII.GetBytes($"v{i}"),
                Headers = new Headers { { "ratingpipeline.source", Encoding.ASCII.GetBytes($"cdrs:0:{i}") } },
            };
            producer.Produce(new TopicPartition(cluster.Topics.RatedCdrs, i % 2), message, group);
        }

        producer.Await(group, TimeSpan.FromSeconds(30), "test records");

        Assert.Multiple(() =>
        {
            Assert.That(group.Produced, Is.EqualTo(50));
            Assert.That(group.Pending, Is.Zero);
            Assert.That(group.Failed, Is.Zero);
            Assert.That(group.Error, Is.Null);
        });
    }

    /// <summary>The same for a record handed to the direct producer (<paramref name="direct"/>): the rater's outputs.</summary>
    [Test]
    public void A_record_not_delivered_in_time_is_counted_failed_with_its_topic_and_reason([Values] bool direct)
    {
        // No broker listens on port 1 of the loopback: the records wait for a connection until they time out.
        const string topic = "rated-cdrs";
        var config = KafkaClientTuning.Producer("127.0.0.1:1");
        config.MessageTimeoutMs = 300;
        using var producer = direct
            ? new AcknowledgedProducer(new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build(), DirectProducer.Build(config))
            : AcknowledgedProducer.Build(config);
        var group = new AcknowledgementGroup();
        for (var i = 0; i < 3; i++)
        {
            if (direct)
            {
                producer.CountIn(group, 1);
                producer.ProduceCounted(new TopicPartition(topic, 0), [1], [2], null, group);
            }
            else
            {
                producer.Produce(new TopicPartition(topic, 0), new Message<byte[], byte[]> { Key = [1], Value = [2] }, group);
            }
        }

        Assert.That(producer.Drain(group, TimeSpan.FromSeconds(30)), Is.True, "every record gets its delivery report");
        var failure = Assert.Throws<KafkaException>(() => producer.Await(group, TimeSpan.FromSeconds(1), "test records"));
        Assert.Multiple(() =>
        {
            Assert.That(group.Failed, Is.EqualTo(3));
            Assert.That(group.FirstFailure?.Code, Is.EqualTo(ErrorCode.Local_MsgTimedOut));
            Assert.That(group.Error, Does.StartWith($"{topic}: "));
            Assert.That(failure!.Message, Does.Contain(topic));
            Assert.That(producer.Direct?.GroupsInFlight ?? 0, Is.Zero, "the group's registration left with its last report");
        });
    }
}
