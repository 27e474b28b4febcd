using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Tests.Kafka;
using RatingPipeline.Tests.Rater;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// <c>ratingctl clock</c> against the embedded cluster: one clock record, without a key, in every partition of the
/// CDR topic (read back with kcat); a bad instant and a missing topic end with their exit codes and a message.
/// </summary>
[TestFixture]
[Category("kafka")]
[Category("needs-kcat")]
public sealed class ClockCommandTests
{
    private EmbeddedCluster _cluster = null!;

    [OneTimeSetUp]
    public void StartCluster() => _cluster = EmbeddedCluster.Start(partitions: 4);

    [OneTimeTearDown]
    public void StopCluster() => _cluster.Dispose();

    [Test]
    public async Task A_clock_goes_to_every_partition_without_a_key()
    {
        var topics = TestTopics.Create(_cluster, TestTopics.UniquePrefix("clock"));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ClockCommand.RunAsync(_cluster.BootstrapServers, "2026-12-01T00:00:00+08:00", topics.Cdrs, TimeProvider.System,
            stdout, stderr, CancellationToken.None);
        var records = Kcat.ConsumeToEnd(_cluster.BootstrapServers, topics.Cdrs);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, stderr.ToString());
            Assert.That(records.Select(r => r.Partition).Order(), Is.EqualTo(new[] { 0, 1, 2, 3 }));
            Assert.That(records.Select(r => r.Value), Is.All.EqualTo("""{"type":"clock","at":"2026-12-01T00:00:00+08:00"}"""));
            Assert.That(records.Select(r => r.Key), Is.All.Null);
            Assert.That(stdout.ToString(), Does.Contain($"written to 4 partitions of {topics.Cdrs}"));
        });
    }

    [Test]
    public void Now_is_the_current_UTC_time_in_whole_seconds()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 30, 15, 250, TimeSpan.Zero));
        Assert.That(ClockCommand.Record("now", time), Is.EqualTo("""{"type":"clock","at":"2026-12-05T09:30:15Z"}"""));
    }

    [TestCase("2026-12-01 00:00:00")]
    [TestCase("2026-02-30T00:00:00Z")]
    [TestCase("yesterday")]
    public async Task A_bad_instant_is_refused_with_exit_code_2(string at)
    {
        using var stderr = new StringWriter();
        var exit = await ClockCommand.RunAsync(_cluster.BootstrapServers, at, "cdrs", TimeProvider.System, TextWriter.Null, stderr, CancellationToken.None);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain(at).And.Contain("not an instant"));
    }

    [Test]
    public async Task A_missing_topic_fails_with_exit_code_1()
    {
        using var stderr = new StringWriter();
        var exit = await ClockCommand.RunAsync(_cluster.BootstrapServers, "now", "no-such-topic-" + Guid.NewGuid().ToString("N")[..8], TimeProvider.System,
            TextWriter.Null, stderr, CancellationToken.None);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("does not exist"));
    }
}
