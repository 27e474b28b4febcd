using System.Buffers;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Synthetic;
using RatingPipeline.Testing;

namespace RatingPipeline.Scale;

/// <summary>Synthetic records and a rater on an embedded cluster: what the Kafka figures share.</summary>
internal static class EmbeddedRun
{
    /// <summary>Profiles of <paramref name="subscribers"/> subscribers and <paramref name="cdrs"/> CDRs (key = msisdn), reproducible from <paramref name="seed"/>.</summary>
    public static (byte[][] Profiles, byte[][] Keys, byte[][] Values) Generate(int seed, int subscribers, int cdrs)
    {
        var data = new SyntheticData(seed, subscribers);
        var buffer = new ArrayBufferWriter<byte>(512);
        var profiles = new byte[subscribers][];
        for (var i = 0; i < subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            profiles[i] = buffer.WrittenSpan.ToArray();
        }

        var keys = new byte[cdrs][];
        var values = new byte[cdrs][];
        for (var i = 0; i < cdrs; i++)
        {
            buffer.ResetWrittenCount();
            keys[i] = Encoding.ASCII.GetBytes(data.WriteNextCdr(buffer));
            values[i] = buffer.WrittenSpan.ToArray();
        }

        return (profiles, keys, values);
    }

    /// <summary>Writes the demo tariff to a temporary file and returns its path.</summary>
    public static string WriteDemoTariff(string figure)
    {
        var path = Path.Combine(Path.GetTempPath(), $"ratingpipeline-scale-{figure}-tariff-{Environment.ProcessId}.json");
        File.WriteAllBytes(path, SyntheticData.DemoTariff());
        return path;
    }

    /// <summary>Produces the profiles to <c>subscribers</c>, keyed by msisdn, and waits for every acknowledgement.</summary>
    public static void ProduceProfiles(EmbeddedCluster cluster, byte[][] profiles)
    {
        using var producer = NewProducer(cluster);
        for (var i = 0; i < profiles.Length; i++)
        {
            producer.Produce(cluster.Topics.Subscribers, new Message<byte[], byte[]> { Key = Encoding.ASCII.GetBytes(SyntheticData.MsisdnOf(i)), Value = profiles[i] });
        }

        producer.Flush(TimeSpan.FromSeconds(60));
    }

    /// <summary>
    /// Starts the rater worker in this process on <paramref name="cluster"/> and waits until it reports ready;
    /// <paramref name="settings"/> are further configuration keys (e.g. <c>Rater:CheckpointInterval</c>).
    /// </summary>
    public static WebApplication StartRater(EmbeddedCluster cluster, string tariffPath, string group, int batchMaxWaitMs,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var configuration = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = cluster.BootstrapServers,
            ["Kafka:Embedded"] = "true",
            ["Rater:TariffPath"] = tariffPath,
            ["Rater:InstanceId"] = "scale",
            ["Rater:GroupId"] = group,
            ["Rater:BatchMaxWait"] = TimeSpan.FromMilliseconds(batchMaxWaitMs).ToString("c", Figures.Invariant),
            ["Http:Url"] = $"http://127.0.0.1:{LoopbackPort.Free()}",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            configuration[key] = value;
        }

        var app = RaterHost.Build([], configuration);
        app.StartAsync().GetAwaiter().GetResult();
        WaitUntil(() => RaterMetrics.ReadTotals().Ready, TimeSpan.FromSeconds(60), "rater ready");
        return app;
    }

    public static void Stop(WebApplication app)
    {
        app.StopAsync().GetAwaiter().GetResult();
        ((IAsyncDisposable)app).DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    public static IProducer<byte[], byte[]> NewProducer(EmbeddedCluster cluster)
    {
        var config = KafkaClientTuning.Producer(cluster.BootstrapServers);
        config.QueueBufferingMaxMessages = 1_000_000;
        return new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
    }

    public static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"waited {timeout.TotalSeconds:F0} s for: {what}");
            }

            Thread.Sleep(10);
        }
    }
}
