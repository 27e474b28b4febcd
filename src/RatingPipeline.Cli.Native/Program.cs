using System.CommandLine;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Cli.Native;

/// <summary>
/// <c>ratingctl-native rate …</c>: the <c>rate</c> command of ratingctl (the same options, outputs, messages and exit codes),
/// compiled ahead of time. ratingctl replaces itself with this program for a <c>rate</c> command line when it finds it
/// beside itself (<c>NativeRate</c>); it can also be run on its own.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("ratingctl's rate command, compiled ahead of time (see ratingctl rate --help).") { RateCommand.Build() };
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
    }
}
