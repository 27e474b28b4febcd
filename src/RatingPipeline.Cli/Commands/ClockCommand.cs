using System.CommandLine;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Time;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// <c>ratingctl clock</c>: the scheduler's side of SPEC §7.9. Writes one clock record
/// <c>{"type":"clock","at":INSTANT}</c>, without a key, to every partition of <c>cdrs</c>, so every rater applies
/// it, in its place in each partition, to the subscribers whose profiles are in the same-numbered
/// <c>subscribers</c> partition. Run it hourly (the compose clock service, the Helm CronJob): a clock at or before a
/// subscriber's clock mark changes nothing, so a repeated or late clock is harmless.
/// </summary>
public static class ClockCommand
{
    public static Command Build()
    {
        var bootstrap = new Option<string>("--bootstrap") { Description = "Kafka bootstrap servers, HOST:PORT[,…]", Required = true };
        var at = new Option<string>("--at") { Description = "The clock's instant (YYYY-MM-DDTHH:MM:SS[.F](Z|±HH:MM)), or now (UTC, whole seconds)", DefaultValueFactory = _ => "now" };
        var topic = new Option<string>("--topic") { Description = "The CDR topic", DefaultValueFactory = _ => "cdrs" };
        var every = new Option<TimeSpan?>("--every")
        {
            Description = "Keep running: write a clock now (--at now) and then every interval (e.g. 1h) until stopped",
            CustomParser = Options.Durations.ParseOptional,
        };
        var command = new Command("clock", "Write a clock record to every partition of the CDR topic (drives cycle close, fees, notices).")
        {
            bootstrap, at, topic, every,
        };
        command.SetAction((result, cancel) => result.GetValue(every) is { } interval
            ? RepeatAsync(result.GetValue(bootstrap)!, interval, result.GetValue(topic)!, TimeProvider.System, Console.Out, Console.Error, cancel)
            : RunAsync(result.GetValue(bootstrap)!, result.GetValue(at)!, result.GetValue(topic)!, TimeProvider.System, Console.Out, Console.Error, cancel));
        return command;
    }

    /// <summary>
    /// A clock at the current time now and then every <paramref name="interval"/> until cancelled (the compose clock
    /// service). A failed write is reported and tried again at the next tick: the next clock covers the time missed.
    /// </summary>
    /// <returns>0 when stopped; 2 for an interval that is not positive.</returns>
    public static async Task<int> RepeatAsync(string bootstrap, TimeSpan interval, string topic, TimeProvider time, TextWriter stdout, TextWriter stderr,
        CancellationToken cancel)
    {
        if (interval <= TimeSpan.Zero)
        {
            await stderr.WriteLineAsync("ratingctl clock: --every must be positive");
            return 2;
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                await RunAsync(bootstrap, "now", topic, time, stdout, stderr, cancel);
            }
            while (await timer.WaitForNextTickAsync(cancel));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // stopped
        }

        return 0;
    }

    /// <summary>The clock record for <paramref name="at"/> (an instant as SPEC §2.3 writes it, or <c>now</c>); null when it is neither.</summary>
    public static string? Record(string at, TimeProvider time)
    {
        var text = at == "now"
            ? time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : at;
        return Instant.TryParse(text, out _) ? $$"""{"type":"clock","at":"{{text}}"}""" : null;
    }

    /// <returns>0 when every partition acknowledged the clock; 2 for a bad argument; 1 when Kafka failed.</returns>
    public static async Task<int> RunAsync(string bootstrap, string at, string topic, TimeProvider time, TextWriter stdout, TextWriter stderr,
        CancellationToken cancel)
    {
        if (Record(at, time) is not { } record)
        {
            await stderr.WriteLineAsync($"ratingctl clock: --at {at}: not an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM), nor now");
            return 2;
        }

        try
        {
            var partitions = Partitions(bootstrap, topic);
            var value = Encoding.UTF8.GetBytes(record);
            using var producer = new ProducerBuilder<byte[]?, byte[]>(KafkaClientTuning.Producer(bootstrap))
                .SetLogHandler((_, _) => { })
                .Build();
            var deliveries = partitions
                .Select(p => producer.ProduceAsync(new TopicPartition(topic, p), new Message<byte[]?, byte[]> { Key = null, Value = value }, cancel))
                .ToList();
            var results = await Task.WhenAll(deliveries).WaitAsync(TimeSpan.FromSeconds(60), cancel);
            await stdout.WriteLineAsync($"{record} written to {results.Length} partitions of {topic}");
            return 0;
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException or TimeoutException)
        {
            await stderr.WriteLineAsync($"ratingctl clock: {e.Message}");
            return 1;
        }
    }

    /// <summary>The partition numbers of <paramref name="topic"/>; throws <see cref="InvalidOperationException"/> when it does not exist.</summary>
    public static List<int> Partitions(string bootstrap, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).SetLogHandler((_, _) => { }).Build();
        // The metadata of all topics: asking for one topic by name would let a broker that auto-creates topics make it.
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.IsError || found.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"topic {topic} does not exist at {bootstrap}{(found?.Error.IsError == true ? $" ({found.Error.Reason})" : "")}");
        }

        return [.. found.Partitions.Select(p => p.PartitionId).Order()];
    }
}
