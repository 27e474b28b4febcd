using System.CommandLine;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Records;
using RatingPipeline.Rerating;

namespace RatingPipeline.Cli.Commands;

/// <summary>Options of <c>ratingctl credit</c>: to a ledger folder (<see cref="Out"/>) or the adjustments topic (<see cref="Bootstrap"/>).</summary>
public sealed record CreditOptions(string Msisdn, long Amount, string Reason, string? Cdr, string? Out, string? Bootstrap, string Topic = "adjustments");

/// <summary>
/// <c>ratingctl credit</c>: a goodwill adjustment for one subscriber — the manual reduction the regulator's circular
/// allows for a single complaining subscriber — in the ledger format of re-rating (kind <c>goodwill</c>), appended to
/// <c>DIR/adjustments.jsonl</c> or produced to the <c>adjustments</c> topic (key msisdn). Its id is deterministic
/// (msisdn, CDR or account, amount and reason), so giving the same credit twice records it once. Naming a CDR
/// (<c>--cdr</c>) ties it to that record, and the zero-rating audit counts it.
/// </summary>
public static class CreditCommand
{
    /// <summary>The largest credit: the largest charge one CDR can carry (10^15 micros).</summary>
    public const long MaxAmount = 1_000_000_000_000_000;

    public static Command Build()
    {
        var msisdn = new Option<string>("--msisdn") { Description = "The subscriber (5-15 digits)", Required = true };
        var amount = new Option<long>("--amount") { Description = "Micros credited (positive: the subscriber pays less; negative: a debit)", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (kept in the ledger), e.g. the complaint's reference", Required = true };
        var cdr = new Option<string?>("--cdr") { Description = "The id of the CDR the credit is for (else the account)" };
        var output = new Option<string?>("--out") { Description = $"Ledger folder: appends to {RerateCommand.AdjustmentsFile}" };
        var bootstrap = new Option<string?>("--bootstrap") { Description = "Produce to the adjustments topic of this cluster instead" };
        var topic = new Option<string>("--topic") { Description = "The adjustments topic", DefaultValueFactory = _ => "adjustments" };
        var command = new Command("credit", "Record a goodwill adjustment for one subscriber (a manual reduction), in the re-rating ledger format.")
        {
            msisdn, amount, reason, cdr, output, bootstrap, topic,
        };
        command.SetAction((result, cancel) => RunAsync(
            new CreditOptions(result.GetValue(msisdn)!, result.GetValue(amount), result.GetValue(reason)!, result.GetValue(cdr), result.GetValue(output),
                result.GetValue(bootstrap), result.GetValue(topic)!),
            Console.Out, Console.Error, cancel));
        return command;
    }

    /// <summary>What is wrong with the options, or null.</summary>
    public static string? Validate(CreditOptions options) => options switch
    {
        _ when !MsisdnKey.TryCompute(options.Msisdn, out _) => "--msisdn must be 5-15 ASCII digits",
        _ when options.Amount == 0 || Math.Abs(options.Amount) > MaxAmount => $"--amount must be a non-zero number of micros within ±{MaxAmount}",
        _ when string.IsNullOrWhiteSpace(options.Reason) => "--reason must not be empty",
        _ when options.Cdr is { } id && (id.Length is 0 or > 64 || id.Any(c => c is < ' ' or > '~')) => "--cdr must be a CDR id (1-64 printable ASCII characters)",
        _ when (options.Out is null) == (options.Bootstrap is null) => "give either --out DIR or --bootstrap HOST:PORT",
        _ => null,
    };

    /// <returns>0 when recorded (or already recorded); 2 for bad options; 1 when Kafka failed.</returns>
    public static async Task<int> RunAsync(CreditOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (Validate(options) is { } problem)
        {
            await stderr.WriteLineAsync($"ratingctl credit: {problem}");
            return 2;
        }

        var credit = Adjustment.GoodwillCredit(options.Msisdn, options.Amount, options.Reason.Trim(), options.Cdr);
        var line = AdjustmentJson.ToLine(credit);
        if (options.Out is { } folder)
        {
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, RerateCommand.AdjustmentsFile);
            List<Adjustment> recorded;
            try
            {
                recorded = AdjustmentJson.ReadFile(path);
            }
            catch (AdjustmentFileException e)
            {
                await stderr.WriteLineAsync($"ratingctl credit: existing adjustment file refused: {e.Message}");
                return 2;
            }

            if (recorded.Any(a => a.AdjustmentId == credit.AdjustmentId))
            {
                await stdout.WriteLineAsync($"{credit.AdjustmentId} is already recorded in {path}; nothing written");
                return 0;
            }

            await using (var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                if (file.Length > 0 && LastByte(path) != (byte)'\n')
                {
                    file.WriteByte((byte)'\n');
                }

                await file.WriteAsync(line, cancel);
            }

            await stdout.WriteLineAsync($"{credit.AdjustmentId}: {-credit.Difference} micros credited to {credit.Msisdn}, written to {path}");
            return 0;
        }

        try
        {
            using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientTuning.Producer(options.Bootstrap!)).SetLogHandler((_, _) => { }).Build();
            await producer.ProduceAsync(options.Topic, new Message<byte[], byte[]>
            {
                Key = Encoding.ASCII.GetBytes(credit.Msisdn),
                Value = line.AsSpan(0, line.Length - 1).ToArray(),
            }, cancel).WaitAsync(TimeSpan.FromSeconds(60), cancel);
            await stdout.WriteLineAsync($"{credit.AdjustmentId}: {-credit.Difference} micros credited to {credit.Msisdn}, produced to {options.Topic}");
            return 0;
        }
        catch (Exception e) when (e is KafkaException or TimeoutException)
        {
            await stderr.WriteLineAsync($"ratingctl credit: {e.Message}");
            return 1;
        }
    }

    private static int LastByte(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length == 0)
        {
            return -1;
        }

        file.Seek(-1, SeekOrigin.End);
        return file.ReadByte();
    }
}
