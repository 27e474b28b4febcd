using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Tests.Deploy;

/// <summary><c>ratingctl load</c>, the compose lab's CDR source, against the embedded cluster.</summary>
[TestFixture]
[Category("deploy")]
public sealed class LoadCommandTests
{
    [Test]
    public async Task Load_produces_every_profile_first_then_cdrs_at_the_rate_keyed_by_msisdn()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        var output = new StringWriter();

        var summary = await LoadCommand.RunAsync(new LoadCommand.Options(cluster.BootstrapServers, Rate: 400, Subscribers: 25, Duration: TimeSpan.FromSeconds(1.5), Seed: 3,
            ProgressInterval: TimeSpan.FromSeconds(0.5)), output, CancellationToken.None);

        var profiles = ReadAll(cluster, cluster.Topics.Subscribers);
        var cdrs = ReadAll(cluster, cluster.Topics.Cdrs);
        Assert.Multiple(() =>
        {
            Assert.That(summary.Failed, Is.Zero, summary.FirstError);
            Assert.That(summary.Profiles, Is.EqualTo(25));
            // 1.5 s at 400/s, paced in 10 ms ticks.
            Assert.That(summary.Cdrs, Is.InRange(400, 800)); // paced, so roughly rate × duration; a loaded machine stretches the ends
            Assert.That(profiles.Select(p => p.Key), Is.EquivalentTo(Enumerable.Range(0, 25).Select(SyntheticData.MsisdnOf)));
            Assert.That(profiles.Select(p => JsonDocument.Parse(p.Value).RootElement.GetProperty("msisdn").GetString()), Is.EqualTo(profiles.Select(p => p.Key)));
            Assert.That(cdrs, Has.Count.EqualTo(summary.Cdrs));
            Assert.That(cdrs.Select(c => c.Key).Distinct(), Is.SubsetOf(profiles.Select(p => p.Key)), "every CDR is for a loaded subscriber");
            Assert.That(profiles.Max(p => p.Timestamp), Is.LessThanOrEqualTo(cdrs.Min(c => c.Timestamp)), "profiles are produced before the first CDR");
            Assert.That(output.ToString(), Does.Contain("25 subscriber profiles produced to subscribers"));
            Assert.That(output.ToString(), Does.Contain("cdrs produced (").And.Contain($"25 profiles, {summary.Cdrs} cdrs produced, 0 failed"));
        });
    }

    [Test]
    public async Task Load_with_the_same_seed_produces_the_same_records()
    {
        using var first = EmbeddedCluster.Start(partitions: 1);
        using var second = EmbeddedCluster.Start(partitions: 1);

        await LoadCommand.RunAsync(new LoadCommand.Options(first.BootstrapServers, 200, 10, TimeSpan.FromSeconds(0.5), 9), TextWriter.Null, CancellationToken.None);
        await LoadCommand.RunAsync(new LoadCommand.Options(second.BootstrapServers, 200, 10, TimeSpan.FromSeconds(0.5), 9), TextWriter.Null, CancellationToken.None);

        var a = ReadAll(first, first.Topics.Cdrs).Select(c => c.Value).ToList();
        var b = ReadAll(second, second.Topics.Cdrs).Select(c => c.Value).ToList();
        var common = Math.Min(a.Count, b.Count);
        Assert.That(common, Is.GreaterThan(50));
        Assert.That(b.Take(common), Is.EqualTo(a.Take(common)));
    }

    [TestCase("", 200, 10, null, "--bootstrap is required")] // no cluster given
    [TestCase("127.0.0.1:9092", 0, 10, null, "--rate must be")] // a rate of zero produces nothing
    [TestCase("127.0.0.1:9092", 200, 0, null, "--subscribers must be")] // CDRs need at least one subscriber
    [TestCase("127.0.0.1:9092", 200, 10, -1.0, "--duration must be positive")] // a negative duration
    public void Load_refuses_bad_options_naming_the_option(string bootstrap, int rate, int subscribers, double? seconds, string message)
    {
        var options = new LoadCommand.Options(bootstrap, rate, subscribers, seconds is { } s ? TimeSpan.FromSeconds(s) : null, 1);

        Assert.That(LoadCommand.Validate(options), Does.StartWith(message));
        Assert.That(() => LoadCommand.RunAsync(options, TextWriter.Null, CancellationToken.None), Throws.ArgumentException);
    }

    private static List<(string Key, string Value, DateTime Timestamp)> ReadAll(EmbeddedCluster cluster, string topic)
    {
        var config = KafkaClientTuning.Consumer(cluster.BootstrapServers, $"load-test-{Guid.NewGuid():N}", "all", forEmbeddedCluster: true);
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        var ranges = PartitionReader.Whole(consumer, topic, Enumerable.Range(0, cluster.Partitions));
        var records = new List<(string, string, DateTime)>();
        foreach (var record in PartitionReader.ReadToEnd(consumer, topic, ranges, new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(30) }))
        {
            records.Add((Encoding.ASCII.GetString(record.Message.Key), Encoding.UTF8.GetString(record.Message.Value), record.Message.Timestamp.UtcDateTime));
        }

        return [.. records.OrderBy(r => r.Item3)];
    }
}
