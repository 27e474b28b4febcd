using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Rater;

/// <summary>
/// The session's partitions: assigned → restore the state and profiles before rating; revoked → checkpoint, then drop;
/// lost → drop without writing anything for them. Profiles follow the <c>subscribers</c> partitions of the assigned
/// <c>cdrs</c> partitions.
/// </summary>
internal sealed partial class RaterSession
{
    void IPartitionOwner.Assigned(IReadOnlyList<int> numbers)
    {
        _readiness.SetNotReady($"restoring partitions {string.Join(',', numbers)}");
        RaterMetrics.SetReady(false);
        _restoring.UnionWith(numbers);
        PublishPartitions();
        _endpoints.Advertise(numbers);
        foreach (var partition in numbers)
        {
            var started = Stopwatch.GetTimestamp();
            var states = RestoreStates(partition);
            var profiles = RestoreProfiles(partition);
            _assigned.Add(partition);
            _ownership.Assign(partition);
            _restoring.Remove(partition);
            PublishPartitions();
            var elapsed = Stopwatch.GetElapsedTime(started);
            RaterMetrics.ObserveRestore(elapsed.TotalSeconds);
            _log.LogInformation("Partition {Partition} restored: {States} states, {Profiles} profiles in {Seconds:F3} s", partition, states, profiles, elapsed.TotalSeconds);
        }

        SetStateMetrics();
        _readiness.SetReady();
        RaterMetrics.SetReady(true);
    }

    void IPartitionOwner.Revoked(IReadOnlyList<int> partitions)
    {
        // Rate the batch in hand and checkpoint everything (outputs, states, commit) while the partitions are still ours,
        // then drop them. A session abandoned after a fault finishes nothing: the next owner starts from the last commit.
        if (!_abandoning)
        {
            RateBatch();
            CheckpointNow();
        }

        Drop(partitions);
    }

    void IPartitionOwner.Lost(IReadOnlyList<int> partitions)
    {
        // Lost: another member may own them already; nothing may be written or committed for them (a checkpoint in
        // flight drops their states, see Checkpointer; their staged offsets are dropped by the consumer).
        var lost = partitions.ToHashSet();
        _batch.RemoveAll(r => lost.Contains(r.Partition.Value));
        Drop(lost);
    }

    private void Drop(IEnumerable<int> partitions)
    {
        var dropped = partitions.ToList();
        foreach (var partition in dropped)
        {
            _ownership.Release(partition);
            _assigned.Remove(partition);
            LaneOf(partition).Positions.Remove(partition);

            if (_statesByPartition.Remove(partition, out var states))
            {
                foreach (var key in states)
                {
                    LaneOf(partition).RemoveState(key);
                }
            }

            if (_profilesByPartition.Remove(partition, out var profiles))
            {
                foreach (var key in profiles)
                {
                    LaneOf(partition).Engine.RemoveProfile(key);
                }
            }

            RaterMetrics.RemoveLag(partition);
        }

        // Changes since the last mark of a dropped partition are never written (revoke: the checkpoint above took them).
        var droppedSet = dropped.ToHashSet();
        foreach (var lane in _lanes)
        {
            foreach (var (key, partition) in lane.Dirty)
            {
                if (droppedSet.Contains(partition))
                {
                    lane.Dirty.Remove(key);
                    lane.RemoveState(key);
                }
            }
        }

        _profiles.IncrementalUnassign(dropped.Select(p => new TopicPartition(_topics.Subscribers, p)));
        _restoring.ExceptWith(dropped);
        PublishPartitions();
        SetStateMetrics();
        _log.LogInformation("Partitions {Partitions} dropped", string.Join(',', dropped));
    }

    /// <summary>
    /// Reads the partition of <c>rater-state</c> from the beginning to its end; per key the record with the highest
    /// offset tag wins, the later on a tie (<see cref="StateChangelog"/>), and a tombstone removes.
    /// </summary>
    private int RestoreStates(int partition)
    {
        var count = 0;
        var stale = 0;
        ReadToEnd(_topics.RaterState, partition, (key, value) =>
        {
            if (!MsisdnKey.TryCompute(key, out var msisdnKey))
            {
                return;
            }

            if (value is null)
            {
                LaneOf(partition).RemoveState(msisdnKey);
            }
            else if (UsageStateCodec.TryRead(value, out var state))
            {
                // The highest tag wins, not the last record: a stale snapshot appended late never replaces a newer one.
                var engine = LaneOf(partition).Engine;
                if (engine.TryGetState(msisdnKey, out var held) && !StateChangelog.Supersedes(in state, in held))
                {
                    stale++;
                    return;
                }

                engine.SetState(msisdnKey, in state);
                Track(_statesByPartition, partition, msisdnKey);
                count++;
            }
            else
            {
                _log.LogError("rater-state partition {Partition}: unreadable state record for {Msisdn} ignored", partition, Msisdns.Mask(key));
            }
        });
        if (stale > 0)
        {
            _log.LogWarning("rater-state partition {Partition}: {Stale} state records older than one before them ignored (appended late by a member that had lost the partition)",
                partition, stale);
        }

        return count;
    }

    /// <summary>Reads the partition of <c>subscribers</c> to its end, then keeps following it for updates.</summary>
    private int RestoreProfiles(int partition)
    {
        var ranges = PartitionReader.Whole(_profiles, _topics.Subscribers, [partition]);
        var count = 0;
        foreach (var record in PartitionReader.ReadToEnd(_profiles, _topics.Subscribers, ranges, _profilesRead))
        {
            // The profiles of the partitions already followed arrive meanwhile too: every record is applied.
            ApplyProfile(record);
            if (record.Partition.Value == partition)
            {
                count++;
            }
        }

        return count;
    }

    private void PollProfiles(int max)
    {
        for (var i = 0; i < max; i++)
        {
            var record = Consume(_profiles, TimeSpan.Zero);
            if (record is null)
            {
                return;
            }

            ApplyProfile(record);
        }
    }

    private void ApplyProfile(ConsumeResult<byte[], byte[]> record)
    {
        var partition = record.Partition.Value;
        if (record.Message.Value is null)
        {
            // A tombstone deletes the subscriber: later CDRs are rejected unknown-subscriber.
            if (record.Message.Key is { } key && MsisdnKey.TryCompute(key, out var deleted))
            {
                LaneOf(partition).Engine.RemoveProfile(deleted);
            }

            return;
        }

        var engine = LaneOf(partition).Engine;
        var profile = SubscriberProfile.TryParse(record.Message.Value, engine.Tariff, out var error);
        if (profile is null)
        {
            RaterMetrics.CountProfileRefusal();
            _log.LogWarning("Profile refused at {Topic}[{Partition}]@{Offset} for {Msisdn}: {Error}; the previous profile stays",
                record.Topic, partition, record.Offset.Value, Msisdns.Mask(record.Message.Key ?? []), error);
            return;
        }

        engine.SetProfile(profile, clockGroup: partition);
        Track(_profilesByPartition, partition, profile.MsisdnKey);
    }

    private void ReadToEnd(string topic, int partition, Action<byte[], byte[]?> apply)
    {
        var ranges = PartitionReader.Whole(_restore, topic, [partition]);
        foreach (var record in PartitionReader.ReadToEnd(_restore, topic, ranges, _restoreRead))
        {
            apply(record.Message.Key ?? [], record.Message.Value);
        }
    }

    /// <summary>
    /// Consume that lets the client ride out what it retries by itself: a fetch that failed with a broker error
    /// is reported as a non-fatal error while librdkafka fetches again from the same position, so it is logged
    /// and the loop goes on. Only a fatal error ends the session.
    /// </summary>
    private ConsumeResult<byte[], byte[]>? Consume(IConsumer<byte[], byte[]> consumer, TimeSpan timeout) =>
        PartitionReader.ConsumeOrRetry(consumer, timeout, e => ConsumeRetried(consumer, e), consumer.Name);

    private void ConsumeRetried(IConsumer<byte[], byte[]> consumer, Error error)
    {
        RaterMetrics.CountConsumeError();
        _log.LogWarning("Kafka consumer {Client}: {Reason} ({Code}); the client retries", consumer.Name, error.Reason, error.Code);
    }

    private void OnStatistics(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("topics", out var topics) || !topics.TryGetProperty(_topics.Cdrs, out var topic)
                || !topic.TryGetProperty("partitions", out var partitions))
            {
                return;
            }

            foreach (var p in partitions.EnumerateObject())
            {
                if (int.TryParse(p.Name, System.Globalization.CultureInfo.InvariantCulture, out var partition) && partition >= 0
                    && _assigned.Contains(partition) && p.Value.TryGetProperty("consumer_lag", out var lag) && lag.GetInt64() >= 0)
                {
                    RaterMetrics.SetLag(partition, lag.GetInt64());
                }
            }
        }
        catch (JsonException)
        {
            // Statistics are advisory; a malformed document only skips one lag update.
        }
    }

    private static void Track(Dictionary<int, HashSet<ulong>> map, int partition, ulong key)
    {
        if (!map.TryGetValue(partition, out var set))
        {
            set = [];
            map[partition] = set;
        }

        set.Add(key);
    }
}
