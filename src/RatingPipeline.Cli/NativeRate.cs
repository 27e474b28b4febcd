using System.Runtime.InteropServices;

namespace RatingPipeline.Cli;

/// <summary>
/// Hands a <c>rate</c> command line, and a <c>rerate</c> one over files, to <c>ratingctl-native</c>, the same commands compiled
/// ahead of time, when it sits beside ratingctl (a published folder with it: bench/lib.sh, README "Offline rating"):
/// ratingctl replaces its own process with it (<c>execv</c>), so the native program gets the same arguments, standard
/// streams, signals and exit code, and the run needs no compiling at start-up or while it runs. Not for <c>--help</c>
/// (ratingctl's own help names ratingctl), not for <c>rerate --from-topic</c> (the Kafka client stays in ratingctl), not
/// on other systems than Linux, and not with <c>RATINGCTL_NATIVE=0</c>. When the replacement fails, the command runs in
/// this process as it always did.
/// </summary>
internal static partial class NativeRate
{
    /// <summary>The native program's file name, beside ratingctl.</summary>
    public const string FileName = "ratingctl-native";

    /// <summary>The environment variable that, set to <c>0</c>, keeps <c>rate</c> in this process.</summary>
    public const string Variable = "RATINGCTL_NATIVE";

    private static readonly string[] HelpWords = ["--help", "-h", "-?", "/?", "/h"];

    /// <summary>The native program to hand <paramref name="args"/> to, from <paramref name="folder"/>; null to run them here.</summary>
    public static string? ProgramFor(string[] args, string? setting, string folder)
    {
        var native = args is ["rate", ..] || (args is ["rerate", ..] && !args.Any(a => a.StartsWith("--from-topic", StringComparison.Ordinal)));
        if (!OperatingSystem.IsLinux() || !native || setting == "0" || args.Any(HelpWords.Contains))
        {
            return null;
        }

        var path = Path.Combine(folder, FileName);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Replaces this process with the native program when <see cref="ProgramFor"/> names one; returns only when it does not, or the replacement failed.</summary>
    public static void TryReplaceProcess(string[] args)
    {
        if (ProgramFor(args, Environment.GetEnvironmentVariable(Variable), AppContext.BaseDirectory) is not { } program)
        {
            return;
        }

        string?[] argv = [program, .. args, null];
        _ = Execv(program, argv);
    }

    [LibraryImport("libc", EntryPoint = "execv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Execv(string path, string?[] argv);
}
