using System.CommandLine;
using Microsoft.Extensions.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// <c>ratingctl rater</c> runs the rater worker; <c>ratingctl cluster</c> runs the embedded Kafka-protocol
/// cluster. Worker commands pass every other argument to the host's configuration
/// (<c>--Kafka:BootstrapServers=127.0.0.1:9092</c>, <c>--Rater:TariffPath=tariff.json</c>, …).
/// </summary>
public static class WorkerCommands
{
    public static Command Rater()
    {
        var command = new Command("rater", "Run the rater worker (configuration: appsettings.json, environment variables, --Section:Key=value).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(async (result, cancel) =>
        {
            var app = RaterHost.Build([.. result.UnmatchedTokens]);
            await ((IHost)app).RunAsync(cancel);
            return Environment.ExitCode; // RaterWorker.HungClientExitCode when the Kafka clients hung on close

        });
        return command;
    }

    public static Command Cluster()
    {
        var partitions = new Option<int>("--partitions") { Description = "Partitions of every topic", DefaultValueFactory = _ => 4 };
        var command = new Command("cluster", "Run an embedded Kafka-protocol cluster (one broker, every product topic) until interrupted.")
        {
            partitions,
        };
        command.SetAction(async (result, cancel) =>
        {
            using var cluster = EmbeddedCluster.Start(result.GetValue(partitions));
            Console.WriteLine($"bootstrap={cluster.BootstrapServers}");
            Console.WriteLine($"topics: {string.Join(' ', TopicSet.All(cluster.Topics))} ({cluster.Partitions} partitions each)");
            await Console.Out.FlushAsync(cancel);
            try
            {
                await Task.Delay(Timeout.Infinite, cancel);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM: stop the cluster.
            }

            return 0;
        });
        return command;
    }
}
