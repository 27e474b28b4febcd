using Spectre.Console;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// The progress bars of the offline commands (<c>rate</c>, <c>rerate</c>, <c>audit</c>): one bar per pass over an input
/// file, filled by the bytes of the file the pass has finished, with its speed and the time left. A pass that has not
/// begun yet shows an empty bar and starts its clock at its first bytes. Drawn on standard error when asked (no
/// <c>--no-progress</c>), when the inputs come to <see cref="MinInputBytes"/> or more (a smaller run is over before a
/// bar says anything) and when standard error is a terminal (never into a file or a pipe); otherwise the passes run
/// without.
/// </summary>
internal static class ProgressBars
{
    /// <summary>The least input, in bytes, that gets bars.</summary>
    public const long MinInputBytes = 32L << 20;

    /// <summary>Where the bars go for a run asked for them or not, over inputs of <paramref name="inputBytes"/>: standard error, or nowhere (null).</summary>
    public static TextWriter? Target(bool asked, long inputBytes, TextWriter stderr) =>
        asked && inputBytes >= MinInputBytes && !Console.IsErrorRedirected ? stderr : null;

    /// <summary>
    /// Runs <paramref name="body"/> with one reporter per bar of <paramref name="bars"/> (its name and its file's bytes),
    /// in their order; each reporter takes the bytes of its file finished so far (from any thread). Without a
    /// <paramref name="target"/> the reporters are null and nothing is drawn.
    /// </summary>
    public static async Task<T> RunAsync<T>(TextWriter? target, IReadOnlyList<(string Name, long Bytes)> bars,
        Func<IReadOnlyList<Action<long>?>, Task<T>> body)
    {
        if (target is null)
        {
            return await body(new Action<long>?[bars.Count]);
        }

        // Drawn live: the target is a terminal (or, in tests, a writer that stands for one).
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(target), Interactive = InteractionSupport.Yes });
        return await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var reporters = new Action<long>?[bars.Count];
                for (var i = 0; i < bars.Count; i++)
                {
                    var task = context.AddTask(bars[i].Name, autoStart: false, maxValue: Math.Max(1, bars[i].Bytes));
                    reporters[i] = bytes =>
                    {
                        if (!task.IsStarted)
                        {
                            task.StartTask();
                        }

                        task.Value = bytes;
                    };
                }

                return await body(reporters);
            });
    }
}
