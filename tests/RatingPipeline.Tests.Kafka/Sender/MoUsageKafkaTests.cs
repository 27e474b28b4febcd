using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Testing;
using RatingPipeline.Tests.Kafka;
using RatingPipeline.Tests.Rater;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// <c>查询</c> / <c>CXLL</c> by SMS end to end: the gateway posts the SMS to the sender's real <c>/v1/mo</c>, the sender
/// asks a real rater's usage query API over HTTP on 127.0.0.1 (two raters on the embedded cluster: the one asked
/// redirects to the owner for half of the subscribers), and the reply SMS reaches the real loopback gateway with the
/// figures the rater answers; without a configured or reachable rater the subscriber is told so, and notice-log says why.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("sender")]
[Category("kafka")]
public sealed class MoUsageKafkaTests() : RaterClusterFixture("mo-usage")
{
    private const string MoToken = "mo-token-for-usage-tests";
    private const string QueryToken = "query-token-0123456789abcdef";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };

    [Test]
    public async Task Cxll_is_answered_with_the_figures_the_owning_rater_answers_also_through_its_redirect()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 40, 800, seed: 31);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("mo-usage"));
        OfflineComparison.ProduceProfiles(Bootstrap, data, topics);
        using (var producer = new TestProducer(Bootstrap))
        {
            foreach (var cdr in data.Cdrs)
            {
                producer.Produce(topics.Cdrs, RecordKeys.Of(cdr), cdr);
            }

            producer.Flush();
        }

        var group = $"{topics.Cdrs}-rater";
        var a = Raters.Start(RaterSettings(topics, data.TariffPath, group, "usage-a"));
        await a.WaitReadyAsync(Patience);
        var b = Raters.Start(RaterSettings(topics, data.TariffPath, group, "usage-b"));
        await b.WaitReadyAsync(Patience);
        using (var progress = new GroupProgress(Bootstrap, group, topics.Cdrs, Cluster.Partitions))
        {
            await progress.WaitUntilCaughtUpAsync(Patience);
        }

        // Once the group has shared the partitions, A answers some subscribers itself and redirects the others to B.
        var msisdns = data.Profiles.Select(p => RecordKeys.Of(p)).ToList();
        var statuses = new Dictionary<string, HttpStatusCode>();
        var shared = await Poll.UntilAsync(async () =>
        {
            foreach (var msisdn in msisdns)
            {
                using var response = await GetUsageAsync(new Uri($"{a.Settings.BaseUrl}/v1/subscribers/{msisdn}/usage"));
                statuses[msisdn] = response.StatusCode;
            }

            return statuses.Values.All(s => s is HttpStatusCode.OK or HttpStatusCode.TemporaryRedirect)
                && statuses.Values.Contains(HttpStatusCode.OK) && statuses.Values.Contains(HttpStatusCode.TemporaryRedirect);
        }, Patience, TimeSpan.FromMilliseconds(500));
        Assert.That(shared, Is.True, "A answers some and redirects the others: " + string.Join(", ", statuses.Values.GroupBy(s => s).Select(g => $"{(int)g.Key} ×{g.Count()}")));
        var ownedByA = statuses.First(s => s.Value == HttpStatusCode.OK).Key;
        var ownedByB = statuses.First(s => s.Value == HttpStatusCode.TemporaryRedirect).Key;
        Assert.That(await Poll.UntilAsync(async () =>
        {
            using var response = await GetUsageAsync(new Uri($"{b.Settings.BaseUrl}/v1/subscribers/{ownedByB}/usage"));
            return response.StatusCode == HttpStatusCode.OK;
        }, Patience), Is.True, "B answers what it owns");

        await using var gateway = await LoopbackGateway.StartAsync();
        var (sender, http) = await StartSenderAsync(topics, gateway, "sender-usage", a.Settings.BaseUrl);
        await using var _ = sender;
        using var __ = http;

        foreach (var (msisdn, text, id) in new[] { (ownedByA, "CXLL", "u-a"), (ownedByB, "查询", "u-b") })
        {
            Assert.That((await PostMoAsync(http, msisdn, text, id)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        }

        Assert.That(await Poll.UntilAsync(() => Replies(gateway, ownedByA, "u-a").Count == 1 && Replies(gateway, ownedByB, "u-b").Count == 1, Patience), Is.True,
            "both replies reached the gateway");

        // The figures of each reply are those of the owner's answer (asked directly, after the SMS: nothing was rated since).
        var renderer = sender.Services.GetRequiredService<MoRenderer>();
        foreach (var (msisdn, id, owner) in new[] { (ownedByA, "u-a", a.Settings.BaseUrl), (ownedByB, "u-b", b.Settings.BaseUrl) })
        {
            using var response = await GetUsageAsync(new Uri($"{owner}/v1/subscribers/{msisdn}/usage"));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{owner} owns {msisdn}");
            var body = await response.Content.ReadAsByteArrayAsync();
            using var answer = JsonDocument.Parse(body);
            var root = answer.RootElement;
            var language = Language(data, msisdn);
            var reply = Replies(gateway, msisdn, id).Single();
            var usage = root.GetProperty("usage");
            Assert.Multiple(() =>
            {
                Assert.That(reply, Is.EqualTo(renderer.Usage(UsageSummary.TryParse(body)!, language)), $"{msisdn}: the reply renders the rater's answer");
                Assert.That(reply, Does.Contain(Figures.Money(root.GetProperty("spend").GetInt64(), language)), $"{msisdn}: spend");
                foreach (var type in UsageSummary.Types)
                {
                    Assert.That(reply, Does.Contain(Figures.Volume(type, usage.GetProperty(type).GetProperty("used").GetInt64(), language)), $"{msisdn}: {type} used");
                    Assert.That(reply, Does.Contain(Figures.Volume(type, usage.GetProperty(type).GetProperty("remaining").GetInt64(), language)), $"{msisdn}: {type} remaining");
                }

                if (root.GetProperty("prepaid") is { ValueKind: JsonValueKind.Object } prepaid)
                {
                    Assert.That(reply, Does.Contain(Figures.Money(prepaid.GetProperty("remaining").GetInt64(), language)), $"{msisdn}: balance");
                }

                Assert.That(SmsSegments.Measure(reply).Segments, Is.LessThanOrEqualTo(new SenderOptions().MaxSmsSegments));
            });
        }

        Assert.That(data.Profiles.Select(p => Encoding.UTF8.GetString(p)).Any(p => p.Contains("\"balance\"", StringComparison.Ordinal)), Is.True, "the data has prepaid subscribers");
        var log = await AnsweredAsync(topics, 2);
        Assert.Multiple(() =>
        {
            Assert.That(log.Select(r => (r.MoId, r.Command, r.Outcome, r.Replies, r.Reason)),
                Is.EquivalentTo(new (string?, string?, string, int?, string?)[] { ("u-a", "usage", NoticeOutcomes.Answered, 1, null), ("u-b", "usage", NoticeOutcomes.Answered, 1, null) }));
        });
    }

    [Test]
    public async Task Without_a_configured_rater_the_reply_says_not_available_and_with_an_unreachable_one_try_again_later()
    {
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("mo-usage-off"));
        var m = SenderKafkaKit.Msisdn(41);
        Kcat.Produce(Bootstrap, topics.Subscribers, [(m, ProfileJson.Make(m))]);
        await using var gateway = await LoopbackGateway.StartAsync();

        var (off, http) = await StartSenderAsync(topics, gateway, "sender-usage-off", usageUrl: null);
        await using (off)
        using (http)
        {
            Assert.That((await PostMoAsync(http, m, "查询", "off-1")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await Poll.UntilAsync(() => Replies(gateway, m, "off-1").Count == 1, Patience), Is.True);
        }

        // A rater address where nothing listens: the connection is refused on every attempt.
        var closed = $"http://127.0.0.1:{LoopbackPort.Free()}";
        var (down, http2) = await StartSenderAsync(topics, gateway, "sender-usage-down", closed);
        await using (down)
        using (http2)
        {
            Assert.That((await PostMoAsync(http2, m, "cxll", "down-1")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(await Poll.UntilAsync(() => Replies(gateway, m, "down-1").Count == 1, Patience), Is.True);
            var metrics = await http2.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Assert.That(metrics, Does.Contain("ratingpipeline_mo_usage_lookups_total{result=\"later\"}"));
        }

        var log = await AnsweredAsync(topics, 2);
        Assert.Multiple(() =>
        {
            Assert.That(Replies(gateway, m, "off-1").Single(), Is.EqualTo("【用量查询】短信查询用量暂不可用。查询用量请访问https://my.operator.example"));
            Assert.That(Replies(gateway, m, "down-1").Single(), Is.EqualTo("【用量查询】暂时无法查询您的用量，请稍后再试。查询用量请访问https://my.operator.example"));
            var offRecord = log.Single(r => r.MoId == "off-1");
            Assert.That((offRecord.Command, offRecord.Outcome, offRecord.Replies), Is.EqualTo(("usage", NoticeOutcomes.Answered, (int?)1)));
            Assert.That(offRecord.Reason, Does.Contain("Sender:UsageApi:Url"));
            var downRecord = log.Single(r => r.MoId == "down-1");
            Assert.That((downRecord.Command, downRecord.Outcome), Is.EqualTo(("usage", NoticeOutcomes.Answered)));
            Assert.That(downRecord.Reason, Does.Contain("after 3 attempt(s)"), "the first attempt and two retries");
            var all = NoticeLog(topics);
            Assert.That(all.Where(r => r.Kind == MoKinds.Reply).Select(r => r.Outcome), Is.EqualTo(new[] { NoticeOutcomes.Sent, NoticeOutcomes.Sent }), "each reply recorded");
        });
    }

    private RaterSettings RaterSettings(TopicNames topics, string tariffPath, string group, string instance) =>
        new RaterSettings(Bootstrap, topics, group, tariffPath, instance).WithShortSession().Set("Http:Auth:Token", QueryToken);

    private async Task<(WebApplication App, HttpClient Http)> StartSenderAsync(TopicNames topics, LoopbackGateway gateway, string group, string? usageUrl)
    {
        var config = SenderKafkaKit.Config(Bootstrap, gateway, group);
        config[BearerToken.ConfigurationKey] = MoToken;
        foreach (var (key, value) in new RaterSettings(Bootstrap, topics, group, "unused", "unused").Values.Where(v => v.Key.StartsWith("Topics:", StringComparison.Ordinal)))
        {
            config[key] = value;
        }

        if (usageUrl is not null)
        {
            config["Sender:UsageApi:Url"] = usageUrl;
            config["Sender:UsageApi:Token"] = QueryToken;
            config["Sender:UsageApi:RetryDelay"] = "00:00:00.050";
        }

        var app = await SenderKafkaKit.StartSenderAsync(config, patience: Patience);
        return (app, SenderKafkaKit.Http(app));
    }

    private static Task<HttpResponseMessage> PostMoAsync(HttpClient http, string from, string text, string id) =>
        SenderKafkaKit.PostMoAsync(http, from, text, id, MoToken);

    private static Task<HttpResponseMessage> GetUsageAsync(Uri uri)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", QueryToken);
        return Http.SendAsync(request);
    }

    private static List<string> Replies(LoopbackGateway gateway, string msisdn, string moId) => SenderKafkaKit.Replies(gateway, msisdn, moId);

    private List<NoticeRecord> NoticeLog(TopicNames topics) => SenderKafkaKit.NoticeLog(Bootstrap, topics.NoticeLog);

    /// <summary>The <c>answered</c> records, once there are <paramref name="count"/> (written after the replies).</summary>
    private async Task<List<NoticeRecord>> AnsweredAsync(TopicNames topics, int count)
    {
        List<NoticeRecord> answered = [];
        await Poll.UntilAsync(() => (answered = [.. NoticeLog(topics).Where(r => r.Kind == MoKinds.Mo && r.Outcome != NoticeOutcomes.Received)]).Count >= count, Patience);
        Assert.That(answered, Has.Count.EqualTo(count), "answered records in notice-log");
        return answered;
    }

    private static string Language(SyntheticSet data, string msisdn)
    {
        var profile = JsonNode.Parse(data.Profiles.Single(p => RecordKeys.Of(p) == msisdn))!;
        return NoticeTemplates.Normalise((string?)profile["language"]);
    }
}
