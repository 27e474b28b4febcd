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
/// day (and past its quiet hours).
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
            return new RuleDecision(NoticeAction.Defer, false, quietHours.NextAllowed(now), "quiet hours");
        }

        if (!book.TryCountDaily(reminder.Msisdn, quietHours.LocalDay(now), reminder.EventId, options.DailyLimit))
        {
            return new RuleDecision(NoticeAction.Defer, false, quietHours.NextAllowed(quietHours.NextLocalMidnight(now)), "daily limit");
        }

        return new RuleDecision(NoticeAction.Send, false, null, null);
    }
}
