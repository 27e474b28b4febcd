using System.Net;
using System.Net.Http.Headers;
using System.Text;
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
using RatingPipeline.Subscribers;
using RatingPipeline.Tests.Kafka;
using RatingPipeline.Tests.Support;
using static RatingPipeline.Tests.Sender.SenderKafkaKit;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// <c>0000</c> by SMS end to end: the gateway posts the SMS to the sender's real HTTP listener, the sender answers
/// through the real loopback SMS gateway, cancels on the embedded cluster's <c>subscribers</c>, and records all in
/// <c>notice-log</c>; the rating engine then charges nothing more for a cancelled service.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("sender")]
[Category("kafka")]
public sealed class MoSmsKafkaTests
{
    private const string Token = "s3cret-token-for-tests";
    private static string At(DateTimeOffset t) => t.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A profile of plan <c>p</c> (the test tariff's) with two monthly services ordered ten days ago.</summary>
    private static string ProfileWithServices(string msisdn, DateTimeOffset orderedAt, string language = "zh") =>
        $$"""{"msisdn":"{{msisdn}}","plan":"p","cycleDay":1,"language":"{{language}}","bssRef":"kept-as-is","services":[{"id":"news","name":{"zh":"新闻早报","en":"Morning news"},"price":5000000,"orderedAt":"{{At(orderedAt)}}"},{"id":"music","name":{"zh":"音乐会员","en":"Music club"},"price":3000000,"orderedAt":"{{At(orderedAt)}}"}]}""";

    private static async Task<(WebApplication App, HttpClient Http)> StartAsync(EmbeddedCluster cluster, LoopbackGateway gateway, string group, string? token = Token)
    {
        var config = Config(cluster.BootstrapServers, gateway, group);
        if (token is not null)
        {
            config[BearerToken.ConfigurationKey] = token;
        }

        var app = await StartSenderAsync(config);
        return (app, Http(app));
    }

    private static Task<HttpResponseMessage> PostMoAsync(HttpClient http, string from, string text, string id, string? token = Token) =>
        SenderKafkaKit.PostMoAsync(http, from, text, id, token);

    private static List<NoticeRecord> NoticeLog(EmbeddedCluster cluster) => SenderKafkaKit.NoticeLog(cluster.BootstrapServers, cluster.Topics.NoticeLog);

    [Test]
    public async Task Send_0000_lists_the_services_TD_1_cancels_the_first_on_subscribers_and_the_engine_charges_it_no_more()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false; // count what the sender sends
        var m = Msisdn(21);
        var orderedAt = DateTimeOffset.UtcNow.AddDays(-10);
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Subscribers, [(m, ProfileWithServices(m, orderedAt))]);
        var (app, http) = await StartAsync(cluster, gateway, "sender-mo-flow");
        await using var _ = app;
        using var __ = http;

        // 0000: the list, numbered, with price and next charge, and how to cancel.
        Assert.That((await PostMoAsync(http, "+" + m, "0000", "mo-1")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(WaitFor(() => Replies(gateway, m, "mo-1").Count == 1), Is.True, "the list was sent");
        var list = Replies(gateway, m, "mo-1").Single();
        Assert.Multiple(() =>
        {
            Assert.That(list, Does.StartWith("【包月业务】您订购的包月业务：1.新闻早报，5.00元/月，下次扣费"));
            Assert.That(list, Does.Contain("2.音乐会员，3.00元/月，下次扣费"));
            Assert.That(list, Does.Contain("回复TD加序号"));
        });

        // TD 1 (full-width, as a phone may send it): news cancelled on subscribers, then the confirmation.
        var beforeCancel = DateTimeOffset.UtcNow;
        Assert.That((await PostMoAsync(http, m, "ＴＤ　１", "mo-2")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(WaitFor(() => Replies(gateway, m, "mo-2").Count == 1), Is.True, "the confirmation was sent");
        Assert.That(Replies(gateway, m, "mo-2").Single(), Is.EqualTo("【退订成功】已为您退订：1.新闻早报；以上业务不会再收费。"));

        var profiles = Kcat.ConsumeToEnd(cluster.BootstrapServers, cluster.Topics.Subscribers).Where(r => r.Key == m).ToList();
        Assert.That(profiles, Has.Count.EqualTo(2), "the BSS's profile, then the sender's");
        var published = JsonNode.Parse(profiles[^1].Value!)!;
        var cancelledAt = (string?)published["services"]![0]!["cancelledAt"];
        Assert.Multiple(() =>
        {
            Assert.That(cancelledAt, Is.Not.Null, "news has cancelledAt");
            Assert.That(DateTimeOffset.Parse(cancelledAt!, System.Globalization.CultureInfo.InvariantCulture), Is.InRange(beforeCancel.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1)));
            Assert.That(published["services"]![1]!["cancelledAt"], Is.Null, "music is kept");
            Assert.That((string?)published["bssRef"], Is.EqualTo("kept-as-is"), "members the sender does not know are kept");
            Assert.That(profiles[^1].Partition, Is.EqualTo(profiles[0].Partition), "written to the profile's own partition");
        });

        // After the cancel: 0000 lists music only, under its own number.
        Assert.That((await PostMoAsync(http, m, "0000", "mo-3")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(WaitFor(() => Replies(gateway, m, "mo-3").Count == 1), Is.True);
        Assert.That(Replies(gateway, m, "mo-3").Single(), Does.Contain("2.音乐会员").And.Not.Contain("新闻早报"));

        // The offline engine with the profiles as read from subscribers: a clock after the cancel charges music, not news.
        var tariff = TestTariff.Build([TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60)], top: "\"vasNoticeLeadHours\":24");
        SubscriberProfile Read(string json) => SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), tariff, out var error) ?? throw new AssertionException(error);
        List<string?> FeesAfterCancel(string profileJson)
        {
            // The state is in the current cycle up to just before the cancel (whose start charged news, rightly);
            // the next clock runs 40 days on: every cycle it opens starts after the cancel.
            var engine = new EngineHarness(tariff, Read(profiles[0].Value!));
            engine.Process($$"""{"type":"clock","at":"{{At(beforeCancel.AddMinutes(-1))}}"}""");
            engine.Engine.SetProfile(Read(profileJson));
            var step = engine.Process($$"""{"type":"clock","at":"{{At(DateTimeOffset.UtcNow.AddDays(40))}}"}""");
            return step.Rated.Where(r => (string?)r["type"] == "fee").Select(r => (string?)r["serviceId"]).ToList();
        }

        Assert.Multiple(() =>
        {
            Assert.That(FeesAfterCancel(profiles[^1].Value!), Does.Contain("music").And.Not.Contain("news"), "news is not charged after the cancel");
            Assert.That(FeesAfterCancel(profiles[0].Value!), Does.Contain("news"), "without the cancel news would have been charged");
        });

        // Every inbound SMS and reply is in notice-log.
        Assert.That(WaitFor(() => NoticeLog(cluster).Count(r => r.Outcome == NoticeOutcomes.Answered) == 3), Is.True);
        var log = NoticeLog(cluster);
        Assert.Multiple(() =>
        {
            Assert.That(log.Where(r => r.Kind == MoKinds.Mo && r.Outcome == NoticeOutcomes.Received).Select(r => r.MoId), Is.EqualTo(new[] { "mo-1", "mo-2", "mo-3" }));
            Assert.That(log.Where(r => r.Kind == MoKinds.Mo && r.Outcome == NoticeOutcomes.Answered).Select(r => r.Command), Is.EqualTo(new[] { "list", "cancel", "list" }));
            Assert.That(log.Single(r => r.Outcome == NoticeOutcomes.Answered && r.MoId == "mo-2").Cancelled, Is.EqualTo(new[] { "news" }));
            Assert.That(log.Where(r => r.Kind == MoKinds.Reply).Select(r => r.Outcome), Is.EqualTo(Enumerable.Repeat(NoticeOutcomes.Sent, 3)));
        });
    }

    [Test]
    public async Task A_replayed_MO_id_is_answered_once_also_by_a_restarted_sender()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false;
        var m = Msisdn(22);
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Subscribers, [(m, ProfileWithServices(m, DateTimeOffset.UtcNow.AddDays(-3), language: "en"))]);
        var (app, http) = await StartAsync(cluster, gateway, "sender-mo-replay");
        using (http)
        {
            Assert.That((await PostMoAsync(http, m, "TD 2", "replayed")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That((await PostMoAsync(http, m, "TD 2", "replayed")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "a replay is taken in too");
            Assert.That(WaitFor(() => Replies(gateway, m, "replayed").Count == 1), Is.True);
            await Task.Delay(1000);
            Assert.That(Replies(gateway, m, "replayed"), Is.EqualTo(new[] { "Cancelled: 2. Music club; These services will not be charged again." }), "one reply only");
        }

        await app.StopAsync();
        await app.DisposeAsync();

        // A new sender rebuilds what was answered from notice-log: the same id once more is not answered again.
        var (again, http2) = await StartAsync(cluster, gateway, "sender-mo-replay");
        await using var _ = again;
        using var __ = http2;
        Assert.That((await PostMoAsync(http2, m, "TD 2", "replayed")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await PostMoAsync(http2, m, "0000", "after-restart")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(WaitFor(() => Replies(gateway, m, "after-restart").Count == 1), Is.True, "the sender answers after its restart");
        Assert.Multiple(() =>
        {
            Assert.That(Replies(gateway, m, "replayed"), Has.Count.EqualTo(1), "the replay after the restart was not answered");
            Assert.That(Replies(gateway, m, "after-restart").Single(), Does.StartWith("Your monthly services: 1. Morning news, 5.00 yuan a month, next charge "));
            Assert.That(Kcat.ConsumeToEnd(cluster.BootstrapServers, cluster.Topics.Subscribers).Count(r => r.Key == m), Is.EqualTo(2), "the cancel was published once");
            var log = NoticeLog(cluster);
            Assert.That(log.Count(r => r.MoId == "replayed" && r.Outcome == NoticeOutcomes.Received), Is.EqualTo(3), "every inbound SMS is recorded");
            Assert.That(log.Count(r => r.MoId == "replayed" && r.Outcome == NoticeOutcomes.Answered), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Anything_else_gets_the_help_text_and_a_subscriber_without_services_is_told_so()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        var withServices = Msisdn(23);
        var without = Msisdn(24);
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Subscribers,
            [(withServices, ProfileWithServices(withServices, DateTimeOffset.UtcNow.AddDays(-3))), (without, ProfileJson.Make(without))]);
        var (app, http) = await StartAsync(cluster, gateway, "sender-mo-help");
        await using var _ = app;
        using var __ = http;

        Assert.That((await PostMoAsync(http, withServices, "hello", "h1")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await PostMoAsync(http, withServices, "TD 7", "h2")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await PostMoAsync(http, without, "0000", "n1")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That((await PostMoAsync(http, without, "TD ALL", "n2")).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(WaitFor(() => new[] { (withServices, "h1"), (withServices, "h2"), (without, "n1"), (without, "n2") }.All(x => Replies(gateway, x.Item1, x.Item2).Count == 1)), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(Replies(gateway, withServices, "h1").Single(), Is.EqualTo("回复0000查询您订购的包月业务；回复TD加序号退订（如TD 1），回复TD ALL退订全部，退订免费。"));
            Assert.That(Replies(gateway, withServices, "h2").Single(), Does.StartWith("【退订未办理】序号7不是您当前订购的包月业务"));
            Assert.That(Replies(gateway, without, "n1").Single(), Is.EqualTo("【包月业务】您目前没有订购包月业务，不会收取包月业务费。"));
            Assert.That(Replies(gateway, without, "n2").Single(), Is.EqualTo("【包月业务】您目前没有订购包月业务，不会收取包月业务费。"));
            Assert.That(Kcat.ConsumeToEnd(cluster.BootstrapServers, cluster.Topics.Subscribers), Has.Count.EqualTo(2), "nothing was cancelled");
        });
    }

    [Test]
    public async Task Requests_without_the_bearer_token_or_with_a_wrong_one_are_refused_401_and_recorded_nowhere()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        var (app, http) = await StartAsync(cluster, gateway, "sender-mo-auth");
        await using (app)
        using (http)
        {
            var none = await PostMoAsync(http, Msisdn(25), "0000", "a1", token: null);
            var wrong = await PostMoAsync(http, Msisdn(25), "0000", "a2", token: Token + "x");
            var bad = await PostMoAsync(http, "not-a-number", "0000", "a3");
            Assert.Multiple(() =>
            {
                Assert.That(none.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
                Assert.That(none.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
                Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
                Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "an authorised request with a bad body");
            });
        }

        // No token configured: every request is refused, whatever it carries.
        var (open, http2) = await StartAsync(cluster, gateway, "sender-mo-auth-none", token: null);
        await using (open)
        using (http2)
        {
            var refused = await PostMoAsync(http2, Msisdn(25), "0000", "a4", token: Token);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await refused.Content.ReadAsStringAsync(), Does.Contain("Http:Auth:Token"));
        }

        Assert.That(NoticeLog(cluster), Is.Empty, "nothing refused was taken in");
        Assert.That(gateway.Received, Is.Empty);
    }
}
