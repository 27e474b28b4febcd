using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace RatingPipeline.FaultSuite;

/// <summary>
/// <c>dotnet run --project bench/RatingPipeline.FaultSuite -c Release -- [--mode full|ci] [overrides]</c>:
/// runs the fault suite, prints the table, exits 0 when every invariant holds, 1 when one fails, 2 on bad options.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var mode = new Option<string>("--mode") { Description = "full (≥ 200,000 CDRs, 10 rater kills) or ci (30,000 CDRs, 3 kills, ≤ 4 min)", DefaultValueFactory = _ => "full" };
        mode.AcceptOnlyFromAmong("full", "ci");
        var cdrs = new Option<int?>("--cdrs") { Description = "CDRs to stream" };
        var subscribers = new Option<int?>("--subscribers") { Description = "Subscribers the CDRs spread over" };
        var partitions = new Option<int?>("--partitions") { Description = "Partitions per topic (the mock keeps ~5 MiB per partition)" };
        var kills = new Option<int?>("--kills") { Description = "Rater SIGKILLs" };
        var senderKills = new Option<int?>("--sender-kills") { Description = "Sender SIGKILLs (when the sender is in)" };
        var brokerFaults = new Option<int?>("--broker-faults") { Description = "Request-error bursts, broker outages and latency spells" };
        var rate = new Option<int?>("--rate") { Description = "CDRs produced per second" };
        var cap = new Option<TimeSpan?>("--duration-cap") { Description = "Give up (and fail) after this long: 240s, 15m, 00:04:00", CustomParser = ParseDuration };
        var seed = new Option<int?>("--seed") { Description = "Seed of the data and the fault schedule" };
        var batchWait = new Option<int?>("--batch-wait-ms") { Description = "Rater:BatchMaxWait of the raters, in milliseconds" };
        var work = new Option<string?>("--work-dir") { Description = "Folder for logs and the offline run (default: a new temporary folder)" };
        var quiet = new Option<bool>("--quiet") { Description = "Print only the table" };
        var root = new RootCommand("RatingPipeline fault suite: faults under load, proven against the offline run.")
        {
            mode, cdrs, subscribers, partitions, kills, senderKills, brokerFaults, rate, cap, seed, batchWait, work, quiet,
        };
        root.SetAction(async (result, cancel) =>
        {
            var preset = result.GetValue(mode) == "ci" ? FaultSuiteOptions.Ci : FaultSuiteOptions.Full;
            var options = preset with
            {
                Cdrs = result.GetValue(cdrs) ?? preset.Cdrs,
                Subscribers = result.GetValue(subscribers) ?? preset.Subscribers,
                Partitions = result.GetValue(partitions) ?? preset.Partitions,
                RaterKills = result.GetValue(kills) ?? preset.RaterKills,
                SenderKills = result.GetValue(senderKills) ?? preset.SenderKills,
                BrokerFaults = result.GetValue(brokerFaults) ?? preset.BrokerFaults,
                Rate = result.GetValue(rate) ?? preset.Rate,
                DurationCap = result.GetValue(cap) ?? preset.DurationCap,
                Seed = result.GetValue(seed) ?? preset.Seed,
                BatchWaitMs = result.GetValue(batchWait) ?? preset.BatchWaitMs,
                WorkDir = result.GetValue(work),
                Verbose = !result.GetValue(quiet),
            };
            var errors = options.Validate().ToList();
            if (errors.Count > 0)
            {
                await Console.Error.WriteLineAsync(string.Join(Environment.NewLine, errors));
                return 2;
            }

            var report = await FaultSuiteRunner.RunAsync(options, Console.Out, cancel);
            Console.WriteLine(report.ToTable());
            return report.Passed ? 0 : 1;
        });
        return await root.Parse(args).InvokeAsync();
    }

    private static TimeSpan? ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim() : "";
        if (TryParseDuration(text, out var value))
        {
            return value;
        }

        result.AddError($"--duration-cap: '{text}' is not a duration (240s, 15m, 1h or 00:04:00)");
        return null;
    }

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        if (text.Length > 1 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            switch (text[^1])
            {
                case 's':
                    value = TimeSpan.FromSeconds(amount);
                    return true;
                case 'm':
                    value = TimeSpan.FromMinutes(amount);
                    return true;
                case 'h':
                    value = TimeSpan.FromHours(amount);
                    return true;
                default:
                    break;
            }
        }

        // Clock time only with a colon: TimeSpan would read a bare "240" as 240 days.
        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value) && value > TimeSpan.Zero;
    }
}
