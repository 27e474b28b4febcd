using System.Text.Json;
using System.Text.Unicode;

namespace RatingPipeline.Json;

/// <summary>
/// Checks the rules every JSON document of the product shares beyond RFC 8259 syntax: valid UTF-8, no
/// member name given twice in one object, at any depth, nesting of at most <see cref="MaxDepth"/> levels, and
/// strings whose escapes decode (no lone surrogate). Used for tariffs and profiles (not the CDR hot path,
/// which checks the same rules in its single pass). A document that passes is read with
/// <see cref="DocumentOptions"/>, so reading it cannot fail where the check did not.
/// </summary>
public static class StrictJson
{
    /// <summary>The same bound as the CDR decoder's.</summary>
    public const int MaxDepth = 256;

    /// <summary>Options for parsing a checked document (the default depth, 64, would refuse what the check let through).</summary>
    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    public static bool TryCheck(ReadOnlySpan<byte> utf8, out string error)
    {
        error = "";
        if (!Utf8.IsValid(utf8))
        {
            error = "not valid UTF-8";
            return false;
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        var names = new Stack<HashSet<string>>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        names.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.EndObject:
                        names.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        if (!names.Peek().Add(name))
                        {
                            error = $"member \"{name}\" is given twice in one object";
                            return false;
                        }

                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        // Values are read as .NET strings later: an escape that does not decode must be refused here.
                        _ = reader.GetString();
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            error = e.Message;
            return false;
        }
        catch (InvalidOperationException)
        {
            error = $"a string holds an escape that is not valid Unicode (e.g. a lone surrogate) at byte {reader.TokenStartIndex}";
            return false;
        }

        return true;
    }
}
