using NUnit.Framework;
using RatingPipeline.Rating;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// What a restore takes from <c>rater-state</c> when a subscriber has several records: the highest offset tag, so a
/// snapshot appended late by a member that had lost the partition never replaces the new owner's newer one.
/// </summary>
[TestFixture]
public sealed class StateChangelogTests
{
    private const ulong Subscriber = 8613800000219;

    [Test]
    public void A_stale_snapshot_appended_after_a_newer_one_is_ignored()
    {
        var states = new Dictionary<ulong, UsageState>();
        Assert.Multiple(() =>
        {
            Assert.That(StateChangelog.Apply(states, Subscriber, Snapshot(tag: 120, spend: 220_332), tombstone: false), Is.True);
            Assert.That(StateChangelog.Apply(states, Subscriber, Snapshot(tag: 90, spend: 214_951), tombstone: false), Is.True);
            Assert.That(states[Subscriber].OffsetTag, Is.EqualTo(120), "the newer snapshot stays");
            Assert.That(states[Subscriber].Spend, Is.EqualTo(220_332));
        });
    }

    [Test]
    public void A_newer_snapshot_replaces_an_older_one_and_on_equal_tags_the_later_record_wins()
    {
        var states = new Dictionary<ulong, UsageState>();
        StateChangelog.Apply(states, Subscriber, Snapshot(tag: 90, spend: 1), tombstone: false);
        StateChangelog.Apply(states, Subscriber, Snapshot(tag: 120, spend: 2), tombstone: false);
        Assert.That(states[Subscriber].Spend, Is.EqualTo(2), "higher tag");

        // Same tag: written again after a change that applies no record (a profile update), so the later is current.
        StateChangelog.Apply(states, Subscriber, Snapshot(tag: 120, spend: 3), tombstone: false);
        Assert.That(states[Subscriber].Spend, Is.EqualTo(3), "equal tag, later record");
    }

    [Test]
    public void A_tombstone_removes_the_state_and_an_undecodable_record_is_reported_and_changes_nothing()
    {
        var states = new Dictionary<ulong, UsageState>();
        StateChangelog.Apply(states, Subscriber, Snapshot(tag: 120, spend: 2), tombstone: false);
        Assert.That(StateChangelog.Apply(states, Subscriber, [0xFF, 0x00], tombstone: false), Is.False, "does not decode");
        Assert.That(states[Subscriber].Spend, Is.EqualTo(2), "the held state stays");

        Assert.That(StateChangelog.Apply(states, Subscriber, [], tombstone: true), Is.True);
        Assert.That(states.ContainsKey(Subscriber), Is.False, "removed by the tombstone");

        StateChangelog.Apply(states, Subscriber, Snapshot(tag: 5, spend: 7), tombstone: false);
        Assert.That(states[Subscriber].Spend, Is.EqualTo(7), "a record after a tombstone starts afresh, whatever its tag");
    }

    private static byte[] Snapshot(long tag, long spend)
    {
        var state = UsageState.New();
        state.OffsetTag = tag;
        state.Counters.Spend = spend;
        return UsageStateCodec.ToArray(in state);
    }
}
