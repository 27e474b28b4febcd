namespace RatingPipeline.Cli.Commands;

/// <summary>
/// An offline command (<c>rate</c>, <c>rerate</c>, <c>audit</c>) stopped by Ctrl-C or SIGTERM before the end of its input:
/// one line on standard error saying so and that its outputs are incomplete, and exit code <see cref="ExitCode"/>
/// (130, as shells report a run interrupted by Ctrl-C), instead of a silent exit.
/// </summary>
internal static class Interrupted
{
    public const int ExitCode = 130;

    /// <summary>Says that <paramref name="command"/> stopped and its outputs in <paramref name="outDir"/> are incomplete; returns <see cref="ExitCode"/>.</summary>
    public static async Task<int> ReportAsync(TextWriter stderr, string command, string outDir)
    {
        await stderr.WriteLineAsync($"ratingctl {command}: stopped before the end of its input (the outputs in {outDir} are incomplete)");
        return ExitCode;
    }
}
