using NUnit.Framework;
using RatingPipeline.Sender.Notices;

namespace RatingPipeline.Tests.Sender;

/// <summary>A change of a profile's <c>reminders</c> setting is a record of its own in <c>notice-log</c>.</summary>
[TestFixture]
[Category("sender")]
public sealed class SettingChangeTests
{
    private const string M = "8613800001234";
    private static readonly DateTimeOffset Seen = new(2026, 11, 3, 10, 0, 0, TimeSpan.FromHours(8));

    private static SettingChange? Detect(bool? before, bool after, bool restored = false, DateTimeOffset? profileAt = null) =>
        SettingChange.Detect(before is { } b ? ProfileJson.Of(M, reminders: b) : null, ProfileJson.Of(M, reminders: after),
            "subscribers", 3, 42, profileAt ?? Seen, Seen, restored);

    [Test]
    public void Turning_reminders_off_is_an_opt_out_named_after_the_profile_record()
    {
        var change = Detect(before: true, after: false)!;
        var record = change.ToRecord();
        Assert.Multiple(() =>
        {
            Assert.That(change.EventId, Is.EqualTo($"{M}:opt-out:subscribers:3:42"));
            Assert.That((record.Outcome, record.Kind, record.Channel, record.Msisdn), Is.EqualTo((NoticeOutcomes.OptOutRecorded, "opt-out", "none", M)));
            Assert.That((record.SeenAt, record.ProfileAt, record.LoggedAt), Is.EqualTo(((DateTimeOffset?)Seen, (DateTimeOffset?)Seen, Seen)));
            Assert.That(NoticeOutcomes.IsFinal(record.Outcome), Is.True, "recorded once, never handled again");
        });
    }

    [Test]
    public void Turning_reminders_back_on_is_an_opt_in()
    {
        var change = Detect(before: false, after: true)!;
        Assert.That((change.EventId, change.ToRecord().Outcome), Is.EqualTo(($"{M}:opt-in:subscribers:3:42", NoticeOutcomes.OptInRecorded)));
    }

    [TestCase(true, true)] // e.g. a new language: the setting stays on
    [TestCase(false, false)] // still off
    public void A_profile_that_keeps_the_setting_records_nothing(bool before, bool after) =>
        Assert.That(Detect(before, after), Is.Null);

    [Test]
    public void A_first_profile_is_compared_with_the_default_on()
    {
        Assert.That(Detect(before: null, after: true), Is.Null);
        Assert.That(Detect(before: null, after: false)!.ToRecord().Outcome, Is.EqualTo(NoticeOutcomes.OptOutRecorded));
    }

    [Test]
    public void A_change_already_in_the_notice_log_is_not_written_again()
    {
        var change = Detect(before: true, after: false)!;
        var book = new NoticeBook();
        Assert.That(change.IsToRecord(book, Seen.AddDays(-7)), Is.True);
        book.Apply(change.ToRecord(), null, null);
        Assert.That(change.IsToRecord(book, Seen.AddDays(-7)), Is.False);
    }

    [Test]
    public void A_change_found_while_restoring_is_written_only_when_made_within_the_window_the_log_was_read_for()
    {
        var horizon = Seen.AddDays(-7);
        Assert.Multiple(() =>
        {
            Assert.That(Detect(true, false, restored: true, profileAt: horizon.AddMinutes(1))!.IsToRecord(new NoticeBook(), horizon), Is.True,
                "made while no sender ran: written now, with the time it was seen");
            Assert.That(Detect(true, false, restored: true, profileAt: horizon.AddMinutes(-1))!.IsToRecord(new NoticeBook(), horizon), Is.False,
                "older than the window: the sender of that time wrote it");
            Assert.That(Detect(true, false, restored: false, profileAt: horizon.AddDays(-30))!.IsToRecord(new NoticeBook(), horizon), Is.True,
                "read live: always written");
        });
    }
}
