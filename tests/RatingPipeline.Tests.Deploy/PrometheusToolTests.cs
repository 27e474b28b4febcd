using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// The Prometheus files checked by promtool itself (Debian package prometheus): the compose scrape
/// configuration, the alert rules, and the rules' unit tests.
/// </summary>
[TestFixture]
[Category("needs-prometheus")]
[Category("deploy")]
public sealed class PrometheusToolTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static string PrometheusDirectory => Path.Combine(RepoFiles.Deploy, "prometheus");

    [Test]
    public void Promtool_accepts_the_compose_scrape_configuration_and_the_rule_file_it_loads()
    {
        var result = ChildProcess.Run(ChildProcess.Tool("promtool", "prometheus"), ["check", "config", "prometheus.yml"], Bound, PrometheusDirectory);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout + result.Stderr, Does.Contain("SUCCESS: prometheus.yml is valid prometheus config file syntax"));
        Assert.That(result.Stdout + result.Stderr, Does.Contain("Checking alerts.yml"), "prometheus.yml loads the alert rules");
    }

    [Test]
    public void Promtool_accepts_the_alert_rules()
    {
        var rules = MetricNames.RuleExpressions(MetricNames.AlertRules());

        var result = ChildProcess.Run(ChildProcess.Tool("promtool", "prometheus"), ["check", "rules", "alerts.yml"], Bound, PrometheusDirectory);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout + result.Stderr, Does.Contain($"SUCCESS: {rules.Count} rules found"));
    }

    [Test]
    public void Alert_rule_unit_tests_pass_in_promtool()
    {
        var result = ChildProcess.Run(ChildProcess.Tool("promtool", "prometheus"), ["test", "rules", "alerts.test.yml"], Bound, PrometheusDirectory);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout + result.Stderr, Does.Contain("SUCCESS"));
    }

    [Test]
    public void Promtool_fails_a_rule_test_whose_expectation_is_wrong()
    {
        // The same tests with one expected annotation changed must fail: the unit tests can catch a wrong rule.
        var folder = Directory.CreateTempSubdirectory("ratingpipeline-promtool-").FullName;
        try
        {
            File.Copy(Path.Combine(PrometheusDirectory, "alerts.yml"), Path.Combine(folder, "alerts.yml"));
            var tests = File.ReadAllText(Path.Combine(PrometheusDirectory, "alerts.test.yml"));
            Assert.That(tests, Does.Contain("summary: 10% of CDRs rejected"));
            File.WriteAllText(Path.Combine(folder, "alerts.test.yml"), tests.Replace("summary: 10% of CDRs rejected", "summary: 11% of CDRs rejected", StringComparison.Ordinal));

            var result = ChildProcess.Run(ChildProcess.Tool("promtool", "prometheus"), ["test", "rules", "alerts.test.yml"], Bound, folder);

            Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
            Assert.That(result.Stdout + result.Stderr, Does.Contain("RatingPipelineRejectRateHigh"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void Every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not()
    {
        var alerts = MetricNames.RuleExpressions(MetricNames.AlertRules()).Select(r => r.Name).ToList();
        var tests = Yaml.List(Yaml.At(Yaml.Parse(File.ReadAllText(Path.Combine(PrometheusDirectory, "alerts.test.yml"))), "tests"), "tests")
            .SelectMany(t => Yaml.List(Yaml.At(t, "alert_rule_test"), "alert_rule_test"))
            .Select(c => (Name: (string)Yaml.At(c, "alertname")!, Fires: Yaml.At(c, "exp_alerts") is List<object?> { Count: > 0 }))
            .ToList();

        Assert.Multiple(() =>
        {
            foreach (var alert in alerts)
            {
                Assert.That(tests.Any(t => t.Name == alert && t.Fires), Is.True, $"{alert}: no test where it fires");
                Assert.That(tests.Any(t => t.Name == alert && !t.Fires), Is.True, $"{alert}: no test where it stays silent");
            }
        });
    }

    [Test]
    public void Alert_rules_cover_lag_rejects_notices_breaker_tariff_readiness_and_silence()
    {
        var families = MetricNames.RuleExpressions(MetricNames.AlertRules()).SelectMany(r => MetricNames.Families(r.Expr)).ToHashSet();
        var expressions = string.Join('\n', MetricNames.RuleExpressions(MetricNames.AlertRules()).Select(r => r.Expr));

        Assert.That(families, Is.SupersetOf(new[]
        {
            "ratingpipeline_consumer_lag", "ratingpipeline_cdrs_rejected_total", "ratingpipeline_cdrs_consumed_total",
            "ratingpipeline_notices_total", "ratingpipeline_notice_circuit_state", "ratingpipeline_tariff_refusals_total",
            "ratingpipeline_ready",
        }));
        Assert.That(expressions, Does.Contain("hour()"), "the no-CDR alert is limited to the day");
    }

    [Test]
    public void The_chart_ships_the_same_alert_rules_and_dashboard_through_links()
    {
        var alerts = new FileInfo(Path.Combine(RepoFiles.Chart, "files", "alerts.yml"));
        var dashboard = new FileInfo(Path.Combine(RepoFiles.Chart, "files", "ratingpipeline.json"));

        Assert.That(alerts.LinkTarget, Is.EqualTo("../../../prometheus/alerts.yml"));
        Assert.That(dashboard.LinkTarget, Is.EqualTo("../../../grafana/ratingpipeline.json"));
        Assert.That(File.ReadAllText(alerts.FullName), Is.EqualTo(MetricNames.AlertRules()));
    }
}
