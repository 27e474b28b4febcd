using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Tariffs;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml read as a Compose file (no Docker engine here to run it): the services and how they
/// connect, the files they mount, the ratingctl commands they run (checked against the published ratingctl), the
/// topic creation script (run against a recording stand-in of kafka-topics.sh) and the stand-in SMS gateway (run).
/// </summary>
[TestFixture]
[Category("deploy")]
public sealed partial class ComposeTests
{
    /// <summary>ratingctl commands compose runs that the ratingctl in this tree does not have yet (the sender is built separately).</summary>
    private static readonly string[] PendingCommands = [];

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>The system's Python (Debian package python3; a version manager's shim on PATH may start slowly).</summary>
    private static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : ChildProcess.Tool("python3", "python3");

    private static Dictionary<string, object?> Compose => Yaml.Map(Yaml.Parse(RepoFiles.ReadText("deploy", "compose.yaml")), "compose.yaml");

    private static Dictionary<string, Dictionary<string, object?>> Services =>
        Yaml.Map(Compose["services"], "services").ToDictionary(s => s.Key, s => Yaml.Map(s.Value, s.Key));

    private static IEnumerable<KeyValuePair<string, Dictionary<string, object?>>> ProductServices =>
        Services.Where(s => s.Value.TryGetValue("image", out var image) && image is string i && i.Contains("ratingpipeline", StringComparison.Ordinal));

    /// <summary>Compose's <c>${NAME:-default}</c> substitution with nothing set: the defaults.</summary>
    private static string Substitute(string text) => Substitute(text, new Dictionary<string, string>());

    /// <summary>
    /// Compose's substitution with <paramref name="variables"/> set: <c>${NAME:-default}</c> is the value, else the
    /// default; <c>${NAME:+replacement}</c> the replacement when the value is set and not empty, else nothing.
    /// </summary>
    private static string Substitute(string text, IReadOnlyDictionary<string, string> variables) =>
        Interpolation().Replace(text, m =>
        {
            var value = variables.GetValueOrDefault(m.Groups[1].Value, "");
            return m.Groups[2].Value == ":+"
                ? (value.Length > 0 ? m.Groups[3].Value : "")
                : (value.Length > 0 ? value : m.Groups[3].Value);
        });

    /// <summary>A service's environment after substitution, as the configuration keys it binds (<c>A__B</c> is <c>A:B</c>).</summary>
    private static IConfiguration EnvironmentOf(string service, IReadOnlyDictionary<string, string> variables) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(Yaml.Map(Services[service]["environment"], "environment")
                .Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), (string?)Substitute(e.Value?.ToString() ?? "", variables))))
            .Build();

    [Test]
    public void Compose_runs_kafka_topics_workers_gateway_load_prometheus_and_grafana()
    {
        Assert.That(Services.Keys, Is.EquivalentTo(new[] { "kafka", "kafka-init", "rater", "sender", "clock", "gateway", "mailpit", "load", "prometheus", "grafana" }));
        Assert.That(ProductServices.Select(s => s.Key), Is.EquivalentTo(new[] { "rater", "sender", "clock", "load" }));
    }

    [Test]
    public void The_clock_service_writes_a_clock_to_the_cdr_topic_every_hour()
    {
        var command = Yaml.List(Services["clock"]["command"], "command").Select(a => Substitute(a?.ToString() ?? "")).ToList();
        var parse = ClockCommand.Build().Parse(command[1..]);

        Assert.That(command, Is.EqualTo(new[] { "clock", "--bootstrap", "kafka:9092", "--every", "1h" }));
        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.GetValue<TimeSpan?>("--every"), Is.EqualTo(TimeSpan.FromHours(1)));
        Assert.That(Services["clock"]["restart"], Is.EqualTo("unless-stopped"), "a clock service that ends is started again");
    }

    [Test]
    public void Every_image_is_pinned_and_every_port_is_published_on_loopback_only()
    {
        foreach (var (name, service) in Services)
        {
            var image = (string)service["image"]!;
            Assert.That(image, Does.Contain(':').And.Not.EndsWith(":latest"), $"{name}: image {image}");
            foreach (var port in service.TryGetValue("ports", out var ports) ? Yaml.List(ports, "ports") : [])
            {
                Assert.That(port, Does.StartWith("127.0.0.1:"), $"{name}: port {port}");
            }
        }
    }

    [Test]
    public void Kafka_is_a_single_kraft_node_and_the_workers_start_after_the_topics_exist()
    {
        var kafka = Services["kafka"];
        var environment = Yaml.Map(kafka["environment"], "environment");

        Assert.That(kafka["image"], Does.StartWith("apache/kafka:"));
        Assert.That(environment["KAFKA_PROCESS_ROLES"], Is.EqualTo("broker,controller"));
        Assert.That(environment["KAFKA_CONTROLLER_QUORUM_VOTERS"], Is.EqualTo("1@kafka:9093"));
        Assert.That(environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"], Is.EqualTo("false"));
        Assert.That(Yaml.At(Services["kafka-init"], "depends_on", "kafka", "condition"), Is.EqualTo("service_healthy"));
        foreach (var (name, service) in ProductServices)
        {
            Assert.That(Yaml.At(service, "depends_on", "kafka-init", "condition"), Is.EqualTo("service_completed_successfully"), name);
            Assert.That(Yaml.At(service, "environment", "Kafka__BootstrapServers") ?? Yaml.List(service["command"], "command").SkipWhile(a => !Equals(a, "--bootstrap")).ElementAtOrDefault(1),
                Is.EqualTo("kafka:9092"), name);
        }
    }

    [Test]
    public void Depends_on_names_services_and_mounted_host_paths_exist()
    {
        foreach (var (name, service) in Services)
        {
            foreach (var dependency in service.TryGetValue("depends_on", out var d) ? (d is List<object?> list ? list.Cast<string>() : Yaml.Map(d, "depends_on").Keys) : [])
            {
                Assert.That(Services.Keys, Does.Contain(dependency), $"{name} depends on {dependency}");
            }

            foreach (var volume in service.TryGetValue("volumes", out var v) ? Yaml.List(v, "volumes").Cast<string>() : [])
            {
                var source = volume.Split(':')[0];
                Assert.That(source, Does.StartWith("./"), $"{name}: {volume}");
                var path = Path.Combine(RepoFiles.Deploy, source[2..]);
                Assert.That(File.Exists(path) || Directory.Exists(path), Is.True, $"{name}: {source} does not exist under deploy/");
            }
        }
    }

    [Test]
    public void Product_services_run_read_only_from_the_image_built_by_deploy_dockerfile()
    {
        var rater = Services["rater"];

        Assert.That(Yaml.At(rater, "build", "context"), Is.EqualTo(".."));
        Assert.That(Yaml.At(rater, "build", "dockerfile"), Is.EqualTo("deploy/Dockerfile"));
        foreach (var (name, service) in ProductServices)
        {
            Assert.That(service["image"], Is.EqualTo(rater["image"]), name);
            Assert.That(service["read_only"], Is.True, name);
            Assert.That(service["tmpfs"], Is.EqualTo(new List<object?> { "/tmp" }), name);
        }
    }

    [Test]
    public void Rater_reads_a_valid_tariff_from_a_mounted_directory()
    {
        var rater = Services["rater"];
        var tariffPath = (string)Yaml.At(rater, "environment", "Rater__TariffPath")!;
        var mount = Yaml.List(rater["volumes"], "volumes").Cast<string>().Select(v => v.Split(':')).Single(v => tariffPath.StartsWith(v[1] + "/", StringComparison.Ordinal));
        var hostFile = Path.Combine(RepoFiles.Deploy, mount[0][2..], tariffPath[(mount[1].Length + 1)..]);

        Assert.That(Directory.Exists(Path.Combine(RepoFiles.Deploy, mount[0][2..])), Is.True, "a directory mount sees a replaced file");
        Assert.That(TariffLoader.LoadFile(hostFile).Plans, Is.Not.Empty);
    }

    [TestCase("")]
    [TestCase("lab-query-token-0123456789abcdef")]
    public void Self_service_is_off_without_QUERY_TOKEN_and_with_it_raters_and_sender_share_the_token(string token)
    {
        var variables = new Dictionary<string, string> { ["QUERY_TOKEN"] = token };
        var rater = EnvironmentOf("rater", variables);
        var sender = EnvironmentOf("sender", variables);
        var api = rater.GetSection(QueryApiOptions.Section).Get<QueryApiOptions>() ?? new QueryApiOptions();
        var senderOptions = sender.GetSection("Sender").Get<SenderOptions>() ?? new SenderOptions();
        var listener = Regex.Match(RepoFiles.ReadText("deploy", "Dockerfile"), @"Http__Url=(\S+)").Groups[1].Value;

        Assert.Multiple(() =>
        {
            Assert.That(api.Auth.Token, Is.EqualTo(token), "the raters' usage API");
            Assert.That(sender[BearerToken.ConfigurationKey] ?? "", Is.EqualTo(token), "the sender's POST /v1/mo");
            Assert.That(senderOptions.UsageApi.Token, Is.EqualTo(token), "the sender asking the raters");
            Assert.That(senderOptions.UsageApi.Url, Is.EqualTo(token.Length > 0 ? "http://rater:9464" : ""),
                "the rater service on the port its image listens on, only with a token (the sender refuses a URL without one)");
            Assert.That(api.Validate(), Is.Empty);
            Assert.That(SenderOptionsValidator.Check(senderOptions).Where(e => e.Contains("UsageApi", StringComparison.Ordinal)), Is.Empty);
            Assert.That(listener, Is.EqualTo("http://0.0.0.0:9464"), "the image's listener");
            Assert.That(new QueryApiOptions { Url = listener }.Advertised("x", "3f2a9c1b7d4e"), Is.EqualTo("http://3f2a9c1b7d4e:9464"),
                "each replica is redirected to under its container's host name");
        });
    }

    [Test]
    public void Compose_commands_are_ratingctl_commands_apart_from_the_pending_ones()
    {
        var help = ChildProcess.Run("dotnet", [PublishedApp.Dll, "--help"], Bound, PublishedApp.Directory);
        var commands = CommandLine().Matches(help.Stdout[help.Stdout.IndexOf("Commands:", StringComparison.Ordinal)..]).Select(m => m.Groups[1].Value).ToHashSet();
        var used = ProductServices.Select(s => (string)Yaml.List(s.Value["command"], "command")[0]!).ToHashSet();

        Assert.That(help.ExitCode, Is.Zero, help.ToString());
        Assert.That(commands, Does.Contain("rater").And.Contain("load"));
        Assert.That(used.Except(PendingCommands), Is.SubsetOf(commands));
        Assert.That(PendingCommands.Intersect(commands), Is.Empty,
            "ratingctl has these commands now: remove them from PendingCommands here and add the worker to PublishedAppTests.Workers");
        Assert.That(PendingCommands, Is.SubsetOf(used));
    }

    [Test]
    public void Load_service_arguments_parse_and_validate_as_ratingctl_load()
    {
        var command = Yaml.List(Services["load"]["command"], "command").Cast<string>().Select(Substitute).ToArray();
        var parse = LoadCommand.Build().Parse(command[1..]);

        Assert.That(command[0], Is.EqualTo("load"));
        Assert.That(parse.Errors, Is.Empty);
        var options = new LoadCommand.Options(
            parse.GetValue<string>("--bootstrap")!, parse.GetValue<int>("--rate"), parse.GetValue<int>("--subscribers"), parse.GetValue<TimeSpan?>("--duration"), parse.GetValue<int>("--seed"));
        Assert.That(LoadCommand.Validate(options), Is.Null);
        Assert.That(options.Duration, Is.Null, "the lab's load runs until stopped");
    }

    [Test]
    public void Prometheus_and_grafana_are_provisioned_from_the_deploy_files()
    {
        var prometheus = Services["prometheus"];
        var grafana = Services["grafana"];
        var datasource = Yaml.Map(Yaml.List(Yaml.At(Yaml.Parse(RepoFiles.ReadText("deploy", "grafana", "provisioning", "datasources", "prometheus.yml")), "datasources"), "datasources").Single(), "datasource");
        var provider = Yaml.Map(Yaml.List(Yaml.At(Yaml.Parse(RepoFiles.ReadText("deploy", "grafana", "provisioning", "dashboards", "ratingpipeline.yml")), "providers"), "providers").Single(), "provider");
        var dashboardMount = Yaml.List(grafana["volumes"], "volumes").Cast<string>().Single(v => v.StartsWith("./grafana/ratingpipeline.json:", StringComparison.Ordinal)).Split(':')[1];
        var scrapeJobs = Yaml.List(Yaml.At(Yaml.Parse(RepoFiles.ReadText("deploy", "prometheus", "prometheus.yml")), "scrape_configs"), "scrape_configs").Select(j => (string)Yaml.At(j, "job_name")!);

        Assert.That(Yaml.List(prometheus["volumes"], "volumes"), Does.Contain("./prometheus:/etc/prometheus:ro"));
        Assert.That(datasource["url"], Is.EqualTo("http://prometheus:9090"));
        Assert.That(Path.GetDirectoryName(dashboardMount), Is.EqualTo(Yaml.At(provider, "options", "path")));
        Assert.That(scrapeJobs, Is.SupersetOf(new[] { "ratingpipeline-rater", "ratingpipeline-sender" }));
    }

    [Test]
    public void Topic_script_creates_every_product_topic_co_partitioned_with_compaction_and_notice_log_retention()
    {
        using var stub = new KafkaTopicsStub();

        var result = stub.RunScript(partitions: 6);
        var created = stub.CreatedTopics();

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(created.Keys, Is.EquivalentTo(TopicSet.All(new TopicNames())));
        Assert.Multiple(() =>
        {
            foreach (var (topic, (partitions, configs)) in created)
            {
                Assert.That(partitions, Is.EqualTo(6), topic);
                Assert.That(configs["cleanup.policy"], Is.EqualTo(topic is "subscribers" or "rater-state" or "rater-endpoints" ? "compact" : "delete"), topic);
                Assert.That(configs["min.insync.replicas"], Is.EqualTo("1"), topic);
            }

            foreach (var (topic, days) in new[] { ("notice-log", 153), ("bills", 153), ("rated-cdrs", 62), ("adjustments", 62) })
            {
                Assert.That(long.Parse(created[topic].Configs["retention.ms"], System.Globalization.CultureInfo.InvariantCulture),
                    Is.GreaterThanOrEqualTo((long)TimeSpan.FromDays(days).TotalMilliseconds), $"{topic} kept at least {days} days");
            }
        });
    }

    [Test]
    public void Topic_script_raises_a_shorter_retention_of_topics_that_existed_before_and_keeps_a_longer_one()
    {
        using var stub = new KafkaTopicsStub();
        const long Day = 86_400_000;

        // As a lab created before bills existed and rated-cdrs was kept for re-rating: 7 and 30 days; notice-log
        // set by hand to a year; bills created by hand without a retention of its own.
        var result = stub.RunScript(partitions: 6, existing: $"rated-cdrs={7 * Day} adjustments={30 * Day} notice-log={365 * Day} bills=");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(stub.AlteredRetentions(), Is.EquivalentTo(new Dictionary<string, long>
        {
            ["rated-cdrs"] = 62 * Day,
            ["adjustments"] = 62 * Day,
            ["bills"] = 153 * Day,
        }));
        Assert.That(result.Stdout, Does.Contain($"rated-cdrs retention.ms raised from {7 * Day} to {62 * Day}")
            .And.Contain($"bills retention.ms raised from the broker default to {153 * Day}"));
    }

    [Test]
    public void Topic_script_leaves_the_retention_of_topics_it_created_as_it_set_it()
    {
        using var stub = new KafkaTopicsStub();

        var result = stub.RunScript(partitions: 6);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(stub.AlteredRetentions(), Is.Empty);
    }

    [TestCase("AUDIT_RETENTION_DAYS", "152", "below 153 days")]
    [TestCase("RATED_RETENTION_DAYS", "61", "below 62 days")]
    [TestCase("RATED_RETENTION_DAYS", "2 months", "not a whole number of days")]
    public void Topic_script_refuses_a_retention_below_what_the_product_needs(string variable, string days, string message)
    {
        using var stub = new KafkaTopicsStub();

        var result = stub.RunScript(partitions: 6, environment: new() { [variable] = days });

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain($"{variable}={days} is").And.Contain(message));
        Assert.That(stub.Calls(), Is.Empty, "nothing created");
    }

    [Test]
    public void Topic_script_keeps_longer_retentions_and_passes_the_client_properties_to_every_call()
    {
        using var stub = new KafkaTopicsStub();
        const long Day = 86_400_000;

        var result = stub.RunScript(partitions: 6, environment: new()
        {
            ["AUDIT_RETENTION_DAYS"] = "400",
            ["RATED_RETENTION_DAYS"] = "93",
            ["COMMAND_CONFIG"] = "/etc/kafka-client/client.properties",
        });
        var created = stub.CreatedTopics();

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.Multiple(() =>
        {
            foreach (var (topic, days) in new[] { ("notice-log", 400L), ("bills", 400L), ("rated-cdrs", 93L), ("adjustments", 93L), ("cdrs", 7L) })
            {
                Assert.That(created[topic].Configs["retention.ms"], Is.EqualTo((days * Day).ToString(System.Globalization.CultureInfo.InvariantCulture)), topic);
            }

            Assert.That(stub.Calls(), Has.All.Contain("--command-config /etc/kafka-client/client.properties"));
        });
    }

    [Test]
    public void Topic_script_fails_when_an_existing_topic_has_another_partition_count()
    {
        using var stub = new KafkaTopicsStub();

        var result = stub.RunScript(partitions: 6, oddTopic: "rater-state");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("rater-state has 3 partitions, expected 6"));
    }

    [Test]
    public async Task Gateway_stand_in_accepts_a_notice_once_and_logs_only_the_last_digits()
    {
        var port = LoopbackPort.Free();
        using var gateway = ChildProcess.Start(Python, [Path.Combine(RepoFiles.Deploy, "gateway", "loopback_gateway.py"), port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            environment: new Dictionary<string, string?> { ["HOST"] = "127.0.0.1", ["FAIL_RATE"] = "0" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilAnswersAsync(http, "/healthz", gateway);

        // What the sender's HTTP channel sends: JSON {to, text, id} with the event id as Idempotency-Key.
        HttpResponseMessage Post() => http.Send(new HttpRequestMessage(HttpMethod.Post, "/sms")
        {
            Content = JsonContent.Create(new { to = "8613800000123", text = "Usage reminder", id = "86138:20261101:allowance:voice:80" }),
            Headers = { { "Idempotency-Key", "86138:20261101:allowance:voice:80" } },
        });
        using var first = Post();
        using var second = Post();
        using var invalid = await http.PostAsync(new Uri("/sms", UriKind.Relative), new StringContent("not json"));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(await first.Content.ReadAsStringAsync(), Does.Contain("\"accepted\""));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(await second.Content.ReadAsStringAsync(), Does.Contain("\"duplicate\""));
        Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        gateway.Terminate();
        Assert.That(gateway.WaitForExit(TimeSpan.FromSeconds(10)), Is.True);
        var notices = gateway.Stdout.Split('\n').Where(l => l.StartsWith("/sms", StringComparison.Ordinal)).ToList();
        Assert.That(notices, Has.Count.EqualTo(1));
        Assert.That(notices[0], Does.Contain("to=*********0123").And.Not.Contain("8613800000123"));
    }

    [Test]
    public async Task Gateway_stand_in_fails_every_request_at_fail_rate_1()
    {
        var port = LoopbackPort.Free();
        using var gateway = ChildProcess.Start(Python, [Path.Combine(RepoFiles.Deploy, "gateway", "loopback_gateway.py"), port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            environment: new Dictionary<string, string?> { ["HOST"] = "127.0.0.1", ["FAIL_RATE"] = "1" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilAnswersAsync(http, "/healthz", gateway);

        using var response = await http.PostAsJsonAsync(new Uri("/voice", UriKind.Relative), new { to = "8613800000123", text = "x", id = "e1" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
    }

    private static async Task WaitUntilAnswersAsync(HttpClient http, string path, ChildProcess process)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            Assert.That(process.HasExited, Is.False, $"{process.Command} exited: {process.Stderr}");
            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{process.Command} did not answer {path} within 20 s: {process.Stderr}");
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-|:\+)([^}]*)\}")]
    private static partial Regex Interpolation();

    [GeneratedRegex(@"^\s{2}([a-z][a-z-]*)\s", RegexOptions.Multiline)]
    private static partial Regex CommandLine();

    /// <summary>
    /// A stand-in for kafka-topics.sh: records every call and answers --describe with the partition count it was
    /// created with (or 3 for one chosen topic, to play a topic created earlier with another count). And one for
    /// kafka-configs.sh: answers --describe with the retention.ms a topic was created with, or, for a topic that
    /// existed before (its creation was a no-op), the one given (none: the broker default); records --alter.
    /// </summary>
    private sealed class KafkaTopicsStub : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("ratingpipeline-topics-").FullName;

        public KafkaTopicsStub()
        {
            File.WriteAllText(Script, """
                #!/bin/sh
                echo "$*" >> "$STUB_LOG"
                case "$*" in
                  *--describe*)
                    topic=$(echo "$*" | sed 's/.*--topic \([^ ]*\).*/\1/')
                    count="$PARTITIONS"
                    [ "$topic" = "$STUB_ODD_TOPIC" ] && count=3
                    printf 'Topic: %s\tTopicId: AAAA\tPartitionCount: %s\tReplicationFactor: 1\tConfigs:\n' "$topic" "$count"
                    ;;
                esac
                exit 0
                """.Replace("\r", "", StringComparison.Ordinal));
            File.WriteAllText(ConfigsScript, """
                #!/bin/sh
                echo "configs $*" >> "$STUB_LOG"
                case "$*" in
                  *--describe*)
                    topic=$(echo "$*" | sed 's/.*--entity-name \([^ ]*\).*/\1/')
                    if echo " $STUB_EXISTING " | grep -q " $topic="; then
                      value=$(echo " $STUB_EXISTING " | sed -n "s/.* $topic=\([^ ]*\) .*/\1/p")
                    else
                      value=$(grep -e "--create.* --topic $topic " "$STUB_LOG" | sed -n 's/.*retention\.ms=\([0-9]*\).*/\1/p' | tail -n 1)
                    fi
                    echo "Dynamic configs for topic $topic are:"
                    if [ -n "$value" ]; then
                      echo "  retention.ms=$value sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=$value}"
                    fi
                    ;;
                esac
                exit 0
                """.Replace("\r", "", StringComparison.Ordinal));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                File.SetUnixFileMode(ConfigsScript, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        private string Script => Path.Combine(_folder, "kafka-topics.sh");

        private string ConfigsScript => Path.Combine(_folder, "kafka-configs.sh");

        private string Log => Path.Combine(_folder, "calls.log");

        /// <param name="partitions">PARTITIONS.</param>
        /// <param name="oddTopic">A topic that exists with 3 partitions.</param>
        /// <param name="existing">Topics that exist from before, each with its retention.ms (empty: none set), e.g. "bills= rated-cdrs=604800000".</param>
        /// <param name="environment">More environment of the script.</param>
        public ToolResult RunScript(int partitions, string oddTopic = "", string existing = "", Dictionary<string, string?>? environment = null)
        {
            var variables = new Dictionary<string, string?>
            {
                ["KAFKA_TOPICS"] = Script,
                ["KAFKA_CONFIGS"] = ConfigsScript,
                ["BOOTSTRAP"] = "kafka:9092",
                ["PARTITIONS"] = partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["STUB_LOG"] = Log,
                ["STUB_ODD_TOPIC"] = oddTopic,
                ["STUB_EXISTING"] = existing,
            };
            foreach (var (name, value) in environment ?? [])
            {
                variables[name] = value;
            }

            return ChildProcess.Run("sh", [Path.Combine(RepoFiles.Deploy, "kafka", "create-topics.sh")], TimeSpan.FromSeconds(60), _folder, variables);
        }

        /// <summary>Every call of either tool, as its arguments.</summary>
        public string[] Calls() => File.Exists(Log) ? File.ReadAllLines(Log) : [];

        /// <summary>The retention.ms each topic was altered to.</summary>
        public Dictionary<string, long> AlteredRetentions() =>
            Calls().Where(l => l.StartsWith("configs ", StringComparison.Ordinal) && l.Contains("--alter", StringComparison.Ordinal))
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .ToDictionary(
                    w => w[Array.IndexOf(w, "--entity-name") + 1],
                    w => long.Parse(w[Array.IndexOf(w, "--add-config") + 1].Split('=')[1], System.Globalization.CultureInfo.InvariantCulture));

        public Dictionary<string, (int Partitions, Dictionary<string, string> Configs)> CreatedTopics()
        {
            var created = new Dictionary<string, (int, Dictionary<string, string>)>();
            foreach (var line in Calls().Where(l => l.Contains("--create", StringComparison.Ordinal)))
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string After(string flag) => words[Array.IndexOf(words, flag) + 1];
                var configs = words.Select((w, i) => (w, i)).Where(x => x.w == "--config").Select(x => words[x.i + 1].Split('=', 2))
                    .ToDictionary(kv => kv[0], kv => kv[1]);
                created[After("--topic")] = (int.Parse(After("--partitions"), System.Globalization.CultureInfo.InvariantCulture), configs);
            }

            return created;
        }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}
