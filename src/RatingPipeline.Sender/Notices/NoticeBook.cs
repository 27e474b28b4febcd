using RatingPipeline.Sender.Reminders;

namespace RatingPipeline.Sender.Notices;

/// <summary>A notice waiting for its due time (quiet hours or the daily limit).</summary>
public sealed record DeferredNotice(Reminder Reminder, string Channel, DateTimeOffset DueAt, long Sequence);

/// <summary>
/// What the sender knows about one partition's notices, rebuilt from <c>notice-log</c> on assignment: the
/// (eventId, channel) pairs already finished (sent, suppressed or failed) within the window, the deferred
/// backlog, and per subscriber and local day the non-urgent notices sent (for the daily limit).
/// </summary>
public sealed class NoticeBook(Action<int>? backlogChanged = null)
{
    private readonly Dictionary<(string EventId, string Channel), DateTimeOffset> _finished = [];
    private readonly HashSet<(string EventId, string Channel)> _inFlight = [];
    private readonly Dictionary<(string EventId, string Channel), DeferredNotice> _deferred = [];
    private readonly Dictionary<(string Msisdn, DateOnly Day), HashSet<string>> _daily = [];
    private long _sequence;

    public int DeferredCount => _deferred.Count;

    public int FinishedCount => _finished.Count;

    public bool IsFinished(string eventId, string channel) => _finished.ContainsKey((eventId, channel));

    public bool IsDeferred(string eventId, string channel) => _deferred.ContainsKey((eventId, channel));

    public bool IsInFlight(string eventId, string channel) => _inFlight.Contains((eventId, channel));

    /// <summary>Claims the notice for the batch in hand; false when it is already finished, deferred or claimed.</summary>
    public bool TryClaim(string eventId, string channel, bool fromBacklog)
    {
        if (IsFinished(eventId, channel) || (!fromBacklog && IsDeferred(eventId, channel)))
        {
            return false;
        }

        return _inFlight.Add((eventId, channel));
    }

    /// <summary>
    /// Counts a non-urgent notice against the subscriber's limit for <paramref name="day"/>; true if it fits
    /// (or the same event was already counted that day, e.g. for another channel).
    /// </summary>
    public bool TryCountDaily(string msisdn, DateOnly day, string eventId, int limit)
    {
        if (!_daily.TryGetValue((msisdn, day), out var sent))
        {
            sent = new HashSet<string>(StringComparer.Ordinal);
            _daily[(msisdn, day)] = sent;
        }

        if (sent.Contains(eventId))
        {
            return true;
        }

        if (sent.Count >= limit)
        {
            return false;
        }

        sent.Add(eventId);
        return true;
    }

    public int DailyCount(string msisdn, DateOnly day) => _daily.TryGetValue((msisdn, day), out var sent) ? sent.Count : 0;

    /// <summary>Takes the deferred notices due at <paramref name="now"/>, earliest first (then in arrival order).</summary>
    public List<DeferredNotice> TakeDue(DateTimeOffset now)
    {
        var due = _deferred.Values.Where(d => d.DueAt <= now).OrderBy(d => d.DueAt).ThenBy(d => d.Sequence).ToList();
        foreach (var notice in due)
        {
            // Claimed by the processor like any other notice (TryClaim with fromBacklog).
            _deferred.Remove((notice.Reminder.EventId, notice.Channel));
        }

        if (due.Count > 0)
        {
            backlogChanged?.Invoke(-due.Count);
        }

        return due;
    }

    /// <summary>Earliest due time in the backlog, if any.</summary>
    public DateTimeOffset? NextDue => _deferred.Count == 0 ? null : _deferred.Values.Min(d => d.DueAt);

    /// <summary>Records an outcome that was written to <c>notice-log</c> (after it was acknowledged, or while restoring).</summary>
    public void Apply(NoticeRecord record, Reminder? reminder, DateOnly? sentDay)
    {
        var key = (record.EventId, record.Channel);
        _inFlight.Remove(key);
        if (NoticeOutcomes.IsFinal(record.Outcome))
        {
            if (_deferred.Remove(key))
            {
                backlogChanged?.Invoke(-1);
            }

            _finished[key] = record.LoggedAt;
            if (record.Outcome == NoticeOutcomes.Sent && !record.Urgent && sentDay is { } day)
            {
                if (!_daily.TryGetValue((record.Msisdn, day), out var sent))
                {
                    sent = new HashSet<string>(StringComparer.Ordinal);
                    _daily[(record.Msisdn, day)] = sent;
                }

                sent.Add(record.EventId);
            }
        }
        else if (record.Outcome == NoticeOutcomes.Deferred && reminder is not null && record.DueAt is { } dueAt && !_finished.ContainsKey(key))
        {
            var added = !_deferred.ContainsKey(key);
            _deferred[key] = new DeferredNotice(reminder, record.Channel, dueAt, _sequence++);
            if (added)
            {
                backlogChanged?.Invoke(1);
            }
        }
    }

    /// <summary>Releases a claim without an outcome (the batch was abandoned).</summary>
    public void Release(string eventId, string channel) => _inFlight.Remove((eventId, channel));

    /// <summary>Forgets finished notices older than <paramref name="horizon"/> and daily counts before its day.</summary>
    public void Prune(DateTimeOffset horizon, DateOnly oldestDay)
    {
        foreach (var key in _finished.Where(f => f.Value < horizon).Select(f => f.Key).ToList())
        {
            _finished.Remove(key);
        }

        foreach (var key in _daily.Keys.Where(k => k.Day < oldestDay).ToList())
        {
            _daily.Remove(key);
        }
    }

    /// <summary>Empties the book (partition revoked); reports the backlog it drops.</summary>
    public void Clear()
    {
        if (_deferred.Count > 0)
        {
            backlogChanged?.Invoke(-_deferred.Count);
        }

        _finished.Clear();
        _inFlight.Clear();
        _deferred.Clear();
        _daily.Clear();
    }
}
