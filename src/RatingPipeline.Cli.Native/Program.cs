using System.CommandLine;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Cli.Native;

/// <summary>
/// <c>ratingctl-native rate …</c> and <c>ratingctl-native rerate …</c>: the <c>rate</c> command of ratingctl and the file mode
/// of its <c>rerate</c> (the same options, outputs, messages and exit codes), compiled ahead of time. ratingctl replaces
/// itself with this program for such a command line when it finds it beside itself (<c>NativeRate</c>); it can also be
/// run on its own. <c>rerate --from-topic</c> needs the Kafka client and stays in ratingctl.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("ratingctl's rate command and rerate's file mode, compiled ahead of time (see ratingctl rate --help, ratingctl rerate --help).")
        {
            RateCommand.Build(),
            RerateCommand.Build(),
        };
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
    }
}
