using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Synthetic;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// The application as the image ships it (published as deploy/Dockerfile publishes it, run as its ENTRYPOINT runs
/// it: <c>dotnet ratingctl.dll WORKER</c>) starts, reports ready against the embedded cluster, loads the native Kafka
/// library from its own folder, writes nothing outside its temporary folder, and stops cleanly on SIGTERM.
/// </summary>
[TestFixture]
[Category("deploy")]
[NonParallelizable]
public sealed partial class PublishedAppTests
{
    private static readonly TimeSpan ReadyBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(30);
    private const int Sigstop = 19;
    private const int Sigcont = 18;

    /// <summary>
    /// The image's workers: the command, the arguments it needs beyond Kafka and Http (given a scratch folder),
    /// and the log message that says it stopped gracefully. To add the sender once it is a ratingctl command, add
    /// a row here and remove it from <see cref="ComposeTests"/>' pending commands.
    /// </summary>
    private static readonly Dictionary<string, (Func<string, string[]> Args, string StoppedMessage)> Workers = new()
    {
        ["rater"] = (folder => [$"--Rater:TariffPath={Path.Combine(folder, "tariff.json")}", "--Rater:InstanceId=rater-0"], "^Rater rater-0 stopped$"),
        ["sender"] = (_ => ["--Sender:Sms:Url=http://127.0.0.1:9/", "--Sender:GroupId=sender-0"], "^Sender stopped$"),
    };

    private static IEnumerable<string> WorkerNames => Workers.Keys;

    [TestCaseSource(nameof(WorkerNames))]
    public async Task Published_worker_becomes_ready_on_the_embedded_cluster_and_stops_cleanly_on_sigterm(string worker)
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var scratch = new Scratch(worker);
        var before = Snapshot(PublishedApp.Directory);
        using var run = await StartWorkerAsync(worker, cluster.BootstrapServers, scratch.Folder);

        using var live = await run.Http.GetAsync(new Uri("/healthz/live", UriKind.Relative));
        var metrics = await run.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var library = MappedLibrdkafka(run.App.Id);
        var (exited, stopTime) = Stop(run.App);
        var logs = JsonLogs(run.App.Stdout);

        TestContext.Out.WriteLine($"{worker}: ready after {run.ReadyAfter.TotalSeconds:F1} s, stopped {stopTime.TotalSeconds:F1} s after SIGTERM");
        Assert.Multiple(() =>
        {
            Assert.That(live.IsSuccessStatusCode, Is.True);
            Assert.That(metrics, Does.Contain("\nratingpipeline_ready 1"));
            AssertStoppedCleanly(worker, run.App, exited, logs);
            Assert.That(run.App.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(logs.Count), "every stdout line is a JSON log entry");
            Assert.That(Snapshot(PublishedApp.Directory), Is.EqualTo(before), "the app wrote into its own folder");
        });
        AssertLoadedTheSelfContainedLibraryWhereSaslIsMissing(library);
    }

    [Test]
    public async Task Published_rater_stops_cleanly_on_sigterm_while_the_broker_does_not_answer()
    {
        // The cluster in its own process (ratingctl cluster), frozen with SIGSTOP: the rater's stop then waits on
        // a broker that never answers, as in a network partition during a rolling update.
        using var cluster = ChildProcess.Start("dotnet", [PublishedApp.Dll, "cluster", "--partitions", "2"], PublishedApp.Directory);
        var bootstrap = await WaitForLineAsync(cluster, "bootstrap=");
        using var scratch = new Scratch("rater-frozen");
        using var run = await StartWorkerAsync("rater", bootstrap, scratch.Folder);

        cluster.Signal(Sigstop);
        try
        {
            var (exited, stopTime) = Stop(run.App);

            TestContext.Out.WriteLine($"rater stopped {stopTime.TotalSeconds:F1} s after SIGTERM with the broker frozen");
            Assert.Multiple(() =>
            {
                AssertStoppedCleanly("rater", run.App, exited, JsonLogs(run.App.Stdout), allowKafkaWarnings: true);
                Assert.That(stopTime, Is.LessThan(TimeSpan.FromSeconds(30)), "within the host's shutdown timeout and the chart's grace period (45 s)");
            });
        }
        finally
        {
            cluster.Signal(Sigcont);
        }
    }

    [Test]
    public async Task Published_load_generator_flushes_and_sums_up_on_sigterm()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        using var load = ChildProcess.Start("dotnet", [PublishedApp.Dll, "load", "--bootstrap", cluster.BootstrapServers, "--rate", "500", "--subscribers", "50"],
            PublishedApp.Directory);
        await WaitForLineAsync(load, "50 subscriber profiles produced to subscribers");
        await Task.Delay(1000);

        var (exited, _) = Stop(load);
        var summary = SummaryLine().Match(load.Stdout);
        var produced = summary.Success ? long.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : -1;

        Assert.That(exited, Is.True, "load still running after SIGTERM");
        Assert.That(load.ExitCode, Is.Zero, load.Stdout + load.Stderr);
        Assert.That(summary.Success, Is.True, load.Stdout);
        Assert.That(produced, Is.GreaterThan(200));
        Assert.That(TopicCount(cluster, cluster.Topics.Cdrs), Is.EqualTo(produced), "every CDR counted was acknowledged");
        Assert.That(TopicCount(cluster, cluster.Topics.Subscribers), Is.EqualTo(50));
    }

    /// <summary>
    /// The Helm chart's clock CronJob gives <c>ratingctl clock</c> only the workers' environment (bootstrap servers,
    /// librdkafka properties, topic names): the published app writes its clock where that environment says.
    /// </summary>
    [Test]
    [Category("needs-kcat")]
    public void Published_clock_writes_to_the_cluster_and_cdr_topic_its_environment_names()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 3);
        var topics = Rater.TestTopics.Create(cluster, Rater.TestTopics.UniquePrefix("published-clock"));
        var run = ChildProcess.Run("dotnet", [PublishedApp.Dll, "clock", "--at", "2026-12-01T00:00:00+08:00"], TimeSpan.FromMinutes(2),
            PublishedApp.Directory, new Dictionary<string, string?>
            {
                ["Kafka__BootstrapServers"] = cluster.BootstrapServers,
                ["Kafka__Properties__client.id"] = "ratingpipeline-clock",
                ["Topics__Cdrs"] = topics.Cdrs,
            });
        var records = Kafka.Kcat.ConsumeToEnd(cluster.BootstrapServers, topics.Cdrs);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Stdout, Does.Contain($"written to 3 partitions of {topics.Cdrs}"));
            Assert.That(records.Select(r => (r.Partition, r.Value)).Order(), Is.EqualTo(new[] { 0, 1, 2 }
                .Select(p => (p, """{"type":"clock","at":"2026-12-01T00:00:00+08:00"}"""))));
            Assert.That(TopicCount(cluster, cluster.Topics.Cdrs), Is.Zero, "nothing in the default cdrs topic");
        });
    }

    [Test]
    public void Published_rate_under_a_heap_limit_smaller_than_its_region_rates_what_it_rates_without_one()
    {
        // The run would ask for a region without collections of about 140 MB (RatingLanes.RunBytes); a container's 128 MB
        // heap limit must not turn that into failed allocations: the region is not asked for, the run collects as it goes.
        using var scratch = new Scratch("heap-limit");
        var data = Path.Combine(scratch.Folder, "data");
        var generate = ChildProcess.Run("dotnet", [PublishedApp.Dll, "generate", "--subscribers", "30000", "--cdrs", "60000", "--seed", "11", "--out", data],
            TimeSpan.FromMinutes(2), PublishedApp.Directory);
        Assert.That(generate.ExitCode, Is.Zero, generate.ToString());
        ToolResult Rate(string output, string? heapLimit) => ChildProcess.Run("dotnet",
            [PublishedApp.Dll, "rate", "--tariff", Path.Combine(data, "tariff.json"), "--subscribers", Path.Combine(data, "subscribers.jsonl"),
                "--cdrs", Path.Combine(data, "cdrs.jsonl"), "--out", Path.Combine(scratch.Folder, output), "--no-progress", "--lanes", "2"],
            TimeSpan.FromMinutes(2), PublishedApp.Directory, new Dictionary<string, string?> { ["DOTNET_GCHeapHardLimit"] = heapLimit });

        var limited = Rate("limited", "0x8000000");
        var free = Rate("free", null);
        Assert.Multiple(() =>
        {
            Assert.That(limited.ExitCode, Is.Zero, limited.ToString());
            Assert.That(free.ExitCode, Is.Zero, free.ToString());
            Assert.That(limited.Stdout, Is.EqualTo(free.Stdout).And.Contain(" rated, "));
            foreach (var file in new[] { "rated.jsonl", "reminders.jsonl", "rejected.jsonl", "bills.jsonl" })
            {
                Assert.That(File.ReadAllBytes(Path.Combine(scratch.Folder, "limited", file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(scratch.Folder, "free", file))),
                    file);
            }
        });
    }

    [Test]
    public void Published_demo_closes_cycles_with_bills_and_fees_within_its_run()
    {
        var port = LoopbackPort.Free();
        var run = ChildProcess.Run("dotnet",
            [PublishedApp.Dll, "demo", "--duration", "15s", "--no-live", "--subscribers", "600", "--rate", "1000", "--http-url", $"http://127.0.0.1:{port}"],
            TimeSpan.FromMinutes(4), PublishedApp.Directory);
        var bills = DemoBills().Match(run.Stdout);
        var summary = DemoSummary().Match(run.Stdout);
        var shown = DemoBillLine().Matches(run.Stdout);
        var inTopic = DemoBillsInTopic().Match(run.Stdout);
        static decimal Yuan(Match m, string name) => decimal.Parse(m.Groups[name].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            Assert.That(run.ExitCode, Is.Zero, run.Stdout + run.Stderr);
            Assert.That(summary.Success, Is.True, run.Stdout);
            Assert.That(bills.Success, Is.True, run.Stdout);
            Assert.That(bills.Success ? long.Parse(bills.Groups["bills"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0, Is.Positive, "bills");
            Assert.That(bills.Success ? long.Parse(bills.Groups["fees"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0, Is.Positive, "fee records");
            Assert.That(bills.Success ? long.Parse(bills.Groups["clocks"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0, Is.Positive, "clock records");
            Assert.That(run.Stdout, Does.Contain("roaming "), "reminders by kind");
            Assert.That(shown, Has.Count.InRange(1, 3), "a few bills shown one by one");
            foreach (Match bill in shown)
            {
                Assert.That(Yuan(bill, "total"), Is.EqualTo(Yuan(bill, "usage") + Yuan(bill, "fees") + Yuan(bill, "topup")), bill.Value);
            }

            Assert.That(inTopic.Success, Is.True, run.Stdout);
            Assert.That(inTopic.Success ? inTopic.Groups["count"].Value : "", Is.EqualTo(bills.Groups["bills"].Value),
                "every bill the rater counted is in the bills topic");
            Assert.That(inTopic.Success ? Yuan(inTopic, "total") : 0, Is.GreaterThanOrEqualTo(shown.Sum(b => Yuan(b, "total"))));

            // E-mail notices reach the demo's SMTP server, every one the sender counted as sent; the terminal holds no
            // log line (they go to the file the demo names), nor anything on stderr.
            var mail = DemoMail().Match(run.Stdout);
            var emailSent = DemoEmailSent().Match(run.Stdout);
            Assert.That(mail.Success && emailSent.Success, Is.True, run.Stdout);
            Assert.That(mail.Success ? long.Parse(mail.Groups["received"].Value, System.Globalization.CultureInfo.InvariantCulture) : 0, Is.Positive, "e-mail notices delivered");
            Assert.That(mail.Groups["received"].Value, Is.EqualTo(emailSent.Groups["sent"].Value), "received by the SMTP server = sent by the sender");
            Assert.That(run.Stdout.Split('\n').Where(l => l.TrimStart().StartsWith('{') || l.Contains("LogLevel", StringComparison.Ordinal)), Is.Empty, "no log lines on the terminal");
            Assert.That(run.Stderr.Trim(), Is.Empty, "nothing on stderr");
            var logs = DemoLogFile().Match(run.Stdout);
            Assert.That(logs.Success && File.Exists(logs.Groups["path"].Value) && new FileInfo(logs.Groups["path"].Value).Length > 0, Is.True, "the log file named exists and holds the logs");
        });
    }

    [GeneratedRegex(@"e-mail notices received by the SMTP server: (?<received>[0-9]+)$", RegexOptions.Multiline)]
    private static partial Regex DemoMail();

    [GeneratedRegex(@"^notices by channel and outcome: .*\bemail sent (?<sent>[0-9]+)\b", RegexOptions.Multiline)]
    private static partial Regex DemoEmailSent();

    [GeneratedRegex(@"^logs: (?<path>\S+)$", RegexOptions.Multiline)]
    private static partial Regex DemoLogFile();

    [GeneratedRegex(@"^  bill [0-9]+ cycle [0-9]{4}-[0-9]{2}-[0-9]{2} \([^)]+\): total (?<total>[0-9]+\.[0-9]+) = usage (?<usage>[0-9]+\.[0-9]+) \+ fees (?<fees>[0-9]+\.[0-9]+) \+ top-up (?<topup>[0-9]+\.[0-9]+) yuan$", RegexOptions.Multiline)]
    private static partial Regex DemoBillLine();

    [GeneratedRegex(@"^bills in the bills topic: (?<count>[0-9]+), totalling (?<total>[0-9]+\.[0-9]+) yuan", RegexOptions.Multiline)]
    private static partial Regex DemoBillsInTopic();

    [System.Text.RegularExpressions.GeneratedRegex(@"^bills: (?<bills>[0-9]+) \(closed billing cycles\); fee records: (?<fees>[0-9]+); clock records: (?<clocks>[0-9]+)", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex DemoBills();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[0-9]+ cdrs, [0-9]+ rated, [0-9]+ rejected, [0-9]+ reminders$", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex DemoSummary();

    private static void AssertStoppedCleanly(string worker, ChildProcess app, bool exited, List<(string Level, string Category, string Message)> logs,
        bool allowKafkaWarnings = false)
    {
        Assert.That(exited, Is.True, $"{worker} still running {StopBound.TotalSeconds} s after SIGTERM");
        Assert.That(exited ? app.ExitCode : -1, Is.Zero, app.Stderr);
        Assert.That(logs.Select(l => l.Message), Does.Contain("Application is shutting down..."));
        Assert.That(logs.Select(l => l.Message), Has.Some.Match(Workers[worker].StoppedMessage), "the worker's own graceful stop");
        Assert.That(logs.Where(l => l.Level is "Error" or "Critical").Select(l => l.Message), Is.Empty);
        if (!allowKafkaWarnings)
        {
            Assert.That(logs.Where(l => l.Level == "Warning").Select(l => l.Message), Is.Empty);
        }
    }

    /// <summary>
    /// The chiseled runtime image has no libsasl2.so.3, which the default librdkafka.so needs; Confluent.Kafka then
    /// falls back to centos8-librdkafka.so (no outside dependencies), and the mock-cluster P/Invoke uses the library
    /// Confluent loaded. On a machine without libsasl2.so.3 (this CI's Debian, and the image) the fallback is what runs.
    /// </summary>
    private static void AssertLoadedTheSelfContainedLibraryWhereSaslIsMissing(string? library)
    {
        Assert.That(library, Is.Not.Null, "no librdkafka mapped in the app");
        Assert.That(library, Does.StartWith(Path.Combine(PublishedApp.Directory, "runtimes")), "librdkafka loaded from outside the app's folder");
        if (!NativeLibrary.TryLoad("libsasl2.so.3", out var sasl))
        {
            Assert.That(Path.GetFileName(library), Is.EqualTo("centos8-librdkafka.so"));
        }
        else
        {
            NativeLibrary.Free(sasl);
            Assert.That(Path.GetFileName(library), Is.AnyOf("librdkafka.so", "centos8-librdkafka.so"));
        }
    }

    private static async Task<TimeSpan?> WaitReadyAsync(HttpClient http, ChildProcess app)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < ReadyBound && !app.HasExited)
        {
            try
            {
                using var response = await http.GetAsync(new Uri("/healthz/ready", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return clock.Elapsed;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // A slow answer while starting.
            }

            await Task.Delay(200);
        }

        return null;
    }

    /// <summary>The librdkafka file the process mapped, from /proc/PID/maps.</summary>
    private static string? MappedLibrdkafka(int pid) =>
        File.ReadLines($"/proc/{pid}/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length >= 6)
            .Select(f => f[5]).FirstOrDefault(p => Path.GetFileName(p).EndsWith("librdkafka.so", StringComparison.Ordinal));

    private static List<(string Level, string Category, string Message)> JsonLogs(string stdout)
    {
        var entries = new List<(string, string, string)>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                using var json = JsonDocument.Parse(line);
                entries.Add((json.RootElement.GetProperty("LogLevel").GetString()!, json.RootElement.GetProperty("Category").GetString()!,
                    json.RootElement.GetProperty("Message").GetString()!));
            }
            catch (JsonException)
            {
                // Counted by the caller: not a JSON log line.
            }
        }

        return entries;
    }

    private static async Task<WorkerRun> StartWorkerAsync(string worker, string bootstrap, string folder)
    {
        await File.WriteAllBytesAsync(Path.Combine(folder, "tariff.json"), SyntheticData.DemoTariff());
        Directory.CreateDirectory(Path.Combine(folder, "tmp"));
        var port = LoopbackPort.Free();
        string[] args =
        [
            PublishedApp.Dll, worker, $"--Kafka:BootstrapServers={bootstrap}", "--Kafka:Embedded=true",
            $"--Http:Url=http://127.0.0.1:{port}", .. Workers[worker].Args(folder),
        ];
        // As in the image: the app's own folder is read-only to it, /tmp (here TMPDIR) is its only writable place.
        var app = ChildProcess.Start("dotnet", args, folder, new Dictionary<string, string?>
        {
            ["TMPDIR"] = Path.Combine(folder, "tmp"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["ASPNETCORE_ENVIRONMENT"] = null,
            ["DOTNET_ENVIRONMENT"] = null,
        });
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        var readyAfter = await WaitReadyAsync(http, app);
        if (readyAfter is null)
        {
            http.Dispose();
            app.Dispose();
            Assert.Fail($"{worker} not ready within {ReadyBound.TotalSeconds} s:\n{app.Stdout}\n{app.Stderr}");
        }

        return new WorkerRun(app, http, readyAfter!.Value);
    }

    private static (bool Exited, TimeSpan StopTime) Stop(ChildProcess app)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        app.Terminate();
        var exited = app.WaitForExit(StopBound);
        return (exited, clock.Elapsed);
    }

    private static async Task<string> WaitForLineAsync(ChildProcess process, string prefix)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < ReadyBound)
        {
            var line = process.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (line is not null)
            {
                return line[prefix.Length..].Trim();
            }

            Assert.That(process.HasExited, Is.False, $"{process.Command} exited: {process.Stdout}{process.Stderr}");
            await Task.Delay(100);
        }

        Assert.Fail($"{process.Command} printed no line starting '{prefix}' within {ReadyBound.TotalSeconds} s: {process.Stdout}{process.Stderr}");
        return "";
    }

    private static long TopicCount(EmbeddedCluster cluster, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(cluster.BootstrapServers, "count", "none")).SetLogHandler((_, _) => { }).Build();
        return Enumerable.Range(0, cluster.Partitions).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>Every file of a folder with its size and last write time.</summary>
    private static List<string> Snapshot(string folder) =>
        [.. Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(folder, f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f):O}")];

    [GeneratedRegex(@"^\d+ profiles, (\d+) cdrs produced, 0 failed$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();

    private sealed record WorkerRun(ChildProcess App, HttpClient Http, TimeSpan ReadyAfter) : IDisposable
    {
        public void Dispose()
        {
            Http.Dispose();
            App.Dispose();
        }
    }

    /// <summary>A scratch folder for one run, removed afterwards.</summary>
    private sealed class Scratch(string name) : IDisposable
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory($"ratingpipeline-{name}-").FullName;

        public void Dispose() => Directory.Delete(Folder, recursive: true);
    }
}
