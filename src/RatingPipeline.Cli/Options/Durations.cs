using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RatingPipeline.Cli.Options;

/// <summary>
/// Durations on the command line as people write them: <c>20s</c>, <c>2m</c>, <c>1h</c>, <c>1h30m</c>, <c>500ms</c>,
/// or a <see cref="TimeSpan"/> with its colons, such as <c>00:00:20</c>. A bare number is refused: its unit would be a
/// guess (<see cref="TimeSpan"/> reads <c>20</c> as twenty days).
/// </summary>
public static partial class Durations
{
    [GeneratedRegex("^(?:(?<h>[0-9]+)h)?(?:(?<m>[0-9]+)m(?!s))?(?:(?<s>[0-9]+)s)?(?:(?<ms>[0-9]+)ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Human();

    /// <summary>The duration <paramref name="text"/> names, or null when it is none.</summary>
    public static TimeSpan? TryParse(string text)
    {
        var match = Human().Match(text);
        if (text.Length > 0 && match.Success)
        {
            static long Part(Match m, string name) =>
                m.Groups[name].Success ? long.Parse(m.Groups[name].Value, NumberStyles.None, CultureInfo.InvariantCulture) : 0;
            try
            {
                return checked(TimeSpan.FromHours(Part(match, "h")) + TimeSpan.FromMinutes(Part(match, "m"))
                    + TimeSpan.FromSeconds(Part(match, "s")) + TimeSpan.FromMilliseconds(Part(match, "ms")));
            }
            catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
            {
                return null;
            }
        }

        return text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    /// <summary>A System.CommandLine parser for a duration option.</summary>
    public static TimeSpan Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (TryParse(text) is { } duration)
        {
            return duration;
        }

        result.AddError($"'{text}' is not a duration: write e.g. 20s, 2m, 1h, 1h30m, 500ms or 00:00:20");
        return default;
    }

    /// <summary>The same for an optional duration.</summary>
    public static TimeSpan? ParseOptional(ArgumentResult result) => Parse(result);
}
