using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Notices;

namespace RatingPipeline.Tests.Sender;

/// <summary>Consumer-protection rules, on an injected clock, with deliveries to a real loopback gateway.</summary>
[TestFixture]
[Category("sender")]
public sealed class RulesTests
{
    private const string M = "8613800001234";
    private static readonly TimeSpan Beijing = TimeSpan.FromHours(8);

    private static DateTimeOffset Local(int day, int hour, int minute = 0) => new(2026, 11, day, hour, minute, 0, Beijing);

    [Test]
    public async Task Opted_out_subscriber_gets_nothing_and_the_suppression_is_recorded()
    {
        await using var rig = await SenderRig.StartAsync(time: new FakeTimeProvider(Local(3, 10)));
        var before = SenderMetrics.SuppressedOptOut.Value;
        var outputs = await rig.HandleAsync(ProfileJson.Of(M, reminders: false),
            ReminderJson.Roaming(M, "454", "HMT", "null", "null", "null", "null"),
            ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));

        Assert.Multiple(() =>
        {
            Assert.That(outputs.Select(o => o.Record.Outcome), Is.EqualTo(new[] { NoticeOutcomes.SuppressedOptOut, NoticeOutcomes.SuppressedOptOut }));
            Assert.That(outputs.Select(o => o.IsDeadLetter), Has.None.True);
            Assert.That(rig.Gateway.Received, Is.Empty);
            Assert.That(SenderMetrics.SuppressedOptOut.Value - before, Is.EqualTo(2));
            Assert.That(rig.Book.IsFinished(outputs[0].Record.EventId, "sms"), Is.True);
        });
    }

    [Test]
    public async Task Non_urgent_notice_in_quiet_hours_waits_for_the_end_of_the_window()
    {
        var clock = new FakeTimeProvider(Local(3, 23, 30));
        await using var rig = await SenderRig.StartAsync(time: clock);
        var profile = ProfileJson.Of(M, language: "en");
        var outputs = await rig.HandleAsync(profile, ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));

        Assert.That(outputs.Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.Deferred));
        Assert.That(outputs.Single().Record.DueAt, Is.EqualTo(Local(4, 8)));
        Assert.That(outputs.Single().Record.Reminder, Is.Not.Null, "a deferred record carries the reminder so it survives a restart");
        Assert.That(rig.Book.DeferredCount, Is.EqualTo(1));

        clock.SetUtcNow(Local(4, 7, 59));
        Assert.That(await rig.ReleaseDueAsync(clock.GetUtcNow(), profile), Is.Empty);
        Assert.That(rig.Gateway.Received, Is.Empty);

        clock.SetUtcNow(Local(4, 8));
        var released = await rig.ReleaseDueAsync(clock.GetUtcNow(), profile);
        Assert.Multiple(() =>
        {
            Assert.That(released.Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
            Assert.That(released.Single().Record.SentAt, Is.EqualTo(Local(4, 8)));
            Assert.That(rig.Gateway.Received.Single().Text, Does.StartWith("Usage reminder: you have used 80% of your voice allowance (80 min of 100 min)."));
            Assert.That(rig.Book.DeferredCount, Is.Zero);
        });
    }

    [Test]
    public async Task Urgent_kinds_go_at_once_in_quiet_hours()
    {
        await using var rig = await SenderRig.StartAsync(time: new FakeTimeProvider(Local(3, 2)));
        var outputs = await rig.HandleAsync(ProfileJson.Of(M),
            ReminderJson.Roaming(M, "454", "HMT", """{"price":2990000,"unit":60}""", "null", "null", "null"),
            ReminderJson.DataCap(M, 100_000_000, 100_000_000),
            ReminderJson.HighSpend(M, 200_000_000, 200_150_000),
            ReminderJson.LowBalance(M, 10_000_000, 9_855_000),
            ReminderJson.Allowance(M, "data", 100, 10_737_418_240, 10_737_418_240, 290000, 1_048_576),
            ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));

        Assert.Multiple(() =>
        {
            Assert.That(outputs.Take(5).Select(o => (o.Record.Kind, o.Record.Outcome, o.Record.Urgent)), Is.EqualTo(new[]
            {
                ("roaming", "sent", true), ("data-cap", "sent", true), ("high-spend", "sent", true), ("low-balance", "sent", true), ("allowance", "sent", true),
            }));
            Assert.That(outputs[5].Record.Outcome, Is.EqualTo(NoticeOutcomes.Deferred), "allowance at 80 % is not urgent");
            Assert.That(rig.Gateway.DeliveriesByKey, Has.Count.EqualTo(5));
        });
    }

    [Test]
    public async Task Urgency_is_configurable_per_kind()
    {
        await using var rig = await SenderRig.StartAsync(
            o =>
            {
                o.Urgent["roaming"] = false;
                o.Urgent["allowance"] = true;
            },
            new FakeTimeProvider(Local(3, 23)));
        var outputs = await rig.HandleAsync(ProfileJson.Of(M),
            ReminderJson.Roaming(M, "454", "HMT", "null", "null", "null", "null"),
            ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));
        Assert.That(outputs.Select(o => o.Record.Outcome), Is.EqualTo(new[] { NoticeOutcomes.Deferred, NoticeOutcomes.Sent }));
    }

    [Test]
    public async Task Quiet_hours_follow_the_configured_window_and_utc_offset()
    {
        // 23:30 in +08:00 is 16:30 in +01:00: outside 22:00-08:00 there, inside 16:00-17:00.
        var now = Local(3, 23, 30);
        await using (var rig = await SenderRig.StartAsync(o => o.UtcOffset = "+01:00", new FakeTimeProvider(now)))
        {
            var outputs = await rig.HandleAsync(ProfileJson.Of(M), ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));
            Assert.That(outputs.Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
        }

        await using (var rig = await SenderRig.StartAsync(
            o =>
            {
                o.UtcOffset = "+01:00";
                o.QuietHours.Start = "16:00";
                o.QuietHours.End = "17:00";
            },
            new FakeTimeProvider(now)))
        {
            var outputs = await rig.HandleAsync(ProfileJson.Of(M), ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));
            Assert.That(outputs.Single().Record.DueAt, Is.EqualTo(new DateTimeOffset(2026, 11, 3, 17, 0, 0, TimeSpan.FromHours(1))));
        }
    }

    [Test]
    public async Task Beyond_the_daily_limit_non_urgent_notices_wait_for_the_next_day()
    {
        var clock = new FakeTimeProvider(Local(3, 10));
        await using var rig = await SenderRig.StartAsync(o => o.DailyLimit = 5, clock);
        var profile = ProfileJson.Of(M);
        var reminders = Enumerable.Range(1, 7).Select(n => ReminderJson.Numbered(M, n))
            .Append(ReminderJson.HighSpend(M, 200_000_000, 200_150_000)).ToArray();
        var outputs = await rig.HandleAsync(profile, reminders);

        Assert.Multiple(() =>
        {
            Assert.That(outputs.Count(o => o.Record.Outcome == NoticeOutcomes.Sent), Is.EqualTo(6), "5 within the limit and the urgent one");
            Assert.That(outputs[7].Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent), "urgent notices are not limited");
            Assert.That(outputs.Where(o => o.Record.Outcome == NoticeOutcomes.Deferred).Select(o => o.Record.DueAt),
                Is.EqualTo(new DateTimeOffset?[] { Local(4, 8), Local(4, 8) }), "next day, after its quiet hours");
            Assert.That(outputs.Where(o => o.Record.Outcome == NoticeOutcomes.Deferred).Select(o => o.Record.Reason), Has.All.EqualTo("daily limit"));
        });

        clock.SetUtcNow(Local(4, 8));
        var released = await rig.ReleaseDueAsync(clock.GetUtcNow(), profile);
        Assert.That(released.Select(o => o.Record.Outcome), Is.EqualTo(new[] { NoticeOutcomes.Sent, NoticeOutcomes.Sent }));
        Assert.That(rig.Gateway.DeliveriesByKey, Has.Count.EqualTo(8));
        Assert.That(rig.Book.DailyCount(M, new DateOnly(2026, 11, 4)), Is.EqualTo(2));
    }

    [Test]
    public async Task A_notice_is_never_dropped_when_the_next_day_is_also_full()
    {
        var clock = new FakeTimeProvider(Local(3, 10));
        await using var rig = await SenderRig.StartAsync(o => o.DailyLimit = 1, clock);
        var profile = ProfileJson.Of(M);
        await rig.HandleAsync(profile, ReminderJson.Numbered(M, 1), ReminderJson.Numbered(M, 2), ReminderJson.Numbered(M, 3));

        clock.SetUtcNow(Local(4, 8));
        var day2 = await rig.ReleaseDueAsync(clock.GetUtcNow(), profile);
        Assert.That(day2.Select(o => o.Record.Outcome), Is.EqualTo(new[] { NoticeOutcomes.Sent, NoticeOutcomes.Deferred }));
        Assert.That(day2[1].Record.DueAt, Is.EqualTo(Local(5, 8)));

        clock.SetUtcNow(Local(5, 8));
        var day3 = await rig.ReleaseDueAsync(clock.GetUtcNow(), profile);
        Assert.That(day3.Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
        Assert.That(rig.Gateway.DeliveriesByKey, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task A_deferred_notice_is_suppressed_if_the_subscriber_opts_out_before_it_is_due()
    {
        var clock = new FakeTimeProvider(Local(3, 23));
        await using var rig = await SenderRig.StartAsync(time: clock);
        await rig.HandleAsync(ProfileJson.Of(M), ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60));
        clock.SetUtcNow(Local(4, 9));
        var released = await rig.ReleaseDueAsync(clock.GetUtcNow(), ProfileJson.Of(M, reminders: false));
        Assert.That(released.Single().Record.Outcome, Is.EqualTo(NoticeOutcomes.SuppressedOptOut));
        Assert.That(rig.Gateway.Received, Is.Empty);
    }

    [Test]
    public async Task The_same_reminder_twice_yields_one_notice()
    {
        await using var rig = await SenderRig.StartAsync(time: new FakeTimeProvider(Local(3, 10)));
        rig.Gateway.Deduplicate = false;
        var reminder = ReminderJson.DataCap(M, 100_000_000, 100_000_000);
        var first = await rig.HandleAsync(ProfileJson.Of(M), reminder, reminder);
        var again = await rig.HandleAsync(ProfileJson.Of(M), reminder);
        Assert.Multiple(() =>
        {
            Assert.That(first.Select(o => o.Record.Outcome), Is.EqualTo(new[] { NoticeOutcomes.Sent }));
            Assert.That(again, Is.Empty);
            Assert.That(rig.Gateway.RequestsByKey.Values, Is.EqualTo(new[] { 1 }), "the sender itself sent it once; the gateway de-duplication was off");
        });
    }

    [Test]
    public async Task Without_a_profile_the_opt_out_cannot_be_checked_so_the_notice_fails_to_the_dead_letter_topic()
    {
        await using var rig = await SenderRig.StartAsync(time: new FakeTimeProvider(Local(3, 10)));
        var output = (await rig.HandleAsync(null, ReminderJson.DataCap(M, 100_000_000, 100_000_000))).Single();
        Assert.That((output.Record.Outcome, output.IsDeadLetter), Is.EqualTo((NoticeOutcomes.Failed, true)));
        Assert.That(output.Record.Reason, Does.Contain("no subscriber profile"));
        Assert.That(rig.Gateway.Received, Is.Empty);
    }
}
