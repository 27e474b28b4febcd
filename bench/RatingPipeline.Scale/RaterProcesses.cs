using System.Diagnostics;
using System.Globalization;
using RatingPipeline.Kafka;
using RatingPipeline.Testing;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// Scaling out: the same CDRs on an 8-partition <c>cdrs</c> topic rated by one <c>ratingctl rater</c> process and by
/// two in one group (each its own process, as deployed), timed from the first CDR produced to every offset committed.
/// The cluster and the feeding producer stay in this process; each rater's CPU is read from the operating system.
/// </summary>
internal static class RaterProcesses
{
    private const int Partitions = 8;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static void Run(int cdrs)
    {
        Section($"Rater processes on {Partitions} partitions ({N(cdrs)} CDRs over 10,000 subscribers, checkpoint every 1 s)");
        var (profiles, keys, values) = EmbeddedRun.Generate(seed: 42, subscribers: 10_000, cdrs);
        var tariffPath = EmbeddedRun.WriteDemoTariff("processes");
        var ratingctl = Path.Combine(AppContext.BaseDirectory, "ratingctl.dll");
        try
        {
            var rates = new Dictionary<int, double>();
            foreach (var processes in new[] { 1, 2 })
            {
                var (times, raterCpu) = RunOnce(processes, ratingctl, tariffPath, profiles, keys, values);
                rates[processes] = cdrs / times.Committed.TotalSeconds;
                Row($"{processes} rater process(es)", $"{N(rates[processes])} CDRs/s",
                    $"({times.Committed.TotalSeconds:F1} s to all committed, {times.Consumed.TotalSeconds:F1} s to all consumed; CPU per CDR: "
                    + $"the raters {raterCpu.TotalMicroseconds / cdrs:F1} µs, the cluster and the feeder {times.Cpu.TotalMicroseconds / cdrs:F1} µs; load {LoadAverage()})");
            }

            Row("2 processes / 1", $"{rates[2] / rates[1]:F2}", $"{Environment.ProcessorCount} cores on this machine, shared by the raters, the cluster and the feeder");
        }
        finally
        {
            File.Delete(tariffPath);
        }
    }

    private static (Throughput.FeedTimes Times, TimeSpan RaterCpu) RunOnce(int processes, string ratingctl, string tariffPath,
        byte[][] profiles, byte[][] keys, byte[][] values)
    {
        using var cluster = EmbeddedCluster.Start(Partitions);
        EmbeddedRun.ProduceProfiles(cluster, profiles);
        var group = $"scale-processes-{Guid.NewGuid():N}";
        var raters = Enumerable.Range(0, processes).Select(i => Start(ratingctl, cluster, tariffPath, group, $"scale-{i}")).ToList();
        try
        {
            // Every rater ready and the partitions shared out (with two: each owns some) before the first CDR.
            EmbeddedRun.WaitUntil(
                () => raters.All(r => r.Ready()) && raters.Sum(r => r.Metric("ratingpipeline_assigned_partitions")) == Partitions
                    && raters.All(r => r.Metric("ratingpipeline_assigned_partitions") > 0),
                TimeSpan.FromMinutes(2), $"{processes} rater process(es) ready with the {Partitions} partitions shared out");
            var cpuBefore = raters.Sum(r => r.Cpu.Ticks);
            var times = Throughput.Feed(cluster, group, keys, values, () => (long)raters.Sum(r => r.Metric("ratingpipeline_cdrs_consumed_total")));
            return (times, TimeSpan.FromTicks(raters.Sum(r => r.Cpu.Ticks) - cpuBefore));
        }
        finally
        {
            foreach (var rater in raters)
            {
                rater.Dispose();
            }
        }
    }

    private static RaterChild Start(string ratingctl, EmbeddedCluster cluster, string tariffPath, string group, string instance)
    {
        var port = LoopbackPort.Free();
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (string[])[ratingctl, "rater", $"--Kafka:BootstrapServers={cluster.BootstrapServers}", "--Kafka:Embedded=true",
            $"--Rater:TariffPath={tariffPath}", $"--Rater:InstanceId={instance}", $"--Rater:GroupId={group}", "--Rater:BatchMaxWait=00:00:00.100",
            $"--Http:Url=http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning"])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("ratingctl rater did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new RaterChild(process, new Uri($"http://127.0.0.1:{port}/"));
    }

    /// <summary>A rater child process: its readiness and metrics over HTTP, its CPU from the operating system.</summary>
    private sealed class RaterChild(Process process, Uri url) : IDisposable
    {
        public TimeSpan Cpu
        {
            get
            {
                process.Refresh();
                return process.TotalProcessorTime;
            }
        }

        public bool Ready()
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the rater at {url} exited with code {process.ExitCode}");
            }

            try
            {
                using var response = Http.GetAsync(new Uri(url, "healthz/ready")).GetAwaiter().GetResult();
                return response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }

        /// <summary>The value of an unlabelled metric on <c>/metrics</c> (0 while it does not answer).</summary>
        public double Metric(string name)
        {
            string text;
            try
            {
                text = Http.GetStringAsync(new Uri(url, "metrics")).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return 0;
            }

            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith(name + " ", StringComparison.Ordinal))
                {
                    return double.Parse(line.AsSpan(name.Length + 1), CultureInfo.InvariantCulture);
                }
            }

            return 0;
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(TimeSpan.FromSeconds(30));
            }

            process.Dispose();
        }
    }
}
