using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

[TestFixture]
[Category("kafka")]
public sealed class KafkaClientTuningTests
{
    private const string Bootstrap = "127.0.0.1:9092";

    [Test]
    public void Producer_is_idempotent_acks_all_lingers_5_ms_and_does_not_compress()
    {
        var config = KafkaClientTuning.Producer(Bootstrap);

        Assert.Multiple(() =>
        {
            Assert.That(config.BootstrapServers, Is.EqualTo(Bootstrap));
            Assert.That(config.EnableIdempotence, Is.True);
            Assert.That(config.Acks, Is.EqualTo(Acks.All));
            Assert.That(config.LingerMs, Is.EqualTo(5));
            Assert.That(config.CompressionType, Is.EqualTo(CompressionType.None));
        });
    }

    [Test]
    public void Clients_built_from_the_Kafka_options_take_its_servers_embedded_fetch_wait_and_pass_through_properties()
    {
        var kafka = new KafkaOptions
        {
            BootstrapServers = Bootstrap,
            Embedded = true,
            Properties = new Dictionary<string, string> { ["security.protocol"] = "ssl", ["linger.ms"] = "20" },
        };

        var consumer = KafkaClientTuning.Consumer(kafka, "sender", "none");
        var producer = KafkaClientTuning.Producer(kafka);

        Assert.Multiple(() =>
        {
            Assert.That(consumer.BootstrapServers, Is.EqualTo(Bootstrap));
            Assert.That(consumer.GroupId, Is.EqualTo("sender"));
            Assert.That(consumer.FetchWaitMaxMs, Is.EqualTo(KafkaClientTuning.EmbeddedFetchWaitMaxMs));
            Assert.That(consumer.SecurityProtocol, Is.EqualTo(SecurityProtocol.Ssl));
            Assert.That(producer.BootstrapServers, Is.EqualTo(Bootstrap));
            Assert.That(producer.LingerMs, Is.EqualTo(20), "a pass-through property wins over the product default");
        });
    }

    [TestCase(true, null, "6000", "1000")] // the embedded cluster: the lowest session a real broker accepts by default
    [TestCase(false, null, "45000", "3000")] // a real cluster: librdkafka's default
    [TestCase(false, 20.0, "20000", "3000")] // configured
    [TestCase(true, 9.0, "9000", "1500")]
    public void Group_consumers_take_the_configured_session_timeout_with_a_heartbeat_a_sixth_of_it(bool embedded, double? seconds, string session, string heartbeat)
    {
        var kafka = new KafkaOptions { BootstrapServers = Bootstrap, Embedded = embedded, SessionTimeout = seconds is { } s ? TimeSpan.FromSeconds(s) : null };

        var config = KafkaClientTuning.Consumer(kafka, "rater", "none");

        Assert.That(config.Get("session.timeout.ms"), Is.EqualTo(session));
        Assert.That(config.Get("heartbeat.interval.ms"), Is.EqualTo(heartbeat));
        Assert.That(kafka.Problems(), Is.Empty);
    }

    [Test]
    public void A_pass_through_session_property_wins_and_an_out_of_range_session_timeout_is_refused()
    {
        var kafka = new KafkaOptions { BootstrapServers = Bootstrap, Embedded = true, Properties = new() { ["session.timeout.ms"] = "7000" } };

        Assert.That(KafkaClientTuning.Consumer(kafka, "rater", "none").Get("session.timeout.ms"), Is.EqualTo("7000"));
        Assert.That(new KafkaOptions { BootstrapServers = Bootstrap, SessionTimeout = TimeSpan.FromMilliseconds(500) }.Problems(),
            Has.One.StartsWith("Kafka:SessionTimeout"));
    }

    [Test]
    public void Consumer_commits_manually_with_cooperative_sticky_assignment_from_the_earliest_offset()
    {
        var config = KafkaClientTuning.Consumer(Bootstrap, "rater", consumeResultFields: "topic,headers");

        Assert.Multiple(() =>
        {
            Assert.That(config.GroupId, Is.EqualTo("rater"));
            Assert.That(config.EnableAutoCommit, Is.False);
            Assert.That(config.EnableAutoOffsetStore, Is.False);
            Assert.That(config.PartitionAssignmentStrategy, Is.EqualTo(PartitionAssignmentStrategy.CooperativeSticky));
            Assert.That(config.AutoOffsetReset, Is.EqualTo(AutoOffsetReset.Earliest));
            Assert.That(config.FetchWaitMaxMs, Is.EqualTo(100));
            Assert.That(config.Get("dotnet.consumer.consume.result.fields"), Is.EqualTo("topic,headers"));
        });
    }

    [Test]
    public void Embedded_cluster_tuning_changes_only_the_fetch_wait()
    {
        var normal = KafkaClientTuning.Consumer(Bootstrap, "rater", "none").ToDictionary();
        var embedded = KafkaClientTuning.Consumer(Bootstrap, "rater", "none", forEmbeddedCluster: true).ToDictionary();

        Assert.That(embedded["fetch.wait.max.ms"], Is.EqualTo("5"));
        Assert.That(embedded.Where(p => p.Key != "fetch.wait.max.ms"), Is.EquivalentTo(normal.Where(p => p.Key != "fetch.wait.max.ms")));
    }

    [Test]
    public void Pass_through_properties_are_applied_last_and_win()
    {
        var properties = new Dictionary<string, string>
        {
            ["security.protocol"] = "SASL_SSL",
            ["sasl.mechanism"] = "SCRAM-SHA-512",
            ["linger.ms"] = "20",
            ["fetch.wait.max.ms"] = "250",
        };

        var producer = KafkaClientTuning.Producer(Bootstrap, properties).ToDictionary();
        var consumer = KafkaClientTuning.Consumer(Bootstrap, "rater", "none", forEmbeddedCluster: true, properties).ToDictionary();

        Assert.That(producer, Does.Contain(KeyValuePair.Create("security.protocol", "SASL_SSL")));
        Assert.That(producer, Does.Contain(KeyValuePair.Create("sasl.mechanism", "SCRAM-SHA-512")));
        Assert.That(producer, Does.Contain(KeyValuePair.Create("linger.ms", "20")));
        Assert.That(consumer, Does.Contain(KeyValuePair.Create("fetch.wait.max.ms", "250")));
    }
}
