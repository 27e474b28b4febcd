using System.Text.RegularExpressions;
using NUnit.Framework;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// deploy/helm/ratingpipeline rendered by <see cref="HelmChart"/> (no Helm binary here) and read back as
/// Kubernetes objects: kinds, recommended labels, selectors, probes, environment, mounts, security.
/// </summary>
[TestFixture]
[Category("deploy")]
public sealed partial class HelmChartTests
{
    private const string Release = "billing";
    private const string Namespace = "rating";
    private static readonly string[] RecommendedLabels =
    [
        "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by",
        "app.kubernetes.io/part-of", "helm.sh/chart",
    ];

    private static readonly Lazy<HelmChart> Chart = new(() => new HelmChart(RepoFiles.Chart));

    private static string DemoTariff => File.ReadAllText(RepoFiles.PathOf("src", "RatingPipeline.Offline", "Synthetic", "demo-tariff.json"));

    private static Dictionary<string, object?> Required => new()
    {
        ["kafka.bootstrapServers"] = "kafka-0.kafka:9092,kafka-1.kafka:9092",
        ["rater.tariff.content"] = DemoTariff,
    };

    private static List<Dictionary<string, object?>> Render(Dictionary<string, object?>? more = null)
    {
        var set = Required;
        foreach (var (key, value) in more ?? [])
        {
            set[key] = value;
        }

        return HelmChart.Objects(Chart.Value.Render(Release, Namespace, set));
    }

    private static Dictionary<string, object?> Single(List<Dictionary<string, object?>> objects, string kind, string name) =>
        objects.Single(o => (string?)o["kind"] == kind && (string?)Yaml.At(o, "metadata", "name") == name);

    /// <summary>The objects that run pods: the workers, the clock's CronJob and the topic setup's Job.</summary>
    private static IEnumerable<Dictionary<string, object?>> PodOwners(List<Dictionary<string, object?>> objects) =>
        objects.Where(o => o["kind"] is "StatefulSet" or "Deployment" or "CronJob" or "Job");

    /// <summary>The pod template of a workload, or of a CronJob's jobs.</summary>
    private static object? PodTemplate(Dictionary<string, object?> owner) =>
        owner["kind"] is "CronJob" ? Yaml.At(owner, "spec", "jobTemplate", "spec", "template") : Yaml.At(owner, "spec", "template");

    private static Dictionary<string, object?> Container(Dictionary<string, object?> workload) =>
        Yaml.Map(Yaml.List(Yaml.At(PodTemplate(workload), "spec", "containers"), "containers").Single(), "container");

    private static Dictionary<string, object?> Env(Dictionary<string, object?> container) =>
        Yaml.List(container["env"], "env").Select(e => Yaml.Map(e, "env entry")).ToDictionary(e => (string)e["name"]!, e => (object?)e);

    [Test]
    public void Chart_renders_the_workloads_and_their_companions()
    {
        var objects = Render();
        var kinds = objects.Select(o => $"{o["kind"]}/{Yaml.At(o, "metadata", "name")}").ToList();

        Assert.That(kinds, Is.EquivalentTo(new[]
        {
            "StatefulSet/billing-ratingpipeline-rater", "Deployment/billing-ratingpipeline-sender",
            "Service/billing-ratingpipeline-rater", "Service/billing-ratingpipeline-sender",
            "ConfigMap/billing-ratingpipeline-tariff", "ConfigMap/billing-ratingpipeline-dashboard",
            "PodDisruptionBudget/billing-ratingpipeline-rater", "PodDisruptionBudget/billing-ratingpipeline-sender",
            "ServiceMonitor/billing-ratingpipeline-rater", "ServiceMonitor/billing-ratingpipeline-sender",
            "PrometheusRule/billing-ratingpipeline", "ServiceAccount/billing-ratingpipeline",
            "CronJob/billing-ratingpipeline-clock",
        }));
        Assert.That(objects.Select(o => Yaml.At(o, "metadata", "namespace")), Has.All.EqualTo(Namespace));
    }

    [Test]
    public void Every_object_and_pod_carries_the_recommended_labels()
    {
        var objects = Render();
        var pods = PodOwners(objects).Select(o => Yaml.At(PodTemplate(o), "metadata", "labels"));

        foreach (var labels in objects.Select(o => Yaml.At(o, "metadata", "labels")).Concat(pods))
        {
            var map = Yaml.Map(labels, "labels");
            Assert.That(map.Keys, Is.SupersetOf(RecommendedLabels));
            Assert.That(map["app.kubernetes.io/instance"], Is.EqualTo(Release));
            Assert.That(map["app.kubernetes.io/managed-by"], Is.EqualTo("Helm"));
            Assert.That(map["app.kubernetes.io/version"], Is.EqualTo(Yaml.At(Yaml.Parse(File.ReadAllText(Path.Combine(RepoFiles.Chart, "Chart.yaml"))), "appVersion")));
            Assert.That(map.Values.Select(v => v?.ToString() ?? ""), Has.All.Match(LabelValue().ToString()), "label values must be valid");
        }
    }

    [Test]
    public void Selectors_match_their_pods_and_only_their_component()
    {
        var objects = Render();
        var rater = Single(objects, "StatefulSet", "billing-ratingpipeline-rater");
        var sender = Single(objects, "Deployment", "billing-ratingpipeline-sender");
        var raterPods = Yaml.Map(Yaml.At(rater, "spec", "template", "metadata", "labels"), "labels");
        var senderPods = Yaml.Map(Yaml.At(sender, "spec", "template", "metadata", "labels"), "labels");

        foreach (var (component, pods, other) in new[] { ("rater", raterPods, senderPods), ("sender", senderPods, raterPods) })
        {
            var name = $"billing-ratingpipeline-{component}";
            var workload = component == "rater" ? rater : sender;
            IEnumerable<Dictionary<string, object?>> selectors =
            [
                Yaml.Map(Yaml.At(workload, "spec", "selector", "matchLabels"), "selector"),
                Yaml.Map(Yaml.At(Single(objects, "Service", name), "spec", "selector"), "selector"),
                Yaml.Map(Yaml.At(Single(objects, "PodDisruptionBudget", name), "spec", "selector", "matchLabels"), "selector"),
            ];
            foreach (var selector in selectors)
            {
                Assert.That(selector, Is.SubsetOf(pods), $"{component} selector");
                Assert.That(selector, Is.Not.SubsetOf(other), $"{component} selector also selects the other worker");
                Assert.That(selector["app.kubernetes.io/component"], Is.EqualTo(component));
            }
        }
    }

    [Test]
    public void Rater_is_a_statefulset_whose_pod_name_is_its_static_group_member_id()
    {
        var rater = Single(Render(), "StatefulSet", "billing-ratingpipeline-rater");
        var env = Env(Container(rater));

        Assert.Multiple(() =>
        {
            Assert.That(Yaml.At(rater, "spec", "serviceName"), Is.EqualTo("billing-ratingpipeline-rater"));
            Assert.That(Yaml.At(rater, "spec", "replicas"), Is.EqualTo(3L));
            Assert.That(Yaml.At(rater, "spec", "podManagementPolicy"), Is.EqualTo("Parallel"));
            Assert.That(Yaml.At(env["Rater__InstanceId"], "valueFrom", "fieldRef", "fieldPath"), Is.EqualTo("metadata.name"));
            Assert.That(Yaml.At(env["Rater__StaticMembership"], "value"), Is.EqualTo("true"));
            Assert.That(Yaml.At(env["Kafka__BootstrapServers"], "value"), Is.EqualTo("kafka-0.kafka:9092,kafka-1.kafka:9092"));
            Assert.That(Yaml.At(env["Http__Url"], "value"), Is.EqualTo("http://0.0.0.0:9464"));
            Assert.That(Container(rater)["args"], Is.EqualTo(new List<object?> { "rater" }));
        });
    }

    [Test]
    public void Workloads_probe_live_and_ready_on_the_metrics_port()
    {
        var objects = Render();
        foreach (var workload in objects.Where(o => o["kind"] is "StatefulSet" or "Deployment"))
        {
            var container = Container(workload);
            var port = Yaml.Map(Yaml.List(container["ports"], "ports").Single(), "port");

            Assert.That(port["name"], Is.EqualTo("metrics"));
            Assert.That(port["containerPort"], Is.EqualTo(9464L));
            Assert.That(Yaml.At(container, "livenessProbe", "httpGet", "path"), Is.EqualTo("/healthz/live"));
            Assert.That(Yaml.At(container, "livenessProbe", "httpGet", "port"), Is.EqualTo("metrics"));
            Assert.That(Yaml.At(container, "readinessProbe", "httpGet", "path"), Is.EqualTo("/healthz/ready"));
            Assert.That(Yaml.At(container, "readinessProbe", "httpGet", "port"), Is.EqualTo("metrics"));
            Assert.That(Yaml.At(container, "readinessProbe", "periodSeconds"), Is.TypeOf<long>());
            Assert.That(Yaml.At(container, "resources", "requests", "memory"), Is.Not.Null);
            Assert.That(Yaml.At(container, "resources", "limits", "memory"), Is.Not.Null);
        }
    }

    [Test]
    public void Workloads_run_non_root_on_a_read_only_root_with_a_writable_tmp()
    {
        foreach (var workload in PodOwners(Render()))
        {
            var pod = Yaml.At(PodTemplate(workload), "spec");
            var container = Container(workload);
            var mounts = Yaml.List(container["volumeMounts"], "volumeMounts").Select(m => Yaml.Map(m, "mount")).ToList();
            var volumes = Yaml.List(Yaml.At(pod, "volumes"), "volumes").Select(v => Yaml.Map(v, "volume")).ToList();

            Assert.That(Yaml.At(pod, "securityContext", "runAsNonRoot"), Is.True);
            Assert.That(Yaml.At(pod, "securityContext", "runAsUser"), Is.EqualTo(1654L));
            Assert.That(Yaml.At(pod, "automountServiceAccountToken"), Is.False);
            Assert.That(Yaml.At(container, "securityContext", "readOnlyRootFilesystem"), Is.True);
            Assert.That(Yaml.At(container, "securityContext", "allowPrivilegeEscalation"), Is.False);
            Assert.That(Yaml.At(container, "securityContext", "capabilities", "drop"), Is.EqualTo(new List<object?> { "ALL" }));
            var tmp = mounts.Single(m => (string?)m["mountPath"] == "/tmp");
            Assert.That(Yaml.At(volumes.Single(v => Equals(v["name"], tmp["name"])), "emptyDir"), Is.Not.Null);
            Assert.That(mounts.Where(m => m.ContainsKey("subPath")), Is.Empty, "subPath mounts never see ConfigMap updates");
        }
    }

    [Test]
    public void Tariff_comes_from_a_configmap_mounted_as_a_directory_for_hot_reload()
    {
        var objects = Render();
        var rater = Single(objects, "StatefulSet", "billing-ratingpipeline-rater");
        var configMap = Single(objects, "ConfigMap", "billing-ratingpipeline-tariff");
        var mount = Yaml.List(Container(rater)["volumeMounts"], "mounts").Select(m => Yaml.Map(m, "mount")).Single(m => Equals(m["name"], "tariff"));
        var volume = Yaml.List(Yaml.At(rater, "spec", "template", "spec", "volumes"), "volumes").Select(v => Yaml.Map(v, "volume")).Single(v => Equals(v["name"], "tariff"));
        var tariffPath = (string)Yaml.At(Env(Container(rater))["Rater__TariffPath"], "value")!;
        var content = (string)Yaml.At(configMap, "data", "tariff.json")!;

        Assert.That(Yaml.At(volume, "configMap", "name"), Is.EqualTo("billing-ratingpipeline-tariff"));
        Assert.That(tariffPath, Is.EqualTo($"{mount["mountPath"]}/tariff.json"));
        Assert.That(content, Is.EqualTo(DemoTariff.TrimEnd('\n')));
        Assert.That(TariffLoader.Load(System.Text.Encoding.UTF8.GetBytes(content)).Version, Is.EqualTo("2026-11-01.1"));
        Assert.That(Yaml.At(rater, "spec", "template", "metadata", "annotations"), Is.Null, "no checksum annotation: a tariff change must not restart the raters");
    }

    [Test]
    public void An_existing_tariff_configmap_replaces_the_charts_own()
    {
        var objects = HelmChart.Objects(Chart.Value.Render(Release, Namespace, new Dictionary<string, object?>
        {
            ["kafka.bootstrapServers"] = "kafka:9092",
            ["rater.tariff.existingConfigMap"] = "tariffs-2026",
        }));
        var rater = Single(objects, "StatefulSet", "billing-ratingpipeline-rater");
        var volume = Yaml.List(Yaml.At(rater, "spec", "template", "spec", "volumes"), "volumes").Select(v => Yaml.Map(v, "volume")).Single(v => Equals(v["name"], "tariff"));

        Assert.That(Yaml.At(volume, "configMap", "name"), Is.EqualTo("tariffs-2026"));
        Assert.That(objects.Where(o => Equals(o["kind"], "ConfigMap") && Equals(Yaml.At(o, "metadata", "name"), "billing-ratingpipeline-tariff")), Is.Empty);
    }

    [TestCase("kafka.bootstrapServers", "kafka.bootstrapServers is required")] // no cluster to talk to
    [TestCase("rater.tariff.content", "rater.tariff.content is required")] // no tariff and no existing ConfigMap
    public void Rendering_without_a_required_value_fails_naming_it(string missing, string message)
    {
        var set = Required;
        set[missing] = "";

        Assert.That(() => Chart.Value.Render(Release, Namespace, set), Throws.TypeOf<HelmTemplateException>().With.Message.Contains(message));
    }

    [Test]
    public void Kafka_credentials_come_from_secrets_as_librdkafka_properties()
    {
        var objects = Render(new()
        {
            ["kafka.properties"] = new Dictionary<string, object?> { ["security.protocol"] = "SASL_SSL", ["sasl.mechanism"] = "SCRAM-SHA-512" },
            ["kafka.sasl.existingSecret"] = "kafka-rating-user",
            ["kafka.tls.caSecret"] = "kafka-cluster-ca",
        });

        Assert.That(PodOwners(objects).Select(o => o["kind"]), Is.EquivalentTo(new[] { "StatefulSet", "Deployment", "CronJob" }));
        foreach (var workload in PodOwners(objects))
        {
            var container = Container(workload);
            var env = Env(container);
            Assert.That(Yaml.At(env["Kafka__Properties__security.protocol"], "value"), Is.EqualTo("SASL_SSL"));
            Assert.That(Yaml.At(env["Kafka__Properties__sasl.mechanism"], "value"), Is.EqualTo("SCRAM-SHA-512"));
            Assert.That(Yaml.At(env["Kafka__Properties__sasl.username"], "valueFrom", "secretKeyRef"),
                Is.EqualTo(new Dictionary<string, object?> { ["name"] = "kafka-rating-user", ["key"] = "username" }));
            Assert.That(Yaml.At(env["Kafka__Properties__sasl.password"], "valueFrom", "secretKeyRef"),
                Is.EqualTo(new Dictionary<string, object?> { ["name"] = "kafka-rating-user", ["key"] = "password" }));
            Assert.That(Yaml.At(env["Kafka__Properties__ssl.ca.location"], "value"), Is.EqualTo("/etc/ratingpipeline/kafka-ca/ca.crt"));
            Assert.That(env.Values.Where(e => Yaml.At(e, "value") is string v && v.Contains("password", StringComparison.OrdinalIgnoreCase)), Is.Empty,
                "no credential is written into the manifests");
            var mounts = Yaml.List(container["volumeMounts"], "mounts").Select(m => Yaml.Map(m, "mount"));
            Assert.That(mounts.Select(m => m["mountPath"]), Does.Contain("/etc/ratingpipeline/kafka-ca"));
        }
    }

    [Test]
    public void Sender_is_a_deployment_with_its_channels_templates_and_secret_credentials()
    {
        var objects = Render(new()
        {
            ["sender.sms.url"] = "https://sms.operator.example/send",
            ["sender.smtp.host"] = "smtp.operator.example",
            ["sender.templates.content"] = "{\"en\": {}}",
            ["sender.credentialsSecret"] = "sender-channels",
        });
        var sender = Single(objects, "Deployment", "billing-ratingpipeline-sender");
        var container = Container(sender);
        var env = Env(container);
        var templates = Single(objects, "ConfigMap", "billing-ratingpipeline-templates");
        var mount = Yaml.List(container["volumeMounts"], "mounts").Select(m => Yaml.Map(m, "mount")).Single(m => Equals(m["name"], "templates"));

        Assert.Multiple(() =>
        {
            Assert.That(container["args"], Is.EqualTo(new List<object?> { "sender" }));
            Assert.That(Yaml.At(env["Sender__Sms__Url"], "value"), Is.EqualTo("https://sms.operator.example/send"));
            Assert.That(Yaml.At(env["Sender__Smtp__Host"], "value"), Is.EqualTo("smtp.operator.example"));
            Assert.That(Yaml.At(env["Sender__TemplatesPath"], "value"), Is.EqualTo($"{mount["mountPath"]}/templates.json"));
            Assert.That(Yaml.At(templates, "data", "templates.json"), Is.EqualTo("{\"en\": {}}"));
            Assert.That(Yaml.At(env["Sender__Smtp__Password"], "valueFrom", "secretKeyRef", "name"), Is.EqualTo("sender-channels"));
            Assert.That(Yaml.At(env["Sender__Sms__AuthHeader"], "valueFrom", "secretKeyRef", "key"), Is.EqualTo("sms-auth-header"));
            Assert.That((string?)Yaml.At(sender, "spec", "template", "metadata", "annotations", "checksum/templates"), Does.Match("^[0-9a-f]{64}$"));
        });
    }

    [Test]
    public void With_a_query_token_the_sender_asks_the_raters_usage_api_and_guards_its_mo_endpoint_with_the_same_token()
    {
        var without = Env(Container(Single(Render(new()), "Deployment", "billing-ratingpipeline-sender")));
        var objects = Render(new() { ["rater.queryApi.tokenSecret"] = "query-token" });
        var sender = Env(Container(Single(objects, "Deployment", "billing-ratingpipeline-sender")));
        var rater = Env(Container(Single(objects, "StatefulSet", "billing-ratingpipeline-rater")));
        var token = new Dictionary<string, object?> { ["name"] = "query-token", ["key"] = "token" };

        Assert.Multiple(() =>
        {
            Assert.That(without.Keys, Has.None.StartsWith("Sender__UsageApi__").And.None.EqualTo("Http__Auth__Token"), "no token, no usage API");
            Assert.That(Yaml.At(sender["Sender__UsageApi__Url"], "value"), Is.EqualTo("http://billing-ratingpipeline-rater:9464"));
            Assert.That(Yaml.At(sender["Sender__UsageApi__Token"], "valueFrom", "secretKeyRef"), Is.EqualTo(token));
            Assert.That(Yaml.At(sender["Http__Auth__Token"], "valueFrom", "secretKeyRef"), Is.EqualTo(token));
            Assert.That(Yaml.At(rater["Http__Auth__Token"], "valueFrom", "secretKeyRef"), Is.EqualTo(token));
        });
    }

    [Test]
    public void The_clock_is_an_hourly_cronjob_writing_a_clock_now_to_the_workers_cluster_and_cdr_topic()
    {
        var clock = Single(Render(new() { ["topics.Cdrs"] = "acme.cdrs" }), "CronJob", "billing-ratingpipeline-clock");
        var container = Container(clock);
        var args = Yaml.List(Yaml.At(container, "args"), "args").Select(a => a?.ToString()).ToList();
        var env = Env(container);
        Assert.Multiple(() =>
        {
            Assert.That(Yaml.At(clock, "spec", "schedule"), Is.EqualTo("0 * * * *"), "hourly, on the hour");
            Assert.That(Yaml.At(clock, "spec", "concurrencyPolicy"), Is.EqualTo("Forbid"));
            Assert.That(Yaml.At(clock, "spec", "startingDeadlineSeconds"), Is.EqualTo(600L));
            Assert.That(Yaml.At(clock, "spec", "jobTemplate", "spec", "backoffLimit"), Is.EqualTo(2L));
            Assert.That(Yaml.At(clock, "spec", "jobTemplate", "spec", "activeDeadlineSeconds"), Is.EqualTo(300L));
            Assert.That(Yaml.At(PodTemplate(clock), "spec", "restartPolicy"), Is.EqualTo("Never"));
            Assert.That(args, Is.EqualTo(new[] { "clock", "--at", "now", "--timeout", "60s" }));
            Assert.That(Yaml.At(env["Kafka__BootstrapServers"], "value"), Is.EqualTo("kafka-0.kafka:9092,kafka-1.kafka:9092"));
            Assert.That(Yaml.At(env["Topics__Cdrs"], "value"), Is.EqualTo("acme.cdrs"));
        });
    }

    [Test]
    public void The_clock_can_be_left_out_and_scheduled_otherwise()
    {
        var objects = Render(new() { ["clock.enabled"] = false });
        var quarterHourly = Single(Render(new() { ["clock.schedule"] = "*/15 * * * *" }), "CronJob", "billing-ratingpipeline-clock");
        Assert.That(objects.Where(o => Equals(o["kind"], "CronJob")), Is.Empty);
        Assert.That(Yaml.At(quarterHourly, "spec", "schedule"), Is.EqualTo("*/15 * * * *"));
    }

    [Test]
    public void Sender_can_be_left_out()
    {
        var kinds = Render(new() { ["sender.enabled"] = false }).Select(o => $"{o["kind"]}/{Yaml.At(o, "metadata", "name")}").ToList();

        Assert.That(kinds, Has.None.Contains("sender"));
        Assert.That(kinds, Does.Contain("StatefulSet/billing-ratingpipeline-rater"));
    }

    [Test]
    public void Service_monitors_scrape_the_metrics_port_with_the_job_names_the_alerts_use()
    {
        var objects = Render(new() { ["metrics.serviceMonitor.labels"] = new Dictionary<string, object?> { ["release"] = "kube-prometheus-stack" } });
        var alertJobs = JobNames().Matches(MetricNames.AlertRules()).Select(m => m.Groups[1].Value).ToHashSet();

        foreach (var component in new[] { "rater", "sender" })
        {
            var monitor = Single(objects, "ServiceMonitor", $"billing-ratingpipeline-{component}");
            var service = Single(objects, "Service", $"billing-ratingpipeline-{component}");
            var endpoint = Yaml.Map(Yaml.List(Yaml.At(monitor, "spec", "endpoints"), "endpoints").Single(), "endpoint");
            var servicePort = Yaml.Map(Yaml.List(Yaml.At(service, "spec", "ports"), "ports").Single(), "port");
            var relabel = Yaml.List(endpoint["relabelings"], "relabelings").Select(r => Yaml.Map(r, "relabeling")).ToList();

            Assert.That(Yaml.At(monitor, "metadata", "labels", "release"), Is.EqualTo("kube-prometheus-stack"));
            Assert.That(Yaml.Map(Yaml.At(monitor, "spec", "selector", "matchLabels"), "selector"), Is.SubsetOf(Yaml.Map(Yaml.At(service, "metadata", "labels"), "labels")));
            Assert.That(endpoint["port"], Is.EqualTo(servicePort["name"]));
            Assert.That(endpoint["path"], Is.EqualTo("/metrics"));
            Assert.That(relabel.Single(r => Equals(r["targetLabel"], "job"))["replacement"], Is.EqualTo($"ratingpipeline-{component}"));
            Assert.That(alertJobs, Does.Contain($"ratingpipeline-{component}"));
            Assert.That(Yaml.At(service, "spec", "publishNotReadyAddresses"), Is.True, "a restoring instance is still scraped");
        }
    }

    [Test]
    public void Prometheus_rule_and_dashboard_configmap_carry_the_deploy_files()
    {
        var objects = Render();
        var rule = Single(objects, "PrometheusRule", "billing-ratingpipeline");
        var dashboard = Single(objects, "ConfigMap", "billing-ratingpipeline-dashboard");
        var groups = Yaml.List(Yaml.At(rule, "spec", "groups"), "groups");

        Assert.That(groups, Is.EqualTo(Yaml.List(Yaml.At(Yaml.Parse(MetricNames.AlertRules()), "groups"), "groups")));
        Assert.That(Yaml.At(dashboard, "metadata", "labels", "grafana_dashboard"), Is.EqualTo("1"));
        Assert.That(Yaml.At(dashboard, "data", "ratingpipeline.json"), Is.EqualTo(RepoFiles.ReadText("deploy", "grafana", "ratingpipeline.json").TrimEnd('\n')));
    }

    [Test]
    public void Disruption_budgets_let_one_pod_of_each_worker_go_at_a_time()
    {
        var objects = Render();

        foreach (var component in new[] { "rater", "sender" })
        {
            Assert.That(Yaml.At(Single(objects, "PodDisruptionBudget", $"billing-ratingpipeline-{component}"), "spec", "maxUnavailable"), Is.EqualTo(1L));
        }
    }

    [Test]
    public void Notes_render_with_the_release_name()
    {
        var notes = Chart.Value.Render(Release, Namespace, Required)["NOTES.txt"];

        Assert.That(notes, Does.Contain("billing-ratingpipeline-rater-0").And.Contain("namespace rating"));
        Assert.That(notes, Does.Contain("CronJob billing-ratingpipeline-clock writes a clock record to every cdrs partition (0 * * * *)"));
        Assert.That(notes, Does.Contain("Keep notice-log and bills at least 153 days, rated-cdrs and adjustments at least 62."));
    }

    [Test]
    public void Topic_setup_is_off_unless_asked_for()
    {
        var objects = Render();
        Assert.That(objects.Where(o => Equals(Yaml.At(o, "metadata", "labels", "app.kubernetes.io/component"), "topic-setup")), Is.Empty);
    }

    [Test]
    public void Topic_setup_is_a_pre_install_and_pre_upgrade_job_running_the_deploy_topic_script_with_the_retention_the_product_needs()
    {
        var objects = Render(new() { ["topicSetup.enabled"] = true });
        var job = Single(objects, "Job", "billing-ratingpipeline-topic-setup");
        var script = Single(objects, "ConfigMap", "billing-ratingpipeline-topic-setup");
        var container = Container(job);
        var env = Env(container).ToDictionary(e => e.Key, e => (string?)Yaml.At(e.Value, "value"));
        var mounts = Yaml.List(container["volumeMounts"], "mounts").Select(m => Yaml.Map(m, "mount")).ToList();
        var volumes = Yaml.List(Yaml.At(PodTemplate(job), "spec", "volumes"), "volumes").Select(v => Yaml.Map(v, "volume")).ToList();
        var scriptText = RepoFiles.ReadText("deploy", "kafka", "create-topics.sh");
        int Weight(Dictionary<string, object?> o) => int.Parse((string)Yaml.At(o, "metadata", "annotations", "helm.sh/hook-weight")!, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Multiple(() =>
        {
            foreach (var hook in new[] { job, script })
            {
                Assert.That(Yaml.At(hook, "metadata", "annotations", "helm.sh/hook"), Is.EqualTo("pre-install,pre-upgrade"));
            }

            Assert.That(Weight(script), Is.LessThan(Weight(job)), "the script's ConfigMap exists before the Job");
            Assert.That((string?)Yaml.At(script, "data", "create-topics.sh"), Is.EqualTo(scriptText.TrimEnd('\n')));
            Assert.That(Yaml.List(container["command"], "command"), Is.EqualTo(new List<object?> { "/bin/sh", "/scripts/create-topics.sh" }));
            Assert.That(Yaml.At(volumes.Single(v => Equals(v["name"], mounts.Single(m => Equals(m["mountPath"], "/scripts"))["name"])), "configMap", "name"),
                Is.EqualTo("billing-ratingpipeline-topic-setup"));
            Assert.That(env["BOOTSTRAP"], Is.EqualTo("kafka-0.kafka:9092,kafka-1.kafka:9092"));
            Assert.That(env["PARTITIONS"], Is.EqualTo("12"));
            Assert.That(env["REPLICATION"], Is.EqualTo("3"));
            Assert.That(int.Parse(env["AUDIT_RETENTION_DAYS"]!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(153), "notice-log and bills");
            Assert.That(int.Parse(env["RATED_RETENTION_DAYS"]!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(62), "rated-cdrs and adjustments");
            Assert.That(env.Keys.Where(name => name != "LOG_DIR"), Has.All.Matches<string>(name => scriptText.Contains(name, StringComparison.Ordinal)),
                "every variable the Job sets is one the script reads");
            Assert.That(Yaml.At(PodTemplate(job), "spec", "restartPolicy"), Is.EqualTo("Never"));
            Assert.That(Yaml.At(container, "securityContext", "readOnlyRootFilesystem"), Is.True);
            Assert.That(mounts.Select(m => m["mountPath"]), Does.Contain("/tmp"), "the Kafka tools write their logs and JVM files there");
            Assert.That(env.ContainsKey("COMMAND_CONFIG"), Is.False, "plaintext without a client properties Secret");
        });
    }

    [Test]
    public void Topic_setup_reads_the_kafka_tools_client_properties_from_a_secret()
    {
        var job = Single(Render(new() { ["topicSetup.enabled"] = true, ["topicSetup.clientPropertiesSecret"] = "kafka-admin-client" }), "Job",
            "billing-ratingpipeline-topic-setup");
        var container = Container(job);
        var mount = Yaml.List(container["volumeMounts"], "mounts").Select(m => Yaml.Map(m, "mount")).Single(m => Equals(m["name"], "kafka-client"));
        var volume = Yaml.List(Yaml.At(PodTemplate(job), "spec", "volumes"), "volumes").Select(v => Yaml.Map(v, "volume")).Single(v => Equals(v["name"], "kafka-client"));

        Assert.That(Yaml.At(Env(container)["COMMAND_CONFIG"], "value"), Is.EqualTo($"{mount["mountPath"]}/client.properties"));
        Assert.That(Yaml.At(volume, "secret", "secretName"), Is.EqualTo("kafka-admin-client"));
    }

    [Test]
    public void Topic_setup_refuses_topic_name_overrides_it_cannot_create()
    {
        var set = Required;
        set["topicSetup.enabled"] = true;
        set["topics.Cdrs"] = "acme.cdrs";

        Assert.That(() => Chart.Value.Render(Release, Namespace, set),
            Throws.TypeOf<HelmTemplateException>().With.Message.Contains("with topics overrides, create the topics yourself"));
    }

    [Test]
    public void Every_value_is_documented_by_a_comment_above_it()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoFiles.Chart, "values.yaml"));
        var undocumented = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var match = ValueKey().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }

            var previous = i - 1;
            while (previous >= 0 && lines[previous].Trim().Length == 0)
            {
                previous--;
            }

            if (previous < 0 || !lines[previous].TrimStart().StartsWith('#') || Indent(lines[previous]) != match.Groups[1].Length)
            {
                undocumented.Add($"line {i + 1}: {lines[i].Trim()}");
            }
        }

        Assert.That(undocumented, Is.Empty);

        static int Indent(string line) => line.Length - line.TrimStart().Length;
    }

    [Test]
    public void Renderer_reports_a_value_the_templates_read_but_values_yaml_lacks()
    {
        // The renderer is strict so that the test above covers every value the templates use.
        var folder = Directory.CreateTempSubdirectory("ratingpipeline-chart-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(folder, "templates"));
            File.WriteAllText(Path.Combine(folder, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\nappVersion: \"1\"\n");
            File.WriteAllText(Path.Combine(folder, "values.yaml"), "# Documented.\nknown: 1\n");
            File.WriteAllText(Path.Combine(folder, "templates", "a.yaml"), "value: {{ .Values.unknown | quote }}\n");

            Assert.That(() => new HelmChart(folder).Render("r", "n"), Throws.TypeOf<HelmTemplateException>().With.Message.Contains(".Values.unknown is not defined"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex(@"^(\s*)([A-Za-z][A-Za-z0-9_.-]*):( |$)")]
    private static partial Regex ValueKey();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("job=~?\"([^\"]+)\"")]
    private static partial Regex JobNames();
}
