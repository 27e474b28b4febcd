using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// YAML read into plain values, with YAML 1.2 core-schema typing of plain scalars: maps are
/// <see cref="Dictionary{TKey,TValue}"/> of string keys (in document order), sequences <see cref="List{T}"/>,
/// scalars <see cref="string"/>, <see cref="long"/>, <see cref="double"/>, <see cref="bool"/> or null. Quoted and
/// block scalars stay strings.
/// </summary>
internal static partial class Yaml
{
    public static object? Parse(string text) => ParseAll(text).SingleOrDefault();

    /// <summary>Every document of a multi-document stream; empty documents (comments only) are left out.</summary>
    public static List<object?> ParseAll(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return [.. stream.Documents.Select(d => Convert(d.RootNode)).Where(d => d is not null)];
    }

    public static Dictionary<string, object?> Map(object? value, string what) =>
        value as Dictionary<string, object?> ?? throw new InvalidDataException($"{what} is not a map: {value ?? "null"}");

    public static List<object?> List(object? value, string what) =>
        value as List<object?> ?? throw new InvalidDataException($"{what} is not a list: {value ?? "null"}");

    /// <summary>Follows a path of map keys; null where a key is missing.</summary>
    public static object? At(object? value, params string[] path)
    {
        foreach (var key in path)
        {
            if (value is not Dictionary<string, object?> map || !map.TryGetValue(key, out value))
            {
                return null;
            }
        }

        return value;
    }

    private static object? Convert(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var result = new Dictionary<string, object?>(StringComparer.Ordinal);
                var merged = new List<YamlNode>();
                foreach (var (key, value) in map.Children)
                {
                    var name = ((YamlScalarNode)key).Value ?? "";
                    if (name == "<<" && ((YamlScalarNode)key).Style == ScalarStyle.Plain)
                    {
                        // A merge key (as Compose files use it): its maps' entries, unless the map sets them itself.
                        merged.AddRange(value is YamlSequenceNode list ? list.Children : [value]);
                    }
                    else if (!result.TryAdd(name, Convert(value)))
                    {
                        throw new InvalidDataException($"key {name} given twice at {key.Start}");
                    }
                }

                foreach (var source in merged)
                {
                    foreach (var (key, value) in Map(Convert(source), "a merged map"))
                    {
                        result.TryAdd(key, value);
                    }
                }

                return result;
            case YamlSequenceNode sequence:
                return sequence.Children.Select(Convert).ToList();
            case YamlScalarNode scalar:
                return scalar.Style is ScalarStyle.Plain && scalar.Tag.IsEmpty ? Plain(scalar.Value ?? "") : scalar.Value;
            default:
                throw new InvalidDataException($"unsupported YAML node {node.NodeType} at {node.Start}");
        }
    }

    private static object? Plain(string text)
    {
        if (text is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (text is "true" or "True" or "TRUE")
        {
            return true;
        }

        if (text is "false" or "False" or "FALSE")
        {
            return false;
        }

        if (IntegerPattern().IsMatch(text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return integer;
        }

        if (FloatPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        return text;
    }

    [GeneratedRegex("^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();
}
