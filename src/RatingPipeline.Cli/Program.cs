using System.CommandLine;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = BuildRoot();
        // Ctrl-C and SIGTERM cancel the command's token; it then has this long to stop before the process ends.
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
    }

    /// <summary>Every command of <c>ratingctl</c>.</summary>
    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("RatingPipeline: real-time rating of call, SMS and data records, with consumption reminders.");
        root.Subcommands.Add(BuildRate());
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(WorkerCommands.Rater());
        root.Subcommands.Add(WorkerCommands.Cluster());
        root.Subcommands.Add(DemoCommand.Build());
        root.Subcommands.Add(RerateCommand.Build());
        root.Subcommands.Add(AuditCommand.Build());
        root.Subcommands.Add(SenderCommand.Build());
        root.Subcommands.Add(LoadCommand.Build());
        root.Subcommands.Add(ClockCommand.Build());
        root.Subcommands.Add(CreditCommand.Build());
        root.Subcommands.Add(UsageCommand.Build());
        return root;
    }

    private static Command BuildRate()
    {
        var tariff = new Option<string>("--tariff") { Description = "Tariff JSON document", Required = true };
        var subscribers = new Option<string>("--subscribers") { Description = "Subscriber profiles, JSON Lines", Required = true };
        var cdrs = new Option<string>("--cdrs") { Description = "CDRs, JSON Lines, in arrival order", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder for rated.jsonl, reminders.jsonl, rejected.jsonl", Required = true };
        var noProgress = new Option<bool>("--no-progress") { Description = "Never draw a progress bar" };
        var lanes = LanesOption.Create("rate");
        var command = new Command("rate", "Rate a CDR file offline, exactly as the Kafka rater would.")
        {
            tariff, subscribers, cdrs, output, noProgress, lanes,
        };
        command.SetAction((result, cancel) => RateCommand.RunAsync(
            new RateOptions(result.GetValue(tariff)!, result.GetValue(subscribers)!, result.GetValue(cdrs)!, result.GetValue(output)!,
                !result.GetValue(noProgress), result.GetValue(lanes)),
            Console.Out, Console.Error, cancel));
        return command;
    }
}
