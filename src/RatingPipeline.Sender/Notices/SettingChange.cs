using RatingPipeline.Subscribers;

namespace RatingPipeline.Sender.Notices;

/// <summary>
/// A change of a profile's <c>reminders</c> setting, seen on <c>subscribers</c>: the opt-out (<c>on</c> →
/// <c>off</c>) or the opt-in (<c>off</c> → <c>on</c>) itself, to be written to <c>notice-log</c> as a record of
/// its own. Its <see cref="EventId"/> names the profile record that made the change
/// (<c>msisdn:opt-out:subscribers:partition:offset</c>), so reading the topic again finds the same change, and
/// one already in <c>notice-log</c> is not written again.
/// </summary>
/// <param name="Partition">The <c>subscribers</c> partition the profile record was read from.</param>
/// <param name="EventId">The change's identity, as above.</param>
/// <param name="Msisdn">The subscriber.</param>
/// <param name="RemindersOn">The setting after the change: <see langword="true"/> for an opt-in.</param>
/// <param name="ProfileAt">The timestamp of the profile's record on <c>subscribers</c>, when it has one.</param>
/// <param name="SeenAt">When the sender read it.</param>
/// <param name="Restored">Found while rebuilding a partition's profiles from the beginning (not read live).</param>
public sealed record SettingChange(int Partition, string EventId, string Msisdn, bool RemindersOn, DateTimeOffset? ProfileAt, DateTimeOffset SeenAt, bool Restored)
{
    /// <summary>
    /// The change <paramref name="current"/> makes to the setting of <paramref name="previous"/> (the profile it
    /// replaces; none: the default, <c>on</c>), or null when the setting stays as it was.
    /// </summary>
    public static SettingChange? Detect(
        SubscriberProfile? previous,
        SubscriberProfile current,
        string subscribersTopic,
        int partition,
        long offset,
        DateTimeOffset? profileAt,
        DateTimeOffset seenAt,
        bool restored)
    {
        ArgumentNullException.ThrowIfNull(current);
        var before = previous?.RemindersOn ?? true;
        if (before == current.RemindersOn)
        {
            return null;
        }

        var what = current.RemindersOn ? "opt-in" : "opt-out";
        return new SettingChange(partition, $"{current.Msisdn}:{what}:{subscribersTopic}:{partition}:{offset}", current.Msisdn, current.RemindersOn, profileAt, seenAt, restored);
    }

    /// <summary>
    /// Whether the change still has to be written: not already in <paramref name="book"/> (restored from
    /// <c>notice-log</c>), and, for a change found while restoring, made within the window the book remembers
    /// (an older one was written by the sender that ran then).
    /// </summary>
    public bool IsToRecord(NoticeBook book, DateTimeOffset horizon)
    {
        ArgumentNullException.ThrowIfNull(book);
        return !book.IsFinished(EventId, NoticeRecordChannels.None) && (!Restored || ProfileAt is not { } at || at >= horizon);
    }

    /// <summary>The <c>notice-log</c> record of this change.</summary>
    public NoticeRecord ToRecord() => new()
    {
        EventId = EventId,
        Msisdn = Msisdn,
        Kind = RemindersOn ? "opt-in" : "opt-out",
        Channel = NoticeRecordChannels.None,
        Outcome = RemindersOn ? NoticeOutcomes.OptInRecorded : NoticeOutcomes.OptOutRecorded,
        LoggedAt = SeenAt,
        SeenAt = SeenAt,
        ProfileAt = ProfileAt,
    };
}

/// <summary>The channel of <c>notice-log</c> records that deliver nothing.</summary>
public static class NoticeRecordChannels
{
    public const string None = "none";
}
