using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;
using RatingPipeline.Records;
using RatingPipeline.Tests.Schemas;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The usage query API (docs/self-service.md) over real HTTP on 127.0.0.1 against raters on the embedded cluster: the
/// answer is the state the offline engine reaches over the same input, a non-owner redirects to the owner, a partition
/// being restored answers 503, and the token, the rate limit and unknown subscribers are refused as documented.
/// </summary>
[TestFixture]
[Category("kafka")]
[Category("rater")]
public sealed class UsageApiTests() : RaterClusterFixture("usage")
{
    private const string Token = "usage-test-token-0123456789abcdef";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };

    [Test]
    public async Task The_answer_for_100_random_subscribers_is_the_state_the_offline_engine_reaches_over_the_same_stream()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 400, 8_000, seed: 16);
        var profiles = WithServices(data.Profiles);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("usage"));
        Produce(topics.Subscribers, profiles);
        var settings = Settings(topics, data.TariffPath, "usage-1").Set("Http:RateLimit:PermitLimit", "10000");
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);
        await using var rater = await InProcessRater.StartAsync(settings);
        await rater.WaitReadyAsync(Patience);

        // Queries while CDRs stream in are answered: the profile is held, with or without traffic so far.
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 400, pause: TimeSpan.FromMilliseconds(20)))
        {
            var during = 0;
            while (stream.Produced < stream.Total && during < 50)
            {
                using var response = await GetAsync(settings.BaseUrl, MsisdnOf(profiles[during % profiles.Count]), Token);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a held subscriber while rating");
                during++;
            }

            await stream.WaitCompleteAsync(Patience);
        }

        // Then clocks past the last CDR close the cycles and charge the fees of the next ones.
        var clockAt = DateTimeOffset.Parse(data.Cdrs.Select(StartOf).Max()!, System.Globalization.CultureInfo.InvariantCulture).AddDays(3);
        var clock = Encoding.UTF8.GetBytes($"{{\"type\":\"clock\",\"at\":\"{clockAt.ToOffset(TimeSpan.FromHours(8)):yyyy-MM-ddTHH:mm:sszzz}\"}}");
        using (var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(Bootstrap), keepClientLog: true))
        {
            var clocks = new AcknowledgementGroup();
            for (var partition = 0; partition < Cluster.Partitions; partition++)
            {
                producer.Produce(new Confluent.Kafka.TopicPartition(topics.Cdrs, partition), new Confluent.Kafka.Message<byte[], byte[]> { Key = null!, Value = clock }, clocks);
            }

            await producer.AwaitAsync(clocks, TimeSpan.FromSeconds(30), "clocks");
        }

        await progress.WaitUntilCaughtUpAsync(Patience);

        // The reference: the engine offline, one model per partition (a clock acts on the profiles of its own partition),
        // over the records as they sit in the topic, with their offsets.
        var cdrs = TopicReader.ReadAll(Bootstrap, topics.Cdrs, Cluster.Partitions);
        var byPartition = profiles.GroupBy(p => KeyPartitioner.Partition(KeyPartitioner.Consistent, Encoding.ASCII.GetBytes(MsisdnOf(p)), Cluster.Partitions))
            .ToDictionary(g => g.Key, g => g.ToList());
        var models = new Dictionary<int, OfflineModel>();
        foreach (var (partition, lines) in byPartition)
        {
            models[partition] = new OfflineModel(data.Tariff, lines);
            models[partition].Apply(cdrs.Where(r => r.Partition == partition));
        }

        var schema = await RecordSchemas.LoadAsync(RecordSchemas.Usage);
        var random = new Random(16);
        var problems = new List<string>();
        var fees = 0;
        var states = 0;
        foreach (var line in profiles.OrderBy(_ => random.Next()).Take(100))
        {
            var msisdn = MsisdnOf(line);
            var partition = byPartition.Single(p => p.Value.Contains(line)).Key;
            Assert.That(cdrs.Where(r => r.Key is not null && r.KeyText == msisdn).Select(r => r.Partition).Distinct(), Is.All.EqualTo(partition),
                $"{msisdn}: its CDRs are on the partition the consistent partitioner gives");
            using var response = await GetAsync(settings.BaseUrl, msisdn, Token);
            var body = await response.Content.ReadAsByteArrayAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), Encoding.UTF8.GetString(body));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(RecordSchemas.Check(schema, body).Verdict, Is.EqualTo(Verdict.Pass), $"{msisdn}: {RecordSchemas.Check(schema, body)}");

            var engine = models[partition].Engine;
            Assert.That(MsisdnKey.TryCompute(msisdn, out var key), Is.True);
            var hasState = engine.TryGetState(key, out var state);
            var expected = UsageReport.Build(engine.ProfileOf(key)!, hasState, in state, data.Tariff, partition).ToJson();
            if (!JsonNode.DeepEquals(JsonNode.Parse(body), JsonNode.Parse(expected)))
            {
                problems.Add($"{msisdn}: answered {Encoding.UTF8.GetString(body)}{Environment.NewLine}  offline {Encoding.UTF8.GetString(expected)}");
            }

            // The members read straight from the offline state, not through the report.
            using var answer = JsonDocument.Parse(body);
            var root = answer.RootElement;
            Assert.That(hasState, Is.True, $"{msisdn} has a state after the clock");
            states++;
            Assert.That(root.GetProperty("offsetTag").GetInt64(), Is.EqualTo(state.OffsetTag), $"{msisdn}: offset tag");
            Assert.That(root.GetProperty("spend").GetInt64(), Is.EqualTo(state.Counters.Spend), $"{msisdn}: spend");
            Assert.That(root.GetProperty("usage").GetProperty("data").GetProperty("used").GetInt64(), Is.EqualTo(state.Counters.Used[(int)CdrType.Data]), $"{msisdn}: data used");
            Assert.That(root.GetProperty("cycle").GetString(), Is.EqualTo(Time.BillingCycle.ToText(state.CycleDay)), $"{msisdn}: cycle");
            fees += root.GetProperty("fees").GetArrayLength();
        }

        Assert.That(problems, Is.Empty, $"{problems.Count} of 100 answers differ from the offline state");
        Assert.That(states, Is.EqualTo(100), "every subscriber asked has a state");
        Assert.That(fees, Is.GreaterThan(0), "the clock charged fees that the answers show");
    }

    [Test]
    public async Task Without_the_token_or_with_a_wrong_one_the_query_is_refused_401_and_without_a_configured_token_403()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 20, 100, seed: 17);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("auth"));
        Produce(topics.Subscribers, data.Profiles);
        var settings = Settings(topics, data.TariffPath, "auth-1");
        await using (var rater = await InProcessRater.StartAsync(settings))
        {
            await rater.WaitReadyAsync(Patience);
            var msisdn = MsisdnOf(data.Profiles[0]);
            using var none = await GetAsync(settings.BaseUrl, msisdn, token: null);
            Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "no token");
            Assert.That(none.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
            Assert.That(await none.Content.ReadAsStringAsync(), Does.Contain("bearer token is required"));
            using var wrong = await GetAsync(settings.BaseUrl, msisdn, "not-the-token-0123456789");
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "wrong token");
            using var right = await GetAsync(settings.BaseUrl, msisdn, Token);
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the token");
            using var unknown = await GetAsync(settings.BaseUrl, "8613999999999", Token);
            Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "unknown subscriber");
            Assert.That(await unknown.Content.ReadAsStringAsync(), Does.Contain("no such subscriber"));
            using var bad = await GetAsync(settings.BaseUrl, "12ab", Token);
            Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "not an msisdn");
            var metrics = await Http.GetStringAsync($"{settings.BaseUrl}/metrics");
            Assert.That(metrics, Does.Contain("ratingpipeline_usage_queries_total{status=\"401\"}"), "refusals counted by status");
            Assert.That(metrics, Does.Not.Contain(msisdn), "no msisdn in the metrics");
        }

        var open = Settings(topics, data.TariffPath, "auth-2", token: null);
        await using (var rater = await InProcessRater.StartAsync(open))
        {
            using var refused = await GetAsync(open.BaseUrl, MsisdnOf(data.Profiles[0]), Token);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "no token configured");
            Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("Http:Auth:Token"));
        }
    }

    [Test]
    public async Task Queries_past_the_rate_limit_are_refused_429_until_the_window_ends()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 20, 100, seed: 18);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("limit"));
        Produce(topics.Subscribers, data.Profiles);
        var settings = Settings(topics, data.TariffPath, "limit-1").Set("Http:RateLimit:PermitLimit", "3").Set("Http:RateLimit:Window", "00:01:00");
        await using var rater = await InProcessRater.StartAsync(settings);
        await rater.WaitReadyAsync(Patience);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await GetAsync(settings.BaseUrl, MsisdnOf(data.Profiles[i]), Token);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.That(response.Headers.RetryAfter, Is.Not.Null, "429 says when to retry");
            }
        }

        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests }));
        using var health = await Http.GetAsync($"{settings.BaseUrl}/healthz/live");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), "health is not limited");
    }

    [Test]
    public async Task An_instance_that_does_not_own_the_subscribers_partition_redirects_307_to_the_owner_which_answers()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 60, 600, seed: 19);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("owner"));
        Produce(topics.Subscribers, data.Profiles);
        Produce(topics.Cdrs, data.Cdrs);
        var a = Raters.Start(Settings(topics, data.TariffPath, "owner-a").WithShortSession());
        await a.WaitReadyAsync(Patience);
        var b = Raters.Start(Settings(topics, data.TariffPath, "owner-b").WithShortSession());

        // Once the group has shared the partitions, A answers some subscribers itself and sends the others to B.
        var msisdns = data.Profiles.Select(MsisdnOf).ToList();
        Dictionary<string, HttpResponseMessage> answers = [];
        var shared = await Poll.UntilAsync(async () =>
        {
            foreach (var response in answers.Values)
            {
                response.Dispose();
            }

            answers = [];
            foreach (var msisdn in msisdns)
            {
                answers[msisdn] = await GetAsync(a.Settings.BaseUrl, msisdn, Token);
            }

            return answers.Values.All(r => r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TemporaryRedirect)
                && answers.Values.Any(r => r.StatusCode == HttpStatusCode.OK) && answers.Values.Any(r => r.StatusCode == HttpStatusCode.TemporaryRedirect)
                && answers.Values.Where(r => r.StatusCode == HttpStatusCode.TemporaryRedirect).All(r => r.Headers.Location!.ToString().StartsWith(b.Settings.BaseUrl, StringComparison.Ordinal));
        }, Patience, TimeSpan.FromMilliseconds(500));
        Assert.That(shared, Is.True, "A answers some and redirects the others to B: "
            + string.Join(", ", answers.Values.GroupBy(r => $"{(int)r.StatusCode} {r.Headers.Location}").Select(g => $"{g.Key} ×{g.Count()}")));

        foreach (var (msisdn, response) in answers.Where(r => r.Value.StatusCode == HttpStatusCode.TemporaryRedirect))
        {
            Assert.That(response.Headers.Location!.ToString(), Is.EqualTo($"{b.Settings.BaseUrl}/v1/subscribers/{msisdn}/usage"));
            using var followed = await GetAsync(response.Headers.Location!, Token);
            Assert.That(followed.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"B answers {msisdn}");
            using var document = JsonDocument.Parse(await followed.Content.ReadAsStringAsync());
            Assert.That(document.RootElement.GetProperty("msisdn").GetString(), Is.EqualTo(msisdn));
        }

        // B redirects what A owns to A.
        var ownedByA = answers.First(r => r.Value.StatusCode == HttpStatusCode.OK).Key;
        using var back = await GetAsync(b.Settings.BaseUrl, ownedByA, Token);
        Assert.That(back.StatusCode, Is.EqualTo(HttpStatusCode.TemporaryRedirect));
        Assert.That(back.Headers.Location!.ToString(), Does.StartWith(a.Settings.BaseUrl));

        // ratingctl usage follows the redirect with the token and prints the answer.
        var redirected = answers.First(r => r.Value.StatusCode == HttpStatusCode.TemporaryRedirect).Key;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await RatingPipeline.Cli.Commands.UsageCommand.RunAsync(new RatingPipeline.Cli.Commands.UsageOptions(redirected, a.Settings.BaseUrl, Token), stdout, stderr, CancellationToken.None);
        Assert.That(exit, Is.Zero, stderr.ToString());
        Assert.That(stdout.ToString(), Does.Contain($"usage of {redirected}").And.Contain("voice").And.Contain("remaining"));
        Assert.That(stderr.ToString(), Does.Contain($"answered by {b.Settings.BaseUrl}"));
        // Every query is logged with the msisdn masked and the caller; no log line holds a whole msisdn.
        var logs = a.Diagnostics() + b.Diagnostics();
        Assert.That(logs, Does.Match(@"Usage query for \*+\d{4} from 127\.0\.0\.1:\d+ with token [0-9a-f]{8}: 307"));
        Assert.That(logs, Does.Not.Contain(Token), "the token itself is never logged");
        foreach (var msisdn in msisdns)
        {
            Assert.That(logs, Does.Not.Contain(msisdn), "unmasked msisdn in a log line");
        }

        foreach (var response in answers.Values)
        {
            response.Dispose();
        }
    }

    [Test]
    public async Task While_the_subscribers_partition_is_restored_the_query_is_answered_503_with_Retry_After()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 200, 100, seed: 20);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("restore"));
        Produce(topics.Subscribers, data.Profiles);
        var settings = Settings(topics, data.TariffPath, "restore-1");
        var msisdn = MsisdnOf(data.Profiles[0]);

        // A slow cluster (every response 300 ms late) makes the restore of each partition take seconds.
        HttpStatusCode? seen = null;
        string body = "";
        TimeSpan? retryAfter = null;
        Cluster.Mock.SetBrokerRtt(-1, TimeSpan.FromMilliseconds(300));
        InProcessRater rater;
        try
        {
            rater = await InProcessRater.StartAsync(settings);
            var restoring = await Poll.UntilAsync(async () =>
            {
                try
                {
                    using var response = await GetAsync(settings.BaseUrl, msisdn, Token);
                    body = await response.Content.ReadAsStringAsync();
                    seen = response.StatusCode;
                    retryAfter = response.Headers.RetryAfter?.Delta;
                    return body.Contains("being restored", StringComparison.Ordinal);
                }
                catch (HttpRequestException)
                {
                    return false; // not listening yet
                }
            }, Patience, TimeSpan.FromMilliseconds(50));
            Assert.That(restoring, Is.True, $"a 503 naming the restore was seen; last {seen} {body}");
        }
        finally
        {
            Cluster.Mock.SetBrokerRtt(-1, TimeSpan.Zero);
        }

        await using (rater)
        {
            Assert.That(seen, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(retryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)), "Retry-After");
            await rater.WaitReadyAsync(Patience);
            using var after = await GetAsync(settings.BaseUrl, msisdn, Token);
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK), "answered once restored");
        }
    }

    [Test]
    public void The_partitioners_give_the_partition_librdkafka_producers_put_a_key_on()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 7);
        foreach (var partitioner in new[] { ("consistent", KeyPartitioner.Consistent), ("murmur2", KeyPartitioner.Murmur2) })
        {
            var config = KafkaClientTuning.Producer(cluster.BootstrapServers);
            config.Set("partitioner", partitioner.Item1);
            using var producer = new Confluent.Kafka.ProducerBuilder<byte[], byte[]>(config).Build();
            for (var i = 0; i < 50; i++)
            {
                var key = Encoding.ASCII.GetBytes($"86138{i * 7919:D8}");
                var delivered = producer.ProduceAsync(cluster.Topics.Cdrs, new Confluent.Kafka.Message<byte[], byte[]> { Key = key, Value = [1] }).GetAwaiter().GetResult();
                Assert.That(KeyPartitioner.Partition(partitioner.Item2, key, 7), Is.EqualTo(delivered.Partition.Value), $"{partitioner.Item1} of {Encoding.ASCII.GetString(key)}");
            }
        }
    }

    private RaterSettings Settings(TopicNames topics, string tariffPath, string instance, string? token = Token)
    {
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", tariffPath, instance);
        if (token is not null)
        {
            settings.Set("Http:Auth:Token", token);
        }

        return settings;
    }

    private void Produce(string topic, IEnumerable<byte[]> lines)
    {
        using var producer = new TestProducer(Bootstrap);
        foreach (var line in lines)
        {
            producer.Produce(topic, RecordKeys.Of(line), line);
        }

        producer.Flush();
    }

    private static Task<HttpResponseMessage> GetAsync(string baseUrl, string msisdn, string? token) =>
        GetAsync(new Uri($"{baseUrl}/v1/subscribers/{msisdn}/usage"), token);

    private static Task<HttpResponseMessage> GetAsync(Uri uri, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return Http.SendAsync(request);
    }

    private static string MsisdnOf(byte[] profile) => RecordKeys.Of(profile);

    private static string StartOf(byte[] cdr)
    {
        try
        {
            using var document = JsonDocument.Parse(cdr);
            return document.RootElement.TryGetProperty("start", out var start) && start.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(start.GetString(), System.Globalization.CultureInfo.InvariantCulture, out var at) && at.Year < 2100
                ? at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }

    /// <summary>Every tenth profile gets two monthly services (the second cancelled later), so fees and next charges are answered.</summary>
    private static List<byte[]> WithServices(List<byte[]> profiles) => [.. profiles.Select((line, i) =>
    {
        if (i % 10 != 0)
        {
            return line;
        }

        var profile = JsonNode.Parse(line)!.AsObject();
        profile["services"] = JsonNode.Parse("""
            [{"id":"music","name":{"zh":"音乐","en":"Music"},"price":5000000,"orderedAt":"2026-11-01T12:00:00+08:00"},
             {"id":"news","name":{"zh":"新闻","en":"News"},"price":2000000,"orderedAt":"2026-11-01T12:00:00+08:00","cancelledAt":"2026-11-20T00:00:00+08:00"}]
            """);
        return Encoding.UTF8.GetBytes(profile.ToJsonString());
    })];
}
