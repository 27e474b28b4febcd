using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Sender;

/// <summary>
/// The subscriber profiles of the <c>reminders</c> partitions a sender session owns: the same-numbered
/// <c>subscribers</c> partitions, read to their end on assignment and followed between batches; and the changes of a
/// profile's <c>reminders</c> setting seen meanwhile, still to be written to <c>notice-log</c>.
/// </summary>
internal sealed class SenderProfiles(IConsumer<string?, byte[]?> consumer, TopicNames topics, SenderOptions options, TimeProvider time, ILogger logger)
{
    private readonly Dictionary<int, Dictionary<string, SubscriberProfile>> _profiles = [];
    private readonly Dictionary<int, Dictionary<string, byte[]>> _records = [];

    /// <summary>Changes of the reminders setting seen since the last batch (written with it).</summary>
    public List<SettingChange> SettingChanges { get; } = [];

    public SubscriberProfile? Profile(int partition, string msisdn) =>
        _profiles.TryGetValue(partition, out var profiles) && profiles.TryGetValue(msisdn, out var profile) ? profile : null;

    /// <summary>The profile record as read from <c>subscribers</c>, or null.</summary>
    public byte[]? Record(int partition, string msisdn) => _records.TryGetValue(partition, out var records) ? records.GetValueOrDefault(msisdn) : null;

    /// <summary>Profiles held for <paramref name="partition"/>.</summary>
    public int Count(int partition) => _profiles.TryGetValue(partition, out var profiles) ? profiles.Count : 0;

    /// <summary>A profile the sender published itself, as it will read it back from <c>subscribers</c>.</summary>
    public void Published(int partition, string msisdn, SubscriberProfile profile, byte[] record)
    {
        if (_profiles.TryGetValue(partition, out var profiles))
        {
            profiles[msisdn] = profile;
            _records[partition][msisdn] = record;
        }
    }

    /// <summary>Reads the <c>subscribers</c> partitions <paramref name="numbers"/> to their end, then keeps following them.</summary>
    public void Restore(List<int> numbers, ReadToEndOptions read, CancellationToken stoppingToken)
    {
        foreach (var p in numbers)
        {
            _profiles[p] = new Dictionary<string, SubscriberProfile>(StringComparer.Ordinal);
            _records[p] = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        }

        var ranges = PartitionReader.Whole(consumer, topics.Subscribers, numbers);
        foreach (var result in PartitionReader.ReadToEnd(consumer, topics.Subscribers, ranges, read with { Follow = true }, stoppingToken))
        {
            Apply(result, restoring: true);
        }
    }

    /// <summary>
    /// Of the setting changes found while restoring <paramref name="numbers"/>, keeps those still to be written:
    /// not in the rebuilt notice log, and made within the window it covers.
    /// </summary>
    public void KeepSettingChangesToRecord(List<int> numbers, Dictionary<int, NoticeBook> books)
    {
        var horizon = time.GetUtcNow() - options.DedupWindow;
        SettingChanges.RemoveAll(c => numbers.Contains(c.Partition) && !c.IsToRecord(books[c.Partition], horizon));
    }

    /// <summary>Applies the profile updates that arrived since the last batch.</summary>
    public void Follow()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var result = PartitionReader.ConsumeOrRetry(consumer, TimeSpan.Zero, Retried, topics.Subscribers);
            if (result is null)
            {
                return;
            }

            if (!result.IsPartitionEOF)
            {
                Apply(result, restoring: false);
            }
        }
    }

    /// <summary>Forgets the profiles of <paramref name="numbers"/> and stops following them.</summary>
    public void Drop(List<int> numbers)
    {
        foreach (var p in numbers)
        {
            _profiles.Remove(p);
            _records.Remove(p);
        }

        SettingChanges.RemoveAll(c => numbers.Contains(c.Partition));
        consumer.IncrementalUnassign(numbers.Select(p => new TopicPartition(topics.Subscribers, p)).ToList());
    }

    /// <summary>Takes a profile record in; a change of its <c>reminders</c> setting is kept to be written to <c>notice-log</c>.</summary>
    private void Apply(ConsumeResult<string?, byte[]?> result, bool restoring)
    {
        if (!_profiles.TryGetValue(result.Partition.Value, out var profiles))
        {
            return;
        }

        if (result.Message.Value is null)
        {
            if (result.Message.Key is { } key)
            {
                profiles.Remove(key);
                _records[result.Partition.Value].Remove(key);
            }

            return;
        }

        var profile = SubscriberProfile.TryParse(result.Message.Value, null, out var error);
        if (profile is null)
        {
            SenderMetrics.ProfilesRefused.Inc();
            logger.LogWarning("Profile for {Msisdn} refused, previous one kept: {Error}", Msisdns.Mask(result.Message.Key), error);
            return;
        }

        var timestamp = result.Message.Timestamp;
        var change = SettingChange.Detect(profiles.GetValueOrDefault(profile.Msisdn), profile, topics.Subscribers, result.Partition.Value, result.Offset.Value,
            timestamp.Type == TimestampType.NotAvailable ? null : new DateTimeOffset(timestamp.UtcDateTime), time.GetUtcNow(), restoring);
        if (change is not null)
        {
            SettingChanges.Add(change);
        }

        profiles[profile.Msisdn] = profile;
        _records[result.Partition.Value][profile.Msisdn] = result.Message.Value;
    }

    private void Retried(Error error) =>
        logger.LogWarning("Kafka profile consumer: {Reason} ({Code}); the client retries", error.Reason, error.Code);
}
