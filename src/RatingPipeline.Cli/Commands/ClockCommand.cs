using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using RatingPipeline.Kafka;
using RatingPipeline.Time;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// <c>ratingctl clock</c>: the scheduler's side of SPEC §7.9. Writes one clock record
/// <c>{"type":"clock","at":INSTANT}</c>, without a key, to every partition of <c>cdrs</c>, so every rater applies
/// it, in its place in each partition, to the subscribers whose profiles are in the same-numbered
/// <c>subscribers</c> partition. Run it hourly (the compose clock service, the Helm CronJob): a clock at or before a
/// subscriber's clock mark changes nothing, so a repeated or late clock is harmless.
/// <para>
/// It reads the workers' Kafka settings from the environment: <c>Kafka__BootstrapServers</c> when
/// <c>--bootstrap</c> is not given, every <c>Kafka__Properties__NAME</c> (SASL, TLS, …) and <c>Topics__Cdrs</c> when
/// <c>--topic</c> is not given, so a container configured like the rater reaches the same cluster.
/// </para>
/// </summary>
public static class ClockCommand
{
    /// <summary>Where the clock goes: the cluster, the CDR topic, librdkafka properties, and how long a write may take.</summary>
    public sealed record Target(string Bootstrap, string Topic, IReadOnlyDictionary<string, string> Properties, TimeSpan Timeout)
    {
        /// <summary>The default bound of one write: the cluster's metadata and every partition's acknowledgement.</summary>
        public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

        /// <summary>The target for <paramref name="bootstrap"/> and <paramref name="topic"/>, without extra properties.</summary>
        public static Target Of(string bootstrap, string topic, TimeSpan? timeout = null) =>
            new(bootstrap, topic, new Dictionary<string, string>(), timeout ?? DefaultTimeout);
    }

    public static Command Build()
    {
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Kafka bootstrap servers, HOST:PORT[,…] (default: the environment's Kafka__BootstrapServers)",
        };
        var at = new Option<string>("--at") { Description = "The clock's instant (YYYY-MM-DDTHH:MM:SS[.F](Z|±HH:MM)), or now (UTC, whole seconds)", DefaultValueFactory = _ => "now" };
        var topic = new Option<string?>("--topic") { Description = "The CDR topic (default: the environment's Topics__Cdrs, else cdrs)" };
        var every = new Option<TimeSpan?>("--every")
        {
            Description = "Keep running: write a clock now (--at now) and then every interval (e.g. 1h) until stopped",
            CustomParser = Options.Durations.ParseOptional,
        };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "How long one write may take, metadata and every partition's acknowledgement (e.g. 30s)",
            DefaultValueFactory = _ => Target.DefaultTimeout,
            CustomParser = Options.Durations.Parse,
        };
        var command = new Command("clock", "Write a clock record to every partition of the CDR topic (drives cycle close, fees, notices).")
        {
            bootstrap, at, topic, every, timeout,
        };
        command.SetAction(async (result, cancel) =>
        {
            var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            if (Resolve(result.GetValue(bootstrap), result.GetValue(topic), result.GetValue(timeout), environment, Console.Error) is not { } target)
            {
                return 2;
            }

            return result.GetValue(every) is { } interval
                ? await RepeatAsync(target, interval, TimeProvider.System, Console.Out, Console.Error, cancel)
                : await RunAsync(target, result.GetValue(at)!, TimeProvider.System, Console.Out, Console.Error, cancel);
        });
        return command;
    }

    /// <summary>
    /// The target from the options and the configuration (the environment, as the workers read it): the bootstrap
    /// servers of <c>--bootstrap</c>, else <c>Kafka:BootstrapServers</c>; the topic of <c>--topic</c>, else
    /// <c>Topics:Cdrs</c>, else <c>cdrs</c>; the librdkafka properties of <c>Kafka:Properties</c>. Null, with a
    /// message, when no bootstrap servers are given or the timeout is not positive.
    /// </summary>
    public static Target? Resolve(string? bootstrap, string? topic, TimeSpan timeout, IConfiguration configuration, TextWriter stderr)
    {
        var servers = string.IsNullOrWhiteSpace(bootstrap) ? configuration["Kafka:BootstrapServers"] : bootstrap;
        if (string.IsNullOrWhiteSpace(servers))
        {
            stderr.WriteLine("ratingctl clock: give --bootstrap HOST:PORT (or set Kafka__BootstrapServers)");
            return null;
        }

        if (timeout <= TimeSpan.Zero)
        {
            stderr.WriteLine("ratingctl clock: --timeout must be positive");
            return null;
        }

        var properties = configuration.GetSection("Kafka:Properties").GetChildren()
            .Where(p => p.Value is not null)
            .ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal);
        var name = !string.IsNullOrWhiteSpace(topic) ? topic : configuration["Topics:Cdrs"] is { Length: > 0 } configured ? configured : new TopicNames().Cdrs;
        return new Target(servers, name, properties, timeout);
    }

    /// <summary>
    /// A clock at the current time now and then every <paramref name="interval"/> until cancelled (the compose clock
    /// service). A failed write is reported and tried again at the next tick: the next clock covers the time missed.
    /// </summary>
    /// <returns>0 when stopped; 2 for an interval that is not positive or a configuration librdkafka refuses.</returns>
    public static async Task<int> RepeatAsync(Target target, TimeSpan interval, TimeProvider time, TextWriter stdout, TextWriter stderr,
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
                if (await RunAsync(target, "now", time, stdout, stderr, cancel) == 2)
                {
                    return 2;
                }
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

    /// <returns>
    /// 0 when every partition acknowledged the clock; 2 for a bad instant or a configuration librdkafka refuses; 1 when
    /// Kafka failed (no answer within the timeout, no such topic, a partition that did not acknowledge).
    /// </returns>
    public static async Task<int> RunAsync(Target target, string at, TimeProvider time, TextWriter stdout, TextWriter stderr,
        CancellationToken cancel)
    {
        if (Record(at, time) is not { } record)
        {
            await stderr.WriteLineAsync($"ratingctl clock: --at {at}: not an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM), nor now");
            return 2;
        }

        var started = Stopwatch.StartNew();
        List<int> partitions;
        try
        {
            partitions = Partitions(target.Bootstrap, target.Topic, target.Timeout, target.Properties);
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"ratingctl clock: the Kafka configuration is refused: {e.Message}");
            return 2;
        }
        catch (KafkaException e)
        {
            await stderr.WriteLineAsync($"ratingctl clock: no clock written: Kafka at {target.Bootstrap} gave no metadata within "
                + $"{target.Timeout.TotalSeconds:0.#} s ({e.Error.Reason})");
            return 1;
        }
        catch (InvalidOperationException e)
        {
            await stderr.WriteLineAsync($"ratingctl clock: no clock written: {e.Message}");
            return 1;
        }

        // What is left of the timeout bounds the acknowledgements (librdkafka retries within it).
        var left = (int)Math.Max(1000, (target.Timeout - started.Elapsed).TotalMilliseconds);
        var config = KafkaClientTuning.Producer(target.Bootstrap, target.Properties);
        config.MessageTimeoutMs = left;
        config.RequestTimeoutMs = Math.Min(config.RequestTimeoutMs ?? 30_000, left);
        var value = Encoding.UTF8.GetBytes(record);
        AcknowledgedProducer built;
        try
        {
            built = Refused(() => AcknowledgedProducer.Build(config));
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"ratingctl clock: the Kafka configuration is refused: {e.Message}");
            return 2;
        }

        using var producer = built;
        var outcomes = await Task.WhenAll(partitions.Select(async partition =>
        {
            var written = new AcknowledgementGroup();
            try
            {
                producer.Produce(new TopicPartition(target.Topic, partition), new Message<byte[], byte[]> { Key = null!, Value = value }, written);
            }
            catch (ProduceException<byte[], byte[]> e)
            {
                return (Partition: partition, Error: (string?)e.Error.Reason);
            }

            await producer.DrainAsync(written, AcknowledgedProducer.UntilReported, cancel);
            return (Partition: partition, Error: written.FirstFailure?.Reason);
        }));

        var failed = outcomes.Where(o => o.Error is not null).ToList();
        if (failed.Count > 0)
        {
            var written = outcomes.Where(o => o.Error is null).Select(o => o.Partition).ToList();
            await stderr.WriteLineAsync($"ratingctl clock: {record} not acknowledged by partition{(failed.Count == 1 ? "" : "s")} "
                + $"{string.Join(", ", failed.Select(f => f.Partition))} of {target.Topic} ({failed[0].Error})"
                + (written.Count > 0 ? $"; written to {string.Join(", ", written)}" : "")
                + ". Run it again: a repeated clock changes nothing.");
            return 1;
        }

        await stdout.WriteLineAsync($"{record} written to {partitions.Count} partitions of {target.Topic}");
        return 0;
    }

    /// <summary>
    /// The partition numbers of <paramref name="topic"/>. Throws <see cref="InvalidOperationException"/> when it does
    /// not exist, <see cref="KafkaException"/> when the cluster gives no metadata within <paramref name="timeout"/>,
    /// <see cref="ArgumentException"/> when librdkafka refuses a property.
    /// </summary>
    public static List<int> Partitions(string bootstrap, string topic, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? properties = null)
    {
        var config = new AdminClientConfig { BootstrapServers = bootstrap };
        foreach (var (name, value) in properties ?? new Dictionary<string, string>())
        {
            config.Set(name, value);
        }

        using var admin = Refused(() => new AdminClientBuilder(config).SetLogHandler((_, _) => { }).Build());
        // The metadata of all topics: asking for one topic by name would let a broker that auto-creates topics make it.
        var metadata = admin.GetMetadata(timeout ?? TimeSpan.FromSeconds(30));
        var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.IsError || found.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"topic {topic} does not exist at {bootstrap}{(found?.Error.IsError == true ? $" ({found.Error.Reason})" : "")}");
        }

        return [.. found.Partitions.Select(p => p.PartitionId).Order()];
    }

    /// <summary>Builds a client; a property librdkafka refuses (Confluent.Kafka says so with an InvalidOperationException) becomes an ArgumentException.</summary>
    private static T Refused<T>(Func<T> build)
    {
        try
        {
            return build();
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }
}
