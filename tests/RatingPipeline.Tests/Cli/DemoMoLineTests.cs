using System.Text;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Tests.Cli;

/// <summary>What the demo tells a user about sending it an SMS: the help, the one-line curl, the sample subscriber's services.</summary>
[TestFixture]
[Category("cli")]
public sealed class DemoMoLineTests
{
    [Test]
    public void Demo_help_says_how_to_send_0000_and_where_the_reply_shows()
    {
        var help = DemoCommand.Build().Description;
        Assert.That(help, Does.Contain("'SMS to the sender:'").And.Contain("'0000'").And.Contain("POST /v1/mo").And.Contain("SMS reply to MSISDN: TEXT")
            .And.Contain(SyntheticData.MsisdnOf(DemoMo.Subscriber)).And.Contain("the summary lists them all"));
    }

    [Test]
    public void The_sample_SMS_is_one_curl_line_with_the_token_a_new_id_per_run_and_the_gateways_json()
    {
        var line = DemoMo.SampleCurl("http://127.0.0.1:9465/", "0123456789abcdef0123456789abcdef", "8613800000000", "0000");
        Assert.That(line, Is.EqualTo("curl -sS -X POST http://127.0.0.1:9465/v1/mo -H 'Authorization: Bearer 0123456789abcdef0123456789abcdef' "
            + "-H 'Content-Type: application/json' -d '{\"from\":\"8613800000000\",\"to\":\"10086\",\"text\":\"0000\",\"id\":\"demo-'$(date +%s%N)'\"}'"));
        Assert.That(line, Does.Not.Contain("\n"));
    }

    [Test]
    public void The_sample_subscriber_has_two_monthly_services_ordered_before_the_stream_and_keeps_the_rest_of_its_profile()
    {
        var data = new SyntheticData(1, 10, stepTicks: TimeSpan.TicksPerSecond, locationRecords: true);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        data.WriteProfile(DemoMo.Subscriber, buffer);
        var withServices = DemoMo.WithServices(buffer.WrittenSpan, data.NowTicks);
        var profile = SubscriberProfile.TryParse(withServices, null, out var error);
        Assert.That(profile, Is.Not.Null, error);
        Assert.Multiple(() =>
        {
            Assert.That(profile!.Services.Select(s => (s.Id, s.NameZh, s.Price)), Is.EqualTo(new[] { ("news", "新闻早报", 5_000_000L), ("music", "音乐会员", 3_000_000L) }));
            Assert.That(profile.Services.All(s => s.CancelledAt is null), Is.True);
            Assert.That(Encoding.UTF8.GetString(withServices), Does.StartWith(Encoding.UTF8.GetString(buffer.WrittenSpan)[..^1]), "the synthetic profile's members kept as written");
        });
    }
}
