using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RatingPipeline.Json;

/// <summary>
/// Checks the rules every JSON document of the product shares beyond RFC 8259 syntax: valid UTF-8 and no
/// member name given twice in one object, at any depth. Used for tariffs and profiles (not the CDR hot path,
/// which checks the same rules in its single pass). A repeated name is reported with its path
/// (e.g. <c>plans.basic-58.rates[3].price: is given twice in one object</c>); other errors with <c>$</c>.
/// </summary>
public static class StrictJson
{
    /// <summary>Checks a document; the error of a repeated name starts with its path.</summary>
    public static bool TryCheck(ReadOnlySpan<byte> utf8, out string error)
    {
        var ok = TryCheck(utf8, out var path, out error);
        if (!ok && path != "$")
        {
            error = $"{path}: {error}";
        }

        return ok;
    }

    /// <summary>Checks a document; on failure gives the path of the bad element (<c>$</c> for the whole document) and the error.</summary>
    public static bool TryCheck(ReadOnlySpan<byte> utf8, out string path, out string error)
    {
        path = "$";
        error = "";
        if (!Utf8.IsValid(utf8))
        {
            error = "not valid UTF-8";
            return false;
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 256 });
        var open = new List<Container>();
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                if (open.Count > 0 && open[^1].Names is null
                    && token is not (JsonTokenType.EndArray or JsonTokenType.EndObject or JsonTokenType.Comment))
                {
                    open[^1].Index++; // a value in an array
                }

                switch (token)
                {
                    case JsonTokenType.StartObject:
                        open.Add(new Container(new HashSet<string>(StringComparer.Ordinal)));
                        break;
                    case JsonTokenType.StartArray:
                        open.Add(new Container(null));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        open.RemoveAt(open.Count - 1);
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        open[^1].Name = name;
                        if (!open[^1].Names!.Add(name))
                        {
                            path = PathOf(open);
                            error = "is given twice in one object";
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

    /// <summary>The path of the current member: names joined by '.', array positions as [i].</summary>
    private static string PathOf(List<Container> open)
    {
        var path = new StringBuilder();
        foreach (var container in open)
        {
            if (container.Names is null)
            {
                path.Append('[').Append(container.Index).Append(']');
            }
            else if (container.Name is not null)
            {
                if (path.Length > 0)
                {
                    path.Append('.');
                }

                path.Append(container.Name);
            }
        }

        return path.Length == 0 ? "$" : path.ToString();
    }

    /// <summary>An open object (its names so far and the current one) or array (the current position).</summary>
    private sealed class Container(HashSet<string>? names)
    {
        public HashSet<string>? Names { get; } = names;

        public string? Name { get; set; }

        public int Index { get; set; } = -1;
    }
}
