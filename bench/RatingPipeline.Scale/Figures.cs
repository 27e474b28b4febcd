using System.Diagnostics;
using System.Globalization;

namespace RatingPipeline.Scale;

/// <summary>Printing and timing helpers shared by the figures.</summary>
internal static class Figures
{
    public static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static void Section(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
    }

    public static void Row(string name, string value, string? note = null) =>
        Console.WriteLine($"  {name,-58} {value,18}{(note is null ? "" : "  " + note)}");

    public static string N(double value, int decimals = 0) => value.ToString("N" + decimals.ToString(Invariant), Invariant);

    /// <summary>Median of <paramref name="runs"/> timings of <paramref name="action"/>.</summary>
    public static TimeSpan Median(int runs, Func<TimeSpan> action)
    {
        var times = Enumerable.Range(0, runs).Select(_ => action()).OrderBy(t => t).ToList();
        return times[times.Count / 2];
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>
    /// CPU time this process has used so far. On a shared machine wall-clock figures carry other processes' load;
    /// CPU time per operation does not (for the Kafka figures it includes the clients' and the in-process
    /// cluster's threads, the same in the figure and its baseline).
    /// </summary>
    public static TimeSpan Cpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>The load average over the last minute (Linux), for the record.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    public static TimeSpan Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed;
    }

    /// <summary>
    /// kcat reading <paramref name="topic"/> from the beginning to its end, fastest of three runs, and kcat's own
    /// start (connection, metadata) measured the same way on an empty topic; null when kcat is not installed.
    /// </summary>
    public static (TimeSpan Read, TimeSpan Start, long Records)? KcatRead(string bootstrap, string topic, string emptyTopic)
    {
        var runs = new List<(TimeSpan Elapsed, long Lines)>();
        var starts = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            if (Kcat("-C", "-b", bootstrap, "-t", emptyTopic, "-e", "-q", "-o", "beginning") is not { } start
                || Kcat("-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning", "-f", "%o\n") is not { } read)
            {
                return null;
            }

            starts.Add(start.Elapsed);
            runs.Add(read);
        }

        var best = runs.MinBy(r => r.Elapsed);
        return (best.Elapsed, starts.Min(), best.Lines);
    }

    /// <summary>The kcat figure: records per second net of kcat's start, or a note when the read is within the start's noise.</summary>
    public static string KcatRate((TimeSpan Read, TimeSpan Start, long Records) kcat, out string note)
    {
        var net = (kcat.Read - kcat.Start).TotalSeconds;
        note = $"({N(kcat.Records)} records in {kcat.Read.TotalSeconds:F2} s, of which ~{kcat.Start.TotalSeconds:F2} s is kcat's start on an empty topic; best of 3)";
        return net >= 0.05 ? $"{N(kcat.Records / net)} rec/s" : "n/a (within start noise)";
    }

    /// <summary>Runs kcat with <paramref name="args"/>, counts its output lines, times it; null when kcat is not installed.</summary>
    public static (TimeSpan Elapsed, long Lines)? Kcat(params string[] args)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "kcat")).FirstOrDefault(File.Exists);
        if (path is null)
        {
            return null;
        }

        var start = new ProcessStartInfo(path) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var errors = process.StandardError.ReadToEndAsync();
        long lines = 0;
        var buffer = new byte[1 << 16];
        var stdout = process.StandardOutput.BaseStream;
        int read;
        while ((read = stdout.Read(buffer)) > 0)
        {
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
        }

        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            return null;
        }

        var elapsed = clock.Elapsed;
        _ = errors.Result;
        return (elapsed, lines);
    }
}
