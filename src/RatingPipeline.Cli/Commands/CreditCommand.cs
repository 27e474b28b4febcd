using System.CommandLine;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.IO;
using RatingPipeline.Kafka;
using RatingPipeline.Rerating;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// Options of <c>ratingctl credit</c>: the credit (<c>Amount</c> text as given, so a bad one is reported as written) and
/// where it goes — <c>Out</c> (the ledger folder) or <c>Bootstrap</c> and <c>Topic</c>, exactly one of them.
/// </summary>
public sealed record CreditOptions(string? Msisdn, string? Amount, string? Reason, string? Cdr, string? Out, string? Bootstrap, string Topic = "adjustments");

/// <summary>
/// <c>ratingctl credit</c>: a goodwill adjustment for one complaining subscriber (the manual reduction the regulator's
/// circular allows), recorded in the adjustment ledger in the same format as re-rating (kind <c>goodwill</c>, a
/// deterministic adjustmentId): appended to <c>DIR/adjustments.jsonl</c>, or produced to the <c>adjustments</c> topic
/// (key msisdn). The same credit given again (same msisdn, amount, reason and CDR) is recorded once.
/// </summary>
public static class CreditCommand
{
    private const string Me = "ratingctl credit";

    public static Command Build()
    {
        // Checked by RunAsync, not by the parser, so that missing or unknown input ends with exit code 2 like any bad input.
        var msisdn = new Option<string?>("--msisdn") { Description = "The subscriber, 5-15 digits (required)" };
        var amount = new Option<string?>("--amount")
        {
            Description = $"Micros to credit (1 yuan = 1000000; required): a non-zero integer of at most {GoodwillCredit.MaxAmount}; negative debits (takes back a credit given by mistake)",
        };
        var reason = new Option<string?>("--reason") { Description = "Why, e.g. the complaint's ticket number (required; two credits for one subscriber need different reasons)" };
        var cdr = new Option<string?>("--cdr") { Description = "The id of the CDR the credit is for (then the zero-rating audit counts it in that CDR's month)" };
        var output = new Option<string?>("--out") { Description = $"Ledger folder: appends to {RerateCommand.AdjustmentsFile} and rewrites {RerateCommand.TotalsFile}" };
        var bootstrap = new Option<string?>("--bootstrap") { Description = "Kafka bootstrap servers: produce to the adjustments topic instead of a folder" };
        var topic = new Option<string>("--topic") { Description = "The adjustments topic, with --bootstrap", DefaultValueFactory = _ => "adjustments" };
        var command = new Command("credit", "Record a goodwill credit for one subscriber in the adjustment ledger (a folder or the adjustments topic).")
        {
            msisdn, amount, reason, cdr, output, bootstrap, topic,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, cancel) =>
        {
            if (result.UnmatchedTokens.Count > 0)
            {
                await Console.Error.WriteLineAsync($"{Me}: not understood: {string.Join(" ", result.UnmatchedTokens)}");
                return 2;
            }

            return await RunAsync(
                new CreditOptions(result.GetValue(msisdn), result.GetValue(amount), result.GetValue(reason), result.GetValue(cdr),
                    result.GetValue(output), result.GetValue(bootstrap), result.GetValue(topic)!),
                Console.Out, Console.Error, cancel);
        });
        return command;
    }

    /// <returns>0 when the credit is recorded (now or before); 2 for bad input or a ledger file that is not one; 1 when Kafka failed.</returns>
    public static async Task<int> RunAsync(CreditOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Msisdn is null || options.Amount is null || options.Reason is null)
        {
            await stderr.WriteLineAsync($"{Me}: give --msisdn M, --amount MICROS and --reason TEXT");
            return 2;
        }

        if ((options.Out is null) == (options.Bootstrap is null))
        {
            await stderr.WriteLineAsync($"{Me}: give --out DIR (the ledger folder) or --bootstrap HOST:PORT (the adjustments topic), one of them");
            return 2;
        }

        if (!long.TryParse(options.Amount, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var micros))
        {
            await stderr.WriteLineAsync($"{Me}: --amount {options.Amount}: give a whole number of micros (1 yuan = 1000000), e.g. 5000000");
            return 2;
        }

        if (GoodwillCredit.TryCreate(options.Msisdn, micros, options.Reason, options.Cdr, out var error) is not { } credit)
        {
            await stderr.WriteLineAsync($"{Me}: {error}");
            return 2;
        }

        return options.Out is { } folder
            ? await ToFolderAsync(credit, folder, stdout, stderr, cancel)
            : await ToTopicAsync(credit, options.Bootstrap!, options.Topic, stdout, stderr, cancel);
    }

    private static async Task<int> ToFolderAsync(GoodwillCredit credit, string folder, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, RerateCommand.AdjustmentsFile);
        AdjustmentLedger ledger;
        try
        {
            ledger = new AdjustmentLedger(AdjustmentJson.ReadFile(path));
        }
        catch (AdjustmentFileException e)
        {
            await stderr.WriteLineAsync($"{Me}: existing adjustment file refused: {e.Message}");
            return 2;
        }

        var written = ledger.Add(credit);
        if (written)
        {
            await using var file = RerateCommand.OpenForAppend(path);
            await file.WriteAsync(AdjustmentJson.ToLine(credit), cancel);
        }

        var totalsPath = Path.Combine(folder, RerateCommand.TotalsFile);
        await using (var totals = File.Create(totalsPath + ".tmp"))
        {
            AdjustmentTotalsJson.Write(totals, AdjustmentTotals.Of(ledger.Adjustments), credit, written);
        }

        File.Move(totalsPath + ".tmp", totalsPath, overwrite: true);
        await stdout.WriteLineAsync($"{Describe(credit)} {(written ? "recorded" : "already recorded")} as {credit.AdjustmentId} in {path}");
        return 0;
    }

    private static async Task<int> ToTopicAsync(GoodwillCredit credit, string bootstrap, string topic, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        try
        {
            ClockCommand.Partitions(bootstrap, topic); // the topic must exist: asking for it by name could create it
            foreach (var (_, _, _, value) in TopicSnapshot.Read(bootstrap, topic, cancel))
            {
                if (value is not null && AdjustmentJson.TryParse(value, out _) is { } recorded && recorded.AdjustmentId == credit.AdjustmentId)
                {
                    await stdout.WriteLineAsync($"{Describe(credit)} already recorded as {credit.AdjustmentId} on {topic}");
                    return 0;
                }
            }

            using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(bootstrap));
            var line = AdjustmentJson.ToLine(credit);
            await producer.ProduceAndAwaitAsync(new TopicPartition(topic, Partition.Any), new Message<byte[], byte[]>
            {
                Key = Encoding.ASCII.GetBytes(credit.Msisdn),
                Value = line[..^1],
            }, TimeSpan.FromSeconds(60), "the adjustment", cancel);
            await stdout.WriteLineAsync($"{Describe(credit)} recorded as {credit.AdjustmentId} on {topic}");
            return 0;
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException or TimeoutException)
        {
            await stderr.WriteLineAsync($"{Me}: {e.Message}");
            return 1;
        }
    }

    private static string Describe(GoodwillCredit credit) =>
        credit.Amount > 0
            ? $"goodwill credit of {credit.Amount} micros to {credit.Msisdn}"
            : $"goodwill debit of {-credit.Amount} micros to {credit.Msisdn}";
}
