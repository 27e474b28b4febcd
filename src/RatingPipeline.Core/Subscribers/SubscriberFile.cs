using RatingPipeline.Tariffs;

namespace RatingPipeline.Subscribers;

/// <summary>A subscriber file broke the profile rules; the message names the line.</summary>
public sealed class SubscriberFileException : Exception
{
    public SubscriberFileException()
        : base("subscriber file refused")
    {
    }

    public SubscriberFileException(string message)
        : base(message)
    {
    }

    /// <summary>Refused because of <paramref name="inner"/>: its message is added to <paramref name="message"/>, and it is kept as the cause.</summary>
    public SubscriberFileException(string message, Exception inner)
        : base(message + ": " + inner.Message, inner)
    {
    }
}

/// <summary>
/// Reads a JSON Lines subscriber file for offline rating: one profile per line, blank lines skipped; for an
/// msisdn given twice the later line wins. The first bad line stops the load with its line number.
/// <para>
/// The file is read whole and cut into one part per core at line ends; the parts are parsed in parallel, then put
/// together in file order (so "the later line wins" and "the first bad line" are the file's, whatever the parts).
/// </para>
/// </summary>
public static class SubscriberFile
{
    /// <summary>Below this size a file is parsed on the calling thread alone.</summary>
    private const int ParallelFrom = 1 << 20;

    public static List<SubscriberProfile> Load(string path, Tariff tariff)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SubscriberFileException($"cannot read subscriber file {path}", e);
        }

        var parts = Split(bytes, bytes.Length < ParallelFrom ? 1 : Environment.ProcessorCount);
        var read = new Part[parts.Count];
        Parallel.For(0, parts.Count, i => read[i] = Parse(bytes.AsMemory(parts[i].Start, parts[i].Length).Span, tariff));

        var byKey = new Dictionary<ulong, SubscriberProfile>(read.Sum(p => p.Profiles.Count));
        var order = new List<ulong>(byKey.Capacity);
        var linesBefore = 0;
        foreach (var part in read)
        {
            foreach (var profile in part.Profiles)
            {
                if (byKey.TryAdd(profile.MsisdnKey, profile))
                {
                    order.Add(profile.MsisdnKey);
                }
                else
                {
                    byKey[profile.MsisdnKey] = profile;
                }
            }

            if (part.Error is not null)
            {
                throw new SubscriberFileException($"{path}:{linesBefore + part.ErrorLine}: {part.Error}");
            }

            linesBefore += part.Lines;
        }

        return [.. order.Select(k => byKey[k])];
    }

    /// <summary>A line of JSON whitespace only (space, tab, CR) is blank.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;

    /// <summary>Cuts the bytes into at most <paramref name="count"/> parts, each ending after a line end (the last at the end).</summary>
    private static List<(int Start, int Length)> Split(byte[] bytes, int count)
    {
        var parts = new List<(int, int)>(count);
        var start = 0;
        for (var i = 1; i < count && start < bytes.Length; i++)
        {
            var cut = (int)((long)bytes.Length * i / count);
            if (cut <= start)
            {
                continue;
            }

            var newline = bytes.AsSpan(cut).IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            var end = cut + newline + 1;
            parts.Add((start, end - start));
            start = end;
        }

        parts.Add((start, bytes.Length - start));
        return parts;
    }

    /// <summary>
    /// Parses one part: its profiles in order until its first bad line, that line's error and number (1-based within
    /// the part), and how many lines the part holds (a line end counts a line; so does a last line without one).
    /// </summary>
    private static Part Parse(ReadOnlySpan<byte> span, Tariff tariff)
    {
        var profiles = new List<SubscriberProfile>(span.Length / 128);
        var lines = 0;
        while (span.Length > 0)
        {
            lines++;
            var end = span.IndexOf((byte)'\n');
            var line = end < 0 ? span : span[..end];
            span = end < 0 ? default : span[(end + 1)..];
            if (IsBlank(line))
            {
                continue;
            }

            var profile = SubscriberProfile.TryParse(line, tariff, out var error);
            if (profile is null)
            {
                return new Part(profiles, lines, error, lines);
            }

            profiles.Add(profile);
        }

        return new Part(profiles, lines, null, 0);
    }

    private sealed record Part(List<SubscriberProfile> Profiles, int Lines, string? Error, int ErrorLine);
}
