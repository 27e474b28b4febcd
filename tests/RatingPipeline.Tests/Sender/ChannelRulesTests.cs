using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Notices;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// What depends on the channel: no voice call in quiet hours, one idempotency key per channel, and how the HTTP
/// channel talks to gateways (bodies with <c>Content-Length</c>; gateways that close every connection).
/// </summary>
[TestFixture]
[Category("sender")]
public sealed class ChannelRulesTests
{
    private const string M = "8613800001234";
    private static readonly TimeSpan Beijing = TimeSpan.FromHours(8);

    private static DateTimeOffset Local(int day, int hour, int minute = 0) => new(2026, 11, day, hour, minute, 0, Beijing);

    private static string Roaming(int n) => ReminderJson.Roaming(M, "454", "HMT", """{"price":2990000,"unit":60}""", "null", "null", "null", cdrId: $"r{n}");

    /// <summary>A rig whose one loopback gateway serves both the SMS path and the voice path.</summary>
    private static Task<SenderRig> OneGatewayForSmsAndVoiceAsync(TimeProvider time) =>
        SenderRig.StartAsync(o => o.Voice.Url = new Uri(new Uri(o.Sms.Url), "voice").ToString(), time);

    [Test]
    public async Task An_urgent_voice_call_waits_for_the_end_of_quiet_hours_while_the_sms_goes_at_once()
    {
        var clock = new FakeTimeProvider(Local(4, 3));
        await using var rig = await OneGatewayForSmsAndVoiceAsync(clock);
        var profile = ProfileJson.Of(M, channels: """["sms","voice"]""");
        var outputs = await rig.HandleAsync(profile, ReminderJson.DataCap(M, 100_000_000, 100_000_000));

        var sms = outputs.Single(o => o.Record.Channel == "sms").Record;
        var voice = outputs.Single(o => o.Record.Channel == "voice").Record;
        Assert.Multiple(() =>
        {
            Assert.That((sms.Outcome, sms.Urgent), Is.EqualTo((NoticeOutcomes.Sent, true)), "urgent SMS still go at once");
            Assert.That((voice.Outcome, voice.Urgent, voice.DueAt, voice.Reason), Is.EqualTo((NoticeOutcomes.Deferred, true, (DateTimeOffset?)Local(4, 8), "quiet hours: no voice calls")));
            Assert.That(rig.Gateway.Received.Select(r => r.Path), Is.EqualTo(new[] { "/sms" }), "no call placed at 03:00");
        });

        clock.SetUtcNow(Local(4, 7, 59));
        Assert.That(await rig.ReleaseDueAsync(clock.GetUtcNow(), profile), Is.Empty);
        clock.SetUtcNow(Local(4, 8));
        var released = (await rig.ReleaseDueAsync(clock.GetUtcNow(), profile)).Single().Record;
        Assert.Multiple(() =>
        {
            Assert.That((released.Channel, released.Outcome, released.SentAt), Is.EqualTo(("voice", NoticeOutcomes.Sent, (DateTimeOffset?)Local(4, 8))));
            Assert.That(rig.Gateway.Received.Select(r => r.Path), Is.EqualTo(new[] { "/sms", "/voice" }));
            Assert.That(rig.Gateway.DeliveriesByKey.Keys, Is.EquivalentTo(new[] { sms.IdempotencyKey, released.IdempotencyKey }), "both delivered by one gateway");
        });
    }

    [TestCase("allowance-80", 23)] // non-urgent: waits like every notice
    [TestCase("roaming", 23)] // urgent: the SMS would go, the call waits
    [TestCase("roaming", 7)] // the window's last hour
    public async Task No_voice_call_is_placed_in_quiet_hours(string kind, int hour)
    {
        var clock = new FakeTimeProvider(Local(3, hour));
        await using var rig = await OneGatewayForSmsAndVoiceAsync(clock);
        var reminder = kind == "roaming" ? Roaming(1) : ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60);
        var output = (await rig.HandleAsync(ProfileJson.Of(M, channels: """["voice"]"""), reminder)).Single();
        Assert.That((output.Record.Outcome, output.Record.DueAt), Is.EqualTo((NoticeOutcomes.Deferred, (DateTimeOffset?)(hour == 23 ? Local(4, 8) : Local(3, 8)))));
        Assert.That(rig.Gateway.Received, Is.Empty);
    }

    [Test]
    public async Task Outside_quiet_hours_an_urgent_voice_call_goes_at_once()
    {
        await using var rig = await OneGatewayForSmsAndVoiceAsync(new FakeTimeProvider(Local(3, 8)));
        var output = (await rig.HandleAsync(ProfileJson.Of(M, channels: """["voice"]"""), Roaming(1))).Single();
        Assert.That(output.Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
        Assert.That(rig.Gateway.Received.Single().Path, Is.EqualTo("/voice"));
    }

    [Test]
    public async Task The_sms_and_the_voice_call_of_one_event_carry_their_own_keys_so_one_gateway_takes_both()
    {
        await using var rig = await OneGatewayForSmsAndVoiceAsync(new FakeTimeProvider(Local(3, 10)));
        var eventId = $"{M}:2026-11-01:low-balance:2026-11-01T00:00:00+08:00";
        var outputs = await rig.HandleAsync(ProfileJson.Of(M, channels: """["sms","voice"]"""), ReminderJson.LowBalance(M, 10_000_000, 9_855_000));

        Assert.Multiple(() =>
        {
            Assert.That(outputs.Select(o => (o.Record.Channel, o.Record.Outcome, o.Record.IdempotencyKey)), Is.EqualTo(new[]
            {
                ("sms", NoticeOutcomes.Sent, $"{eventId}:sms"), ("voice", NoticeOutcomes.Sent, $"{eventId}:voice"),
            }));
            Assert.That(outputs.Select(o => o.Record.EventId), Has.All.EqualTo(eventId), "notice-log keeps the event id beside the key");
            Assert.That(rig.Gateway.Received.Select(r => (r.Path, r.IdempotencyKey, r.Delivered, r.Duplicate)), Is.EquivalentTo(new[]
            {
                ("/sms", $"{eventId}:sms", true, false), ("/voice", $"{eventId}:voice", true, false),
            }), "neither was taken for a repeat");
        });
    }

    [Test]
    public async Task A_notice_already_sent_on_one_channel_is_not_sent_again_there_while_the_other_channel_still_gets_it()
    {
        await using var rig = await OneGatewayForSmsAndVoiceAsync(new FakeTimeProvider(Local(3, 10)));
        var reminder = ReminderJson.LowBalance(M, 10_000_000, 9_855_000);
        var eventId = ReminderJson.Parse(reminder).EventId;
        // What a restart rebuilds from notice-log: the SMS was sent, the process died before the voice call.
        rig.Book.Apply(new NoticeRecord
        {
            EventId = eventId,
            Msisdn = M,
            Kind = "low-balance",
            Channel = "sms",
            Outcome = NoticeOutcomes.Sent,
            IdempotencyKey = $"{eventId}:sms",
            LoggedAt = Local(3, 9),
            SentAt = Local(3, 9),
        }, null, null);

        var outputs = await rig.HandleAsync(ProfileJson.Of(M, channels: """["sms","voice"]"""), reminder);
        Assert.That(outputs.Select(o => (o.Record.Channel, o.Record.Outcome)), Is.EqualTo(new[] { ("voice", NoticeOutcomes.Sent) }));
        Assert.That(rig.Gateway.Received.Single().IdempotencyKey, Is.EqualTo($"{eventId}:voice"));
    }

    [Test]
    public async Task Gateway_requests_carry_a_content_length_and_no_chunked_body()
    {
        await using var rig = await SenderRig.StartAsync();
        await rig.HandleAsync(ProfileJson.Of(M, language: "zh"), Roaming(1));
        var request = rig.Gateway.Received.Single();
        Assert.Multiple(() =>
        {
            Assert.That(request.Chunked, Is.False);
            Assert.That(request.ContentLength, Is.Not.Null);
            // The body is the UTF-8 JSON of {to, text, id}: its length counts the bytes of the Chinese text.
            Assert.That(request.ContentLength, Is.EqualTo(HttpGatewayChannel.Body(new GatewayMessage(request.To!, request.Text!, request.Id!)).Headers.ContentLength));
            Assert.That(request.Status, Is.EqualTo(200));
        });
    }

    [TestCase(ClosingStyle.Http10)]
    [TestCase(ClosingStyle.Http11ConnectionClose)]
    public async Task A_gateway_that_refuses_chunked_bodies_and_closes_every_connection_is_served_without_retries(ClosingStyle style)
    {
        await using var gateway = ClosingGateway.Start(style);
        await using var rig = await SenderRig.StartAsync(o =>
        {
            o.Sms.Url = new Uri(gateway.Url, "sms").ToString();
            o.MaxConcurrentDeliveries = 16;
        });
        const int Notices = 300;
        var retries = SenderMetrics.DeliveryAttempts.WithLabels("sms", "transient").Value;
        var outputs = await rig.HandleAsync(ProfileJson.Of(M), Enumerable.Range(1, Notices).Select(Roaming).ToArray());

        Assert.Multiple(() =>
        {
            Assert.That(outputs.Select(o => (o.Record.Outcome, o.Record.Attempts)), Has.All.EqualTo((NoticeOutcomes.Sent, 1)), "each notice in one attempt");
            Assert.That(SenderMetrics.DeliveryAttempts.WithLabels("sms", "transient").Value - retries, Is.Zero, "no failed attempt");
            Assert.That(gateway.Received, Has.Count.EqualTo(Notices), "one request per notice");
            Assert.That(gateway.Received.Select(r => (r.Status, r.Chunked, r.ContentLength is > 0)), Has.All.EqualTo((200, false, true)));
            Assert.That(gateway.ConnectionsAccepted, Is.EqualTo(Notices), "a connection of its own for each request");
            Assert.That(gateway.DeliveriesByKey, Has.Count.EqualTo(Notices));
        });
    }

    [Test]
    public async Task Notices_per_second_against_a_closing_gateway_and_a_keep_alive_gateway_in_the_same_run()
    {
        // Figures for the record (printed, not asserted: the machine is shared); the assertion is that both
        // gateways take every notice in one attempt.
        const int Notices = 1000;
        await using var closing = ClosingGateway.Start(ClosingStyle.Http10);
        await using var keepAlive = await LoopbackGateway.StartAsync();
        var figures = new List<string>();
        foreach (var round in new[] { 1, 2 })
        {
            foreach (var (name, url) in new[] { ("HTTP/1.0, closes every connection", closing.Url), ("HTTP/1.1 keep-alive (Kestrel)", keepAlive.Url) })
            {
                await using var rig = await SenderRig.StartAsync(o =>
                {
                    o.Sms.Url = new Uri(url, "sms").ToString();
                    o.Sms.RatePerSecond = 1_000_000;
                    o.MaxConcurrentDeliveries = 16;
                });
                var reminders = Enumerable.Range(1, Notices).Select(n => Roaming((round * 10_000) + n)).ToArray();
                var clock = Stopwatch.StartNew();
                var outputs = await rig.HandleAsync(ProfileJson.Of(M), reminders);
                clock.Stop();
                Assert.That(outputs.Select(o => (o.Record.Outcome, o.Record.Attempts)), Has.All.EqualTo((NoticeOutcomes.Sent, 1)), name);
                figures.Add($"round {round}: {name}: {Notices / clock.Elapsed.TotalSeconds:F0} notices/s ({Notices} in {clock.Elapsed.TotalMilliseconds:F0} ms)");
            }
        }

        TestContext.Out.WriteLine(string.Join(Environment.NewLine, figures));
    }
}
