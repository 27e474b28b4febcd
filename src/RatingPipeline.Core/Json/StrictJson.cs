using System.Text.Json;
using System.Text.Unicode;

namespace RatingPipeline.Json;

/// <summary>
/// Checks the rules every JSON document of the product shares beyond RFC 8259 syntax: valid UTF-8 and no
/// member name given twice in one object, at any depth. Used for tariffs and profiles (not the CDR hot path,
/// which checks the same rules in its single pass).
/// </summary>
public static class StrictJson
{
    public static bool TryCheck(ReadOnlySpan<byte> utf8, out string error)
    {
        error = "";
        if (!Utf8.IsValid(utf8))
        {
            error = "not valid UTF-8";
            return false;
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 256 });
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
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            error = e.Message;
            return false;
        }

        return true;
    }
}
