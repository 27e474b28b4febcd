namespace RatingPipeline.Rating;

/// <summary>
/// Which stored state of a subscriber is the current one when <c>rater-state</c> holds several: the one with the
/// highest offset tag, the later on a tie. A state record is always a consistent snapshot (its counters are exactly
/// those of the records up to its tag), and tags only grow with the input offsets of the subscriber's partition, so
/// the highest tag is the newest snapshot even when an older one was appended after it — by a member that lost its
/// partitions without knowing it yet, whose last checkpoint reached the broker after the new owner had written its own.
/// "Last record per key" would take that stale snapshot and, with the offsets committed past it, lose the records
/// between the two tags from the subscriber's counters.
/// </summary>
public static class StateChangelog
{
    /// <summary>Whether <paramref name="incoming"/>, read after <paramref name="held"/>, replaces it.</summary>
    public static bool Supersedes(in UsageState incoming, in UsageState held) => incoming.OffsetTag >= held.OffsetTag;

    /// <summary>
    /// Applies one <c>rater-state</c> record, in log order, to <paramref name="states"/>: a tombstone removes the
    /// subscriber's state, a record replaces the held one unless that has a higher tag. False when the value does not decode.
    /// </summary>
    public static bool Apply(Dictionary<ulong, UsageState> states, ulong msisdnKey, ReadOnlySpan<byte> value, bool tombstone)
    {
        if (tombstone)
        {
            states.Remove(msisdnKey);
            return true;
        }

        if (!UsageStateCodec.TryRead(value, out var state))
        {
            return false;
        }

        if (!states.TryGetValue(msisdnKey, out var held) || Supersedes(in state, in held))
        {
            states[msisdnKey] = state;
        }

        return true;
    }
}
