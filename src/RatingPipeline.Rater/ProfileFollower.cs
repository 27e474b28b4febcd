using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Rater;

/// <summary>
/// The subscriber profiles of the partitions a rater session holds: the <c>subscribers</c> partition of each assigned
/// <c>cdrs</c> partition is read to its end before rating starts, then followed for updates between batches; a
/// tombstone deletes the subscriber, a profile that breaks the rules is refused and the previous one stays.
/// </summary>
internal sealed class ProfileFollower : IDisposable
{
    private readonly string _topic;
    private readonly Func<int, RatingLane> _laneOf;
    private readonly ILogger _log;
    private readonly IConsumer<byte[], byte[]> _profiles;
    private readonly ReadToEndOptions _restoreRead;
    private readonly Dictionary<int, HashSet<ulong>> _byPartition = [];

    public ProfileFollower(RaterOptions options, KafkaOptions kafka, TopicNames topics, Func<int, RatingLane> laneOf, ILogger log)
    {
        _topic = topics.Subscribers;
        _laneOf = laneOf;
        _log = log;
        // Assigned by hand: the subscribers partitions matching the assigned cdrs partitions.
        var config = KafkaClientTuning.Consumer(kafka, $"{options.GroupId}-profiles", "none");
        config.ClientId = $"rater-{options.InstanceId}-profiles";
        _profiles = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
        _restoreRead = new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(60), Follow = true, OnRetriedError = Retried };
    }

    /// <summary>Reads the partition of <c>subscribers</c> to its end, then keeps following it for updates; returns the profiles read.</summary>
    public int Restore(int partition)
    {
        var ranges = PartitionReader.Whole(_profiles, _topic, [partition]);
        var count = 0;
        foreach (var record in PartitionReader.ReadToEnd(_profiles, _topic, ranges, _restoreRead))
        {
            // The profiles of the partitions already followed arrive meanwhile too: every record is applied.
            Apply(record);
            if (record.Partition.Value == partition)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Applies up to <paramref name="max"/> profile updates that arrived since the last call.</summary>
    public void Follow(int max)
    {
        for (var i = 0; i < max; i++)
        {
            var record = PartitionReader.ConsumeOrRetry(_profiles, TimeSpan.Zero, Retried, _topic);
            if (record is null)
            {
                return;
            }

            Apply(record);
        }
    }

    /// <summary>Stops following <paramref name="partitions"/> and removes their profiles from the engines.</summary>
    public void Drop(IReadOnlyCollection<int> partitions)
    {
        foreach (var partition in partitions)
        {
            if (_byPartition.Remove(partition, out var profiles))
            {
                foreach (var key in profiles)
                {
                    _laneOf(partition).Engine.RemoveProfile(key);
                }
            }
        }

        _profiles.IncrementalUnassign(partitions.Select(p => new TopicPartition(_topic, p)));
    }

    /// <summary>The partition whose profile of <paramref name="key"/> is held, or 0.</summary>
    public int PartitionOf(ulong key) => _byPartition.FirstOrDefault(p => p.Value.Contains(key)).Key;

    public void Dispose() => _profiles.Dispose();

    private void Apply(ConsumeResult<byte[], byte[]> record)
    {
        var partition = record.Partition.Value;
        if (record.Message.Value is null)
        {
            // A tombstone deletes the subscriber: later CDRs are rejected unknown-subscriber.
            if (record.Message.Key is { } key && MsisdnKey.TryCompute(key, out var deleted))
            {
                _laneOf(partition).Engine.RemoveProfile(deleted);
            }

            return;
        }

        var engine = _laneOf(partition).Engine;
        var profile = SubscriberProfile.TryParse(record.Message.Value, engine.Tariff, out var error);
        if (profile is null)
        {
            RaterMetrics.CountProfileRefusal();
            _log.LogWarning("Profile refused at {Topic}[{Partition}]@{Offset} for {Msisdn}: {Error}; the previous profile stays",
                record.Topic, partition, record.Offset.Value, Msisdns.Mask(record.Message.Key ?? []), error);
            return;
        }

        engine.SetProfile(profile, clockGroup: partition);
        if (!_byPartition.TryGetValue(partition, out var held))
        {
            held = [];
            _byPartition[partition] = held;
        }

        held.Add(profile.MsisdnKey);
    }

    private void Retried(Error error)
    {
        RaterMetrics.CountConsumeError();
        _log.LogWarning("Kafka consumer {Client}: {Reason} ({Code}); the client retries", _profiles.Name, error.Reason, error.Code);
    }
}
