using System.Buffers;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Synthetic;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// A real Prometheus (Debian package prometheus) scrapes, every second and with the alert rules loaded, the two
/// workers on the embedded cluster: a rater rating synthetic traffic, and the sender — the published app
/// (<c>ratingctl sender</c>) in its own process, as deployed — turning the rater's reminders into notices at a
/// loopback SMS and voice gateway (a real HTTP server on 127.0.0.1). Through Prometheus's HTTP API: every metric
/// family the dashboard and the alert rules use has data (the sender's from the sender's own scrape job), every
/// dashboard query is valid PromQL and returns data, and every rule evaluates without error.
/// </summary>
[TestFixture]
[Category("needs-prometheus")]
[Category("deploy")]
[NonParallelizable]
public sealed class PrometheusScrapeTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private EmbeddedCluster? _cluster;
    private WebApplication? _rater;
    private ChildProcess? _prometheus;
    private ChildProcess? _sender;
    private LoopbackGateway? _gateway;
    private CancellationTokenSource? _traffic;
    private Task? _producing;
    private string _folder = "";
    private HttpClient _api = null!;

    [OneTimeSetUp]
    public async Task StartRaterTrafficAndPrometheus()
    {
        _folder = Directory.CreateTempSubdirectory("ratingpipeline-prometheus-").FullName;
        _cluster = EmbeddedCluster.Start(partitions: 2);
        var tariff = Path.Combine(_folder, "tariff.json");
        await File.WriteAllBytesAsync(tariff, SyntheticData.DemoTariff());
        var raterPort = LoopbackPort.Free();
        _rater = RaterHost.Build([], new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = _cluster.BootstrapServers,
            ["Kafka:Embedded"] = "true",
            ["Rater:TariffPath"] = tariff,
            ["Rater:InstanceId"] = "rater-scraped",
            ["Rater:GroupId"] = $"rater-scraped-{Guid.NewGuid():N}",
            ["Rater:StatisticsInterval"] = "00:00:01",
            ["Http:Url"] = $"http://127.0.0.1:{raterPort}",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        await _rater.StartAsync();

        // The sender as deployed: the published app in its own process, so its /metrics holds only its own families.
        _gateway = await LoopbackGateway.StartAsync();
        var senderPort = LoopbackPort.Free();
        _sender = ChildProcess.Start("dotnet",
        [
            PublishedApp.Dll, "sender", $"--Kafka:BootstrapServers={_cluster.BootstrapServers}", "--Kafka:Embedded=true",
            $"--Sender:GroupId=sender-scraped-{Guid.NewGuid():N}", $"--Sender:Sms:Url={_gateway.Url}", $"--Sender:Voice:Url={_gateway.Url}",
            "--Sender:QuietHours:Start=00:00", "--Sender:QuietHours:End=00:00", $"--Http:Url=http://127.0.0.1:{senderPort}",
        ], PublishedApp.Directory);

        _traffic = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _producing = Task.Run(() => Produce(_cluster.BootstrapServers, _traffic.Token));

        var port = LoopbackPort.Free();
        var config = Path.Combine(_folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
              evaluation_interval: 1s
            rule_files:
              - {Path.Combine(RepoFiles.Deploy, "prometheus", "alerts.yml")}
            scrape_configs:
              - job_name: ratingpipeline-rater
                static_configs:
                  - targets: ['127.0.0.1:{raterPort}']
              - job_name: ratingpipeline-sender
                static_configs:
                  - targets: ['127.0.0.1:{senderPort}']
            """);
        _prometheus = ChildProcess.Start(ChildProcess.Tool("prometheus", "prometheus"),
        [
            $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(_folder, "data")}", $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ], _folder);
        _api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    [OneTimeTearDown]
    public async Task StopEverything()
    {
        _api?.Dispose();
        _prometheus?.Dispose();
        _sender?.Dispose();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        _traffic?.Cancel();
        if (_producing is not null)
        {
            await _producing;
        }

        if (_rater is not null)
        {
            await _rater.StopAsync();
            await _rater.DisposeAsync();
        }

        _cluster?.Dispose();
        _traffic?.Dispose();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Test]
    public async Task Every_metric_family_the_dashboard_and_alerts_use_has_data_in_prometheus()
    {
        var expected = MetricNames.UsedFamilies().ToList();

        var missing = await UntilAsync(async () =>
        {
            var names = await NamesAsync();
            return expected.Where(family => !names.Contains(family) && !names.Contains(family + "_count")).ToList();
        }, m => m.Count == 0);

        Assert.That(expected, Has.Count.GreaterThanOrEqualTo(20));
        Assert.That(expected, Is.SupersetOf(MetricNames.SenderFamilies));
        Assert.That(missing, Is.Empty, "families without data in Prometheus");
        // The sender's families come from the sender's own scrape job (the test process's registry may hold
        // families of other tests' in-process senders, so the rater's job does not count for them).
        var fromSender = await UntilAsync(async () =>
        {
            var absent = new List<string>();
            foreach (var family in MetricNames.SenderFamilies)
            {
                if ((await QueryAsync($"count({{__name__=~\"{family}(_count)?\",job=\"ratingpipeline-sender\"}})")).GetArrayLength() == 0)
                {
                    absent.Add(family);
                }
            }

            return absent;
        }, a => a.Count == 0);
        Assert.That(fromSender, Is.Empty, "sender families without data from the sender's job");
        // Data, not just series: traffic was consumed, rated, batched and restored; notices were sent and delivered.
        foreach (var query in new[]
                 {
                     "sum(ratingpipeline_cdrs_consumed_total) > 0", "sum(ratingpipeline_cdrs_rated_total) > 0",
                     "sum(ratingpipeline_batch_duration_seconds_count) > 0", "sum(ratingpipeline_state_restore_duration_seconds_count) > 0",
                     "ratingpipeline_ready{job=\"ratingpipeline-rater\"} == 1", "ratingpipeline_ready{job=\"ratingpipeline-sender\"} == 1",
                     "count(ratingpipeline_consumer_lag{job=\"ratingpipeline-rater\"}) == 2",
                     "sum(ratingpipeline_notices_total{job=\"ratingpipeline-sender\",outcome=\"sent\"}) > 0",
                     "sum(ratingpipeline_notice_delivery_seconds_count{job=\"ratingpipeline-sender\"}) > 0",
                 })
        {
            var result = await UntilAsync(() => QueryAsync(query), r => r.GetArrayLength() > 0);
            Assert.That(result.GetArrayLength(), Is.GreaterThan(0), query);
        }

        Assert.That(_gateway!.DeliveriesByKey, Is.Not.Empty, "notices reached the loopback gateway");
    }

    [Test]
    public async Task Every_dashboard_query_runs_and_returns_data()
    {
        var expressions = MetricNames.DashboardExpressions(MetricNames.Dashboard());
        await UntilAsync(() => QueryAsync("sum(rate(ratingpipeline_batch_duration_seconds_count[10s])) > 0"), r => r.GetArrayLength() > 0);

        var empty = new List<string>();
        foreach (var expression in expressions)
        {
            // Grafana's variables as the dashboard resolves them with every instance selected.
            var query = expression.Replace("$__rate_interval", "10s", StringComparison.Ordinal).Replace("$__range", "5m", StringComparison.Ordinal)
                .Replace("$instance", ".*", StringComparison.Ordinal);
            var result = await UntilAsync(() => QueryAsync(query), r => r.GetArrayLength() > 0, TimeSpan.FromSeconds(20));
            if (result.GetArrayLength() == 0)
            {
                empty.Add(expression);
            }
        }

        Assert.That(expressions, Has.Count.GreaterThanOrEqualTo(30));
        Assert.That(empty, Is.Empty, "dashboard queries without data");
    }

    [Test]
    public async Task Every_alert_rule_evaluates_without_error_on_live_data()
    {
        var rules = await UntilAsync(async () =>
        {
            using var response = await _api.GetAsync(new Uri("/api/v1/rules", UriKind.Relative));
            if (!response.IsSuccessStatusCode)
            {
                return []; // Prometheus answers "Service Unavailable" while it starts: ask again
            }

            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
                .SelectMany(g => g.GetProperty("rules").EnumerateArray())
                .Select(r => (Name: r.GetProperty("name").GetString()!, Health: r.GetProperty("health").GetString()!, Error: r.TryGetProperty("lastError", out var e) ? e.GetString() : null))
                .ToList();
        }, r => r.Count > 0 && r.All(x => x.Health != "unknown"));

        Assert.That(rules.Select(r => r.Name), Is.EquivalentTo(MetricNames.RuleExpressions(MetricNames.AlertRules()).Select(r => r.Name)));
        Assert.That(rules.Where(r => r.Health != "ok").Select(r => $"{r.Name}: {r.Health} {r.Error}"), Is.Empty);
    }

    private async Task<HashSet<string>> NamesAsync()
    {
        using var response = await _api.GetAsync(new Uri("/api/v1/label/__name__/values", UriKind.Relative));
        if (!response.IsSuccessStatusCode)
        {
            return []; // still starting
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return [.. json.RootElement.GetProperty("data").EnumerateArray().Select(n => n.GetString()!)];
    }

    private async Task<JsonElement> QueryAsync(string query)
    {
        using var response = await _api.GetAsync(new Uri($"/api/v1/query?query={Uri.EscapeDataString(query)}", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("status").GetString(), Is.EqualTo("success"), $"{query}: {body}");
        return json.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>Polls until <paramref name="done"/> holds or <see cref="Bound"/> passes (Prometheus not answering yet counts as not done).</summary>
    private async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? bound = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        T last = default!;
        while (clock.Elapsed < (bound ?? Bound))
        {
            Assert.That(_prometheus!.HasExited, Is.False, $"prometheus exited: {_prometheus.Stderr}");
            Assert.That(_sender!.HasExited, Is.False, $"the sender exited: {_sender.Stdout}");
            try
            {
                last = await read();
                if (done(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Prometheus is not listening yet.
            }

            await Task.Delay(250);
        }

        return last;
    }

    /// <summary>Subscriber profiles, then synthetic CDRs at about 500/s until stopped.</summary>
    private static void Produce(string bootstrap, CancellationToken stop)
    {
        var topics = new TopicNames();
        using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientTuning.Producer(bootstrap)).SetLogHandler((_, _) => { }).Build();
        var data = new SyntheticData(seed: 5, subscribers: 200);
        var buffer = new ArrayBufferWriter<byte>(1024);
        for (var i = 0; i < 200; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            producer.Produce(topics.Subscribers, new Message<byte[], byte[]> { Key = System.Text.Encoding.ASCII.GetBytes(SyntheticData.MsisdnOf(i)), Value = buffer.WrittenSpan.ToArray() });
        }

        producer.Flush(TimeSpan.FromSeconds(10));
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i < 50; i++)
            {
                buffer.ResetWrittenCount();
                var msisdn = data.WriteNextCdr(buffer);
                producer.Produce(topics.Cdrs, new Message<byte[], byte[]> { Key = System.Text.Encoding.ASCII.GetBytes(msisdn), Value = buffer.WrittenSpan.ToArray() });
            }

            stop.WaitHandle.WaitOne(100);
        }

        producer.Flush(TimeSpan.FromSeconds(10));
    }
}
