using System.Text.Json;
using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// deploy/grafana/ratingpipeline.json: valid JSON, a well-formed Grafana dashboard, and queries over metrics the
/// product exports (the rater's from RaterMetrics.cs; the sender's listed as pending until its source is here).
/// </summary>
[TestFixture]
[Category("deploy")]
public sealed class DashboardTests
{
    /// <summary>What an on-call engineer needs to see, as the families that show it.</summary>
    private static readonly string[] OnCallFamilies =
    [
        "ratingpipeline_cdrs_consumed_total", // CDR throughput
        "ratingpipeline_cdrs_rated_total",
        "ratingpipeline_consumer_lag", // lag per partition
        "ratingpipeline_cdrs_rejected_total", // rejects by reason
        "ratingpipeline_cdrs_zero_rated_total", // zero-rated by rule
        "ratingpipeline_reminders_total", // reminders by kind
        "ratingpipeline_notices_total", // notices by channel and outcome
        "ratingpipeline_notice_circuit_state", // breaker state
        "ratingpipeline_batch_duration_seconds", // batch latency
        "ratingpipeline_notice_delivery_seconds", // delivery latency
        "ratingpipeline_state_restore_duration_seconds", // restore time
        "ratingpipeline_tariff_info", // tariff version
        "ratingpipeline_tariff_refusals_total", // tariff refusals
        "ratingpipeline_ready", // readiness per instance
    ];

    [Test]
    public void Dashboard_is_a_grafana_dashboard_with_unique_panel_ids_on_a_24_column_grid_without_overlaps()
    {
        var dashboard = MetricNames.Dashboard();
        var panels = dashboard.GetProperty("panels").EnumerateArray().ToList();
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
        var boxes = panels.Select(p => p.GetProperty("gridPos")).Select(g => (
            X: g.GetProperty("x").GetInt32(), Y: g.GetProperty("y").GetInt32(), W: g.GetProperty("w").GetInt32(), H: g.GetProperty("h").GetInt32())).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(dashboard.GetProperty("uid").GetString(), Is.EqualTo("ratingpipeline"));
            Assert.That(dashboard.GetProperty("schemaVersion").GetInt32(), Is.GreaterThanOrEqualTo(36));
            Assert.That(ids, Is.Unique);
            Assert.That(boxes.Where(b => b.X < 0 || b.W < 1 || b.X + b.W > 24 || b.H < 1), Is.Empty, "panels outside the 24-column grid");
            for (var i = 0; i < boxes.Count; i++)
            {
                for (var j = i + 1; j < boxes.Count; j++)
                {
                    var (a, b) = (boxes[i], boxes[j]);
                    var overlap = a.X < b.X + b.W && b.X < a.X + a.W && a.Y < b.Y + b.H && b.Y < a.Y + a.H;
                    Assert.That(overlap, Is.False, $"panels {ids[i]} and {ids[j]} overlap");
                }
            }
        });
    }

    [Test]
    public void Every_panel_queries_prometheus_through_the_datasource_variable()
    {
        var dashboard = MetricNames.Dashboard();
        var panels = dashboard.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        var datasource = dashboard.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Single(v => v.GetProperty("name").GetString() == "datasource");

        Assert.That(datasource.GetProperty("type").GetString(), Is.EqualTo("datasource"));
        Assert.That(datasource.GetProperty("query").GetString(), Is.EqualTo("prometheus"));
        Assert.That(panels, Has.Count.GreaterThanOrEqualTo(15));
        foreach (var panel in panels)
        {
            var title = panel.GetProperty("title").GetString();
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.That(targets, Is.Not.Empty, $"panel {title} has no query");
            Assert.That(targets.Select(t => t.GetProperty("expr").GetString()), Has.All.Contain(MetricNames.Prefix), $"panel {title}");
            Assert.That(targets.Select(t => t.GetProperty("datasource").GetProperty("uid").GetString()), Has.All.EqualTo("${datasource}"), $"panel {title}");
            Assert.That(targets.Select(t => t.GetProperty("refId").GetString()), Is.Unique, $"panel {title}");
        }
    }

    [Test]
    public void Dashboard_shows_what_on_call_needs()
    {
        var used = MetricNames.DashboardExpressions(MetricNames.Dashboard()).SelectMany(MetricNames.Families).ToHashSet();

        Assert.That(used, Is.SupersetOf(OnCallFamilies));
    }

    [Test]
    public void Dashboard_and_alert_rules_use_only_metrics_the_product_exports()
    {
        var used = MetricNames.UsedFamilies();
        var exported = MetricNames.ExportedBySource();
        var sender = MetricNames.SenderFamilies;

        Assert.Multiple(() =>
        {
            Assert.That(exported, Does.Contain("ratingpipeline_cdrs_consumed_total"), "the source scan finds RaterMetrics.cs");
            Assert.That(used.Except(exported), Is.Empty, "used but exported by no source file");
            Assert.That(sender.Except(exported), Is.Empty, "the sender's families are exported by its source");
            Assert.That(sender.Except(used), Is.Empty, "sender families that neither the dashboard nor the rules use");
        });
    }

    [Test]
    public void Dashboard_expressions_reference_only_its_own_variables()
    {
        var expressions = MetricNames.DashboardExpressions(MetricNames.Dashboard());
        var variables = expressions.SelectMany(e => System.Text.RegularExpressions.Regex.Matches(e, @"\$\{?([A-Za-z_]+)").Select(m => m.Groups[1].Value)).ToHashSet();

        // $instance is the dashboard's variable; the others are Grafana's built-ins.
        Assert.That(variables, Is.SubsetOf(new[] { "instance", "__rate_interval", "__range" }));
    }
}
