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
/// </summary>
public static class SubscriberFile
{
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

        var byKey = new Dictionary<ulong, SubscriberProfile>();
        var order = new List<ulong>();
        var span = bytes.AsSpan();
        var lineNumber = 0;
        while (span.Length > 0)
        {
            lineNumber++;
            var end = span.IndexOf((byte)'\n');
            var line = end < 0 ? span : span[..end];
            span = end < 0 ? default : span[(end + 1)..];
            if (IsBlank(line))
            {
                continue;
            }

            var profile = SubscriberProfile.TryParse(line, tariff, out var error)
                ?? throw new SubscriberFileException($"{path}:{lineNumber}: {error}");
            if (!byKey.ContainsKey(profile.MsisdnKey))
            {
                order.Add(profile.MsisdnKey);
            }

            byKey[profile.MsisdnKey] = profile;
        }

        return [.. order.Select(k => byKey[k])];
    }

    /// <summary>A line of JSON whitespace only (space, tab, CR) is blank.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;
}
