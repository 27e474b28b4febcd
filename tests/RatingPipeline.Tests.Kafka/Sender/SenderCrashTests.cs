using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// The sender as a separate process (<c>ratingctl sender</c>) killed with SIGKILL several times while reminders
/// stream in: every notice still reaches the gateway, and the notice log records each exactly once.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("sender")]
[Category("kafka")]
public sealed class SenderCrashTests
{
    private const int Subscribers = 20;
    private const int Reminders = 150;
    private const int Kills = 3;

    [Test]
    public async Task A_sender_killed_mid_stream_still_delivers_every_notice_exactly_once()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 4);
        await using var gateway = await LoopbackGateway.StartAsync();
        // A slower gateway widens the window between it taking a notice and the notice-log record.
        gateway.Delay = TimeSpan.FromMilliseconds(20);
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Subscribers,
            Enumerable.Range(1, Subscribers).Select(i => (SenderKafkaKit.Msisdn(i), ProfileJson.Make(SenderKafkaKit.Msisdn(i)))));
        var clock = Stopwatch.StartNew();

        using var producing = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var producer = Task.Run(() => ProduceSlowly(cluster, producing.Token));
        var log = new StringBuilder();
        var child = StartSender(cluster, gateway, log);
        try
        {
            for (var kill = 1; kill <= Kills; kill++)
            {
                // Let this instance take over and send some notices, then kill it mid-stream.
                var before = gateway.DeliveriesByKey.Count;
                var progressed = SpinWait.SpinUntil(() => gateway.DeliveriesByKey.Count >= Math.Min(Reminders, before + 10) || child.HasExited, TimeSpan.FromSeconds(40));
                Assert.That(progressed && !child.HasExited, Is.True, $"sender #{kill} made no progress; its log ends:{Environment.NewLine}{Tail(log)}");
                await Task.Delay(Random.Shared.Next(50, 400));
                child.Kill(); // SIGKILL: no shutdown, no commit, no leave-group
                child.WaitForExit(10_000);
                child.Dispose();
                TestContext.Out.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: killed sender #{kill} after {gateway.DeliveriesByKey.Count} deliveries");
                child = StartSender(cluster, gateway, log);
            }

            await producer;
            var all = await gateway.WaitForDeliveriesAsync(Reminders, TimeSpan.FromSeconds(60));
            Assert.That(all, Is.True, $"delivered {gateway.DeliveriesByKey.Count} of {Reminders}; the last sender's log ends:{Environment.NewLine}{Tail(log)}");
            var sent = new List<NoticeRecord>();
            SpinWait.SpinUntil(() =>
            {
                sent = SenderKafkaKit.NoticeLog(cluster.BootstrapServers, cluster.Topics.NoticeLog).Where(r => r.Outcome == NoticeOutcomes.Sent).ToList();
                return sent.Count >= Reminders;
            }, TimeSpan.FromSeconds(30));
            await Task.Delay(500);

            var requests = gateway.RequestsByKey;
            TestContext.Out.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s: {Reminders} notices, {Kills} kills, {requests.Values.Sum() - Reminders} repeated requests absorbed by the gateway's idempotency key");
            Assert.Multiple(() =>
            {
                Assert.That(gateway.DeliveriesByKey, Has.Count.EqualTo(Reminders));
                Assert.That(gateway.DeliveriesByKey.Values, Has.All.EqualTo(1));
                Assert.That(gateway.Received.Where(r => r.Delivered).Select(r => r.Id).Distinct().Count(), Is.EqualTo(Reminders));
                Assert.That(sent.GroupBy(r => r.EventId).Select(g => g.Count()), Has.All.EqualTo(1), "one sent record per notice in notice-log");
                Assert.That(sent.Select(r => r.EventId).Distinct().Count(), Is.EqualTo(Reminders));
            });
        }
        finally
        {
            producing.Cancel();
            if (!child.HasExited)
            {
                child.Kill();
                child.WaitForExit(10_000);
            }

            child.Dispose();
        }
    }

    private static void ProduceSlowly(EmbeddedCluster cluster, CancellationToken cancel)
    {
        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(cluster.BootstrapServers), keepClientLog: true);
        var produced = new AcknowledgementGroup();
        for (var n = 0; n < Reminders && !cancel.IsCancellationRequested; n++)
        {
            var msisdn = SenderKafkaKit.Msisdn((n % Subscribers) + 1);
            var reminder = ReminderJson.Roaming(msisdn, "454", "HMT", """{"price":2990000,"unit":60}""", "null", "null", "null", cdrId: $"crash-{n}");
            producer.Produce(cluster.Topics.Reminders, new Message<byte[], byte[]> { Key = AcknowledgedProducer.Utf8Key(msisdn), Value = Encoding.UTF8.GetBytes(reminder) }, produced);
            if (n % 10 == 9)
            {
                producer.Await(produced, AcknowledgedProducer.UntilReported, "reminders", cancel);
                Thread.Sleep(250);
            }
        }

        producer.Await(produced, AcknowledgedProducer.UntilReported, "reminders", cancel);
    }

    private static Process StartSender(EmbeddedCluster cluster, LoopbackGateway gateway, StringBuilder log)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ratingctl.dll"));
        start.ArgumentList.Add("sender");
        var config = SenderKafkaKit.Config(cluster.BootstrapServers, gateway, "sender-crash");
        // Small batches: kills land between batches (restore from notice-log) as well as inside one (gateway key).
        config["Sender:BatchSize"] = "10";
        foreach (var (key, value) in config)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("ratingctl sender did not start");
        void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (log)
            {
                log.AppendLine(line);
                if (log.Length > 200_000)
                {
                    log.Remove(0, log.Length - 100_000);
                }
            }
        }

        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Tail(StringBuilder log)
    {
        lock (log)
        {
            var text = log.ToString();
            return text.Length > 4000 ? text[^4000..] : text;
        }
    }
}
