using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Tests.Kafka;
using static RatingPipeline.Tests.Sender.SenderKafkaKit;

namespace RatingPipeline.Tests.Sender;

/// <summary>The sender worker end to end on the embedded cluster, fed and read with kcat.</summary>
[TestFixture]
[Category("needs-kcat")]
[Category("sender")]
[Category("kafka")]
public sealed class SenderKafkaTests
{
    /// <summary>Offsets the group committed on <c>reminders</c>, summed over partitions.</summary>
    internal static long CommittedReminders(EmbeddedCluster cluster, string group)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(KafkaClientTuning.Consumer(cluster.BootstrapServers, group, "none", forEmbeddedCluster: true)).Build();
        var partitions = Enumerable.Range(0, cluster.Partitions).Select(p => new TopicPartition(cluster.Topics.Reminders, p));
        return consumer.Committed(partitions, TimeSpan.FromSeconds(10)).Sum(c => Math.Max(0, c.Offset.Value));
    }

    private static void AssertStillRunning(WebApplication app) =>
        Assert.That(app.Lifetime.ApplicationStopping.IsCancellationRequested, Is.False, "the sender stopped by itself (see its log)");

    private static void ProduceProfiles(EmbeddedCluster cluster, params string[] profiles) =>
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Subscribers, profiles.Select(p => (ProfileJson.Parse(p).Msisdn, p)));

    private static void ProduceReminders(EmbeddedCluster cluster, params string[] reminders) =>
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Reminders, reminders.Select(r => (ReminderJson.Parse(r).Msisdn, r)));

    private static List<NoticeRecord> NoticeLog(EmbeddedCluster cluster) => SenderKafkaKit.NoticeLog(cluster.BootstrapServers, cluster.Topics.NoticeLog);

    [Test]
    public async Task Fetch_errors_do_not_stop_the_sender_and_later_reminders_still_become_notices()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1)));
        await using var sender = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-fetch-errors"));
        ProduceReminders(cluster, ReminderJson.Roaming(Msisdn(1), "454", "HMT", "null", "null", "null", "null", cdrId: "f1"));
        Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True, "the first notice");

        // The next fetches of every consumer (reminders, profile updates) are refused for a while.
        cluster.Mock.PushRequestErrors(KafkaApiKey.Fetch, [.. Enumerable.Repeat(ErrorCode.RequestTimedOut, 40)]);
        await Task.Delay(TimeSpan.FromSeconds(2));
        ProduceReminders(cluster, ReminderJson.Roaming(Msisdn(1), "310", "NA", "null", "null", "null", "null", cdrId: "f2"));

        Assert.That(await gateway.WaitForDeliveriesAsync(2, Patience), Is.True, $"delivered {gateway.DeliveriesByKey.Count} of 2");
        AssertStillRunning(sender);
    }

    [Test]
    public async Task A_commit_the_cluster_refuses_makes_the_sender_start_a_new_session_that_sends_nothing_twice()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false; // count what the sender sends
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1)));
        const string group = "sender-recovers";
        var recoveries = SenderMetrics.Recoveries.Value;
        await using var sender = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, group));
        ProduceReminders(cluster, ReminderJson.Roaming(Msisdn(1), "454", "HMT", "null", "null", "null", "null", cdrId: "r1"));
        Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True, "the first notice");
        Assert.That(WaitFor(() => CommittedReminders(cluster, group) == 1), Is.True, "the first reminder committed");

        // The cluster refuses the next offset commit (only the sender's reminders consumer commits here: no bills).
        cluster.Mock.PushRequestErrors(KafkaApiKey.OffsetCommit, ErrorCode.GroupAuthorizationFailed);
        ProduceReminders(cluster, ReminderJson.Roaming(Msisdn(1), "310", "NA", "null", "null", "null", "null", cdrId: "r2"));
        Assert.That(WaitFor(() => SenderMetrics.Recoveries.Value > recoveries), Is.True, "the worker started a new session after the refused commit");

        ProduceReminders(cluster, ReminderJson.Roaming(Msisdn(1), "440", "JP", "null", "null", "null", "null", cdrId: "r3"));
        Assert.That(await gateway.WaitForDeliveriesAsync(3, Patience), Is.True, $"delivered {gateway.DeliveriesByKey.Count} of 3 after the new session");
        Assert.That(WaitFor(() => CommittedReminders(cluster, group) == 3), Is.True, "every reminder committed by the new session");
        await Task.Delay(500);
        Assert.Multiple(() =>
        {
            Assert.That(gateway.RequestsByKey, Has.Count.EqualTo(3));
            Assert.That(gateway.RequestsByKey.Values, Has.All.EqualTo(1), "a reminder the new session read again was skipped from the notice log");
            Assert.That(NoticeLog(cluster).Where(r => r.Outcome == NoticeOutcomes.Sent).Select(r => r.EventId).Distinct().Count(), Is.EqualTo(3));
        });
        AssertStillRunning(sender);
    }

    [Test]
    public async Task Reminders_produced_with_kcat_become_notices_at_the_gateway_exactly_once()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 4);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false; // count what the sender sends, not what the gateway lets through
        var subscribers = Enumerable.Range(1, 12).ToList();
        ProduceProfiles(cluster, subscribers.Select(i => ProfileJson.Make(Msisdn(i), language: i % 2 == 0 ? "en" : "zh")).ToArray());
        await using var sender = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-e2e"));

        var reminders = subscribers.SelectMany(i => new[]
        {
            ReminderJson.Roaming(Msisdn(i), "454", "HMT", """{"price":2990000,"unit":60}""", "null", """{"price":1000000,"unit":1}""", "null"),
            ReminderJson.DataCap(Msisdn(i), 100_000_000, 100_000_000),
        }).ToList();
        // The rater may deliver a reminder twice: the first six again, in the same stream.
        ProduceReminders(cluster, [.. reminders, .. reminders.Take(6)]);

        Assert.That(await gateway.WaitForDeliveriesAsync(24, Patience), Is.True, $"delivered {gateway.DeliveriesByKey.Count} of 24");

        // A notice's record is written to notice-log after the gateway answered: wait for all 24, then a little longer
        // so that a twenty-fifth (a notice recorded twice) would show.
        var log = NoticeLog(cluster);
        Assert.That(WaitFor(() => (log = NoticeLog(cluster)).Count >= 24), Is.True, $"{log.Count} of 24 notice-log records");
        await Task.Delay(500);
        log = NoticeLog(cluster);
        Assert.Multiple(() =>
        {
            Assert.That(gateway.RequestsByKey, Has.Count.EqualTo(24));
            Assert.That(gateway.RequestsByKey.Values, Has.All.EqualTo(1), "no notice was sent twice");
            Assert.That(gateway.Received.Single(r => r.Id == $"{Msisdn(2)}:2026-11-01:data-cap:100000000:sms").Text,
                Does.StartWith("Data cap reminder: your data charges this cycle reached your chosen cap of 100.00 yuan"));
            Assert.That(gateway.Received.Single(r => r.Id == $"{Msisdn(1)}:2026-11-01:data-cap:100000000:sms").Text,
                Does.StartWith("【流量封顶提醒】"));
            Assert.That(log.Select(r => r.Outcome), Has.All.EqualTo(NoticeOutcomes.Sent));
            Assert.That(log.Select(r => r.EventId).Distinct().Count(), Is.EqualTo(24).And.EqualTo(log.Count), "one notice-log record per notice");
        });
        Assert.That(WaitFor(() => CommittedReminders(cluster, "sender-e2e") == 30), Is.True, "every reminder's offset committed after its outcome");
        AssertStillRunning(sender);
    }

    [Test]
    public async Task A_reminder_seen_again_after_a_restart_is_skipped_from_the_notice_log()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false;
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1)));
        var reminder = ReminderJson.HighSpend(Msisdn(1), 200_000_000, 200_150_000);
        await using (var first = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-first")))
        {
            ProduceReminders(cluster, reminder);
            Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True);
            await first.StopAsync();
        }

        // The same reminder again (the rater replayed it); a new group reads both copies from the beginning.
        ProduceReminders(cluster, reminder);
        var duplicates = SenderMetrics.Notices.WithLabels("high-spend", "sms", "duplicate").Value;
        await using var second = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-second"));
        Assert.That(WaitFor(() => SenderMetrics.Notices.WithLabels("high-spend", "sms", "duplicate").Value - duplicates >= 2), Is.True,
            "the second sender skipped both copies");
        Assert.That(gateway.RequestsByKey.Values, Is.EqualTo(new[] { 1 }));
        Assert.That(NoticeLog(cluster), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_permanent_failure_lands_in_notices_dlq_with_the_reason_in_headers()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.FailAlways(400);
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1)));
        await using var sender = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-dlq"));
        var reminder = ReminderJson.LowBalance(Msisdn(1), 10_000_000, 9_855_000);
        ProduceReminders(cluster, reminder);

        var dlq = Kcat.Consume(cluster.BootstrapServers, cluster.Topics.NoticesDlq, 1, Patience);
        Assert.That(dlq, Has.Count.EqualTo(1));
        var headers = dlq[0].Headers.ToDictionary(h => h.Key, h => h.Value);
        Assert.Multiple(() =>
        {
            Assert.That(dlq[0].Key, Is.EqualTo($"{Msisdn(1)}:2026-11-01:low-balance:2026-11-01T00:00:00+08:00"));
            Assert.That(dlq[0].Value, Is.EqualTo(reminder), "the reminder, unchanged");
            Assert.That(headers["notice-failure-reason"], Does.Contain("answered 400"));
            Assert.That(headers["notice-channel"], Is.EqualTo("sms"));
            Assert.That(headers["notice-attempts"], Is.EqualTo("1"));
            Assert.That(NoticeLog(cluster).Single().Outcome, Is.EqualTo(NoticeOutcomes.Failed));
        });
        AssertStillRunning(sender);
    }

    [Test]
    public async Task Opt_out_is_recorded_in_the_notice_log_and_nothing_reaches_the_gateway()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), reminders: false));
        await using var sender = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-optout"));
        ProduceReminders(cluster, ReminderJson.Roaming(Msisdn(1), "454", "HMT", "null", "null", "null", "null"));

        // The opt-out itself (the profile says off), then the suppressed notice.
        var log = Kcat.Consume(cluster.BootstrapServers, cluster.Topics.NoticeLog, 2, Patience);
        Assert.That(log, Has.Count.EqualTo(2));
        var records = log.Select(r => NoticeRecord.TryParse(System.Text.Encoding.UTF8.GetBytes(r.Value!))!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(log.Select(r => r.Key), Has.All.EqualTo(Msisdn(1)));
            Assert.That(records.Select(r => r.Outcome), Is.EquivalentTo(new[] { NoticeOutcomes.OptOutRecorded, NoticeOutcomes.SuppressedOptOut }));
            Assert.That(records.Single(r => r.Outcome == NoticeOutcomes.SuppressedOptOut) is { Kind: "roaming", Channel: "sms" }, Is.True);
            Assert.That(gateway.Received, Is.Empty);
        });
    }

    [Test]
    public async Task A_deferred_notice_survives_a_restart_and_goes_out_once_when_due()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 23, 30, 0, TimeSpan.FromHours(8)));
        var config = Config(cluster.BootstrapServers, gateway, "sender-deferred-1");
        config["Sender:QuietHours:Start"] = "22:00";
        config["Sender:QuietHours:End"] = "08:00";
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), language: "en"));
        var reminder = ReminderJson.Allowance(Msisdn(1), "voice", 80, 4800, 6000, 150000, 60);

        await using (var first = await StartSenderAsync(config, s => s.AddSingleton<TimeProvider>(clock)))
        {
            ProduceReminders(cluster, reminder);
            var deferred = Kcat.Consume(cluster.BootstrapServers, cluster.Topics.NoticeLog, 1, Patience);
            Assert.That(NoticeRecord.TryParse(System.Text.Encoding.UTF8.GetBytes(deferred.Single().Value!))!.Outcome, Is.EqualTo(NoticeOutcomes.Deferred));
            await first.StopAsync();
        }

        config["Sender:GroupId"] = "sender-deferred-2"; // reads the reminder again too: it must not be handled twice
        await using var second = await StartSenderAsync(config, s => s.AddSingleton<TimeProvider>(clock));
        Assert.That(WaitFor(() => SenderMetrics.Deferred.Value >= 1), Is.True, "the backlog was restored");
        await Task.Delay(500);
        Assert.That(gateway.Received, Is.Empty, "still quiet hours");

        clock.SetUtcNow(new DateTimeOffset(2026, 11, 4, 8, 0, 0, TimeSpan.FromHours(8)));
        Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True);
        Assert.That(WaitFor(() => NoticeLog(cluster).Count == 2), Is.True);
        await Task.Delay(300);
        Assert.Multiple(() =>
        {
            Assert.That(gateway.RequestsByKey.Values, Is.EqualTo(new[] { 1 }));
            Assert.That(NoticeLog(cluster).Select(r => r.Outcome), Is.EqualTo(new[] { NoticeOutcomes.Deferred, NoticeOutcomes.Sent }));
            Assert.That(SenderMetrics.Deferred.Value, Is.Zero);
        });
        AssertStillRunning(second);
    }

    private static void ProduceBills(EmbeddedCluster cluster, params string[] bills) =>
        Kcat.Produce(cluster.BootstrapServers, cluster.Topics.Bills, bills.Select(b => (BillJson.Parse(b).Msisdn, b)));

    private static long CommittedBills(EmbeddedCluster cluster, string group)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(KafkaClientTuning.Consumer(cluster.BootstrapServers, group + "-bills", "none", forEmbeddedCluster: true)).Build();
        var partitions = Enumerable.Range(0, cluster.Partitions).Select(p => new TopicPartition(cluster.Topics.Bills, p));
        return consumer.Committed(partitions, TimeSpan.FromSeconds(10)).Sum(c => Math.Max(0, c.Offset.Value));
    }

    [Test]
    public async Task A_voice_subscriber_at_3_am_gets_the_sms_at_once_and_the_call_when_the_window_opens_from_one_gateway()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync(); // serves /sms and /voice, de-duplicating by key
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 4, 3, 0, 0, TimeSpan.FromHours(8)));
        var config = Config(cluster.BootstrapServers, gateway, "sender-voice-night");
        config["Sender:QuietHours:Start"] = "22:00";
        config["Sender:QuietHours:End"] = "08:00";
        config["Sender:Voice:Url"] = new Uri(gateway.Url, "voice").ToString();
        config["Sender:Voice:RetryDelay"] = "00:00:00.010";
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), language: "en", channels: """["sms","voice"]"""));
        await using var sender = await StartSenderAsync(config, s => s.AddSingleton<TimeProvider>(clock));

        var reminder = ReminderJson.DataCap(Msisdn(1), 100_000_000, 100_000_000);
        var eventId = ReminderJson.Parse(reminder).EventId;
        ProduceReminders(cluster, reminder);
        Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True, "the urgent SMS at 03:00");
        Assert.That(WaitFor(() => NoticeLog(cluster).Count == 2), Is.True, "the SMS sent, the call deferred");
        await Task.Delay(500);
        Assert.That(gateway.Received.Select(r => r.Path), Is.EqualTo(new[] { "/sms" }), "no call at 03:00");

        clock.SetUtcNow(new DateTimeOffset(2026, 11, 4, 8, 0, 0, TimeSpan.FromHours(8)));
        Assert.That(await gateway.WaitForDeliveriesAsync(2, Patience), Is.True, "the call when the window opens");
        Assert.That(WaitFor(() => NoticeLog(cluster).Count == 3), Is.True);
        var log = NoticeLog(cluster);
        Assert.Multiple(() =>
        {
            Assert.That(gateway.Received.Select(r => (r.Path, r.IdempotencyKey, r.Delivered)), Is.EqualTo(new[]
            {
                ("/sms", $"{eventId}:sms", true), ("/voice", $"{eventId}:voice", true),
            }), "both delivered by the one gateway, each under its own key");
            Assert.That(log.Select(r => (r.Channel, r.Outcome, r.IdempotencyKey)), Is.EqualTo(new[]
            {
                ("sms", NoticeOutcomes.Sent, $"{eventId}:sms"), ("voice", NoticeOutcomes.Deferred, $"{eventId}:voice"), ("voice", NoticeOutcomes.Sent, $"{eventId}:voice"),
            }));
            Assert.That(log.Last().SentAt, Is.EqualTo(new DateTimeOffset(2026, 11, 4, 8, 0, 0, TimeSpan.FromHours(8))));
        });
        AssertStillRunning(sender);
    }

    [Test]
    public async Task A_bill_on_the_bills_topic_becomes_one_monthly_bill_notice_even_when_read_again()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false; // count what the sender sends
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), language: "en"), ProfileJson.Make(Msisdn(2)));
        var bill = BillJson.Make(Msisdn(1));
        await using (var first = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-bills-1")))
        {
            ProduceBills(cluster, bill, BillJson.Make(Msisdn(2), cycle: "2026-10-15", cycleEnd: "2026-11-15"));
            ProduceBills(cluster, bill); // the rater wrote it twice (a replay after a crash)
            Assert.That(await gateway.WaitForDeliveriesAsync(2, Patience), Is.True, $"delivered {gateway.DeliveriesByKey.Count} of 2");
            Assert.That(WaitFor(() => CommittedBills(cluster, "sender-bills-1") == 3), Is.True, "every bill's offset committed after its outcome");
            await first.StopAsync();
        }

        // The same group goes on from its committed offsets: the next bill, and none of the old ones again.
        var duplicates = SenderMetrics.Notices.WithLabels("bill", "sms", "duplicate").Value;
        await using (var again = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-bills-1")))
        {
            ProduceBills(cluster, BillJson.Make(Msisdn(1), cycle: "2026-12-01", cycleEnd: "2027-01-01"));
            Assert.That(await gateway.WaitForDeliveriesAsync(3, Patience), Is.True, "the December bill");
            Assert.That(SenderMetrics.Notices.WithLabels("bill", "sms", "duplicate").Value - duplicates, Is.Zero, "no old bill read again");
            await again.StopAsync();
        }

        // Another group reads every bill again: the notice log says they were sent.
        await using var second = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-bills-2"));
        Assert.That(WaitFor(() => SenderMetrics.Notices.WithLabels("bill", "sms", "duplicate").Value - duplicates >= 4), Is.True, "the other group skipped all four");
        var log = NoticeLog(cluster);
        Assert.Multiple(() =>
        {
            Assert.That(gateway.RequestsByKey.Keys, Is.EquivalentTo(new[]
            {
                $"{Msisdn(1)}:2026-11-01:bill:sms", $"{Msisdn(2)}:2026-10-15:bill:sms", $"{Msisdn(1)}:2026-12-01:bill:sms",
            }));
            Assert.That(gateway.RequestsByKey.Values, Has.All.EqualTo(1), "no bill notice sent twice");
            Assert.That(gateway.Received.First(r => r.To == Msisdn(1)).Text,
                Does.StartWith("Monthly bill for 2026-11-01 to 2026-11-30: total 55.00 yuan (usage 30.35 yuan, fees 5.00 yuan, minimum spend top-up 19.65 yuan)."));
            Assert.That(gateway.Received.Single(r => r.To == Msisdn(2)).Text, Does.StartWith("【月度账单】您2026-10-15至2026-11-14的账单合计55.00元"));
            Assert.That(log.Select(r => (r.Kind, r.Outcome)), Is.EqualTo(Enumerable.Repeat(("bill", NoticeOutcomes.Sent), 3)));
        });
        AssertStillRunning(second);
    }

    [Test]
    public async Task A_bill_deferred_by_quiet_hours_survives_a_restart_and_goes_out_once()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        gateway.Deduplicate = false;
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 30, 0, TimeSpan.FromHours(8)));
        var config = Config(cluster.BootstrapServers, gateway, "sender-bill-night");
        config["Sender:QuietHours:Start"] = "22:00";
        config["Sender:QuietHours:End"] = "08:00";
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1)));
        await using (var first = await StartSenderAsync(config, s => s.AddSingleton<TimeProvider>(clock)))
        {
            ProduceBills(cluster, BillJson.Make(Msisdn(1)));
            Assert.That(WaitFor(() => NoticeLog(cluster).Count == 1), Is.True);
            await first.StopAsync();
        }

        await using var second = await StartSenderAsync(config, s => s.AddSingleton<TimeProvider>(clock));
        await Task.Delay(500);
        Assert.That(gateway.Received, Is.Empty, "still quiet hours");
        clock.SetUtcNow(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.FromHours(8)));
        Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True);
        Assert.That(WaitFor(() => NoticeLog(cluster).Count == 2), Is.True);
        await Task.Delay(300);
        Assert.That(gateway.RequestsByKey.Values, Is.EqualTo(new[] { 1 }));
        Assert.That(NoticeLog(cluster).Select(r => (r.Kind, r.Outcome)), Is.EqualTo(new[] { ("bill", NoticeOutcomes.Deferred), ("bill", NoticeOutcomes.Sent) }));
    }

    [Test]
    public async Task Each_change_of_the_reminders_setting_is_recorded_once_with_the_time_it_was_seen()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 2);
        await using var gateway = await LoopbackGateway.StartAsync();
        ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1)));
        var seen = new DateTimeOffset(2026, 11, 3, 10, 0, 0, TimeSpan.FromHours(8));
        var clock = new FakeTimeProvider(seen);
        await using (var sender = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-setting-1"), s => s.AddSingleton<TimeProvider>(clock)))
        {
            ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), reminders: false));
            Assert.That(WaitFor(() => NoticeLog(cluster).Count == 1), Is.True, "the opt-out");
            clock.Advance(TimeSpan.FromHours(1));
            ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), language: "en", reminders: false)); // the setting stays off
            ProduceProfiles(cluster, ProfileJson.Make(Msisdn(1), language: "en"));
            Assert.That(WaitFor(() => NoticeLog(cluster).Count == 2), Is.True, "the opt-in");
            AssertStillRunning(sender);
        }

        // A restart reads subscribers from the beginning and finds both changes in the notice log.
        await using var again = await StartSenderAsync(Config(cluster.BootstrapServers, gateway, "sender-setting-2"), s => s.AddSingleton<TimeProvider>(clock));
        ProduceReminders(cluster, ReminderJson.HighSpend(Msisdn(1), 200_000_000, 200_150_000));
        Assert.That(await gateway.WaitForDeliveriesAsync(1, Patience), Is.True, "reminders are on again");
        Assert.That(WaitFor(() => NoticeLog(cluster).Count == 3), Is.True);
        await Task.Delay(500);
        var log = Kcat.ConsumeToEnd(cluster.BootstrapServers, cluster.Topics.NoticeLog);
        var records = log.Select(r => NoticeRecord.TryParse(System.Text.Encoding.UTF8.GetBytes(r.Value!))!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(records.Select(r => r.Outcome), Is.EqualTo(new[] { NoticeOutcomes.OptOutRecorded, NoticeOutcomes.OptInRecorded, NoticeOutcomes.Sent }));
            Assert.That(log.Select(r => r.Key), Has.All.EqualTo(Msisdn(1)));
            Assert.That(records.Take(2).Select(r => (r.Msisdn, r.Channel, r.SeenAt)), Is.EqualTo(new[]
            {
                (Msisdn(1), "none", (DateTimeOffset?)seen), (Msisdn(1), "none", (DateTimeOffset?)seen.AddHours(1)),
            }));
            Assert.That(records.Take(2).Select(r => r.ProfileAt), Has.All.Not.Null, "the profile record's own time");
            Assert.That(records[0].EventId, Does.StartWith($"{Msisdn(1)}:opt-out:{cluster.Topics.Subscribers}:"));
        });
        AssertStillRunning(again);
    }
}
