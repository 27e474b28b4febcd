using System.Diagnostics;
using NUnit.Framework;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Notices;

namespace RatingPipeline.Tests.Sender;

/// <summary>Channels and their resilience against real servers: the loopback Kestrel gateway and smtp-sink.</summary>
[TestFixture]
[Category("sender")]
public sealed class DeliveryTests
{
    private const string M = "8613800001234";

    private static string Roaming(int n) => ReminderJson.Roaming(M, "454", "HMT", """{"price":2990000,"unit":60}""", "null", "null", "null", cdrId: $"r{n}");

    [Test]
    public async Task The_gateway_gets_the_contract_with_the_event_id_and_channel_as_idempotency_key()
    {
        await using var rig = await SenderRig.StartAsync();
        var output = (await rig.HandleAsync(ProfileJson.Of(M, language: "en"), ReminderJson.HighSpend(M, 200_000_000, 200_150_000))).Single();
        var request = rig.Gateway.Received.Single();
        Assert.Multiple(() =>
        {
            Assert.That(output.Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
            Assert.That(output.Record.Attempts, Is.EqualTo(1));
            Assert.That(request.Path, Is.EqualTo("/sms"));
            Assert.That(request.To, Is.EqualTo(M));
            Assert.That(request.Id, Is.EqualTo($"{M}:2026-11-01:high-spend:200000000:sms"));
            Assert.That(request.IdempotencyKey, Is.EqualTo(request.Id));
            Assert.That(output.Record.IdempotencyKey, Is.EqualTo(request.Id), "notice-log names the key the gateway was given");
            Assert.That(request.Text, Is.EqualTo(output.Record.Text).And.StartWith("Spending reminder: your spending this cycle is 200.15 yuan"));
        });
    }

    [TestCase(408)]
    [TestCase(429)]
    [TestCase(500)]
    [TestCase(503)]
    public async Task Transient_answers_are_retried_with_the_same_key_and_delivered_once(int status)
    {
        await using var rig = await SenderRig.StartAsync();
        rig.Gateway.FailNext(2, status);
        var output = (await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single();
        var key = output.Record.IdempotencyKey!;
        Assert.Multiple(() =>
        {
            Assert.That((output.Record.Outcome, output.Record.Attempts), Is.EqualTo((NoticeOutcomes.Sent, 3)));
            Assert.That(rig.Gateway.RequestsByKey[key], Is.EqualTo(3));
            Assert.That(rig.Gateway.DeliveriesByKey[key], Is.EqualTo(1));
        });
    }

    [TestCase(400)]
    [TestCase(404)]
    [TestCase(422)]
    public async Task Any_other_4xx_is_a_permanent_failure_for_the_dead_letter_topic(int status)
    {
        await using var rig = await SenderRig.StartAsync();
        rig.Gateway.FailAlways(status);
        var output = (await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single();
        Assert.Multiple(() =>
        {
            Assert.That((output.Record.Outcome, output.IsDeadLetter, output.Record.Attempts), Is.EqualTo((NoticeOutcomes.Failed, true, 1)));
            Assert.That(output.Record.Reason, Does.Contain($"answered {status}"));
            Assert.That(rig.Gateway.RequestsByKey[output.Record.IdempotencyKey!], Is.EqualTo(1), "never retried");
        });
    }

    [Test]
    public async Task A_timed_out_attempt_is_retried_and_the_gateway_that_took_it_counts_it_once()
    {
        await using var rig = await SenderRig.StartAsync(o => o.Sms.Timeout = TimeSpan.FromMilliseconds(200));
        rig.Gateway.DelayNext(1, TimeSpan.FromSeconds(2));
        var timeouts = SenderMetrics.DeliveryAttempts.WithLabels("sms", "timeout").Value;
        var output = (await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single();
        var key = output.Record.IdempotencyKey!;
        Assert.Multiple(() =>
        {
            Assert.That((output.Record.Outcome, output.Record.Attempts), Is.EqualTo((NoticeOutcomes.Sent, 2)));
            Assert.That(rig.Gateway.RequestsByKey[key], Is.EqualTo(2));
            Assert.That(rig.Gateway.DeliveriesByKey[key], Is.EqualTo(1), "the second request carried the same key");
            Assert.That(rig.Gateway.Received[1].Duplicate, Is.True);
            Assert.That(SenderMetrics.DeliveryAttempts.WithLabels("sms", "timeout").Value - timeouts, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_slow_gateway_within_the_timeout_takes_one_attempt()
    {
        await using var rig = await SenderRig.StartAsync();
        rig.Gateway.Delay = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        var output = (await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single();
        Assert.That((output.Record.Outcome, output.Record.Attempts), Is.EqualTo((NoticeOutcomes.Sent, 1)));
        // The gateway did wait: its delay timer may fire a few milliseconds early against the test's stopwatch.
        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(290)));
    }

    [Test]
    public async Task A_gateway_outage_trips_the_breaker_and_the_notices_go_out_once_it_recovers()
    {
        await using var rig = await SenderRig.StartAsync(o =>
        {
            o.Sms.MaxRetries = 50;
            o.Sms.RetryDelay = TimeSpan.FromMilliseconds(20);
            o.Sms.MaxRetryDelay = TimeSpan.FromMilliseconds(200);
            o.Sms.BreakerMinimumThroughput = 4;
            o.Sms.BreakerSamplingDuration = TimeSpan.FromSeconds(2);
            o.Sms.BreakDuration = TimeSpan.FromMilliseconds(1500);
        });
        rig.Gateway.FailAlways(503);
        var circuitOpen = SenderMetrics.DeliveryAttempts.WithLabels("sms", "circuit-open").Value;
        var handling = rig.HandleAsync(ProfileJson.Of(M), Enumerable.Range(1, 6).Select(Roaming).ToArray());

        var opened = SpinWait.SpinUntil(() => SenderMetrics.CircuitState.WithLabels("sms").Value == 2, TimeSpan.FromSeconds(10));
        Assert.That(opened, Is.True, "the circuit opened during the outage");
        // Requests sent just before it opened may still be landing: let them, then nothing more may come.
        await Task.Delay(150);
        var refusedWhileOpen = rig.Gateway.Received.Count;
        await Task.Delay(300);
        Assert.That(rig.Gateway.Received, Has.Count.EqualTo(refusedWhileOpen), "no request reaches the gateway while the circuit is open");

        rig.Gateway.Heal();
        var outputs = await handling;
        Assert.Multiple(() =>
        {
            Assert.That(outputs.Select(o => o.Record.Outcome), Has.All.EqualTo(NoticeOutcomes.Sent));
            Assert.That(rig.Gateway.DeliveriesByKey, Has.Count.EqualTo(6));
            Assert.That(rig.Gateway.DeliveriesByKey.Values, Has.All.EqualTo(1));
            Assert.That(rig.Gateway.Received.Count(r => r.Status == 503), Is.GreaterThanOrEqualTo(4));
            Assert.That(SenderMetrics.DeliveryAttempts.WithLabels("sms", "circuit-open").Value, Is.GreaterThan(circuitOpen));
            Assert.That(SenderMetrics.CircuitState.WithLabels("sms").Value, Is.Zero, "closed again");
        });
    }

    [Test]
    public async Task An_outage_longer_than_the_retries_fails_the_notice_to_the_dead_letter_topic()
    {
        await using var rig = await SenderRig.StartAsync(o => o.Sms.MaxRetries = 2);
        rig.Gateway.FailAlways(502);
        var output = (await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single();
        Assert.That((output.Record.Outcome, output.IsDeadLetter, output.Record.Attempts), Is.EqualTo((NoticeOutcomes.Failed, true, 3)));
        Assert.That(output.Record.Reason, Does.StartWith("gave up after 3 attempt(s)").And.Contain("502"));
    }

    [Test]
    public async Task The_configured_auth_header_is_sent_and_its_absence_is_a_permanent_failure()
    {
        await using (var rig = await SenderRig.StartAsync(o => o.Sms.AuthHeader = "Authorization: Bearer s3cret"))
        {
            rig.Gateway.RequireHeader("Authorization", "Bearer s3cret");
            Assert.That((await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
        }

        await using (var rig = await SenderRig.StartAsync())
        {
            rig.Gateway.RequireHeader("Authorization", "Bearer s3cret");
            var output = (await rig.HandleAsync(ProfileJson.Of(M), Roaming(1))).Single();
            Assert.That(output.Record.Reason, Does.Contain("answered 401"));
        }
    }

    [Test]
    public async Task Every_channel_of_the_profile_gets_the_notice_and_voice_reads_the_same_text()
    {
        await using var voice = await LoopbackGateway.StartAsync();
        await using var rig = await SenderRig.StartAsync(o => o.Voice.Url = new Uri(voice.Url, "call").ToString());
        var outputs = await rig.HandleAsync(ProfileJson.Of(M, channels: """["sms","voice"]"""), ReminderJson.LowBalance(M, 10_000_000, 9_855_000));
        Assert.Multiple(() =>
        {
            Assert.That(outputs.Select(o => (o.Record.Channel, o.Record.Outcome)), Is.EqualTo(new[] { ("sms", "sent"), ("voice", "sent") }));
            Assert.That(voice.Received.Single().Path, Is.EqualTo("/call"));
            Assert.That(voice.Received.Single().Text, Is.EqualTo(rig.Gateway.Received.Single().Text).And.Contain("9.86元"));
        });
    }

    [Test]
    public async Task A_channel_that_is_not_configured_fails_with_the_reason()
    {
        await using var rig = await SenderRig.StartAsync();
        var output = (await rig.HandleAsync(ProfileJson.Of(M, channels: """["voice"]"""), Roaming(1))).Single();
        Assert.That((output.Record.Outcome, output.Record.Reason), Is.EqualTo((NoticeOutcomes.Failed, "channel voice is not configured")));
    }

    [Test]
    [Category("needs-smtp-sink")]
    public async Task E_mail_goes_through_a_real_smtp_server_with_the_rendered_text()
    {
        using var sink = SmtpSink.Start();
        await using var rig = await SenderRig.StartAsync(o =>
        {
            o.Smtp.Host = "127.0.0.1";
            o.Smtp.Port = sink.Port;
            o.Smtp.From = "notices@operator.example";
            o.Smtp.FromName = "Operator";
        });
        var outputs = await rig.HandleAsync(ProfileJson.Of(M, language: "zh", channels: """["email"]""", email: "li.wei@mail.example"),
            ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));

        Assert.That(outputs.Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
        var message = sink.WaitForMessages(1, TimeSpan.FromSeconds(10)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(message.To.Mailboxes.Single().Address, Is.EqualTo("li.wei@mail.example"));
            Assert.That(message.From.Mailboxes.Single().Address, Is.EqualTo("notices@operator.example"));
            Assert.That(message.Subject, Is.EqualTo("用量提醒"));
            Assert.That(message.TextBody?.Trim(), Is.EqualTo("【用量提醒】您的套餐通话已使用80%（已用80分钟，共100分钟）。超出套餐部分按0.15元/分钟收费。查询用量请访问https://my.operator.example"));
            Assert.That(message.Headers[SmtpChannel.NoticeIdHeader], Is.EqualTo($"{M}:2026-11-01:allowance:voice:80:email"));
            Assert.That(rig.Gateway.Received, Is.Empty, "e-mail only");
        });
    }

    [Test]
    [Category("needs-smtp-sink")]
    public async Task E_mail_without_an_address_in_the_profile_fails_to_the_dead_letter_topic()
    {
        using var sink = SmtpSink.Start();
        await using var rig = await SenderRig.StartAsync(o =>
        {
            o.Smtp.Host = "127.0.0.1";
            o.Smtp.Port = sink.Port;
            o.Smtp.From = "notices@operator.example";
        });
        var output = (await rig.HandleAsync(ProfileJson.Of(M, channels: """["email"]"""), Roaming(1))).Single();
        Assert.That((output.Record.Outcome, output.IsDeadLetter), Is.EqualTo((NoticeOutcomes.Failed, true)));
        Assert.That(output.Record.Reason, Is.EqualTo("the profile has no e-mail address for the email channel"));
        Assert.That(sink.Messages(), Is.Empty);
    }

    [Test]
    public async Task An_unreachable_smtp_server_is_retried_then_the_notice_fails()
    {
        // Port 1 on loopback: nothing listens, the connection is refused.
        await using var rig = await SenderRig.StartAsync(o =>
        {
            o.Smtp.Host = "127.0.0.1";
            o.Smtp.Port = 1;
            o.Smtp.From = "notices@operator.example";
            o.Smtp.MaxRetries = 1;
            o.Smtp.RetryDelay = TimeSpan.FromMilliseconds(10);
        });
        var output = (await rig.HandleAsync(ProfileJson.Of(M, channels: """["email"]""", email: "li.wei@mail.example"), Roaming(1))).Single();
        Assert.That((output.Record.Outcome, output.Record.Attempts), Is.EqualTo((NoticeOutcomes.Failed, 2)), "a closed port is transient: retried, then given up");
        Assert.That(output.Record.Reason, Does.Contain("SMTP server unreachable"));
    }
}
