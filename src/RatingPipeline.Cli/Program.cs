using System.CommandLine;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Cli;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // `rate` runs natively compiled when ratingctl-native sits beside ratingctl (this call then does not return).
        NativeRate.TryReplaceProcess(args);
        var root = BuildRoot();
        // Ctrl-C and SIGTERM cancel the command's token; it then has this long to stop before the process ends.
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
    }

    /// <summary>Every command of <c>ratingctl</c>.</summary>
    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("RatingPipeline: real-time rating of call, SMS and data records, with consumption reminders.");
        root.Subcommands.Add(RateCommand.Build());
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(WorkerCommands.Rater());
        root.Subcommands.Add(WorkerCommands.Cluster());
        root.Subcommands.Add(DemoCommand.Build());
        root.Subcommands.Add(RerateCommand.Build(RerateFromTopics.RunAsync));
        root.Subcommands.Add(AuditCommand.Build());
        root.Subcommands.Add(SenderCommand.Build());
        root.Subcommands.Add(LoadCommand.Build());
        root.Subcommands.Add(ClockCommand.Build());
        root.Subcommands.Add(CreditCommand.Build());
        root.Subcommands.Add(UsageCommand.Build());
        return root;
    }
}
