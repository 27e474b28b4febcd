using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace RatingPipeline.Kafka;

/// <summary>
/// The member's side of its partitions changing owner, told on the consuming thread (inside a consume call) by a
/// <see cref="PartitionOwningConsumer{TKey, TValue}"/>. Partition numbers are of the consumer's topic.
/// </summary>
public interface IPartitionOwner
{
    /// <summary>The partitions are this member's now: restore what they need before their first record is handed out.</summary>
    void Assigned(IReadOnlyList<int> partitions);

    /// <summary>
    /// The partitions go to another member after this call: finish and make durable what is in hand for them, and
    /// commit it (<see cref="PartitionOwningConsumer{TKey, TValue}.CommitStaged"/>) while they are still this member's;
    /// then drop them.
    /// </summary>
    void Revoked(IReadOnlyList<int> partitions);

    /// <summary>The partitions were taken away (this member was evicted): another member may own them already, so nothing may be written or committed for them; drop them.</summary>
    void Lost(IReadOnlyList<int> partitions);
}

/// <summary>What a <see cref="PartitionOwningConsumer{TKey, TValue}"/> consumes, and as whom.</summary>
public sealed record PartitionOwningConsumerSettings
{
    /// <summary>The topic subscribed to.</summary>
    public required string Topic { get; init; }

    /// <summary>The consumer group.</summary>
    public required string GroupId { get; init; }

    /// <summary>The client id (in the cluster's logs and metrics).</summary>
    public required string ClientId { get; init; }

    /// <summary><c>group.instance.id</c> (static membership), or null for a dynamic member.</summary>
    public string? GroupInstanceId { get; init; }

    /// <summary>Which optional fields consumed records carry (see <see cref="KafkaClientTuning.Consumer(string, string, string, bool, IEnumerable{KeyValuePair{string, string}}?)"/>).</summary>
    public string ConsumeResultFields { get; init; } = "none";

    /// <summary>How often the client's statistics are handed to <see cref="OnStatistics"/>; zero: never.</summary>
    public TimeSpan StatisticsInterval { get; init; }

    /// <summary>Receives the client's statistics (JSON), on the consuming thread.</summary>
    public Action<string>? OnStatistics { get; init; }

    /// <summary>Called with each non-fatal consume error the client rides out (after it is logged).</summary>
    public Action<Error>? OnRetriedError { get; init; }
}

/// <summary>
/// A group member's consumer of one topic: builds its client from the <see cref="KafkaOptions"/>, collects batches
/// (up to a size, or a wait after the first record), rides out the consume errors the client retries by itself, tells
/// an <see cref="IPartitionOwner"/> when partitions are assigned, revoked or lost, and commits input offsets with the
/// rule for a changing group: a commit refused because the group is changing is put off, not a fault.
/// Used from one thread (the consuming one), except <see cref="Client"/>'s thread-safe members.
/// </summary>
public sealed class PartitionOwningConsumer<TKey, TValue> : IDisposable
{
    private readonly PartitionOwningConsumerSettings _settings;
    private readonly IPartitionOwner _owner;
    private readonly ILogger _log;

    /// <summary>Offsets whose records' effects are durable and that are not committed yet (a commit the group refused while changing is put off).</summary>
    private readonly Dictionary<int, long> _uncommitted = [];
    private bool _commitPutOff;
    private bool _closed;

    public PartitionOwningConsumer(KafkaOptions kafka, PartitionOwningConsumerSettings settings, IPartitionOwner owner, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _owner = owner;
        _log = log;
        var config = KafkaClientTuning.Consumer(kafka, settings.GroupId, settings.ConsumeResultFields);
        config.ClientId = settings.ClientId;
        if (settings.StatisticsInterval > TimeSpan.Zero)
        {
            config.StatisticsIntervalMs = (int)settings.StatisticsInterval.TotalMilliseconds;
        }

        if (!string.IsNullOrWhiteSpace(settings.GroupInstanceId))
        {
            config.GroupInstanceId = settings.GroupInstanceId;
        }

        var builder = new ConsumerBuilder<TKey, TValue>(config)
            .SetPartitionsAssignedHandler((_, partitions) => _owner.Assigned(Numbers(partitions)))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(Numbers(partitions.Select(p => p.TopicPartition))))
            .SetPartitionsLostHandler((_, partitions) => OnLost(Numbers(partitions.Select(p => p.TopicPartition))))
            .SetErrorHandler((_, e) => _log.LogWarning("Kafka consumer {Client}: {Reason} ({Code}, fatal {Fatal})", settings.ClientId, e.Reason, e.Code, e.IsFatal))
            .SetLogHandler((_, _) => { });
        if (settings.OnStatistics is { } statistics)
        {
            builder.SetStatisticsHandler((_, json) => statistics(json));
        }

        Client = builder.Build();
    }

    /// <summary>The underlying client (its assignment, its handle for a dependent admin client, …).</summary>
    public IConsumer<TKey, TValue> Client { get; }

    /// <summary>Partitions with offsets staged and not committed yet.</summary>
    public IReadOnlyCollection<int> Uncommitted => _uncommitted.Keys;

    /// <summary>Joins the group on the topic.</summary>
    public void Subscribe() => Client.Subscribe(_settings.Topic);

    /// <summary>
    /// One record, or null when none came within <paramref name="timeout"/>, when the client reported a non-fatal
    /// error (it fetches again by itself) or a partition's end. A fatal error throws.
    /// </summary>
    public ConsumeResult<TKey, TValue>? Next(TimeSpan timeout)
    {
        var record = PartitionReader.ConsumeOrRetry(Client, timeout, OnRetried, _settings.Topic);
        return record is { IsPartitionEOF: true } ? null : record;
    }

    /// <summary>
    /// A batch into <paramref name="batch"/>: the first record within <paramref name="firstWait"/>, then as
    /// <see cref="Fill"/> does. Returns whether any record came.
    /// </summary>
    public bool Collect(List<ConsumeResult<TKey, TValue>> batch, int max, TimeSpan firstWait, TimeSpan maxWait, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Next(firstWait) is not { } first)
        {
            return false;
        }

        batch.Add(first);
        Fill(batch, max, maxWait, stop);
        return true;
    }

    /// <summary>
    /// Adds records to <paramref name="batch"/> up to <paramref name="max"/> in all: with <paramref name="maxWait"/> zero,
    /// those the client holds now; otherwise those that arrive within <paramref name="maxWait"/> from now.
    /// </summary>
    public void Fill(List<ConsumeResult<TKey, TValue>> batch, int max, TimeSpan maxWait, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (maxWait <= TimeSpan.Zero)
        {
            while (batch.Count < max && !stop.IsCancellationRequested && Next(TimeSpan.Zero) is { } next)
            {
                batch.Add(next);
            }

            return;
        }

        var deadline = Stopwatch.GetTimestamp() + (long)(maxWait.TotalSeconds * Stopwatch.Frequency);
        while (batch.Count < max && !stop.IsCancellationRequested)
        {
            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                break;
            }

            var next = Next(TimeSpan.FromTicks(Math.Max(1, left * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
            if (next is null)
            {
                break;
            }

            batch.Add(next);
        }
    }

    /// <summary>Stages <paramref name="next"/> (the offset after the last record whose effects are durable) for the next commit of <paramref name="partition"/>.</summary>
    public void Stage(int partition, long next) => _uncommitted[partition] = next;

    /// <summary>
    /// Commits the staged offsets. A commit refused because the group is changing (a rebalance under way, or this
    /// member's generation already superseded) is not a fault: the effects are durable, so the offsets stay staged and
    /// are committed with the next commit, or in the revoke handler if the partition moves. The client rejoins by
    /// itself and reports moved partitions as revoked or lost, and their staged offsets are dropped then: they are
    /// never committed once another member may own the partition (it re-reads from the last commit). Any other
    /// failure throws.
    /// </summary>
    public void CommitStaged()
    {
        if (_uncommitted.Count == 0)
        {
            return;
        }

        try
        {
            Client.Commit(_uncommitted.Select(o => new TopicPartitionOffset(_settings.Topic, o.Key, o.Value)));
            _uncommitted.Clear();
            _commitPutOff = false;
        }
        catch (KafkaException e) when (IsGroupChanging(e))
        {
            if (!_commitPutOff)
            {
                _log.LogInformation("Commit of {Topic} partitions {Partitions} put off while the group changes: {Reason}",
                    _settings.Topic, string.Join(',', _uncommitted.Keys), e.Error.Reason);
            }

            _commitPutOff = true;
        }
    }

    /// <summary>Leaves the group (revoking this member's partitions through the owner first), so they move at once.</summary>
    public void Close()
    {
        if (!_closed)
        {
            _closed = true;
            Client.Close();
        }
    }

    /// <summary>Whether a commit failed only because the group is changing.</summary>
    public static bool IsGroupChanging(KafkaException e) =>
        e is not null
        && (IsGroupChanging(e.Error.Code)
            || (e is TopicPartitionOffsetException partial && partial.Results.Where(r => r.Error.IsError).All(r => IsGroupChanging(r.Error.Code))));

    public void Dispose() => Client.Dispose();

    private static bool IsGroupChanging(ErrorCode code) =>
        code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId;

    private List<int> Numbers(IEnumerable<TopicPartition> partitions) =>
        [.. partitions.Where(p => p.Topic == _settings.Topic).Select(p => p.Partition.Value)];

    private void OnRevoked(List<int> partitions)
    {
        _owner.Revoked(partitions);
        Forget(partitions);
    }

    private void OnLost(List<int> partitions)
    {
        _owner.Lost(partitions);
        Forget(partitions);
    }

    private void Forget(List<int> partitions)
    {
        foreach (var partition in partitions)
        {
            if (_uncommitted.Remove(partition, out var next))
            {
                _log.LogWarning("Partition {Topic}[{Partition}] leaves with its records before offset {Offset} handled but not committed (the group was changing): the next owner reads them again and recognises what was applied",
                    _settings.Topic, partition, next);
            }
        }
    }

    private void OnRetried(Error error)
    {
        _log.LogWarning("Kafka consumer {Client}: {Reason} ({Code}); the client retries", _settings.ClientId, error.Reason, error.Code);
        _settings.OnRetriedError?.Invoke(error);
    }
}
