using RatingPipeline.IO;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using Spectre.Console;

namespace RatingPipeline.Cli.Commands;

/// <summary>Options of <c>ratingctl rate</c>.</summary>
public sealed record RateOptions(string Tariff, string Subscribers, string Cdrs, string Out, bool Progress = true);

/// <summary>
/// The totals of one offline run: the lines of each output file, then the accepted location records, the fee records
/// among the rated lines, the clock records not rejected and the accepted profile lines. Every non-blank input line
/// is exactly one of a rated CDR, a location record, a clock, a profile line or a rejected record.
/// </summary>
public sealed record RateSummary(long Lines, long Rated, long Rejected, long Reminders, long Bills = 0, long Located = 0,
    long Fees = 0, long Clocks = 0, long Profiles = 0)
{
    public override string ToString() =>
        $"{Rated} rated, {Rejected} rejected, {Reminders} reminders, {Bills} bills, {Located} located, {Fees} fees, {Clocks} clocks, {Profiles} profiles";
}

/// <summary>
/// <c>ratingctl rate</c>: rates a CDR file offline, line by line in file order, with exactly the engine the
/// Kafka rater uses, and writes <c>rated.jsonl</c>, <c>reminders.jsonl</c>, <c>rejected.jsonl</c> and <c>bills.jsonl</c>.
/// A bad CDR line is rejected, never fatal; a missing or invalid tariff or subscriber file is.
/// </summary>
public static class RateCommand
{
    /// <summary>Input size above which a terminal gets a progress bar.</summary>
    private const long ProgressThreshold = 32L << 20;

    /// <summary>Fewer bytes than any valid CDR line has (used to bound the usage states reserved up front).</summary>
    private const long MinCdrBytes = 64;

    public static async Task<int> RunAsync(RateOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (await RatingInputs.LoadAsync("rate", options.Tariff, options.Subscribers, stderr) is not var (tariff, profiles))
        {
            return 2;
        }

        if (!File.Exists(options.Cdrs))
        {
            await stderr.WriteLineAsync($"ratingctl rate: CDR file {options.Cdrs} does not exist");
            return 2;
        }

        var summary = await RateAsync(tariff, profiles, options, stderr, cancel);
        await stdout.WriteLineAsync(summary.ToString());
        return 0;
    }

    public static async Task<RateSummary> RateAsync(Tariff tariff, IEnumerable<SubscriberProfile> profiles, RateOptions options,
        TextWriter stderr, CancellationToken cancel)
    {
        var engine = new RatingEngine(tariff) { AcceptsProfileLines = true };
        var profileCount = profiles.TryGetNonEnumeratedCount(out var count) ? count : 0;
        var size = new FileInfo(options.Cdrs).Length;

        // A state exists only for a subscriber with an accepted CDR: at most one per profile and one per 64 bytes
        // of input (every valid CDR line is longer), so a small input reserves little.
        engine.EnsureCapacity(profileCount, (int)Math.Min(profileCount, size / MinCdrBytes));
        foreach (var profile in profiles)
        {
            engine.SetProfile(profile);
        }

        Directory.CreateDirectory(options.Out);
        await using var rated = new ChunkedFileWriter(Path.Combine(options.Out, "rated.jsonl"));
        await using var reminders = new ChunkedFileWriter(Path.Combine(options.Out, "reminders.jsonl"));
        await using var rejected = new ChunkedFileWriter(Path.Combine(options.Out, "rejected.jsonl"));
        await using var bills = new ChunkedFileWriter(Path.Combine(options.Out, "bills.jsonl"));
        var sink = new JsonlSink(new RecordWriter(), rated, reminders, rejected, bills);
        long lines = 0, located = 0, clocks = 0, profileLines = 0;

        void OnLine(ReadOnlySpan<byte> line)
        {
            if (SubscriberFile.IsBlank(line))
            {
                return;
            }

            lines++;
            switch (engine.Process(line, ref sink))
            {
                case RatingResult.Located:
                    located++;
                    break;
                case RatingResult.Clock:
                    clocks++;
                    break;
                case RatingResult.Profile:
                    profileLines++;
                    break;
            }
        }

        var showProgress = options.Progress && size >= ProgressThreshold && !Console.IsErrorRedirected;
        if (showProgress)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(stderr) });
            await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask("rating", maxValue: size);
                    await LineReader.ReadLinesAsync(options.Cdrs, OnLine, bytes => task.Value = bytes, cancel);
                });
        }
        else
        {
            await LineReader.ReadLinesAsync(options.Cdrs, OnLine, null, cancel);
        }

        return new RateSummary(lines, sink.RatedCount, sink.RejectedCount, sink.ReminderCount, sink.BillCount, located, sink.FeeCount,
            clocks, profileLines);
    }
}
