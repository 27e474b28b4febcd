using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;
using RatingPipeline.Rating;
using RatingPipeline.Records;

namespace RatingPipeline.Rater;

/// <summary>
/// The <c>cdrs</c> partitions a rater session holds and what comes with them: assigned → restore their states from
/// <c>rater-state</c> and their profiles from <c>subscribers</c> (<see cref="ProfileFollower"/>) before rating;
/// revoked or lost → drop both. Ownership per partition (with its generation) is what the checkpoints are fenced by.
/// </summary>
internal sealed class RaterPartitions : IDisposable
{
    private readonly TopicNames _topics;
    private readonly Readiness _readiness;
    private readonly UsageQueries _queries;
    private readonly RaterEndpoints _endpoints;
    private readonly ILogger _log;
    private readonly RatingLane[] _lanes;
    private readonly ProfileFollower _profiles;
    private readonly IConsumer<byte[], byte[]> _restore;
    private readonly ReadToEndOptions _restoreRead;
    private readonly Dictionary<int, HashSet<ulong>> _statesByPartition = [];
    private readonly HashSet<int> _restoring = [];
    private int _partitionCount;

    public RaterPartitions(RaterOptions options, KafkaOptions kafka, TopicNames topics, RatingLane[] lanes, Readiness readiness,
        UsageQueries queries, RaterEndpoints endpoints, ILogger log)
    {
        _topics = topics;
        _lanes = lanes;
        _readiness = readiness;
        _queries = queries;
        _endpoints = endpoints;
        _log = log;

        _profiles = new ProfileFollower(options, kafka, topics, LaneOf, log);

        // State restore: one reader for the session, assigned one rater-state partition at a time. Creating and
        // destroying a client per partition costs a connection each, and librdkafka's destroy can hang when it
        // races a leader re-query after a fetch error; the session's clients are destroyed only when it ends.
        var restoreConfig = KafkaClientTuning.Consumer(kafka, $"{options.GroupId}-restore", "none");
        restoreConfig.ClientId = $"rater-{options.InstanceId}-restore";
        _restore = new ConsumerBuilder<byte[], byte[]>(restoreConfig).SetLogHandler((_, _) => { }).Build();
        _restoreRead = new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(120), OnRetriedError = e => ConsumeRetried(_restore, e) };
    }

    /// <summary>Which partitions this member owns, in which generation: checked by every checkpoint write.</summary>
    public PartitionOwnership Ownership { get; } = new();

    /// <summary>The partitions restored and rated now (the rating thread's view).</summary>
    public HashSet<int> Assigned { get; } = [];

    /// <summary>The partition count of <c>cdrs</c>, published to the usage query API with the partitions held.</summary>
    public int PartitionCount
    {
        get => _partitionCount;
        set
        {
            _partitionCount = value;
            Publish();
        }
    }

    /// <summary>The lane that rates <paramref name="partition"/>.</summary>
    public RatingLane LaneOf(int partition) => _lanes[partition % _lanes.Length];

    /// <summary>Restores <paramref name="numbers"/>, partition by partition; the member is not ready meanwhile.</summary>
    public void Assign(IReadOnlyList<int> numbers)
    {
        _readiness.SetNotReady($"restoring partitions {string.Join(',', numbers)}");
        RaterMetrics.SetReady(false);
        _restoring.UnionWith(numbers);
        Publish();
        _endpoints.Advertise(numbers);
        foreach (var partition in numbers)
        {
            var started = Stopwatch.GetTimestamp();
            var states = RestoreStates(partition);
            var profiles = _profiles.Restore(partition);
            Assigned.Add(partition);
            Ownership.Assign(partition);
            _restoring.Remove(partition);
            Publish();
            var elapsed = Stopwatch.GetElapsedTime(started);
            RaterMetrics.ObserveRestore(elapsed.TotalSeconds);
            _log.LogInformation("Partition {Partition} restored: {States} states, {Profiles} profiles in {Seconds:F3} s", partition, states, profiles, elapsed.TotalSeconds);
        }

        SetStateMetrics();
        _readiness.SetReady();
        RaterMetrics.SetReady(true);
    }

    /// <summary>
    /// Drops <paramref name="partitions"/>: their ownership, states, profiles and positions, and the changes since the
    /// last mark, which are never written (on revoke the session's checkpoint took them before).
    /// </summary>
    public void Drop(IEnumerable<int> partitions)
    {
        var dropped = partitions.ToList();
        foreach (var partition in dropped)
        {
            Ownership.Release(partition);
            Assigned.Remove(partition);
            LaneOf(partition).Positions.Remove(partition);
            if (_statesByPartition.Remove(partition, out var states))
            {
                foreach (var key in states)
                {
                    LaneOf(partition).RemoveState(key);
                }
            }

            RaterMetrics.RemoveLag(partition);
        }

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

        _profiles.Drop(dropped);
        _restoring.ExceptWith(dropped);
        Publish();
        SetStateMetrics();
        _log.LogInformation("Partitions {Partitions} dropped", string.Join(',', dropped));
    }

    /// <summary>Applies up to <paramref name="max"/> profile updates that arrived since the last call.</summary>
    public void FollowProfiles(int max) => _profiles.Follow(max);

    /// <summary>Records that <paramref name="key"/>'s state belongs to <paramref name="partition"/> (dropped with it).</summary>
    public void TrackState(int partition, ulong key) => Track(_statesByPartition, partition, key);

    /// <summary>The partition whose profile of <paramref name="key"/> is held, or 0.</summary>
    public int PartitionOfProfile(ulong key) => _profiles.PartitionOf(key);

    public void SetStateMetrics() =>
        RaterMetrics.SetState(_lanes.Sum(l => l.Engine.StateCount), _lanes.Sum(l => l.Engine.ProfileCount), Assigned.Count);

    /// <summary>The consumer lag of the assigned partitions, from the group consumer's statistics.</summary>
    public void OnStatistics(string json) => ConsumerLag.Report(json, _topics.Cdrs, Assigned);

    public void Dispose()
    {
        _restore.Dispose();
        _profiles.Dispose();
    }

    /// <summary>Publishes the owned and the restoring partitions to the usage query API.</summary>
    private void Publish() => _queries.Publish(_partitionCount, Assigned, _restoring);

    /// <summary>
    /// Reads the partition of <c>rater-state</c> from the beginning to its end; per key the record with the highest
    /// offset tag wins, the later on a tie (<see cref="StateChangelog"/>), and a tombstone removes.
    /// </summary>
    private int RestoreStates(int partition)
    {
        var count = 0;
        var stale = 0;
        var ranges = PartitionReader.Whole(_restore, _topics.RaterState, [partition]);
        foreach (var record in PartitionReader.ReadToEnd(_restore, _topics.RaterState, ranges, _restoreRead))
        {
            var key = record.Message.Key ?? [];
            if (!MsisdnKey.TryCompute(key, out var msisdnKey))
            {
                continue;
            }

            if (record.Message.Value is not { } value)
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
                    continue;
                }

                engine.SetState(msisdnKey, in state);
                TrackState(partition, msisdnKey);
                count++;
            }
            else
            {
                _log.LogError("rater-state partition {Partition}: unreadable state record for {Msisdn} ignored", partition, Msisdns.Mask(key));
            }
        }

        if (stale > 0)
        {
            _log.LogWarning("rater-state partition {Partition}: {Stale} state records older than one before them ignored (appended late by a member that had lost the partition)",
                partition, stale);
        }

        return count;
    }

    private void ConsumeRetried(IConsumer<byte[], byte[]> consumer, Error error)
    {
        RaterMetrics.CountConsumeError();
        _log.LogWarning("Kafka consumer {Client}: {Reason} ({Code}); the client retries", consumer.Name, error.Reason, error.Code);
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
