using System.Diagnostics;
using System.Net.Http.Headers;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Synthetic;
using RatingPipeline.Testing;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// Usage queries against a rater while it rates at its full rate: the same stream as the throughput figure (4
/// partitions, CDRs streamed in with a bounded lag), rated once without queries (the baseline, same run) and once with
/// <c>clients</c> HTTP clients asking <c>GET /v1/subscribers/{msisdn}/usage</c> for random subscribers back to back over
/// loopback. Reports queries/s, p50/p99/max latency and the rating throughput of both, the loss stated.
/// </summary>
internal static class UsageQueryLoad
{
    private const int Subscribers = 10_000;
    private const string Token = "scale-usage-token-0123456789abcdef";

    public static void Run(int cdrs, int clients, int rounds)
    {
        Section($"Usage queries while rating ({N(cdrs)} CDRs, {N(Subscribers)} subscribers, 4 partitions, {clients} query clients, {rounds} rounds)");
        var (profiles, keys, values) = EmbeddedRun.Generate(11, Subscribers, cdrs);
        var tariffPath = EmbeddedRun.WriteDemoTariff("usage");
        var warm = Math.Min(cdrs, 20_000);
        RaterRun(profiles, keys[..warm], values[..warm], tariffPath, 0);
        RaterRun(profiles, keys[..warm], values[..warm], tariffPath, clients);
        for (var round = 1; round <= rounds; round++)
        {
            var baseline = RaterRun(profiles, keys, values, tariffPath, 0);
            var loaded = RaterRun(profiles, keys, values, tariffPath, clients);
            var plain = cdrs / baseline.Times.Committed.TotalSeconds;
            var withQueries = cdrs / loaded.Times.Committed.TotalSeconds;
            Row($"round {round}: rating without queries (baseline)", $"{N(plain)} CDRs/s", baseline.Times.Note(cdrs));
            Row($"round {round}: rating with queries", $"{N(withQueries)} CDRs/s", $"{((withQueries / plain) - 1) * 100:+0.0;-0.0} % against the baseline; {loaded.Times.Note(cdrs)}");
            Row($"round {round}: usage queries", $"{N(loaded.Queries / loaded.Times.Committed.TotalSeconds)} queries/s",
                $"p50 {loaded.Percentile(0.50):F2} ms, p99 {loaded.Percentile(0.99):F2} ms, max {loaded.Percentile(1):F2} ms over {N(loaded.Queries)} queries, {loaded.Failures} not 200");
        }

        File.Delete(tariffPath);
    }

    private static LoadRun RaterRun(byte[][] profiles, byte[][] keys, byte[][] values, string tariffPath, int clients)
    {
        using var cluster = EmbeddedCluster.Start(4);
        EmbeddedRun.ProduceProfiles(cluster, profiles);
        var group = $"scale-usage-{Guid.NewGuid():N}";
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}";
        var app = EmbeddedRun.StartRater(cluster, tariffPath, group, batchMaxWaitMs: 100, new Dictionary<string, string>
        {
            ["Http:Url"] = url,
            ["Http:Auth:Token"] = Token,
            ["Http:RateLimit:PermitLimit"] = "1000000",
        });
        using var stop = new CancellationTokenSource();
        var latencies = new List<double>[clients];
        var failures = 0;
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(1, clients) }) { Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = [];
            var random = new Random(c);
            while (!stop.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.GetAsync($"{url}/v1/subscribers/{SyntheticData.MsisdnOf(random.Next(Subscribers))}/usage", stop.Token);
                    _ = await response.Content.ReadAsByteArrayAsync(stop.Token);
                    if (response.StatusCode != System.Net.HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }

                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        })).ToArray();
        try
        {
            var consumedBefore = RaterMetrics.ReadTotals().Consumed;
            var times = Throughput.Feed(cluster, group, keys, values, () => RaterMetrics.ReadTotals().Consumed - consumedBefore);
            stop.Cancel();
            Task.WaitAll(tasks, TimeSpan.FromSeconds(30));
            var all = latencies.Where(l => l is not null).SelectMany(l => l).Order().ToArray();
            return new LoadRun(times, all, failures);
        }
        finally
        {
            stop.Cancel();
            EmbeddedRun.Stop(app);
        }
    }

    private sealed record LoadRun(Throughput.FeedTimes Times, double[] Latencies, int Failures)
    {
        public int Queries => Latencies.Length;

        public double Percentile(double p) => Latencies.Length == 0 ? 0 : Latencies[Math.Min(Latencies.Length - 1, (int)Math.Ceiling(p * Latencies.Length) - 1 < 0 ? 0 : (int)Math.Ceiling(p * Latencies.Length) - 1)];
    }
}
