using System.CommandLine;
using RatingPipeline.IO;
using RatingPipeline.Lanes;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// Options of <c>ratingctl rate</c>. <c>Lanes</c>: rating lanes (threads, each rating its share of the subscribers), 0
/// for one per core; the outputs are the same for any number. <c>HugePages</c>: false for <c>--no-huge-pages</c>.
/// </summary>
public sealed record RateOptions(string Tariff, string Subscribers, string Cdrs, string Out, bool Progress = true, int Lanes = 0, bool HugePages = true);

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
/// Kafka rater uses — one engine per rating lane, each with its share of the subscribers, the outputs merged back into
/// processing order (<see cref="RatingLanes"/>) — and writes <c>rated.jsonl</c>, <c>reminders.jsonl</c>, <c>rejected.jsonl</c> and <c>bills.jsonl</c>.
/// A bad CDR line is rejected, never fatal; a missing or invalid tariff or subscriber file is.
/// </summary>
public static class RateCommand
{
    /// <summary>The <c>rate</c> command line (also the natively compiled <c>ratingctl-native</c>'s).</summary>
    public static Command Build()
    {
        var tariff = new Option<string>("--tariff") { Description = "Tariff JSON document", Required = true };
        var subscribers = new Option<string>("--subscribers") { Description = "Subscriber profiles, JSON Lines", Required = true };
        var cdrs = new Option<string>("--cdrs") { Description = "CDRs, JSON Lines, in arrival order", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for rated.jsonl, reminders.jsonl, rejected.jsonl, bills.jsonl", Required = true };
        var noProgress = new Option<bool>("--no-progress") { Description = "Never draw a progress bar" };
        var lanes = LanesOption.Create("rate");
        var noHugePages = HugePagesOption.Create();
        var command = new Command("rate", "Rate a CDR file offline, exactly as the Kafka rater would.")
        {
            tariff, subscribers, cdrs, output, noProgress, lanes, noHugePages,
        };
        command.SetAction((result, cancel) => RunAsync(
            new RateOptions(result.GetValue(tariff)!, result.GetValue(subscribers)!, result.GetValue(cdrs)!, result.GetValue(output)!,
                !result.GetValue(noProgress), result.GetValue(lanes), !result.GetValue(noHugePages)),
            Console.Out, Console.Error, cancel));
        return command;
    }

    public static async Task<int> RunAsync(RateOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var (subscribers, cdrs) = (WithoutCollections.FileBytes(options.Subscribers), WithoutCollections.FileBytes(options.Cdrs));
        return await WithoutCollections.RunAsync(subscribers + cdrs, RatingLanes.RunBytes(subscribers, cdrs), options.HugePages,
            () => RunWithoutCollectionsAsync(options, stdout, stderr, cancel));
    }

    private static async Task<int> RunWithoutCollectionsAsync(RateOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
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

        RateSummary summary;
        try
        {
            summary = await RateAsync(tariff, profiles, options, stderr, cancel);
        }
        catch (Exception e) when (IoFailure(e) is { } failure)
        {
            // A full disk, an output folder it may not write, a file it cannot read: one line, exit 1, no stack.
            await stderr.WriteLineAsync($"ratingctl rate: {failure.Message} (the outputs in {options.Out} are incomplete)");
            return 1;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return await Interrupted.ReportAsync(stderr, "rate", options.Out);
        }

        await stdout.WriteLineAsync(summary.ToString());
        return 0;
    }

    /// <summary>The input or output failure behind <paramref name="e"/> (also when several lanes failed at once), or null.</summary>
    private static Exception? IoFailure(Exception e) => e switch
    {
        IOException or UnauthorizedAccessException => e,
        AggregateException aggregate => aggregate.InnerExceptions.Select(IoFailure).FirstOrDefault(inner => inner is not null),
        _ => null,
    };

    public static async Task<RateSummary> RateAsync(Tariff tariff, IReadOnlyCollection<SubscriberProfile> profiles, RateOptions options,
        TextWriter stderr, CancellationToken cancel)
    {
        var size = new FileInfo(options.Cdrs).Length;
        var lanes = new RatingLanes(tariff, profiles, LanesOption.Resolve(options.Lanes), size);

        Directory.CreateDirectory(options.Out);
        using var rated = new GatheringFile(Path.Combine(options.Out, "rated.jsonl"));
        using var reminders = new GatheringFile(Path.Combine(options.Out, "reminders.jsonl"));
        using var rejected = new GatheringFile(Path.Combine(options.Out, "rejected.jsonl"));
        using var bills = new GatheringFile(Path.Combine(options.Out, "bills.jsonl"));
        var totals = await ProgressBars.RunAsync(ProgressBars.Target(options.Progress, size, stderr), [("rating", size)],
            progress => Task.Run(() => lanes.Run(options.Cdrs, rated, reminders, rejected, bills, progress[0], cancel), cancel));

        return new RateSummary(totals.Lines, totals.Rated, totals.Rejected, totals.Reminders, totals.Bills, totals.Located, totals.Fees,
            totals.Clocks, totals.Profiles);
    }
}
