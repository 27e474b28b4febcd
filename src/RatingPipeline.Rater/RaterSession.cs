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
/// One life of the rater's consume loop, from subscribing to closing. Per batch, exactly as designed:
/// (1) consume up to a count or a time bound; (2) rate each CDR against its subscriber's state, skipping one
/// whose offset is ≤ the state's offset tag; (3) produce rated records, reminders and dead letters and wait
/// for their acknowledgement; (4) produce each touched subscriber's state tagged with the offset of its last
/// applied CDR and wait; (5) commit the input offsets. Any fault throws: the worker then starts a new session
/// from the last committed offsets and the stored states, which is what makes reprocessing exact.
/// </summary>
internal sealed class RaterSession : IDisposable
{
    private readonly RaterOptions _options;
    private readonly KafkaOptions _kafka;
    private readonly TopicNames _topics;
    private readonly TariffSource _tariffs;
    private readonly Readiness _readiness;
    private readonly RaterMetrics _metrics;
    private readonly ILogger _log;
    private readonly RatingEngine _engine;
    private readonly BatchOutputs _outputs;
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly IConsumer<byte[], byte[]> _profiles;
    private readonly IConsumer<byte[], byte[]> _restore;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly List<ConsumeResult<byte[], byte[]>> _batch = [];
    private readonly Dictionary<int, HashSet<ulong>> _statesByPartition = [];
    private readonly Dictionary<int, HashSet<ulong>> _profilesByPartition = [];
    private readonly Dictionary<ulong, byte[]> _keys = [];
    private readonly HashSet<int> _assigned = [];

    /// <summary>Input offsets whose batch is fully acknowledged but whose commit a rebalance has put off.</summary>
    private readonly Dictionary<int, long> _uncommitted = [];
    private bool _commitPutOff;
    private bool _closed;
    private bool _abandoning;
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private bool _preservePartitions;
    private string? _deliveryError;
    private long _pending;

    public RaterSession(RaterOptions options, KafkaOptions kafka, TopicNames topics, TariffSource tariffs, Readiness readiness,
        RaterMetrics metrics, ILogger log)
    {
        _options = options;
        _kafka = kafka;
        _topics = topics;
        _tariffs = tariffs;
        _readiness = readiness;
        _metrics = metrics;
        _log = log;
        _engine = new RatingEngine(tariffs.Current) { ChangedStates = _changed };
        _metrics.SetTariff(tariffs.Current);
        _outputs = new BatchOutputs(metrics);
        _onDelivery = OnDelivery;

        var consumerConfig = KafkaClientTuning.Consumer(kafka.BootstrapServers, options.GroupId, "none", kafka.Embedded, kafka.Properties);
        consumerConfig.StatisticsIntervalMs = options.StatisticsIntervalMs;
        if (options.StaticMembership)
        {
            consumerConfig.GroupInstanceId = options.InstanceId;
        }

        consumerConfig.ClientId = $"rater-{options.InstanceId}";
        _consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig)
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions))
            .SetPartitionsLostHandler((_, partitions) => OnLost(partitions))
            .SetStatisticsHandler((_, json) => OnStatistics(json))
            .SetErrorHandler((_, e) => _log.LogWarning("Kafka consumer: {Reason} ({Code}, fatal {Fatal})", e.Reason, e.Code, e.IsFatal))
            .SetLogHandler((_, m) => { })
            .Build();

        // Profiles: the subscribers partitions matching the assigned cdrs partitions, assigned by hand.
        var profileConfig = KafkaClientTuning.Consumer(kafka.BootstrapServers, $"{options.GroupId}-profiles", "none", kafka.Embedded, kafka.Properties);
        profileConfig.ClientId = $"rater-{options.InstanceId}-profiles";
        _profiles = new ConsumerBuilder<byte[], byte[]>(profileConfig).SetLogHandler((_, _) => { }).Build();

        // State restore: one reader for the session, assigned one rater-state partition at a time. Creating and
        // destroying a client per partition costs a connection each, and librdkafka's destroy can hang when it
        // races a leader re-query after a fetch error; the session's clients are destroyed only when it ends.
        var restoreConfig = KafkaClientTuning.Consumer(kafka.BootstrapServers, $"{options.GroupId}-restore", "none", kafka.Embedded, kafka.Properties);
        restoreConfig.ClientId = $"rater-{options.InstanceId}-restore";
        _restore = new ConsumerBuilder<byte[], byte[]>(restoreConfig).SetLogHandler((_, _) => { }).Build();

        var producerConfig = KafkaClientTuning.Producer(kafka.BootstrapServers, kafka.Properties);
        producerConfig.ClientId = $"rater-{options.InstanceId}";
        producerConfig.QueueBufferingMaxMessages = 1_000_000;
        _producer = new ProducerBuilder<byte[], byte[]>(producerConfig)
            .SetErrorHandler((_, e) => _log.LogWarning("Kafka producer: {Reason} ({Code}, fatal {Fatal})", e.Reason, e.Code, e.IsFatal))
            .SetLogHandler((_, _) => { })
            .Build();
    }

    public void Run(CancellationToken stop)
    {
        CheckPartitionCounts();
        _consumer.Subscribe(_topics.Cdrs);
        _log.LogInformation("Rater {Instance} subscribed to {Topic} in group {Group}", _options.InstanceId, _topics.Cdrs, _options.GroupId);
        while (!stop.IsCancellationRequested)
        {
            if (_tariffs.Poll() is { } tariff)
            {
                _engine.Tariff = tariff;
                _metrics.SetTariff(tariff);
            }

            PollProfiles(10_000);
            CollectBatch(stop);
            ProcessBatch();
        }

        // Graceful stop: the batch in hand is finished above; leave the group at once so partitions move now.
        _readiness.SetNotReady("stopping");
        RaterMetrics.SetReady(false);
        _consumer.Close();
        _closed = true;
        _log.LogInformation("Rater {Instance} stopped", _options.InstanceId);
    }

    private void CheckPartitionCounts()
    {
        using var admin = new DependentAdminClientBuilder(_producer.Handle).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        int Count(string topic) => metadata.Topics.FirstOrDefault(t => t.Topic == topic)?.Partitions.Count ?? 0;
        var cdrs = Count(_topics.Cdrs);
        if (cdrs == 0)
        {
            throw new InvalidOperationException($"topic {_topics.Cdrs} does not exist");
        }

        foreach (var topic in new[] { _topics.RaterState, _topics.Subscribers })
        {
            if (Count(topic) != cdrs)
            {
                throw new InvalidOperationException($"topic {topic} has {Count(topic)} partitions, {_topics.Cdrs} has {cdrs}: they must be co-partitioned");
            }
        }

        // Outputs go to the input's partition number when the counts match, so each subscriber's records stay
        // on one partition across topics (the sender relies on it); otherwise they are keyed by msisdn.
        _preservePartitions = new[] { _topics.RatedCdrs, _topics.Reminders, _topics.CdrsDlq, _topics.Bills }.All(t => Count(t) == cdrs);
    }

    /// <summary>Subscribers whose state the engine changed while rating the current record.</summary>
    private readonly HashSet<ulong> _changed = [];

    private void CollectBatch(CancellationToken stop)
    {
        var first = Consume(_consumer, TimeSpan.FromMilliseconds(Math.Min(100, _options.BatchMaxWaitMs)));
        if (first is null)
        {
            return;
        }

        _batch.Add(first);
        var deadline = Stopwatch.GetTimestamp() + (_options.BatchMaxWaitMs * Stopwatch.Frequency / 1000);
        while (_batch.Count < _options.BatchMaxRecords && !stop.IsCancellationRequested)
        {
            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                break;
            }

            var next = Consume(_consumer, TimeSpan.FromTicks(Math.Max(1, left * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
            if (next is null)
            {
                break;
            }

            _batch.Add(next);
        }
    }

    /// <summary>Rates the batch in hand, produces its outputs and states, and commits. Also called on revoke.</summary>
    private void ProcessBatch()
    {
        if (_batch.Count == 0)
        {
            CommitOffsets();
            return;
        }

        var started = Stopwatch.GetTimestamp();
        _outputs.Clear();
        var sink = new KafkaBatchSink(_outputs);
        var offsets = new Dictionary<int, long>();
        foreach (var record in _batch)
        {
            var partition = record.Partition.Value;
            if (!_assigned.Contains(partition))
            {
                continue; // lost before it was rated: the next owner rates it
            }

            _outputs.Partition = partition;
            _outputs.Offset = record.Offset.Value;
            _outputs.Key = record.Message.Key;
            // A clock applies to the subscribers whose profiles are in the same-numbered subscribers partition.
            if (_engine.Process(record.Message.Value ?? [], ref sink, record.Offset.Value, clockGroup: partition) == RatingResult.Skipped)
            {
                _metrics.CountSkipped();
            }

            foreach (var key in _changed)
            {
                _outputs.Touched[key] = partition;
            }

            _changed.Clear();

            offsets[partition] = record.Offset.Value + 1;
        }

        _metrics.CountConsumed(_batch.Count);
        ProduceOutputs();
        AwaitAcknowledgements("outputs");
        ProduceStates();
        AwaitAcknowledgements("state");
        foreach (var (partition, next) in offsets)
        {
            _uncommitted[partition] = next;
        }

        CommitOffsets();

        _metrics.ObserveBatch(Stopwatch.GetElapsedTime(started).TotalSeconds, _batch.Count);
        RaterMetrics.SetState(_engine.StateCount, _engine.ProfileCount, _assigned.Count);
        _batch.Clear();
    }

    /// <summary>
    /// Step 5. A commit refused because the group is changing (a rebalance under way, or this member's generation
    /// already superseded) is not a fault: the batch's outputs and states are acknowledged, so the offsets are kept and
    /// committed after the next batch, or in the revoke handler if the partition moves. The client rejoins by itself and
    /// reports moved partitions through the revoke and lost handlers, which drop their offsets: they are never committed
    /// once another member may own them (it re-reads from the last commit and skips the records by their tags).
    /// </summary>
    private void CommitOffsets()
    {
        if (_uncommitted.Count == 0)
        {
            return;
        }

        try
        {
            _consumer.Commit(_uncommitted.Select(o => new TopicPartitionOffset(_topics.Cdrs, o.Key, o.Value)));
            _uncommitted.Clear();
            _commitPutOff = false;
        }
        catch (KafkaException e) when (IsGroupChanging(e))
        {
            if (!_commitPutOff)
            {
                _log.LogInformation("Commit of partitions {Partitions} put off while the group changes: {Reason}", string.Join(',', _uncommitted.Keys), e.Error.Reason);
            }

            _commitPutOff = true;
        }
    }

    private static bool IsGroupChanging(KafkaException e) =>
        IsGroupChanging(e.Error.Code)
        || (e is TopicPartitionOffsetException partial && partial.Results.Where(r => r.Error.IsError).All(r => IsGroupChanging(r.Error.Code)));

    private static bool IsGroupChanging(ErrorCode code) =>
        code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId;

    private void ProduceOutputs()
    {
        foreach (var output in _outputs.Records)
        {
            var value = _outputs.Slice(output).ToArray();
            switch (output.Kind)
            {
                case OutputKind.Rated:
                    Produce(_topics.RatedCdrs, output.Partition, KeyOf(output.MsisdnKey), value, null);
                    break;
                case OutputKind.Reminder:
                    Produce(_topics.Reminders, output.Partition, KeyOf(output.MsisdnKey), value, null);
                    break;
                case OutputKind.Bill:
                    Produce(_topics.Bills, output.Partition, KeyOf(output.MsisdnKey), value, null);
                    break;
                default:
                    var headers = DeadLetterHeaders.Create(_topics.Cdrs, output.Partition, output.Offset, output.Reason, output.Detail ?? "");
                    Produce(_topics.CdrsDlq, output.Partition, output.OriginalKey, value, headers);
                    break;
            }
        }
    }

    private void ProduceStates()
    {
        var buffer = new byte[4096];
        foreach (var (key, partition) in _outputs.Touched)
        {
            if (!_engine.TryGetState(key, out var state))
            {
                continue;
            }

            var size = UsageStateCodec.MaxSize(in state);
            if (buffer.Length < size)
            {
                buffer = new byte[size];
            }

            var length = UsageStateCodec.Write(in state, buffer);
            Produce(_topics.RaterState, partition, KeyOf(key), buffer[..length].ToArray(), null, explicitPartition: true);
            Track(_statesByPartition, partition, key);
        }
    }

    private void Produce(string topic, int partition, byte[]? key, byte[] value, Headers? headers, bool explicitPartition = false)
    {
        var target = explicitPartition || _preservePartitions ? new TopicPartition(topic, partition) : new TopicPartition(topic, Partition.Any);
        var message = new Message<byte[], byte[]> { Key = key!, Value = value, Headers = headers };
        Interlocked.Increment(ref _pending);
        while (true)
        {
            try
            {
                _producer.Produce(target, message, _onDelivery);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            _deliveryError ??= $"{report.Topic}: {report.Error.Reason} ({report.Error.Code})";
        }

        Interlocked.Decrement(ref _pending);
    }

    private void AwaitAcknowledgements(string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (_options.AckTimeoutMs * Stopwatch.Frequency / 1000);
        while (Interlocked.Read(ref _pending) > 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"{what} not acknowledged within {_options.AckTimeoutMs} ms"));
            }

            _producer.Flush(TimeSpan.FromMilliseconds(100));
        }

        if (_deliveryError is { } error)
        {
            _deliveryError = null;
            throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{what} delivery failed: {error}"));
        }
    }

    private byte[] KeyOf(ulong msisdnKey)
    {
        if (!_keys.TryGetValue(msisdnKey, out var key))
        {
            key = System.Text.Encoding.ASCII.GetBytes(MsisdnKey.ToText(msisdnKey));
            _keys[msisdnKey] = key;
        }

        return key;
    }

    private void OnAssigned(List<TopicPartition> partitions)
    {
        var numbers = partitions.Where(p => p.Topic == _topics.Cdrs).Select(p => p.Partition.Value).ToList();
        _readiness.SetNotReady($"restoring partitions {string.Join(',', numbers)}");
        RaterMetrics.SetReady(false);
        foreach (var partition in numbers)
        {
            var started = Stopwatch.GetTimestamp();
            var states = RestoreStates(partition);
            var profiles = RestoreProfiles(partition);
            _assigned.Add(partition);
            var elapsed = Stopwatch.GetElapsedTime(started);
            RaterMetrics.ObserveRestore(elapsed.TotalSeconds);
            _log.LogInformation("Partition {Partition} restored: {States} states, {Profiles} profiles in {Seconds:F3} s", partition, states, profiles, elapsed.TotalSeconds);
        }

        RaterMetrics.SetState(_engine.StateCount, _engine.ProfileCount, _assigned.Count);
        _readiness.SetReady();
        RaterMetrics.SetReady(true);
    }

    private void OnRevoked(List<TopicPartitionOffset> partitions)
    {
        // Finish the batch in hand (outputs, states, commit) while the partitions are still ours, then drop them.
        // A session abandoned after a fault finishes nothing: the next owner starts from the last commit.
        if (!_abandoning)
        {
            ProcessBatch();
        }

        Drop(partitions.Select(p => p.Partition.Value));
    }

    private void OnLost(List<TopicPartitionOffset> partitions)
    {
        // Lost: another member may own them already; nothing may be committed for them.
        var lost = partitions.Select(p => p.Partition.Value).ToHashSet();
        _batch.RemoveAll(r => lost.Contains(r.Partition.Value));
        Drop(lost);
    }

    private void Drop(IEnumerable<int> partitions)
    {
        var dropped = partitions.ToList();
        foreach (var partition in dropped)
        {
            _assigned.Remove(partition);
            if (_uncommitted.Remove(partition, out var next))
            {
                _log.LogWarning("Partition {Partition} leaves with its records before offset {Offset} rated but not committed (the group was changing): the next owner reads them again, skips the applied CDRs by their state tags and writes their dead letters again",
                    partition, next);
            }

            if (_statesByPartition.Remove(partition, out var states))
            {
                foreach (var key in states)
                {
                    _engine.RemoveState(key);
                }
            }

            if (_profilesByPartition.Remove(partition, out var profiles))
            {
                foreach (var key in profiles)
                {
                    _engine.RemoveProfile(key);
                }
            }

            RaterMetrics.RemoveLag(partition);
        }

        _profiles.IncrementalUnassign(dropped.Select(p => new TopicPartition(_topics.Subscribers, p)));
        RaterMetrics.SetState(_engine.StateCount, _engine.ProfileCount, _assigned.Count);
        _log.LogInformation("Partitions {Partitions} dropped", string.Join(',', dropped));
    }

    /// <summary>Reads the partition of <c>rater-state</c> from the beginning to its end; the last record per key wins.</summary>
    private int RestoreStates(int partition)
    {
        var count = 0;
        ReadToEnd(_topics.RaterState, partition, (key, value) =>
        {
            if (!MsisdnKey.TryCompute(key, out var msisdnKey))
            {
                return;
            }

            if (value is null)
            {
                _engine.RemoveState(msisdnKey);
            }
            else if (UsageStateCodec.TryRead(value, out var state))
            {
                _engine.SetState(msisdnKey, in state);
                Track(_statesByPartition, partition, msisdnKey);
                count++;
            }
            else
            {
                _log.LogError("rater-state partition {Partition}: unreadable state record for {Msisdn} ignored", partition, Msisdns.Mask(key));
            }
        });
        return count;
    }

    /// <summary>Reads the partition of <c>subscribers</c> to its end, then keeps following it for updates.</summary>
    private int RestoreProfiles(int partition)
    {
        var tp = new TopicPartition(_topics.Subscribers, partition);
        var (low, high) = Watermarks(tp);
        _profiles.IncrementalAssign([new TopicPartitionOffset(tp, Offset.Beginning)]);
        var count = 0;
        var deadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        var position = low;
        while (position < high)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"restoring {tp} did not reach offset {high} within 60 s"));
            }

            var record = Consume(_profiles, TimeSpan.FromMilliseconds(100));
            if (record is null)
            {
                continue;
            }

            ApplyProfile(record);
            if (record.Partition.Value == partition)
            {
                position = record.Offset.Value + 1;
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
                _engine.RemoveProfile(deleted);
            }

            return;
        }

        var profile = SubscriberProfile.TryParse(record.Message.Value, _engine.Tariff, out var error);
        if (profile is null)
        {
            RaterMetrics.CountProfileRefusal();
            _log.LogWarning("Profile refused at {Topic}[{Partition}]@{Offset} for {Msisdn}: {Error}; the previous profile stays",
                record.Topic, partition, record.Offset.Value, Msisdns.Mask(record.Message.Key ?? []), error);
            return;
        }

        _engine.SetProfile(profile, clockGroup: partition);
        Track(_profilesByPartition, partition, profile.MsisdnKey);
    }

    private (long Low, long High) Watermarks(TopicPartition tp)
    {
        var w = _profiles.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30));
        return (w.Low.Value, w.High.Value);
    }

    private void ReadToEnd(string topic, int partition, Action<byte[], byte[]?> apply)
    {
        var tp = new TopicPartition(topic, partition);
        var w = _restore.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30));
        if (w.High.Value <= w.Low.Value)
        {
            return;
        }

        _restore.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        try
        {
            var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
            while (true)
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"restoring {tp} did not reach offset {w.High.Value} within 120 s"));
                }

                var record = Consume(_restore, TimeSpan.FromMilliseconds(100));
                if (record is null)
                {
                    continue;
                }

                apply(record.Message.Key ?? [], record.Message.Value);
                if (record.Offset.Value >= w.High.Value - 1)
                {
                    break;
                }
            }
        }
        finally
        {
            _restore.Unassign();
        }
    }

    /// <summary>
    /// Consume that lets the client ride out what it retries by itself: a fetch that failed with a broker error
    /// is reported as a non-fatal error while librdkafka fetches again from the same position, so it is logged
    /// and the loop goes on. Only a fatal error ends the session.
    /// </summary>
    private ConsumeResult<byte[], byte[]>? Consume(IConsumer<byte[], byte[]> consumer, TimeSpan timeout)
    {
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException e) when (!e.Error.IsFatal)
        {
            RaterMetrics.CountConsumeError();
            _log.LogWarning("Kafka consumer {Client}: {Reason} ({Code}); the client retries", consumer.Name, e.Error.Reason, e.Error.Code);
            return null;
        }
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

    public void Dispose()
    {
        if (!_closed)
        {
            // Ended by a fault: leave the group properly. Destroying a consumer that was not closed hangs while a
            // rebalance is under way (the client waits for a revoke nobody handles), and the worker never recovers.
            _abandoning = true;
            _batch.Clear();
            try
            {
                _consumer.Close();
            }
            catch (Exception e) when (e is KafkaException or InvalidOperationException)
            {
                _log.LogWarning("Closing the consumer of the failed session: {Error}", e.Message);
            }
        }

        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _restore.Dispose();
        _profiles.Dispose();
        _consumer.Dispose();
    }
}
