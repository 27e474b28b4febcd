using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Testing;
using RatingPipeline.Tests.Kafka;
using RatingPipeline.Tests.Rater;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// <c>ratingctl clock</c> against the embedded cluster: one clock record, without a key, in every partition of the
/// CDR topic (read back with kcat); with <c>--every</c> one more per interval; a bad instant, a missing topic, a
/// cluster that does not answer and a refused Kafka property end with their exit codes and a message.
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
        var exit = await ClockCommand.RunAsync(ClockCommand.Target.Of(_cluster.BootstrapServers, topics.Cdrs), "2026-12-01T00:00:00+08:00",
            TimeProvider.System, stdout, stderr, CancellationToken.None);
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
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 30, 15, 250, TimeSpan.Zero));
        Assert.That(ClockCommand.Record("now", time), Is.EqualTo("""{"type":"clock","at":"2026-12-05T09:30:15Z"}"""));
    }

    [Test]
    public async Task Every_interval_writes_one_more_clock_at_the_time_then_to_every_partition_until_stopped()
    {
        var topics = TestTopics.Create(_cluster, TestTopics.UniquePrefix("clock-every"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 9, 0, 0, TimeSpan.Zero));
        using var stdout = new SharedWriter();
        using var stderr = new SharedWriter();
        using var stop = new CancellationTokenSource();
        var run = ClockCommand.RepeatAsync(ClockCommand.Target.Of(_cluster.BootstrapServers, topics.Cdrs), TimeSpan.FromHours(1), time, stdout, stderr,
            stop.Token);

        for (var written = 1; written <= 3; written++)
        {
            await WaitUntilAsync(() => Lines(stdout).Count >= written || run.IsCompleted, $"clock {written} written");
            if (written < 3)
            {
                time.Advance(TimeSpan.FromHours(1));
            }
        }

        await stop.CancelAsync();
        var exit = await run.WaitAsync(TimeSpan.FromSeconds(30));
        var records = Kcat.ConsumeToEnd(_cluster.BootstrapServers, topics.Cdrs);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, stderr.ToString());
            Assert.That(Lines(stdout), Has.Count.EqualTo(3), stdout.ToString());
            foreach (var partition in Enumerable.Range(0, 4))
            {
                Assert.That(records.Where(r => r.Partition == partition).Select(r => r.Value), Is.EqualTo(new[]
                {
                    """{"type":"clock","at":"2026-12-05T09:00:00Z"}""",
                    """{"type":"clock","at":"2026-12-05T10:00:00Z"}""",
                    """{"type":"clock","at":"2026-12-05T11:00:00Z"}""",
                }), $"partition {partition}, in order");
            }
        });
    }

    [TestCase("2026-12-01 00:00:00")]
    [TestCase("2026-02-30T00:00:00Z")]
    [TestCase("yesterday")]
    public async Task A_bad_instant_is_refused_with_exit_code_2(string at)
    {
        using var stderr = new StringWriter();
        var exit = await ClockCommand.RunAsync(ClockCommand.Target.Of(_cluster.BootstrapServers, "cdrs"), at, TimeProvider.System, TextWriter.Null, stderr,
            CancellationToken.None);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain(at).And.Contain("not an instant"));
    }

    [Test]
    public async Task A_missing_topic_fails_with_exit_code_1()
    {
        using var stderr = new StringWriter();
        var exit = await ClockCommand.RunAsync(ClockCommand.Target.Of(_cluster.BootstrapServers, "no-such-topic-" + Guid.NewGuid().ToString("N")[..8]), "now",
            TimeProvider.System, TextWriter.Null, stderr, CancellationToken.None);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("does not exist").And.Contain("no clock written"));
    }

    [Test]
    public async Task A_cluster_that_does_not_answer_fails_with_exit_code_1_within_the_timeout()
    {
        var nobody = $"127.0.0.1:{LoopbackPort.Free()}";
        using var stderr = new StringWriter();
        var clock = Stopwatch.StartNew();
        var exit = await ClockCommand.RunAsync(ClockCommand.Target.Of(nobody, "cdrs", TimeSpan.FromSeconds(3)), "now", TimeProvider.System,
            TextWriter.Null, stderr, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(stderr.ToString(), Does.Contain($"no clock written: Kafka at {nobody} gave no metadata within 3 s"));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "bounded by --timeout, not librdkafka's defaults");
        });
    }

    [Test]
    public void Kafka_settings_come_from_the_environment_as_the_workers_read_them_and_options_win()
    {
        var environment = Configuration(new()
        {
            ["Kafka:BootstrapServers"] = "kafka-0.kafka:9093",
            ["Kafka:Properties:security.protocol"] = "SASL_SSL",
            ["Kafka:Properties:sasl.username"] = "rating",
            ["Topics:Cdrs"] = "acme.cdrs",
        });
        var fromEnvironment = ClockCommand.Resolve(null, null, TimeSpan.FromSeconds(60), environment, TextWriter.Null)!;
        var fromOptions = ClockCommand.Resolve("127.0.0.1:9092", "cdrs", TimeSpan.FromSeconds(60), environment, TextWriter.Null)!;
        using var stderr = new StringWriter();
        var nothing = ClockCommand.Resolve(null, null, TimeSpan.FromSeconds(60), Configuration([]), stderr);
        Assert.Multiple(() =>
        {
            Assert.That((fromEnvironment.Bootstrap, fromEnvironment.Topic), Is.EqualTo(("kafka-0.kafka:9093", "acme.cdrs")));
            Assert.That(fromEnvironment.Properties, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["security.protocol"] = "SASL_SSL",
                ["sasl.username"] = "rating",
            }));
            Assert.That((fromOptions.Bootstrap, fromOptions.Topic), Is.EqualTo(("127.0.0.1:9092", "cdrs")));
            Assert.That(ClockCommand.Resolve("b:1", null, TimeSpan.FromSeconds(1), Configuration([]), TextWriter.Null)!.Topic, Is.EqualTo("cdrs"));
            Assert.That(nothing, Is.Null);
            Assert.That(stderr.ToString(), Does.Contain("--bootstrap").And.Contain("Kafka__BootstrapServers"));
        });
    }

    [Test]
    public async Task A_Kafka_property_librdkafka_refuses_fails_with_exit_code_2_naming_it()
    {
        var target = ClockCommand.Resolve(_cluster.BootstrapServers, "cdrs", TimeSpan.FromSeconds(10),
            Configuration(new() { ["Kafka:Properties:no.such.property"] = "1" }), TextWriter.Null)!;
        using var stderr = new StringWriter();
        var exit = await ClockCommand.RunAsync(target, "now", TimeProvider.System, TextWriter.Null, stderr, CancellationToken.None);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("refused").And.Contain("no.such.property"));
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static List<string> Lines(SharedWriter writer) =>
        [.. writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(" written to ", StringComparison.Ordinal))];

    /// <summary>A writer one task writes to while the test reads what it wrote.</summary>
    private sealed class SharedWriter : StringWriter
    {
        private readonly Lock _lock = new();

        public override void Write(char value)
        {
            lock (_lock)
            {
                base.Write(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_lock)
            {
                base.Write(value);
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            lock (_lock)
            {
                base.WriteLine(value);
            }

            return Task.CompletedTask;
        }

        public override string ToString()
        {
            lock (_lock)
            {
                return base.ToString();
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Fail($"not within 60 s: {what}");
            }

            await Task.Delay(50);
        }
    }
}
