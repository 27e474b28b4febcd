using System.Diagnostics;
using System.Globalization;
using System.Text;
using NUnit.Framework;

namespace RatingPipeline.Tests.Kafka;

/// <summary>What a kcat run printed and how it ended.</summary>
internal sealed record KcatResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public override string ToString() =>
        $"kcat exit code {ExitCode}{(TimedOut ? " (killed after its timeout)" : string.Empty)}; stderr: {Stderr.Trim()}";
}

/// <summary>A record as kcat consumed it. Headers keep their order; a key may repeat.</summary>
internal sealed record KcatRecord(
    int Partition,
    long Offset,
    string? Key,
    string? Value,
    IReadOnlyList<KeyValuePair<string, string>> Headers);

/// <summary>
/// Runs kcat, the command-line Kafka client, as a child process: the "outside" client that
/// checks the product's records are plain Kafka records any client can read and write.
/// Every run is bounded by a timeout after which kcat is killed. A missing kcat fails the test.
/// </summary>
internal static class Kcat
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    // Framing for consumed records: fixed fields, then key and value whose byte lengths were
    // printed first (so tabs and newlines inside them are harmless), then headers to the newline.
    // Null keys and values have length -1 and print nothing.
    private const string ConsumeFormat = @"%p\t%o\t%K\t%S\t%k%s%h\n";

    private static readonly Lazy<string?> Executable = new(FindExecutable);

    private static readonly System.Buffers.SearchValues<char> HeaderNameCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

    /// <summary>Runs kcat with <paramref name="args"/> and <see cref="DefaultTimeout"/>.</summary>
    public static KcatResult Run(params string[] args) => Run(args, stdin: null, DefaultTimeout);

    /// <summary>Runs kcat with <paramref name="args"/>, feeding <paramref name="stdin"/> (UTF-8) if given.</summary>
    public static KcatResult Run(IReadOnlyList<string> args, string? stdin, TimeSpan timeout)
    {
        var (exitCode, stdout, stderr, timedOut) = RunRaw(args, stdin is null ? null : Encoding.UTF8.GetBytes(stdin), timeout);
        return new KcatResult(exitCode, Encoding.UTF8.GetString(stdout), stderr, timedOut);
    }

    /// <summary>
    /// Produces <paramref name="records"/> as UTF-8 key/value pairs (<c>kcat -P -K '\t'</c>) and fails
    /// the test if kcat reports an error. Keys may hold neither tab nor newline, values no newline.
    /// </summary>
    public static void Produce(string bootstrap, string topic, IEnumerable<(string Key, string Value)> records, TimeSpan? timeout = null)
    {
        var input = new StringBuilder();
        foreach (var (key, value) in records)
        {
            if (key.AsSpan().IndexOfAny('\t', '\n') >= 0 || value.Contains('\n', StringComparison.Ordinal))
            {
                throw new ArgumentException($"kcat's line format cannot carry key {key} / value {value}.", nameof(records));
            }

            input.Append(key).Append('\t').Append(value).Append('\n');
        }

        var result = Run(["-P", "-b", bootstrap, "-t", topic, "-K", @"\t"], input.ToString(), timeout ?? DefaultTimeout);
        if (result.ExitCode != 0 || result.TimedOut || result.Stderr.Contains("Delivery failed", StringComparison.Ordinal))
        {
            Assert.Fail($"kcat could not produce to {topic}: {result}");
        }
    }

    /// <summary>Produces one value without a key to one partition (<c>kcat -P -p N</c>), as a scheduler writes a clock record.</summary>
    public static void ProduceToPartition(string bootstrap, string topic, int partition, string value, TimeSpan? timeout = null)
    {
        if (value.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException($"kcat's line format cannot carry value {value}.", nameof(value));
        }

        var result = Run(["-P", "-b", bootstrap, "-t", topic, "-p", partition.ToString(CultureInfo.InvariantCulture)], value + "\n", timeout ?? DefaultTimeout);
        if (result.ExitCode != 0 || result.TimedOut || result.Stderr.Contains("Delivery failed", StringComparison.Ordinal))
        {
            Assert.Fail($"kcat could not produce to {topic} [{partition}]: {result}");
        }
    }

    /// <summary>
    /// Reads <paramref name="topic"/> from its beginning until <paramref name="expectedCount"/> records
    /// have arrived or <paramref name="timeout"/> has passed; returns what arrived (possibly fewer).
    /// </summary>
    public static IReadOnlyList<KcatRecord> Consume(string bootstrap, string topic, int expectedCount, TimeSpan timeout) =>
        ConsumeCore(bootstrap, topic, ["-c", expectedCount.ToString(CultureInfo.InvariantCulture)], timeout, allowTimeout: true);

    /// <summary>Reads every record of <paramref name="topic"/> up to its end (<c>kcat -e</c>).</summary>
    public static IReadOnlyList<KcatRecord> ConsumeToEnd(string bootstrap, string topic, TimeSpan? timeout = null) =>
        ConsumeCore(bootstrap, topic, ["-e"], timeout ?? DefaultTimeout, allowTimeout: false);

    private static List<KcatRecord> ConsumeCore(string bootstrap, string topic, string[] stop, TimeSpan timeout, bool allowTimeout)
    {
        string[] args = ["-C", "-q", "-b", bootstrap, "-t", topic, "-o", "beginning", .. stop, "-f", ConsumeFormat];
        var (exitCode, stdout, stderr, timedOut) = RunRaw(args, stdin: null, timeout);
        if ((timedOut && !allowTimeout) || (!timedOut && exitCode != 0))
        {
            Assert.Fail($"kcat could not consume {topic}: {new KcatResult(exitCode, string.Empty, stderr, timedOut)}");
        }

        return Parse(stdout, complete: !timedOut);
    }

    private static List<KcatRecord> Parse(byte[] output, bool complete)
    {
        var records = new List<KcatRecord>();
        var position = 0;
        while (position < output.Length)
        {
            var start = position;
            if (!TryReadField(output, ref position, out var partition)
                || !TryReadField(output, ref position, out var offset)
                || !TryReadField(output, ref position, out var keyLength)
                || !TryReadField(output, ref position, out var valueLength))
            {
                break;
            }

            var key = ReadBytes(output, ref position, keyLength);
            var value = ReadBytes(output, ref position, valueLength);
            var newline = position <= output.Length ? Array.IndexOf(output, (byte)'\n', position) : -1;
            if (key.Overflowed || value.Overflowed || newline < 0)
            {
                position = start;
                break;
            }

            var headers = ParseHeaders(Encoding.UTF8.GetString(output, position, newline - position));
            position = newline + 1;
            records.Add(new KcatRecord((int)partition, offset, key.Text, value.Text, headers));
        }

        // A run killed at its timeout may end in a partial record; anything else is a format error.
        if (position < output.Length && complete)
        {
            Assert.Fail($"Unexpected kcat output at byte {position}: {Encoding.UTF8.GetString(output, position, Math.Min(200, output.Length - position))}");
        }

        return records;
    }

    private static bool TryReadField(byte[] output, ref int position, out long number)
    {
        number = 0;
        var tab = Array.IndexOf(output, (byte)'\t', position);
        if (tab < 0)
        {
            return false;
        }

        var ok = long.TryParse(output.AsSpan(position, tab - position), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number);
        position = tab + 1;
        return ok;
    }

    private static (string? Text, bool Overflowed) ReadBytes(byte[] output, ref int position, long length)
    {
        if (length < 0)
        {
            return (null, false);
        }

        if (position + length > output.Length)
        {
            return (null, true);
        }

        var text = Encoding.UTF8.GetString(output, position, (int)length);
        position += (int)length;
        return (text, false);
    }

    // kcat prints headers as "name=value,name=value". Values may hold commas (a dead letter's detail does), so a
    // comma starts a new header only when a header name and '=' follow it; names are tokens (letters, digits, '.',
    // '_', '-'). A value holding ",token=" would still be split: the product's header values never do.
    private static List<KeyValuePair<string, string>> ParseHeaders(string text)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (text.Length == 0)
        {
            return headers;
        }

        foreach (var piece in text.Split(','))
        {
            var equals = piece.IndexOf('=', StringComparison.Ordinal);
            var startsHeader = equals > 0 && piece.AsSpan(0, equals).IndexOfAnyExcept(HeaderNameCharacters) < 0;
            if (!startsHeader && headers.Count > 0)
            {
                var last = headers[^1];
                headers[^1] = KeyValuePair.Create(last.Key, $"{last.Value},{piece}");
            }
            else
            {
                headers.Add(equals < 0
                    ? KeyValuePair.Create(piece, string.Empty)
                    : KeyValuePair.Create(piece[..equals], piece[(equals + 1)..]));
            }
        }

        return headers;
    }

    private static (int ExitCode, byte[] Stdout, string Stderr, bool TimedOut) RunRaw(IReadOnlyList<string> args, byte[]? stdin, TimeSpan timeout)
    {
        var executable = Executable.Value;
        if (executable is null)
        {
            Assert.Fail("kcat is not installed (not found as kcat or kafkacat on PATH). The kafka tests use it as the "
                + "outside Kafka client; install it, e.g. on Debian: apt-get install kcat.");
        }

        var startInfo = new ProcessStartInfo(executable!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        using var process = Process.Start(startInfo)
            ?? throw new InvalidOperationException($"{executable} did not start.");
        using var stdout = new MemoryStream();
        var stdoutCopy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrRead = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                process.StandardInput.BaseStream.Write(stdin);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // kcat exited before reading its input; its exit code and stderr tell why.
        }

        var timedOut = !process.WaitForExit(timeout);
        if (timedOut)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        // The pipes close when kcat exits; bound the wait anyway.
        Task.WaitAll([stdoutCopy, stderrRead], TimeSpan.FromSeconds(10));
        return (process.HasExited ? process.ExitCode : -1, stdout.ToArray(), stderrRead.IsCompletedSuccessfully ? stderrRead.Result : string.Empty, timedOut);
    }

    private static string? FindExecutable()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var name in new[] { "kcat", "kafkacat" })
        {
            foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
