using System.Text.Json;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// The product's metric families as the dashboard and the alert rules use them, and as the source exports them.
/// A family is a metric name with a histogram's <c>_bucket</c>/<c>_sum</c>/<c>_count</c> suffix stripped.
/// </summary>
internal static partial class MetricNames
{
    public const string Prefix = "ratingpipeline_";

    /// <summary>
    /// The sender's families the dashboard and the alert rules use. The source check finds them in the sender's
    /// metrics; the Prometheus scrape test checks that they have data from the sender's own scrape job.
    /// </summary>
    public static readonly IReadOnlyList<string> SenderFamilies =
    [
        "ratingpipeline_notices_total",
        "ratingpipeline_notice_delivery_attempts_total",
        "ratingpipeline_notice_delivery_seconds",
        "ratingpipeline_notice_circuit_state",
        "ratingpipeline_notices_deferred",
        "ratingpipeline_notices_suppressed_optout_total",
    ];

    /// <summary>The families named in a PromQL expression.</summary>
    public static IEnumerable<string> Families(string promql) =>
        PromQlName().Matches(promql).Select(m => Family(m.Value)).Distinct(StringComparer.Ordinal);

    public static string Family(string name) =>
        HistogramSuffix().Replace(name, "");

    /// <summary>Every <c>expr</c> of the dashboard's panels, and the PromQL inside its query variables.</summary>
    public static List<string> DashboardExpressions(JsonElement dashboard)
    {
        var expressions = new List<string>();
        Collect(dashboard, expressions);
        if (dashboard.TryGetProperty("templating", out var templating) && templating.TryGetProperty("list", out var variables))
        {
            foreach (var variable in variables.EnumerateArray())
            {
                if (variable.TryGetProperty("definition", out var definition) && LabelValues().Match(definition.GetString() ?? "") is { Success: true } m)
                {
                    expressions.Add(m.Groups[1].Value);
                }
            }
        }

        return expressions;

        static void Collect(JsonElement element, List<string> into)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.Name == "expr" && property.Value.ValueKind == JsonValueKind.String)
                        {
                            into.Add(property.Value.GetString()!);
                        }
                        else
                        {
                            Collect(property.Value, into);
                        }
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        Collect(item, into);
                    }

                    break;
            }
        }
    }

    /// <summary>Every rule expression of a Prometheus rule file.</summary>
    public static List<(string Name, string Expr)> RuleExpressions(string ruleFileText)
    {
        var groups = Yaml.List(Yaml.At(Yaml.Parse(ruleFileText), "groups"), "groups");
        return [.. groups.SelectMany(g => Yaml.List(Yaml.At(g, "rules"), "rules"))
            .Select(r => ((string)(Yaml.At(r, "alert") ?? Yaml.At(r, "record"))!, (string)Yaml.At(r, "expr")!))];
    }

    public static JsonElement Dashboard()
    {
        using var document = JsonDocument.Parse(RepoFiles.ReadText("deploy", "grafana", "ratingpipeline.json"));
        return document.RootElement.Clone();
    }

    public static string AlertRules() => RepoFiles.ReadText("deploy", "prometheus", "alerts.yml");

    /// <summary>The families the dashboard and the alert rules use.</summary>
    public static SortedSet<string> UsedFamilies() =>
        new(DashboardExpressions(Dashboard()).Concat(RuleExpressions(AlertRules()).Select(r => r.Expr)).SelectMany(Families), StringComparer.Ordinal);

    /// <summary>The families the source exports: <c>"ratingpipeline_…"</c> string literals in src/**/*.cs.</summary>
    public static SortedSet<string> ExportedBySource()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(RepoFiles.PathOf("src"), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                         && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            foreach (Match m in SourceLiteral().Matches(File.ReadAllText(file)))
            {
                names.Add(m.Groups[1].Value);
            }
        }

        return names;
    }

    [GeneratedRegex("(?<![A-Za-z0-9_:])ratingpipeline_[A-Za-z0-9_]+(?![A-Za-z0-9_:])")]
    private static partial Regex PromQlName();

    [GeneratedRegex("_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();

    [GeneratedRegex(@"^label_values\((.+),\s*[A-Za-z_][A-Za-z0-9_]*\)$")]
    private static partial Regex LabelValues();

    [GeneratedRegex("\"(ratingpipeline_[a-z0-9_]+)\"")]
    private static partial Regex SourceLiteral();
}
