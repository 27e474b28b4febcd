using System.CommandLine;
using RatingPipeline.IO;
using RatingPipeline.Rerating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// Options of <c>ratingctl rerate</c>. <c>ProfileLines</c>: whether profile lines in the CDR file replace profiles (an
/// offline run's file); false for a stream read from the cdrs topic, where the rater rejected them. <c>Lanes</c>: re-rating
/// lanes (threads, each with its share of the subscribers), 0 for one per core; the outputs are the same for any number.
/// <c>Progress</c>: whether a terminal gets progress bars (<see cref="ProgressBars"/>). <c>OldTariff</c>: the tariff the
/// rated records were rated under; when the new one differs from it only in <c>zeroRated</c> and <c>plans</c>, only the
/// subscribers the change touches are replayed (<see cref="RerateScope"/>).
/// </summary>
public sealed record RerateOptions(string Tariff, string Subscribers, string Rated, string Cdrs, string Out, IReadOnlySet<string>? Cycles = null, bool ProfileLines = true,
    int Lanes = 0, bool Progress = true, string? OldTariff = null, bool HugePages = true);

/// <summary>
/// <c>ratingctl rerate</c>: re-rates already-rated CDRs under a newer tariff (e.g. after Apple activation ports
/// were added late to <c>zeroRated</c>). Replays the original CDR file through a fresh engine with the new
/// tariff, compares every CDR the old run rated, and appends an adjustment for each changed charge to
/// <c>DIR/adjustments.jsonl</c> (never the same adjustment id twice), then writes
/// <c>DIR/adjustment-totals.json</c> and <c>DIR/rerate-mismatches.jsonl</c>.
/// </summary>
/// <remarks>
/// File mode lives here, in the library ratingctl and ratingctl-native share; topic mode (<c>--from-topic</c>, which needs
/// the Kafka client) is handed in by ratingctl as a <see cref="TopicMode"/>. Without one, <c>--from-topic</c> is refused.
/// </remarks>
public static class RerateCommand
{
    public const string AdjustmentsFile = "adjustments.jsonl";
    public const string TotalsFile = "adjustment-totals.json";
    public const string MismatchesFile = "rerate-mismatches.jsonl";

    /// <summary>Topic mode: re-rates from the cluster at <paramref name="bootstrap"/> with the command line's other options.</summary>
    public delegate Task<int> TopicMode(string tariff, string bootstrap, string outDir, IReadOnlySet<string>? cycles, bool progress, string? oldTariff,
        bool hugePages, CancellationToken cancel);

    public static Command Build(TopicMode? topicMode = null)
    {
        var tariff = new Option<string>("--tariff") { Description = "The NEW tariff JSON document", Required = true };
        var subscribers = new Option<string?>("--subscribers") { Description = "Subscriber profiles, JSON Lines (as given to the original run); not with --from-topic" };
        var rated = new Option<string?>("--rated") { Description = "rated.jsonl of the original run (the records to compare); not with --from-topic" };
        var cdrs = new Option<string?>("--cdrs") { Description = "The original CDRs, JSON Lines, in arrival order (the input of the original run); not with --from-topic" };
        var fromTopic = new Option<bool>("--from-topic")
        {
            Description = "Read subscribers, rated-cdrs and cdrs from the cluster's topics, and also produce the new adjustments to the adjustments topic (whose records are the ledger: an adjustment already there is not produced again)",
        };
        var bootstrap = new Option<string?>("--bootstrap") { Description = "Kafka bootstrap servers, with --from-topic" };
        var output = new Option<string>("--out")
        {
            Description = $"Output folder: {AdjustmentsFile} (appended; an adjustment id already there is not written again), {TotalsFile}, {MismatchesFile}",
            Required = true,
        };
        var cycles = new Option<string?>("--cycles")
        {
            Description = "Re-rate only these billing cycles, by name: yyyy-MM-dd[,yyyy-MM-dd…] (CDRs of other cycles are left out of the replay)",
        };
        var oldTariff = new Option<string?>("--old-tariff")
        {
            Description = "The tariff the rated records were rated under: when the new tariff differs from it only in zeroRated and plans (and version), only the "
                + "subscribers the change touches (a CDR zero-rated differently, a changed plan, an entry in the ledger) are replayed — the same adjustments, far "
                + "sooner; mismatches are then looked for among those subscribers only",
        };
        var lanes = LanesOption.Create("re-rate");
        var noProgress = new Option<bool>("--no-progress")
        {
            Description = "Never draw progress bars (drawn on a terminal for inputs of 32 MB or more: the rated file, then the CDRs matched and re-rated)",
        };
        var noHugePages = HugePagesOption.Create();
        var command = new Command("rerate", "Re-rate already-rated CDRs under a newer tariff and write the adjustments (credits and debits) per CDR.")
        {
            tariff, subscribers, rated, cdrs, fromTopic, bootstrap, output, cycles, oldTariff, lanes, noProgress, noHugePages,
        };
        command.SetAction(async (result, cancel) =>
        {
            var outDir = result.GetValue(output)!;
            IReadOnlySet<string>? chosen = null;
            if (result.GetValue(cycles) is { } list)
            {
                chosen = ParseCycles(list);
                if (chosen is null)
                {
                    await Console.Error.WriteLineAsync($"ratingctl rerate: --cycles {list}: give cycle names yyyy-MM-dd separated by commas");
                    return 2;
                }
            }

            if (result.GetValue(fromTopic))
            {
                if (result.GetValue(bootstrap) is not { Length: > 0 } servers)
                {
                    await Console.Error.WriteLineAsync("ratingctl rerate: --from-topic needs --bootstrap HOST:PORT");
                    return 2;
                }

                if (topicMode is null)
                {
                    await Console.Error.WriteLineAsync("ratingctl rerate: --from-topic is not in this program: run ratingctl rerate");
                    return 2;
                }

                return await topicMode(result.GetValue(tariff)!, servers, outDir, chosen, !result.GetValue(noProgress), result.GetValue(oldTariff),
                    !result.GetValue(noHugePages), cancel);
            }

            if (result.GetValue(subscribers) is not { } s || result.GetValue(rated) is not { } r || result.GetValue(cdrs) is not { } c)
            {
                await Console.Error.WriteLineAsync("ratingctl rerate: give --subscribers, --rated and --cdrs, or --from-topic --bootstrap HOST:PORT");
                return 2;
            }

            return await RunAsync(new RerateOptions(result.GetValue(tariff)!, s, r, c, outDir, chosen, Lanes: result.GetValue(lanes),
                Progress: !result.GetValue(noProgress), OldTariff: result.GetValue(oldTariff), HugePages: !result.GetValue(noHugePages)), Console.Out, Console.Error, cancel);
        });
        return command;
    }

    /// <summary>The cycle names of <c>--cycles</c> (each a real date written yyyy-MM-dd), or null when one is not.</summary>
    public static IReadOnlySet<string>? ParseCycles(string list)
    {
        var names = list.Split(',', StringSplitOptions.TrimEntries);
        return names.All(n => n.Length == 10 && RatingPipeline.Time.Instant.TryParse(n + "T00:00:00Z", out _))
            ? names.ToHashSet(StringComparer.Ordinal)
            : null;
    }

    public static async Task<int> RunAsync(RerateOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var (subscribers, rated, cdrs) = (WithoutCollections.FileBytes(options.Subscribers), WithoutCollections.FileBytes(options.Rated),
            WithoutCollections.FileBytes(options.Cdrs));
        return await WithoutCollections.RunAsync(subscribers + rated + cdrs, RerateLanes.RunBytes(subscribers, rated, cdrs), options.HugePages,
            () => RunWithoutCollectionsAsync(options, stdout, stderr, cancel));
    }

    private static async Task<int> RunWithoutCollectionsAsync(RerateOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (await RatingInputs.LoadAsync("rerate", options.Tariff, options.Subscribers, stderr) is not var (tariff, profiles))
        {
            return 2;
        }

        foreach (var (file, what) in new[] { (options.Rated, "rated file"), (options.Cdrs, "CDR file") })
        {
            if (!File.Exists(file))
            {
                await stderr.WriteLineAsync($"ratingctl rerate: {what} {file} does not exist");
                return 2;
            }
        }

        Directory.CreateDirectory(options.Out);
        IReadOnlyList<LedgerEntry> recorded;
        try
        {
            recorded = AdjustmentJson.ReadFile(Path.Combine(options.Out, AdjustmentsFile));
        }
        catch (AdjustmentFileException e)
        {
            await stderr.WriteLineAsync($"ratingctl rerate: existing adjustment file refused: {e.Message}");
            return 2;
        }

        if (options.OldTariff is not { } oldTariffPath)
        {
            return await RerateAsync(options, options.Rated, options.Cdrs, tariff, profiles, recorded, null, stdout, stderr, cancel);
        }

        Tariff oldTariff;
        try
        {
            oldTariff = TariffLoader.LoadFile(oldTariffPath);
        }
        catch (TariffException e)
        {
            await stderr.WriteLineAsync($"ratingctl rerate: old tariff {oldTariffPath} refused: {e.Message}");
            return 2;
        }

        if (RerateScope.ChangedPlans(oldTariffPath, options.Tariff, out var difference) is not { } changedPlans)
        {
            await stdout.WriteLineAsync($"every subscriber replayed: {difference}");
            return await RerateAsync(options, options.Rated, options.Cdrs, tariff, profiles, recorded, null, stdout, stderr, cancel);
        }

        // Two passes over the CDRs (the subscribers the change touches, then the narrowed copies with the rated file's).
        var (ratedSize, cdrSize) = (new FileInfo(options.Rated).Length, new FileInfo(options.Cdrs).Length);
        (RerateScope? Scope, string? Refusal) narrowed;
        try
        {
            narrowed = await ProgressBars.RunAsync(ProgressBars.Target(options.Progress, ratedSize + cdrSize, stderr),
                [("subscribers the change touches", cdrSize), ("leaving out the others", cdrSize + ratedSize)],
                progress => Task.Run(() =>
                {
                    var scope = RerateScope.Narrow(oldTariff, tariff, changedPlans, profiles, options.Cdrs, options.Rated, recorded.Select(e => e.Msisdn),
                        Path.Combine(options.Out, $".rerate-scope-{Environment.ProcessId}"), out var refusal, cancel, progress[0], progress[1]);
                    return (scope, refusal);
                }, cancel));
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return await Interrupted.ReportAsync(stderr, "rerate", options.Out);
        }

        if (narrowed.Scope is not { } narrow)
        {
            await stdout.WriteLineAsync($"every subscriber replayed: {narrowed.Refusal}");
            return await RerateAsync(options, options.Rated, options.Cdrs, tariff, profiles, recorded, null, stdout, stderr, cancel);
        }

        using (narrow)
        {
            // Only the replayed subscribers' profiles: the lines of the others are left out.
            return await RerateAsync(options, narrow.RatedPath, narrow.CdrPath, tariff, [.. profiles.Where(p => narrow.Touches(p.MsisdnKey))], recorded, narrow,
                stdout, stderr, cancel);
        }
    }

    /// <summary>The three passes of a re-rate over the given rated and CDR files (the options' own, or a scope's narrowed copies), and its outputs.</summary>
    private static async Task<int> RerateAsync(RerateOptions options, string ratedPath, string cdrPath, Tariff tariff, List<SubscriberProfile> profiles,
        IReadOnlyList<LedgerEntry> recorded, RerateScope? scope, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var adjustmentsPath = Path.Combine(options.Out, AdjustmentsFile);
        var (ratedBytes, cdrBytes) = (new FileInfo(ratedPath).Length, new FileInfo(cdrPath).Length);

        // A bar per pass: the rated file, then the CDRs replayed in a single pass that matches each subscriber's lines
        // with its rated records as it goes (RerateLanes.SinglePass), or, with chosen cycles, two passes over them — the
        // scan matches, then the replay. A refusal is told once the bars are gone.
        var singlePass = options.Cycles is null;
        RerateLanes? rerater;
        string? refusal;
        try
        {
            (rerater, refusal) = await ProgressBars.RunAsync(ProgressBars.Target(options.Progress, ratedBytes + cdrBytes, stderr),
                singlePass
                    ? [("rated records", ratedBytes), ("re-rating", cdrBytes)]
                    : [("rated records", ratedBytes), ("matching CDRs", cdrBytes), ("re-rating", cdrBytes)],
                async progress =>
                {
                    RerateLanes lanes;
                    try
                    {
                        lanes = new RerateLanes(tariff, profiles, new AdjustmentLedger(recorded), options.Cycles, options.ProfileLines,
                            LanesOption.Resolve(options.Lanes))
                        {
                            WorkFolder = options.Out,
                        };
                        await Task.Run(() => lanes.ReadRated(ratedPath, cancel, progress[0]), cancel);
                    }
                    catch (RatedFileException e)
                    {
                        return (null, $"rated file refused: {e.Message}");
                    }

                    await using (var adjustments = OpenForAppend(adjustmentsPath))
                    await using (var mismatches = new BufferedStream(File.Create(Path.Combine(options.Out, MismatchesFile)), 1 << 16))
                    {
                        using var receiver = new JsonlRerateReceiver(adjustments, mismatches);
                        await Task.Run(() => singlePass ? lanes.Run(cdrPath, receiver, cancel, null, progress[1])
                            : lanes.Run(cdrPath, receiver, cancel, progress[1], progress[2]), cancel);
                    }

                    return ((RerateLanes?)lanes, (string?)null);
                });
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return await Interrupted.ReportAsync(stderr, "rerate", options.Out);
        }

        if (rerater is null)
        {
            await stderr.WriteLineAsync($"ratingctl rerate: {refusal}");
            return 2;
        }

        if (scope is not null)
        {
            rerater.Summary.Scope = (scope.TouchedSubscribers, scope.CdrLinesLeftOut, scope.RatedRecordsLeftOut);
        }

        // Totals of the whole ledger (what stands to be credited), replaced atomically.
        var totalsPath = Path.Combine(options.Out, TotalsFile);
        var temporary = totalsPath + ".tmp";
        await using (var totals = File.Create(temporary))
        {
            AdjustmentTotalsJson.Write(totals, AdjustmentTotals.Of(rerater.Ledger), rerater.Summary, tariff.Version);
        }

        File.Move(temporary, totalsPath, overwrite: true);
        var summary = rerater.Summary;
        if (summary.SameVersionAdjustments > 0)
        {
            await stderr.WriteLineAsync($"ratingctl rerate: warning: {summary.SameVersionAdjustments} adjustments have the same old and new tariff version "
                + $"\"{tariff.Version}\": a changed tariff should carry a new version");
        }

        await stdout.WriteLineAsync(summary.ToString());
        return 0;
    }

    /// <summary>Opens the ledger file for appending (made when missing); a last line without its line feed gets one first.</summary>
    internal static BufferedStream OpenForAppend(string path)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        if (file.Length > 0)
        {
            // A last line without its '\n' gets one, so the first appended adjustment starts a line of its own.
            file.Seek(-1, SeekOrigin.End);
            var last = file.ReadByte();
            if (last != '\n')
            {
                file.WriteByte((byte)'\n');
            }
        }

        file.Seek(0, SeekOrigin.End);
        return new BufferedStream(file, 1 << 16);
    }
}
