using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using RatingPipeline.Cli.Options;
using RatingPipeline.Kafka;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// <c>ratingctl load</c>: a synthetic CDR source for a lab or a load test against a running cluster. Produces the
/// subscriber profiles first (topic <c>subscribers</c>), then a paced stream of CDRs (topic <c>cdrs</c>) from
/// <see cref="SyntheticData"/>, keyed by msisdn, until <c>--duration</c> has passed or it is interrupted
/// (Ctrl-C, SIGTERM). Prints a progress line every 10 s and ends with <c>N profiles, N cdrs produced, N failed</c>;
/// exits 1 when any record was not acknowledged.
/// </summary>
public static class LoadCommand
{
    /// <summary>The longest wait for outstanding acknowledgements at the end.</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(30);

    /// <param name="Bootstrap">Kafka bootstrap servers, <c>host:port[,host:port…]</c>.</param>
    /// <param name="Rate">CDRs per second.</param>
    /// <param name="Subscribers">Subscriber profiles produced first; CDRs are drawn for these subscribers.</param>
    /// <param name="Duration">How long to stream CDRs; null: until cancelled.</param>
    /// <param name="Seed">Same seed, same records.</param>
    /// <param name="ProgressInterval">How often a progress line is printed.</param>
    public sealed record Options(string Bootstrap, int Rate, int Subscribers, TimeSpan? Duration, int Seed, TimeSpan? ProgressInterval = null);

    /// <summary>What was produced and acknowledged.</summary>
    public sealed record Summary(int Profiles, long Cdrs, long Failed, string? FirstError);

    public static Command Build()
    {
        var bootstrap = new Option<string>("--bootstrap") { Description = "Kafka bootstrap servers, HOST:PORT[,HOST:PORT…] (topics must exist)", Required = true };
        var rate = new Option<int>("--rate") { Description = "CDRs produced per second", DefaultValueFactory = _ => 200 };
        var subscribers = new Option<int>("--subscribers") { Description = "Subscriber profiles produced first", DefaultValueFactory = _ => 3000 };
        var duration = new Option<TimeSpan?>("--duration")
        {
            Description = "How long to stream CDRs (e.g. 10m, 1h); default: until interrupted",
            CustomParser = Durations.ParseOptional,
        };
        var seed = new Option<int>("--seed") { Description = "Random seed of the synthetic data (same seed, same records)", DefaultValueFactory = _ => 1 };
        var command = new Command("load", "Produce synthetic subscriber profiles, then a paced stream of synthetic CDRs, to a Kafka cluster.")
        {
            bootstrap, rate, subscribers, duration, seed,
        };
        command.SetAction(async (result, cancel) =>
        {
            var options = new Options(result.GetValue(bootstrap)!, result.GetValue(rate), result.GetValue(subscribers), result.GetValue(duration), result.GetValue(seed));
            if (Validate(options) is { } error)
            {
                await Console.Error.WriteLineAsync($"ratingctl load: {error}");
                return 2;
            }

            // Ctrl-C and SIGTERM (docker compose stop) end the stream; what was produced is flushed and summed up.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            var summary = await RunAsync(options, Console.Out, stop.Token);
            return summary.Failed == 0 ? 0 : 1;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        });
        return command;
    }

    /// <summary>The first thing wrong with <paramref name="options"/>, or null.</summary>
    public static string? Validate(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Bootstrap))
        {
            return "--bootstrap is required (HOST:PORT)";
        }

        if (options.Rate is < 1 or > 1_000_000)
        {
            return "--rate must be 1..1000000 CDRs per second";
        }

        if (options.Subscribers is < 1 or > 100_000_000)
        {
            return "--subscribers must be 1..100000000";
        }

        return options.Duration is { } d && d <= TimeSpan.Zero ? "--duration must be positive" : null;
    }

    public static async Task<Summary> RunAsync(Options options, TextWriter output, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (Validate(options) is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }

        var topics = new TopicNames();
        string? fatal = null;
        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(options.Bootstrap), error =>
        {
            if (error.IsFatal)
            {
                Interlocked.CompareExchange(ref fatal, $"fatal client error: {error.Reason} ({error.Code})", null);
            }
        });
        var data = new SyntheticData(options.Seed, options.Subscribers);
        var buffer = new ArrayBufferWriter<byte>(1024);

        await output.WriteLineAsync($"load: bootstrap={options.Bootstrap}, {options.Subscribers} subscribers, {options.Rate} CDRs/s, "
            + (options.Duration is { } d ? $"for {d}" : "until interrupted") + $", seed {options.Seed}");
        var profiles = new AcknowledgementGroup();
        for (var i = 0; i < options.Subscribers && !cancel.IsCancellationRequested; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            Produce(producer, topics.Subscribers, System.Text.Encoding.ASCII.GetBytes(SyntheticData.MsisdnOf(i)), buffer.WrittenSpan.ToArray(), profiles);
        }

        // Profiles first: every CDR's subscriber is known before the CDR is produced.
        var profilesLeft = Flush(producer, profiles);
        await output.WriteLineAsync($"{options.Subscribers} subscriber profiles produced to {topics.Subscribers}");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        if (options.Duration is { } duration)
        {
            stop.CancelAfter(duration);
        }

        var cdrs = new AcknowledgementGroup();
        var produced = await Task.Run(() => Stream(producer, data, options, topics.Cdrs, cdrs, () => profiles.Failed + profilesLeft + cdrs.Failed, output, stop.Token),
            CancellationToken.None);
        var cdrsLeft = Flush(producer, cdrs);
        var summary = new Summary(options.Subscribers, produced, profiles.Failed + profilesLeft + cdrs.Failed + cdrsLeft,
            Volatile.Read(ref fatal) ?? profiles.Error ?? Unacknowledged(profilesLeft) ?? cdrs.Error ?? Unacknowledged(cdrsLeft));
        await output.WriteLineAsync($"{summary.Profiles} profiles, {summary.Cdrs} cdrs produced, {summary.Failed} failed"
            + (summary.FirstError is { } first ? $" (first failure: {first})" : ""));
        return summary;
    }

    private static long Stream(AcknowledgedProducer producer, SyntheticData data, Options options, string topic, AcknowledgementGroup group,
        Func<long> failed, TextWriter output, CancellationToken stop)
    {
        // Paced in 10 ms ticks so the stream is smooth at any rate.
        var buffer = new ArrayBufferWriter<byte>(1024);
        var clock = Stopwatch.StartNew();
        var progressEvery = options.ProgressInterval ?? TimeSpan.FromSeconds(10);
        var nextProgress = progressEvery;
        long sent = 0;
        while (!stop.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * options.Rate);
            for (; sent < due && !stop.IsCancellationRequested; sent++)
            {
                buffer.ResetWrittenCount();
                var msisdn = data.WriteNextCdr(buffer);
                Produce(producer, topic, System.Text.Encoding.ASCII.GetBytes(msisdn), buffer.WrittenSpan.ToArray(), group);
            }

            producer.Client.Poll(TimeSpan.FromMilliseconds(10));
            if (clock.Elapsed >= nextProgress)
            {
                nextProgress += progressEvery;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{clock.Elapsed:hh\\:mm\\:ss} {sent} cdrs produced ({sent / Math.Max(0.001, clock.Elapsed.TotalSeconds):F0}/s), {failed()} failed"));
            }
        }

        return sent;
    }

    /// <summary>Produces one record; a full local queue (the cluster slower than the rate) is waited out.</summary>
    private static void Produce(AcknowledgedProducer producer, string topic, byte[] key, byte[] value, AcknowledgementGroup group) =>
        producer.Produce(topic, new Message<byte[], byte[]> { Key = key, Value = value }, group);

    /// <summary>Waits for the group's acknowledgements; returns how many are still outstanding after <see cref="FlushTimeout"/> (they count as failed).</summary>
    private static long Flush(AcknowledgedProducer producer, AcknowledgementGroup group) =>
        producer.Drain(group, FlushTimeout) ? 0 : group.Pending;

    private static string? Unacknowledged(long records) =>
        records == 0 ? null : $"{records} records not acknowledged within {FlushTimeout.TotalSeconds:F0} s";
}
