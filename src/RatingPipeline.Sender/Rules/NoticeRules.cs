using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Reminders;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Sender.Rules;

public enum NoticeAction
{
    Send,
    SuppressOptOut,
    Defer,
    Fail,
}

/// <summary>What the consumer-protection rules say about one reminder now.</summary>
public readonly record struct RuleDecision(NoticeAction Action, bool Urgent, DateTimeOffset? DueAt, string? Reason);

/// <summary>
/// The consumer-protection rules, in order: no profile → fail (to the dead-letter topic: opt-out cannot be
/// checked); opted out → suppressed and recorded; urgent kinds → at once; in quiet hours → deferred to the
/// end of the window; beyond the subscriber's daily limit of non-urgent notices → deferred to the next local
/// day (and past its quiet hours). A <c>vas-precharge</c> is never deferred to less than
/// <see cref="SenderOptions.VasPrechargeMargin"/> before its <c>chargeAt</c>: the subscriber hears of a
/// service's price before it is charged, so it goes at once instead. Then, per channel (<see cref="ForChannel"/>):
/// no voice call is placed in quiet hours, urgent or not; it waits for the window to open.
/// </summary>
public sealed class NoticeRules(SenderOptions options, QuietHours quietHours)
{
    public QuietHours QuietHours => quietHours;

    public RuleDecision Decide(Reminder reminder, SubscriberProfile? profile, NoticeBook book, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(reminder);
        ArgumentNullException.ThrowIfNull(book);
        var urgent = options.IsUrgent(reminder.Kind, reminder.Threshold);
        if (profile is null)
        {
            return new RuleDecision(NoticeAction.Fail, urgent, null, "no subscriber profile for this msisdn: the opt-out cannot be checked");
        }

        if (!profile.RemindersOn)
        {
            return new RuleDecision(NoticeAction.SuppressOptOut, urgent, null, "the subscriber opted out of reminders");
        }

        if (urgent)
        {
            return new RuleDecision(NoticeAction.Send, true, null, null);
        }

        if (quietHours.Contains(now))
        {
            var due = quietHours.NextAllowed(now);
            return LeavesTimeBeforeCharge(reminder, due)
                ? new RuleDecision(NoticeAction.Defer, false, due, "quiet hours")
                : new RuleDecision(NoticeAction.Send, false, null, $"quiet hours, but the service is charged at {reminder.ChargeAt}, before they end");
        }

        if (!book.TryCountDaily(reminder.Msisdn, quietHours.LocalDay(now), reminder.EventId, options.DailyLimit))
        {
            var due = quietHours.NextAllowed(quietHours.NextLocalMidnight(now));
            return LeavesTimeBeforeCharge(reminder, due)
                ? new RuleDecision(NoticeAction.Defer, false, due, "daily limit")
                : new RuleDecision(NoticeAction.Send, false, null, $"beyond the daily limit, but the service is charged at {reminder.ChargeAt}, before the next day");
        }

        return new RuleDecision(NoticeAction.Send, false, null, null);
    }

    /// <summary>
    /// The decision for one channel: a voice call that would be placed in quiet hours (an urgent notice, or a
    /// <c>vas-precharge</c> that cannot wait) waits for the end of the window instead; SMS and e-mail go.
    /// </summary>
    public RuleDecision ForChannel(RuleDecision decision, string channel, DateTimeOffset now) =>
        decision.Action == NoticeAction.Send && channel == ChannelNames.Voice && quietHours.Contains(now)
            ? decision with { Action = NoticeAction.Defer, DueAt = quietHours.NextAllowed(now), Reason = "quiet hours: no voice calls" }
            : decision;

    /// <summary>Whether deferring to <paramref name="due"/> still leaves the margin before a vas-precharge's charge (always, for other kinds).</summary>
    private bool LeavesTimeBeforeCharge(Reminder reminder, DateTimeOffset due) =>
        reminder.Kind != ReminderKinds.VasPrecharge || reminder.ChargeAtInstant is not { } chargeAt || due <= chargeAt - options.VasPrechargeMargin;
}
