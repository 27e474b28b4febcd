using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

/// <summary>
/// The embedded (mock) cluster speaks Kafka to outside clients: kcat in another process reads
/// what .NET writes and the other way round, with consumer groups, commits and faults.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
public sealed class MockClusterInteropTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Test]
    public void Embedded_cluster_lists_every_product_topic_with_its_partition_count()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 4);

        var topics = ListTopics(cluster.BootstrapServers);

        Assert.That(topics.Keys, Is.SupersetOf(TopicSet.All(new TopicNames())));
        foreach (var name in TopicSet.All(new TopicNames()))
        {
            Assert.That(topics[name], Has.Count.EqualTo(4).And.All.EqualTo(1), $"partition leaders of {name}");
        }
    }

    [Test]
    public void Custom_topic_names_and_partition_count_are_what_the_cluster_creates()
    {
        var names = new TopicNames { Cdrs = "acme.cdrs", CdrsDlq = "acme.cdrs.dlq", NoticesDlq = "acme.notices.dlq" };
        using var cluster = EmbeddedCluster.Start(partitions: 2, names);

        var topics = ListTopics(cluster.BootstrapServers);

        Assert.That(cluster.Partitions, Is.EqualTo(2));
        Assert.That(topics.Keys, Is.SupersetOf(TopicSet.All(names)));
        Assert.That(topics.Keys, Does.Not.Contain("cdrs").And.Not.Contain("cdrs-dlq"));
        Assert.That(TopicSet.All(names).Select(name => topics[name].Count), Is.All.EqualTo(2));
    }

    [Test]
    public void Mock_cluster_listens_on_loopback_only()
    {
        using var cluster = EmbeddedCluster.Start();

        var hosts = cluster.BootstrapServers.Split(',').Select(address => address[..address.LastIndexOf(':')]);

        Assert.That(hosts, Is.All.AnyOf("127.0.0.1", "localhost", "[::1]"));
    }

    [Test]
    public void Mock_cluster_shares_the_native_library_with_the_dotnet_clients()
    {
        using var cluster = EmbeddedCluster.Start();
        using var producer = new ProducerBuilder<string, string>(KafkaClientTuning.Producer(cluster.BootstrapServers)).Build();

        using var process = Process.GetCurrentProcess();
        var mapped = process.Modules.Cast<ProcessModule>()
            .Select(module => module.FileName)
            .Where(path => Path.GetFileName(path).EndsWith("librdkafka.so", StringComparison.Ordinal))
            .Distinct()
            .ToList();

        Assert.That(mapped, Is.EqualTo(new[] { MockCluster.NativeLibraryPath }));
    }

    [Test]
    public void Records_produced_by_dotnet_are_read_by_kcat()
    {
        using var cluster = EmbeddedCluster.Start();
        var topic = cluster.Topics.RatedCdrs;
        // Multi-byte characters, tabs and newlines must survive byte for byte.
        var sent = Enumerable.Range(0, 1000)
            .Select(i => (Key: $"subscriber-{i:D4}", Value: $"{{\"n\":{i},\"text\":\"ümlaut € 電話\ttab\\nline\"}}"))
            .ToList();

        using (var producer = new ProducerBuilder<string, string>(KafkaClientTuning.Producer(cluster.BootstrapServers)).Build())
        {
            foreach (var (key, value) in sent)
            {
                var headers = new Headers { { "source", Encoding.UTF8.GetBytes("rater") } };
                producer.Produce(topic, new Message<string, string> { Key = key, Value = value, Headers = headers });
            }

            Assert.That(producer.Flush(Patience), Is.Zero, "records still undelivered after flush");
        }

        var read = Kcat.ConsumeToEnd(cluster.BootstrapServers, topic);

        Assert.That(read.Select(r => (r.Key!, r.Value!)), Is.EquivalentTo(sent));
        Assert.That(read.Select(r => r.Headers), Is.All.EqualTo(new[] { KeyValuePair.Create("source", "rater") }));
        Assert.That(read.Select(r => r.Partition).Distinct().Count(), Is.EqualTo(cluster.Partitions), "keys spread over every partition");
        foreach (var partition in read.GroupBy(r => r.Partition))
        {
            // In production order within a partition, at consecutive offsets from 0.
            Assert.That(partition.Select(r => r.Offset), Is.EqualTo(Enumerable.Range(0, partition.Count()).Select(i => (long)i)));
            Assert.That(partition.Select(r => r.Key), Is.Ordered.Using((IComparer<string?>)StringComparer.Ordinal));
        }
    }

    [Test]
    public void Records_produced_by_kcat_are_read_by_a_dotnet_consumer_group_that_resumes_after_its_commit()
    {
        using var cluster = EmbeddedCluster.Start();
        var topic = cluster.Topics.Cdrs;
        var sent = Enumerable.Range(0, 40).Select(i => (Key: $"msisdn-{i:D3}", Value: $"cdr {i}\twith tab")).ToList();
        Kcat.Produce(cluster.BootstrapServers, topic, sent);
        const string Group = "rater";

        List<ConsumeResult<string, string>> firstRun;
        List<ConsumeResult<string, string>> processed;
        using (var consumer = NewConsumer(cluster, Group))
        {
            consumer.Subscribe(topic);
            firstRun = ConsumeUntil(consumer, sent.Count);

            // Process the first half of each partition, then commit just past it.
            processed = firstRun.GroupBy(r => r.Partition.Value)
                .SelectMany(p => p.OrderBy(r => r.Offset.Value).Take((p.Count() + 1) / 2))
                .ToList();
            var commits = processed.GroupBy(r => r.TopicPartition)
                .Select(p => new TopicPartitionOffset(p.Key, p.Max(r => r.Offset.Value) + 1))
                .ToList();
            consumer.Commit(commits);
            consumer.Close();
        }

        Assert.That(firstRun.Select(r => (r.Message.Key, r.Message.Value)), Is.EquivalentTo(sent));

        var remaining = firstRun.Except(processed).Select(Position).ToList();
        List<ConsumeResult<string, string>> secondRun;
        using (var consumer = NewConsumer(cluster, Group))
        {
            consumer.Subscribe(topic);
            secondRun = ConsumeUntil(consumer, remaining.Count);
            // Linger briefly so that a re-delivered processed record would show up too.
            secondRun.AddRange(ConsumeFor(consumer, TimeSpan.FromMilliseconds(500)));
            consumer.Close();
        }

        Assert.That(remaining, Is.Not.Empty);
        Assert.That(secondRun.Select(Position), Is.EquivalentTo(remaining));
    }

    [Test]
    public void Injected_produce_errors_are_retried_without_loss_or_duplicates()
    {
        using var cluster = EmbeddedCluster.Start();
        var topic = cluster.Topics.Reminders;
        var sent = Enumerable.Range(0, 200).Select(i => $"reminder-{i:D3}").ToList();
        // The persistence status is the evidence here; the product's producer does not ask for it.
        var config = KafkaClientTuning.Producer(cluster.BootstrapServers);
        config.DeliveryReportFields = "status";
        using var producer = new ProducerBuilder<string, string>(config).Build();
        cluster.Mock.StartRequestTracking();
        cluster.Mock.PushRequestErrors(
            KafkaApiKey.Produce,
            ErrorCode.NotEnoughReplicas,
            ErrorCode.NotEnoughReplicas,
            ErrorCode.NotEnoughReplicas);

        var deliveries = sent.Select(key => producer.ProduceAsync(topic, new Message<string, string> { Key = key, Value = key })).ToArray();

        Assert.That(Task.WaitAll(deliveries, Patience), Is.True, "all deliveries reported");
        Assert.That(deliveries.Select(d => d.Result.Status), Is.All.EqualTo(PersistenceStatus.Persisted));
        var produceRequests = cluster.Mock.GetRequests().Count(r => r.ApiKey == KafkaApiKey.Produce);
        Assert.That(produceRequests, Is.GreaterThanOrEqualTo(4), "three failed Produce requests, then at least one that succeeded");

        var read = Kcat.ConsumeToEnd(cluster.BootstrapServers, topic);
        Assert.That(read.Select(r => r.Key), Is.EquivalentTo(sent), "each record exactly once");
        Assert.That(read.Select(r => r.Headers), Is.All.Empty);
        foreach (var partition in read.GroupBy(r => r.Partition))
        {
            Assert.That(partition.Select(r => r.Key), Is.Ordered.Using((IComparer<string?>)StringComparer.Ordinal), "order kept across retries");
        }
    }

    [Test]
    public void Messages_sent_while_the_broker_is_down_are_delivered_when_it_is_back()
    {
        using var cluster = EmbeddedCluster.Start();
        var topic = cluster.Topics.Adjustments;
        // Reconnect quickly once the broker is back (librdkafka backs off up to 10 s by default).
        var config = KafkaClientTuning.Producer(
            cluster.BootstrapServers,
            new Dictionary<string, string> { ["reconnect.backoff.max.ms"] = "500", ["dotnet.producer.delivery.report.fields"] = "status" });
        using var producer = new ProducerBuilder<string, string>(config).Build();
        var before = producer.ProduceAsync(topic, new Message<string, string> { Key = "before", Value = "before" });
        Assert.That(before.Wait(Patience) && before.Result.Status == PersistenceStatus.Persisted, Is.True, "delivered before the outage");

        cluster.Mock.SetBrokerDown(1);
        var duringOutage = Enumerable.Range(0, 50).Select(i => $"outage-{i:D2}").ToList();
        var deliveries = duringOutage
            .Select(key => producer.ProduceAsync(topic, new Message<string, string> { Key = key, Value = key }))
            .ToArray();
        Thread.Sleep(TimeSpan.FromSeconds(1));
        Assert.That(deliveries.Count(d => d.IsCompleted), Is.Zero, "nothing can be delivered, nor given up on, during a short outage");

        cluster.Mock.SetBrokerUp(1);

        Assert.That(Task.WaitAll(deliveries, Patience), Is.True, "all deliveries reported after the outage");
        Assert.That(deliveries.Select(d => d.Result.Status), Is.All.EqualTo(PersistenceStatus.Persisted));
        var read = Kcat.Consume(cluster.BootstrapServers, topic, duringOutage.Count + 1, Patience);
        Assert.That(read.Select(r => r.Key), Is.EquivalentTo(duringOutage.Prepend("before")));
    }

    private static IConsumer<string, string> NewConsumer(EmbeddedCluster cluster, string group) =>
        new ConsumerBuilder<string, string>(
            KafkaClientTuning.Consumer(
                cluster.BootstrapServers,
                group,
                consumeResultFields: "topic",
                forEmbeddedCluster: true,
                EmbeddedCluster.ShortSessionConsumerProperties))
            .Build();

    private static List<ConsumeResult<string, string>> ConsumeUntil(IConsumer<string, string> consumer, int count)
    {
        var results = new List<ConsumeResult<string, string>>();
        var clock = Stopwatch.StartNew();
        for (var polls = 0; results.Count < count && clock.Elapsed < Patience && polls < 10_000; polls++)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { } result)
            {
                results.Add(result);
            }
        }

        Assert.That(results, Has.Count.EqualTo(count), $"records consumed within {Patience}");
        return results;
    }

    private static List<ConsumeResult<string, string>> ConsumeFor(IConsumer<string, string> consumer, TimeSpan duration)
    {
        var results = new List<ConsumeResult<string, string>>();
        var clock = Stopwatch.StartNew();
        for (var polls = 0; clock.Elapsed < duration && polls < 1_000; polls++)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(50)) is { } result)
            {
                results.Add(result);
            }
        }

        return results;
    }

    private static (int Partition, long Offset) Position(ConsumeResult<string, string> result) =>
        (result.Partition.Value, result.Offset.Value);

    /// <summary>Topic name to the leader of each partition, from <c>kcat -L -J</c>.</summary>
    private static Dictionary<string, List<int>> ListTopics(string bootstrap)
    {
        var result = Kcat.Run("-L", "-J", "-b", bootstrap);
        Assert.That(result.ExitCode, Is.Zero, result.ToString());

        using var metadata = JsonDocument.Parse(result.Stdout);
        return metadata.RootElement.GetProperty("topics").EnumerateArray().ToDictionary(
            topic => topic.GetProperty("topic").GetString()!,
            topic => topic.GetProperty("partitions").EnumerateArray()
                .OrderBy(p => p.GetProperty("partition").GetInt32())
                .Select(p => p.GetProperty("leader").GetInt32())
                .ToList());
    }
}
