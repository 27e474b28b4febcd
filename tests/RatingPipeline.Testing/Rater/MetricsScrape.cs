using System.Globalization;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Rater;

/// <summary>One sample of a Prometheus text exposition: metric name, labels, value.</summary>
internal sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A parsed <c>/metrics</c> scrape (Prometheus text format 0.0.4).</summary>
internal sealed partial class MetricsScrape
{
    private MetricsScrape(IReadOnlyList<MetricSample> samples, IReadOnlyDictionary<string, string> families)
    {
        Samples = samples;
        Families = families;
    }

    public IReadOnlyList<MetricSample> Samples { get; }

    /// <summary>Family name to type, from the <c># TYPE</c> lines.</summary>
    public IReadOnlyDictionary<string, string> Families { get; }

    public static MetricsScrape Parse(string text)
    {
        var samples = new List<MetricSample>();
        var families = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                families[parts[2]] = parts[3];
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"not a Prometheus sample line: {line}");
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["name"].Value] = label.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new MetricSample(match.Groups["name"].Value, labels, value));
        }

        return new MetricsScrape(samples, families);
    }

    /// <summary>The value of the one sample with this name and these labels (every other label ignored), or null.</summary>
    public double? Value(string name, params (string Name, string Value)[] labels)
    {
        var matches = Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Name, out var v) && v == l.Value)).ToList();
        return matches.Count switch
        {
            0 => null,
            1 => matches[0].Value,
            _ => throw new InvalidOperationException($"{matches.Count} samples of {name} match; name more labels"),
        };
    }

    /// <summary>The sum over every sample of <paramref name="name"/> (all label values).</summary>
    public double Sum(string name) => Samples.Where(s => s.Name == name).Sum(s => s.Value);

    /// <summary>The samples of one family.</summary>
    public IEnumerable<MetricSample> Of(string name) => Samples.Where(s => s.Name == name);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
