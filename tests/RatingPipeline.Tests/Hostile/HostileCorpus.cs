using System.Text;
using RatingPipeline.Records;

namespace RatingPipeline.Tests.Hostile;

/// <summary>One hostile CDR line and what must become of it: rated, or rejected with a reason (and, for
/// <c>invalid</c>, the decoder's cause), with the id copied into the rejected record when it is readable.</summary>
public sealed record HostileCdr(string Name, byte[] Line, RejectReason Reason, InvalidCause Cause, string? CopiedId, string What)
{
    public bool Rated => Reason == RejectReason.None;

    public override string ToString() => Name;
}

/// <summary>
/// The hostile CDR corpus. Small lines are committed under <c>Hostile/Corpus/</c> with their expected outcome in
/// <c>expected.tsv</c>; lines too big to commit (10 MiB members, 1 MiB ids, 10^5 nesting levels, 10^6-digit
/// numbers, 10^5-member objects) are made here at run time. Every line is for subscriber 8613800000001 (plan
/// basic-58 of the demo tariff) with its own id, so a valid line is rated.
/// </summary>
public static class HostileCorpus
{
    public const string Msisdn = "8613800000001";

    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Hostile", "Corpus");

    public static string SubscribersFile => Path.Combine(Folder, "subscribers.jsonl");

    private const string Head = "\"type\":\"sms\",\"msisdn\":\"" + Msisdn + "\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"2026-11-02T10:00:00+08:00\"";

    /// <summary>Names of every case (the big ones are made only when asked for, by <see cref="Get"/> or <see cref="All"/>).</summary>
    public static IEnumerable<string> Names => Committed().Select(c => c.Name).Concat(Generated().Select(g => g.Name));

    public static HostileCdr Get(string name) =>
        Committed().FirstOrDefault(c => c.Name == name) ?? Made.GetOrAdd(name, n => Generated().First(g => g.Name == n).Make());

    /// <summary>Every case (the big ones are made once per test run and kept: about 60 MB).</summary>
    public static IEnumerable<HostileCdr> All() => Committed().Concat(Generated().Select(g => Get(g.Name)));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, HostileCdr> Made = new(StringComparer.Ordinal);

    private static IEnumerable<HostileCdr> Committed()
    {
        foreach (var row in File.ReadAllLines(Path.Combine(Folder, "expected.tsv")).Where(l => !l.StartsWith('#')))
        {
            var cells = row.Split('\t');
            var reason = cells[1] == "rated" ? RejectReason.None : Enum.Parse<RejectReason>(cells[1], ignoreCase: true);
            var cause = cells[2].Length == 0 ? InvalidCause.None : Enum.Parse<InvalidCause>(cells[2]);
            var line = File.ReadAllBytes(Path.Combine(Folder, cells[0]));
            yield return new HostileCdr(Path.GetFileNameWithoutExtension(cells[0]), line, reason, cause, CopiedIdOf(line, cause), cells[3]);
        }
    }

    /// <summary>The id a rejected record must carry: the member's text when the line is one well-formed object.</summary>
    private static string? CopiedIdOf(byte[] line, InvalidCause cause)
    {
        if (cause is InvalidCause.NotUtf8 or InvalidCause.NotJson or InvalidCause.NotAnObject or InvalidCause.DuplicateName)
        {
            return null;
        }

        using var document = System.Text.Json.JsonDocument.Parse(line);
        try
        {
            return document.RootElement.GetProperty("id").GetString();
        }
        catch (InvalidOperationException)
        {
            return null; // a lone surrogate: valid JSON, but no text a rejected record could carry
        }
    }

    private static IEnumerable<(string Name, Func<HostileCdr> Make)> Generated()
    {
        const int MiB = 1 << 20;
        yield return ("huge-unknown-string", () => Make("huge-unknown-string", "\"note\":\"" + new string('a', 10 * MiB) + "\"", RejectReason.None, "a 10 MiB string in an unknown member"));
        yield return ("huge-unknown-string-escaped", () => Make("huge-unknown-string-escaped", "\"note\":\"" + Repeat("\\n\\u00e9\\\"x", 10 * MiB / 14) + "\"", RejectReason.None,
            "a 10 MiB unknown string made of escapes"));
        yield return ("huge-unknown-array", () => Make("huge-unknown-array", "\"note\":[" + Repeat("1,", 5 * MiB) + "1]", RejectReason.None, "an unknown array of 5 million numbers"));
        yield return ("id-1mib", () => new HostileCdr("id-1mib", Line("{\"id\":\"" + new string('i', MiB) + "\"," + Head + "}"), RejectReason.Invalid, InvalidCause.BadId,
            new string('i', MiB), "a 1 MiB id (the limit is 64): rejected, the id still copied"));
        yield return ("peer-1mib", () => Make("peer-1mib", null, RejectReason.Invalid, "a 1 MiB peer of digits", InvalidCause.BadPeer,
            line => line.Replace("\"13900000000\"", "\"" + new string('1', MiB) + "\"", StringComparison.Ordinal)));
        yield return ("nesting-1e5-open", () => Make("nesting-1e5-open", "\"note\":" + new string('[', 100_000), RejectReason.Invalid, "10^5 unclosed '[' in an unknown member", InvalidCause.NotJson));
        yield return ("nesting-1e5-closed", () => Make("nesting-1e5-closed", "\"note\":" + new string('[', 100_000) + new string(']', 100_000), RejectReason.Invalid,
            "10^5 levels of arrays, closed", InvalidCause.NotJson));
        yield return ("nesting-1e5-objects", () => Make("nesting-1e5-objects", "\"note\":" + Repeat("{\"a\":", 100_000) + "0" + new string('}', 100_000), RejectReason.Invalid,
            "10^5 levels of objects", InvalidCause.NotJson));
        yield return ("nesting-256", () => Make("nesting-256", "\"note\":" + new string('[', 255) + new string(']', 255), RejectReason.None,
            "255 levels in an unknown member: 256 with the record, the most allowed"));
        yield return ("nesting-257", () => Make("nesting-257", "\"note\":" + new string('[', 256) + new string(']', 256), RejectReason.Invalid,
            "one level more than allowed", InvalidCause.NotJson));
        yield return ("digits-1e6-duration", () => Make("digits-1e6-duration", null, RejectReason.Invalid, "durationSec of 10^6 digits", InvalidCause.BadDuration,
            line => line.Replace("\"sms\"", "\"voice\"", StringComparison.Ordinal)[..^1] + ",\"durationSec\":" + Digits(1_000_000) + "}"));
        yield return ("digits-1e6-unknown", () => Make("digits-1e6-unknown", "\"note\":" + Digits(1_000_000), RejectReason.None, "a 10^6-digit number in an unknown member"));
        yield return ("digits-1e6-fraction-unknown", () => Make("digits-1e6-fraction-unknown", "\"note\":-0." + Digits(1_000_000) + "e-" + Digits(1_000), RejectReason.None,
            "a 10^6-digit fraction with a 1000-digit exponent in an unknown member"));
        yield return ("wide-1e5-members", () => Make("wide-1e5-members", Members(100_000), RejectReason.None, "10^5 distinct unknown members"));
        yield return ("wide-1e5-members-repeat", () => Make("wide-1e5-members-repeat", Members(100_000) + ",\"m77777\":0", RejectReason.Invalid,
            "10^5 unknown members and the 77,778th name again at the end", InvalidCause.DuplicateName));
        yield return ("whitespace-1mib", () => Make("whitespace-1mib", null, RejectReason.None, "1 MiB of spaces and tabs around the object",
            shape: line => Repeat(" \t", MiB / 2) + line + Repeat("\t ", MiB / 2)));
    }

    private static HostileCdr Make(string name, string? member, RejectReason reason, string what, InvalidCause cause = InvalidCause.None,
        Func<string, string>? shape = null)
    {
        var id = "h-" + name;
        var line = "{\"id\":\"" + id + "\"," + Head + (member is null ? "" : "," + member) + "}";
        line = shape?.Invoke(line) ?? line;
        var copied = cause is InvalidCause.None or InvalidCause.NotJson or InvalidCause.DuplicateName ? null : id;
        return new HostileCdr(name, Line(line), reason, cause, reason == RejectReason.None ? null : copied, what);
    }

    private static byte[] Line(string text) => Encoding.UTF8.GetBytes(text);

    private static string Repeat(string text, int times) => string.Create(text.Length * times, text, (span, t) =>
    {
        for (var at = 0; at < span.Length; at += t.Length)
        {
            t.CopyTo(span[at..]);
        }
    });

    private static string Digits(int count)
    {
        var digits = new char[count];
        for (var i = 0; i < count; i++)
        {
            digits[i] = (char)('0' + ((i * 7) + 1) % 10);
        }

        digits[0] = '9';
        return new string(digits);
    }

    private static string Members(int count)
    {
        var text = new StringBuilder(count * 10);
        for (var i = 0; i < count; i++)
        {
            text.Append(i == 0 ? "" : ",").Append("\"m").Append(i).Append("\":").Append(i % 10);
        }

        return text.ToString();
    }
}
