using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace RatingPipeline.Fuzz;

/// <summary>How long and how to fuzz one target.</summary>
/// <param name="Duration">Stop after this much time.</param>
/// <param name="MaxIterations">Stop after this many inputs (seeds included).</param>
/// <param name="Seed">Seed of the mutation choices: the same seed and target give the same inputs.</param>
/// <param name="CrashDirectory">Where failing inputs are saved (<c>TARGET-HASH.bin</c> and a <c>.txt</c> with the violation); null: not saved.</param>
/// <param name="HangAfter">An input still running after this long is saved as a hang and fails the run.</param>
/// <param name="MaxInputLength">Mutated inputs are cut to this many bytes.</param>
public sealed record FuzzOptions(
    TimeSpan Duration,
    long MaxIterations = long.MaxValue,
    int Seed = 1,
    string? CrashDirectory = null,
    TimeSpan? HangAfter = null,
    int MaxInputLength = 1 << 20);

/// <summary>One failing input.</summary>
public sealed record FuzzFailure(string Kind, string Message, byte[] Input, string? SavedTo);

/// <summary>What a run did: inputs tried, outcomes seen, failures found, memory.</summary>
public sealed class FuzzReport(string target)
{
    public string Target { get; } = target;

    public long Iterations { get; set; }

    public TimeSpan Elapsed { get; set; }

    public int CorpusSize { get; set; }

    public long LargestInput { get; set; }

    public long PeakManagedBytes { get; set; }

    public long ManagedBytesBefore { get; set; }

    public long ManagedBytesAfter { get; set; }

    public TimeSpan SlowestInput { get; set; }

    public Dictionary<string, long> Outcomes { get; } = new(StringComparer.Ordinal);

    public List<FuzzFailure> Failures { get; } = [];

    public double PerSecond => Elapsed.TotalSeconds > 0 ? Iterations / Elapsed.TotalSeconds : 0;

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"{Target}: {Iterations:N0} inputs in {Elapsed.TotalSeconds:F1} s ({PerSecond:N0}/s), corpus {CorpusSize}, "
            + $"{Outcomes.Count} distinct outcomes, largest input {LargestInput:N0} B, slowest input {SlowestInput.TotalMilliseconds:N0} ms, "
            + $"managed heap {ManagedBytesBefore / 1024 / 1024} MiB → peak {PeakManagedBytes / 1024 / 1024} MiB → {ManagedBytesAfter / 1024 / 1024} MiB after, "
            + $"{Failures.Count} failure(s)");
        foreach (var (label, count) in Outcomes.OrderByDescending(o => o.Value).Take(12))
        {
            text.AppendLine($"  {count,10:N0}  {label}");
        }

        foreach (var failure in Failures)
        {
            text.AppendLine($"  FAILURE {failure.Kind}: {failure.Message}{(failure.SavedTo is null ? "" : $" (saved to {failure.SavedTo})")}");
        }

        return text.ToString();
    }
}

/// <summary>
/// The mutation fuzzer: runs the seeds, then mutations of a growing corpus (an input joins it when its outcome
/// label is new), until the time or iteration budget is spent. Checks every input with the target, saves
/// failing ones, and flags inputs that run longer than the hang limit (a watchdog saves them while they run).
/// </summary>
public static class FuzzRunner
{
    private const int MaxCorpus = 4096;
    private const int MaxCorpusEntry = 64 * 1024;
    private const int MaxFailures = 16;

    public static FuzzReport Run(FuzzTarget target, FuzzOptions options, TextWriter? log = null)
    {
        var report = new FuzzReport(target.Name);
        var random = new Random(options.Seed);
        var mutator = new Mutator(random, target.Dictionary, options.MaxInputLength);
        var corpus = new List<byte[]>(target.Seeds);
        var hangAfter = options.HangAfter ?? TimeSpan.FromSeconds(10);
        var watch = Stopwatch.StartNew();
        report.ManagedBytesBefore = GC.GetTotalMemory(forceFullCollection: true);
        using var watchdog = new Watchdog(target.Name, hangAfter, options.CrashDirectory, log);
        var seedIndex = 0;
        while (report.Iterations < options.MaxIterations && watch.Elapsed < options.Duration && report.Failures.Count < MaxFailures)
        {
            var input = seedIndex < target.Seeds.Count
                ? target.Seeds[seedIndex++]
                : mutator.Mutate(corpus[random.Next(corpus.Count)], corpus[random.Next(corpus.Count)]);
            report.LargestInput = Math.Max(report.LargestInput, input.Length);
            var started = watch.Elapsed;
            watchdog.Start(input);
            var outcome = RunOne(target, input, options, report, log);
            watchdog.Stop();
            var took = watch.Elapsed - started;
            if (took > report.SlowestInput)
            {
                report.SlowestInput = took;
            }

            if (took > hangAfter)
            {
                Fail(report, options, target.Name, "hang", $"one input took {took.TotalSeconds:F1} s (limit {hangAfter.TotalSeconds:F0} s)", input, log);
            }

            report.Iterations++;
            if (outcome is not null)
            {
                if (!report.Outcomes.TryGetValue(outcome, out var seen) && corpus.Count < MaxCorpus && input.Length <= MaxCorpusEntry)
                {
                    corpus.Add(input);
                }

                report.Outcomes[outcome] = seen + 1;
            }

            if ((report.Iterations & 255) == 0)
            {
                report.PeakManagedBytes = Math.Max(report.PeakManagedBytes, GC.GetTotalMemory(forceFullCollection: false));
            }
        }

        report.Elapsed = watch.Elapsed;
        report.CorpusSize = corpus.Count;
        report.PeakManagedBytes = Math.Max(report.PeakManagedBytes, GC.GetTotalMemory(forceFullCollection: false));
        corpus.Clear();
        report.ManagedBytesAfter = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(target);
        return report;
    }

    /// <summary>Runs the given inputs once each (saved crashes, regression files) and reports failures.</summary>
    public static FuzzReport Replay(FuzzTarget target, IEnumerable<(string Name, byte[] Bytes)> inputs, TextWriter? log = null)
    {
        var report = new FuzzReport(target.Name);
        var options = new FuzzOptions(TimeSpan.MaxValue);
        var watch = Stopwatch.StartNew();
        foreach (var (name, bytes) in inputs)
        {
            var outcome = RunOne(target, bytes, options, report, log, name);
            report.Iterations++;
            report.LargestInput = Math.Max(report.LargestInput, bytes.Length);
            if (outcome is not null)
            {
                report.Outcomes[outcome] = report.Outcomes.GetValueOrDefault(outcome) + 1;
            }
        }

        report.Elapsed = watch.Elapsed;
        return report;
    }

    private static string? RunOne(FuzzTarget target, byte[] input, FuzzOptions options, FuzzReport report, TextWriter? log, string? name = null)
    {
        try
        {
            return target.Run(input);
        }
        catch (InvariantViolationException e)
        {
            Fail(report, options, target.Name, "violation", Prefix(name) + e.Message, input, log);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Fail(report, options, target.Name, "exception", $"{Prefix(name)}{e.GetType().FullName} escaped: {e.Message}\n{e.StackTrace}", input, log);
        }

        return null;
    }

    private static string Prefix(string? name) => name is null ? "" : $"{name}: ";

    private static void Fail(FuzzReport report, FuzzOptions options, string target, string kind, string message, byte[] input, TextWriter? log)
    {
        var saved = Save(options.CrashDirectory, target, kind, message, input);
        report.Failures.Add(new FuzzFailure(kind, message, input, saved));
        log?.WriteLine($"{target}: {kind}: {FirstLine(message)}{(saved is null ? "" : $" → {saved}")}");
    }

    internal static string? Save(string? directory, string target, string kind, string message, byte[] input)
    {
        if (directory is null)
        {
            return null;
        }

        Directory.CreateDirectory(directory);
        var hash = Convert.ToHexStringLower(SHA256.HashData(input))[..16];
        var path = Path.Combine(directory, $"{target}-{kind}-{hash}.bin");
        File.WriteAllBytes(path, input);
        File.WriteAllText(Path.ChangeExtension(path, ".txt"), $"{target} {kind} ({input.Length} bytes)\n{message}\n");
        return path;
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? text : text[..end];
    }

    /// <summary>Saves the running input when it outlives the hang limit, while it still runs (a true hang never returns).</summary>
    private sealed class Watchdog : IDisposable
    {
        private readonly string _target;
        private readonly TimeSpan _limit;
        private readonly string? _directory;
        private readonly TextWriter? _log;
        private readonly Timer _timer;
        private readonly Lock _gate = new();
        private byte[]? _input;
        private long _startedAt;
        private bool _reported;

        public Watchdog(string target, TimeSpan limit, string? directory, TextWriter? log)
        {
            _target = target;
            _limit = limit;
            _directory = directory;
            _log = log;
            var period = TimeSpan.FromMilliseconds(Math.Clamp(limit.TotalMilliseconds / 4, 50, 1000));
            _timer = new Timer(_ => Tick(), null, period, period);
        }

        public void Start(byte[] input)
        {
            lock (_gate)
            {
                _input = input;
                _startedAt = Stopwatch.GetTimestamp();
                _reported = false;
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                _input = null;
            }
        }

        public void Dispose() => _timer.Dispose();

        private void Tick()
        {
            byte[] input;
            lock (_gate)
            {
                if (_input is null || _reported || Stopwatch.GetElapsedTime(_startedAt) <= _limit)
                {
                    return;
                }

                _reported = true;
                input = _input;
            }

            var saved = Save(_directory, _target, "hang", $"still running after {_limit.TotalSeconds:F0} s", input);
            _log?.WriteLine($"{_target}: an input is still running after {_limit.TotalSeconds:F0} s{(saved is null ? "" : $" → {saved}")}");
        }
    }
}
