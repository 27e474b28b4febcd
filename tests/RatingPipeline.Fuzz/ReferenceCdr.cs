using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using RatingPipeline.Time;

namespace RatingPipeline.Fuzz;

/// <summary>
/// A second, plain reading of the CDR rules (SPEC §2.1) on top of <see cref="JsonDocument"/>, to compare the
/// streaming decoder with: what shape the record has, whether it is valid, and the values it carries.
/// Instants are judged by <see cref="Instant.TryParse(string, out long)"/> (covered by its own tests).
/// </summary>
public sealed class ReferenceCdr
{
    public const int MaxDepth = 256;

    private ReferenceCdr(RecordShape shape)
    {
        Shape = shape;
    }

    public RecordShape Shape { get; }

    /// <summary>The record is valid under §2.1 (only meaningful for <see cref="RecordShape.Object"/>).</summary>
    public bool Valid { get; private init; }

    public string? Invalidity { get; private init; }

    /// <summary>The member's string value when it is a string (whatever its content), else null.</summary>
    public string? Id { get; private init; }

    public string? Msisdn { get; private init; }

    public string? Type { get; private init; }

    public string? Start { get; private init; }

    /// <summary>The normalised peer ('+' → "00") when valid.</summary>
    public string? Peer { get; private init; }

    public long DurationSec { get; private init; }

    public long Bytes { get; private init; }

    public int VisitedMcc { get; private init; } = -1;

    public static ReferenceCdr Read(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            return new ReferenceCdr(RecordShape.NotUtf8);
        }

        if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            return new ReferenceCdr(RecordShape.NotJson);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException)
        {
            return new ReferenceCdr(RecordShape.NotJson);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new ReferenceCdr(RecordShape.NotAnObject);
            }

            if (!NamesUnique(root))
            {
                return new ReferenceCdr(RecordShape.RepeatedName);
            }

            return Validate(root);
        }
    }

    private static ReferenceCdr Validate(JsonElement root)
    {
        var id = StringOf(root, "id");
        var msisdn = StringOf(root, "msisdn");
        string? Invalid(string why) => why;
        var type = StringOf(root, "type");
        var start = StringOf(root, "start");
        string? peer = null;
        long duration = 0, bytes = 0;
        var mcc = -1;
        var problem =
            id is null || id.Length is 0 or > 64 || id.Any(c => c is < ' ' or > '~') ? Invalid("id") :
            type is not ("voice" or "sms" or "data") ? Invalid("type") :
            msisdn is null || msisdn.Length is < 5 or > 15 || !msisdn.All(char.IsAsciiDigit) ? Invalid("msisdn") :
            start is null || !Instant.TryParse(start, out _) ? Invalid("start") : null;
        if (problem is null && type is "voice" or "sms")
        {
            var direction = StringOf(root, "direction");
            var given = StringOf(root, "peer");
            var digits = given is not null && given.StartsWith('+') ? given[1..] : given;
            problem = direction is not ("mo" or "mt") ? Invalid("direction")
                : digits is null || digits.Length is 0 or > 32 || !digits.All(char.IsAsciiDigit) ? Invalid("peer")
                : type == "voice" && !Integer(root, "durationSec", 86_400, out duration) ? Invalid("durationSec")
                : null;
            peer = digits is null ? null : given!.StartsWith('+') ? "00" + digits : digits;
        }
        else if (problem is null && !Integer(root, "bytes", 1_000_000_000_000, out bytes))
        {
            problem = Invalid("bytes");
        }

        if (problem is null && TryMember(root, "visitedMcc", out var m) && m.ValueKind != JsonValueKind.Null)
        {
            var text = m.ValueKind == JsonValueKind.String ? StringOf(root, "visitedMcc")! : "";
            problem = text.Length == 3 && text.All(char.IsAsciiDigit) ? null : Invalid("visitedMcc");
            mcc = problem is null ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : -1;
        }

        return new ReferenceCdr(RecordShape.Object)
        {
            Valid = problem is null,
            Invalidity = problem,
            Id = Decodes(root, "id") ? id : null,
            Msisdn = Decodes(root, "msisdn") ? msisdn : null,
            Type = type,
            Start = start,
            Peer = peer,
            DurationSec = duration,
            Bytes = bytes,
            VisitedMcc = mcc,
        };
    }

    /// <summary>An integer written as an integer (optional '-', digits only) in 0..max; "-0" is 0.</summary>
    private static bool Integer(JsonElement root, string name, long max, out long value)
    {
        value = 0;
        if (!TryMember(root, name, out var v) || v.ValueKind != JsonValueKind.Number)
        {
            return false;
        }

        var raw = v.GetRawText();
        var digits = raw.StartsWith('-') ? raw[1..] : raw;
        return digits.All(char.IsAsciiDigit) && v.TryGetInt64(out value) && value >= 0 && value <= max;
    }

    /// <summary>
    /// A string member's text, or null when the member is not a string. A string whose escapes hold a lone surrogate is
    /// valid JSON but no text: it stands for a value that no rule of §2.1 accepts (U+FFFF here).
    /// </summary>
    private static string? StringOf(JsonElement root, string name) =>
        TryMember(root, name, out var v) && v.ValueKind == JsonValueKind.String ? (Decodes(v) ? v.GetString() : "\uFFFF") : null;

    /// <summary>Whether the member is absent, not a string, or a string that decodes to text (a rejected record can copy it).</summary>
    private static bool Decodes(JsonElement root, string name) =>
        !TryMember(root, name, out var v) || v.ValueKind != JsonValueKind.String || Decodes(v);

    private static bool Decodes(JsonElement value)
    {
        try
        {
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>A top-level member by name, found among the members by their names (lone surrogates kept), as JsonDocument's own lookup throws on such names.</summary>
    private static bool TryMember(JsonElement root, string name, out JsonElement value)
    {
        foreach (var property in root.EnumerateObject())
        {
            if (NameOf(property) == name)
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>
    /// A member name as its UTF-16 code units, lone surrogates kept: the property's raw text starts with the name's
    /// JSON string, whose escapes are read here one by one.
    /// </summary>
    private static string NameOf(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            var raw = property.ToString();
            var name = new StringBuilder();
            for (var i = 1; raw[i] != '"'; i++)
            {
                if (raw[i] != '\\')
                {
                    name.Append(raw[i]);
                    continue;
                }

                i++;
                name.Append(raw[i] switch
                {
                    'u' => (char)Convert.ToUInt16(raw.Substring(i + 1, 4), 16),
                    'b' => '\b',
                    'f' => '\f',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    var c => c,
                });
                i += raw[i] == 'u' ? 4 : 0;
            }

            return name.ToString();
        }
    }

    /// <summary>No member name twice in one object at any depth (names compared as UTF-16 code units).</summary>
    private static bool NamesUnique(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!names.Add(NameOf(property)) || !NamesUnique(property.Value))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (!NamesUnique(item))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    /// <summary>The UTF-8 bytes of a string, for comparing with the decoder's spans.</summary>
    public static byte[] Utf8Of(string? text) => text is null ? [] : Encoding.UTF8.GetBytes(text);
}

public enum RecordShape
{
    NotUtf8,
    NotJson,
    NotAnObject,
    RepeatedName,
    Object,
}
