using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Reference;

/// <summary>
/// The JSON rules of SPEC §2.1, read plainly: valid UTF-8, exactly one JSON object (RFC 8259, no comments, no
/// trailing commas) with nothing but JSON whitespace after it, no member name twice at any depth; integers judged as
/// written. Built on <see cref="JsonDocument"/>, with the checks it does not make written out here.
/// </summary>
public static partial class RefJson
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonDocumentOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 1000,
    };

    /// <summary>
    /// The record as one JSON object, or null with the reason when it is not one under §2.1's JSON rules (then §5
    /// copies neither <c>id</c> nor <c>msisdn</c>). The caller disposes the document.
    /// </summary>
    public static JsonDocument? TryParseObject(ReadOnlySpan<byte> bytes, out string why)
    {
        // §2.1: valid UTF-8. A byte-order mark is no JSON whitespace, so a line that starts with one is not JSON.
        try
        {
            _ = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            why = "not valid UTF-8";
            return null;
        }

        if (bytes.StartsWith("\uFEFF"u8))
        {
            why = "starts with a byte-order mark";
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.ToArray(), Options);
        }
        catch (JsonException e)
        {
            why = $"not one JSON value: {e.Message}";
            return null;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            why = "not a JSON object";
            return null;
        }

        // §2.1: a member name given twice, at any depth, makes the record invalid.
        if (RepeatedName(document.RootElement) is { } name)
        {
            document.Dispose();
            why = $"member {name} given twice";
            return null;
        }

        why = "";
        return document;
    }

    private static string? RepeatedName(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var member in element.EnumerateObject())
                {
                    if (!seen.Add(member.Name))
                    {
                        return member.Name;
                    }

                    if (RepeatedName(member.Value) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (RepeatedName(item) is { } inner)
                    {
                        return inner;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>A member, with <c>null</c> the same as absent (§2.1, §2.2).</summary>
    public static JsonElement? Member(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>The member when it is a JSON string (for §5's copies of <c>id</c> and <c>msisdn</c>).</summary>
    public static string? StringMember(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// An integer token as written: no fraction, no exponent (§2.1: <c>5.0</c> and <c>1e3</c> are invalid); null when
    /// the value is not such a token.
    /// </summary>
    public static BigInteger? Integer(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            return null;
        }

        var raw = value.GetRawText();
        return IntegerToken().IsMatch(raw) ? BigInteger.Parse(raw, CultureInfo.InvariantCulture) : null;
    }

    /// <summary>An integer token in [min, max], else null.</summary>
    public static long? IntegerIn(JsonElement value, BigInteger min, BigInteger max) =>
        Integer(value) is { } n && n >= min && n <= max ? (long)n : null;

    public static bool IsAsciiDigits(string s, int min, int max) =>
        s.Length >= min && s.Length <= max && s.All(c => c is >= '0' and <= '9');

    /// <summary>An integer as a JSON number node, of any size.</summary>
    public static JsonNode Number(BigInteger n) =>
        n >= long.MinValue && n <= long.MaxValue ? JsonValue.Create((long)n) : JsonNode.Parse(n.ToString(CultureInfo.InvariantCulture))!;

    [GeneratedRegex(@"\A-?(0|[1-9][0-9]*)\z", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerToken();
}
