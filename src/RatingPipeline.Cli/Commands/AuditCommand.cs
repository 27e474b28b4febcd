using System.CommandLine;
using System.Text;
using RatingPipeline.IO;
using RatingPipeline.Rerating;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Cli.Commands;

/// <summary>Options of <c>ratingctl audit zero-rating</c>.</summary>
/// <remarks>
/// <c>Lanes</c>: audit lanes (threads, each with its share of the subscribers), 0 for one per core; the report is the same for any
/// number. <c>Progress</c>: whether a terminal gets progress bars (<see cref="ProgressBars"/>).
/// </remarks>
public sealed record ZeroRatingAuditOptions(string Rated, string Month, string Out, int Sample = 100, int Seed = 1, string? Tariff = null, string? Cdrs = null,
    string? Adjustments = null, int Lanes = 0, bool Progress = true);

/// <summary>
/// <c>ratingctl audit zero-rating</c>: the monthly zero-rating report — counts per rule and per local day, the
/// relief (what the zero-rated records would otherwise have cost) and a reproducible random sample.
/// </summary>
public static class AuditCommand
{
    public const string SampleFile = "zero-rating-sample.csv";
    public const string SummaryTextFile = "zero-rating-summary.txt";
    public const string SummaryJsonFile = "zero-rating-summary.json";

    private const string ZeroRatingHelp =
        "Monthly zero-rating audit of a rated.jsonl: zero-rated records per rule and per day, the relief, and a reproducible sample. "
        + "A record belongs to the month (and to a day) by its start in local time: the tariff's utcOffset with --tariff, UTC without it "
        + "(not by its billing cycle, which spans two calendar months). "
        + "Relief = what each zero-rated record would have cost at the plan's first rate matching its type, zone, direction and destination, "
        + "allowances and caps aside; it needs --tariff and --cdrs (the CDRs give direction and peer, which rated records lack). "
        + "The sample is drawn by reservoir sampling with new Random(seed) over the month's zero-rated records in file order: "
        + "same input and seed, same sample. "
        + "With --adjustments (the ledger; in topic mode the adjustments topic), the goodwill credits and re-rating adjustments that name a CDR "
        + "are counted in the month that CDR started in.";

    public static Command Build()
    {
        var rated = new Option<string?>("--rated") { Description = "rated.jsonl to audit (or --from-topic)" };
        var fromTopic = new Option<string?>("--from-topic") { Description = "Audit the records of this topic (e.g. rated-cdrs) instead of a file; needs --bootstrap. With --tariff and no --cdrs, the CDRs come from the cdrs topic" };
        var bootstrap = new Option<string?>("--bootstrap") { Description = "Kafka bootstrap servers, with --from-topic" };
        var month = new Option<string>("--month") { Description = "The month, yyyy-MM (by each record's start in local time)", Required = true };
        var sample = new Option<int>("--sample") { Description = "Sample size (0 = no sample)", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Sample seed (same seed, same sample)", DefaultValueFactory = _ => 1 };
        var tariff = new Option<string?>("--tariff") { Description = "Tariff giving the local-day offset and the rates for relief (needs --cdrs)" };
        var cdrs = new Option<string?>("--cdrs") { Description = "The CDRs behind the rated file (direction and peer for relief; needs --tariff)" };
        var adjustments = new Option<string?>("--adjustments")
        {
            Description = "The adjustment ledger (adjustments.jsonl): its entries naming a CDR of the month (goodwill credits, re-rating adjustments) are counted; in topic mode the adjustments topic when not given",
        };
        var output = new Option<string>("--out") { Description = $"Output folder for {SampleFile}, {SummaryTextFile}, {SummaryJsonFile}", Required = true };
        var lanes = LanesOption.Create("audit");
        var noProgress = new Option<bool>("--no-progress")
        {
            Description = "Never draw progress bars (drawn on a terminal for inputs of 32 MB or more: the rated file, then the CDRs)",
        };
        var zeroRating = new Command("zero-rating", ZeroRatingHelp)
        {
            rated, fromTopic, bootstrap, month, sample, seed, tariff, cdrs, adjustments, output, lanes, noProgress,
        };
        zeroRating.SetAction(async (result, cancel) =>
        {
            var ratedPath = result.GetValue(rated);
            var cdrsPath = result.GetValue(cdrs);
            var ledgerPath = result.GetValue(adjustments);
            var outDir = result.GetValue(output)!;
            if (result.GetValue(fromTopic) is { } topic)
            {
                if (result.GetValue(bootstrap) is not { Length: > 0 } servers)
                {
                    await Console.Error.WriteLineAsync("ratingctl audit zero-rating: --from-topic needs --bootstrap HOST:PORT");
                    return 2;
                }

                var snapshot = Path.Combine(outDir, "snapshot");
                Directory.CreateDirectory(snapshot);
                ratedPath = Path.Combine(snapshot, "rated.jsonl");
                await TopicSnapshot.ExportAsync(servers, topic, ratedPath, TopicSnapshot.Mode.DistinctValues, cancel);
                if (result.GetValue(tariff) is not null && cdrsPath is null)
                {
                    cdrsPath = Path.Combine(snapshot, "cdrs.jsonl");
                    await TopicSnapshot.ExportAsync(servers, new Kafka.TopicNames().Cdrs, cdrsPath, TopicSnapshot.Mode.All, cancel);
                }

                if (ledgerPath is null)
                {
                    ledgerPath = Path.Combine(snapshot, "adjustments.jsonl");
                    var topicName = new Kafka.TopicNames().Adjustments;
                    try
                    {
                        ClockCommand.Partitions(servers, topicName);
                        await TopicSnapshot.ExportAsync(servers, topicName, ledgerPath, TopicSnapshot.Mode.DistinctValues, cancel);
                    }
                    catch (InvalidOperationException e)
                    {
                        await Console.Error.WriteLineAsync($"ratingctl audit zero-rating: no ledger counted: {e.Message}");
                        ledgerPath = null;
                    }
                }
            }

            if (ratedPath is null)
            {
                await Console.Error.WriteLineAsync("ratingctl audit zero-rating: give --rated FILE or --from-topic TOPIC --bootstrap HOST:PORT");
                return 2;
            }

            return await RunZeroRatingAsync(
                new ZeroRatingAuditOptions(ratedPath, result.GetValue(month)!, outDir, result.GetValue(sample), result.GetValue(seed), result.GetValue(tariff), cdrsPath,
                    ledgerPath, result.GetValue(lanes), !result.GetValue(noProgress)),
                Console.Out, Console.Error, cancel);
        });
        return new Command("audit", "Audit reports over rated records.") { zeroRating };
    }

    public static async Task<int> RunZeroRatingAsync(ZeroRatingAuditOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        const string Me = "ratingctl audit zero-rating";
        if (!ZeroRatingAudit.TryParseMonth(options.Month, out var year, out var month))
        {
            await stderr.WriteLineAsync($"{Me}: --month must be yyyy-MM (e.g. 2026-11), not \"{options.Month}\"");
            return 2;
        }

        if (options.Sample < 0)
        {
            await stderr.WriteLineAsync($"{Me}: --sample must be 0 or more");
            return 2;
        }

        if ((options.Tariff is null) != (options.Cdrs is null))
        {
            await stderr.WriteLineAsync($"{Me}: relief needs both --tariff (rates, offset) and --cdrs (direction and peer of each record); give both or neither");
            return 2;
        }

        Tariff? tariff = null;
        if (options.Tariff is not null)
        {
            try
            {
                tariff = TariffLoader.LoadFile(options.Tariff);
            }
            catch (TariffException e)
            {
                await stderr.WriteLineAsync($"{Me}: tariff {options.Tariff} refused: {e.Message}");
                return 2;
            }
        }

        foreach (var file in new[] { options.Rated, options.Cdrs, options.Adjustments })
        {
            if (file is not null && !File.Exists(file))
            {
                await stderr.WriteLineAsync($"{Me}: {file} does not exist");
                return 2;
            }
        }

        var audit = new ZeroRatingAuditLanes(year, month, tariff, options.Sample, options.Seed, LanesOption.Resolve(options.Lanes));
        var ratedBytes = new FileInfo(options.Rated).Length;
        var cdrBytes = options.Cdrs is null ? 0 : new FileInfo(options.Cdrs).Length;
        (string, long)[] bars = options.Cdrs is null ? [("rated records", ratedBytes)] : [("rated records", ratedBytes), ("CDRs", cdrBytes)];

        // A refusal is told once the bars are gone.
        string? refusal;
        try
        {
            refusal = await ProgressBars.RunAsync(ProgressBars.Target(options.Progress, ratedBytes + cdrBytes, stderr), bars, async progress =>
            {
                try
                {
                    if (options.Adjustments is not null)
                    {
                        audit.AddLedger(AdjustmentJson.ReadFile(options.Adjustments));
                    }

                    await Task.Run(() => audit.ReadRated(options.Rated, cancel, progress[0]), cancel);
                }
                catch (RatedFileException e)
                {
                    return $"rated file refused: {e.Message}";
                }
                catch (AdjustmentFileException e)
                {
                    return $"adjustment ledger refused: {e.Message}";
                }

                if (options.Cdrs is not null)
                {
                    if (audit.WantsCdrs)
                    {
                        await Task.Run(() => audit.OfferCdrs(options.Cdrs, cancel, progress[1]), cancel);
                    }
                    else
                    {
                        progress[1]?.Invoke(cdrBytes); // no zero-rated record to find a CDR for: nothing left to read
                    }
                }

                return (string?)null;
            });
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return await Interrupted.ReportAsync(stderr, "audit zero-rating", options.Out);
        }

        if (refusal is not null)
        {
            await stderr.WriteLineAsync($"{Me}: {refusal}");
            return 2;
        }

        var report = audit.Report();
        Directory.CreateDirectory(options.Out);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        await using (var csv = new StreamWriter(Path.Combine(options.Out, SampleFile), false, utf8))
        {
            ZeroRatingReportWriter.WriteCsv(csv, report);
        }

        await using (var text = new StreamWriter(Path.Combine(options.Out, SummaryTextFile), false, utf8))
        {
            ZeroRatingReportWriter.WriteText(text, report);
        }

        await using (var json = File.Create(Path.Combine(options.Out, SummaryJsonFile)))
        {
            ZeroRatingReportWriter.WriteJson(json, report);
        }

        var relief = report.HasRelief
            ? $", relief {ZeroRatingReportWriter.Yuan(report.Total.Relief)} yuan ({report.Total.Relief} micros) over {report.Total.Priced} priced"
            : ", relief not computed (needs --tariff and --cdrs)";
        var goodwill = report.Ledger?.Of(AdjustmentKind.Goodwill) is { } g
            ? $"; {g.Count} goodwill credits on CDRs of the month ({ZeroRatingReportWriter.Yuan(-g.Difference)} yuan)"
            : "";
        await stdout.WriteLineAsync($"{report.ZeroRated} zero-rated records in {report.Month} (of {report.RecordsInMonth} rated in the month), "
            + $"{report.Rules.Count} rules{relief}; sample {report.Sample.Count} (seed {report.Seed}){goodwill}");
        return 0;
    }
}
