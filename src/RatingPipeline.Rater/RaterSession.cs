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
/// One life of the rater, from subscribing to closing: a checkpointed pipeline (DESIGN.md, "Rater: processing
/// guarantee"). The rating thread consumes a batch, rates each CDR against its subscriber's state (skipping one whose
/// offset is ≤ the state's offset tag) and hands the outputs to the producer, and goes on without waiting for the
/// cluster. Every <see cref="RaterOptions.CheckpointInterval"/>, and on revoke and on stop, it marks a checkpoint:
/// the outputs produced so far form its epoch, and the states changed since the previous mark are encoded as they
/// are now. The <see cref="Checkpointer"/> waits beside the rating until that epoch is acknowledged, writes the states
/// and waits again; the rating thread then commits the input offsets as of the mark. Interval 0 does all of it
/// after every batch on the rating thread. Any fault throws: the worker starts a new session from the last committed
/// offsets and the stored states, which is what makes reprocessing exact.
/// </summary>
internal sealed partial class RaterSession : IPartitionOwner, IDisposable
{
    private readonly RaterOptions _options;
    private readonly TopicNames _topics;
    private readonly TariffSource _tariffs;
    private readonly Readiness _readiness;
    private readonly RaterMetrics _metrics;
    private readonly ILogger _log;
    private readonly RatingLane[] _lanes;
    private readonly PartitionOwningConsumer<byte[], byte[]> _input;
    private readonly IConsumer<byte[], byte[]> _profiles;
    private readonly IConsumer<byte[], byte[]> _restore;
    private readonly AcknowledgedProducer _producer;
    private readonly Checkpointer _checkpointer;
    private readonly ReadToEndOptions _restoreRead;
    private readonly ReadToEndOptions _profilesRead;
    private readonly PartitionOwnership _ownership = new();
    private readonly List<ConsumeResult<byte[], byte[]>> _batch = [];
    private readonly Dictionary<int, HashSet<ulong>> _statesByPartition = [];
    private readonly Dictionary<int, HashSet<ulong>> _profilesByPartition = [];
    private readonly HashSet<int> _assigned = [];
    private readonly HashSet<int> _restoring = [];
    private readonly UsageQueries _queries;
    private readonly RaterEndpoints _endpoints;
    private int _partitionCount;

    private readonly bool _pipelined;
    private readonly long _intervalTicks;
    private byte[] _stateBuffer = new byte[1024];
    private OutputTargets _targets = null!;
    private AcknowledgementGroup _epoch = new();
    private long _nextMark;
    private bool _closed;
    private bool _abandoning;

    public RaterSession(RaterOptions options, KafkaOptions kafka, TopicNames topics, TariffSource tariffs, Readiness readiness,
        RaterMetrics metrics, UsageQueries queries, RaterEndpoints endpoints, ILogger log)
    {
        _options = options;
        _queries = queries;
        _endpoints = endpoints;
        _topics = topics;
        _tariffs = tariffs;
        _readiness = readiness;
        _metrics = metrics;
        _log = log;
        _lanes = [.. Enumerable.Range(0, options.Lanes).Select(_ => new RatingLane(tariffs.Current))];
        _metrics.SetTariff(tariffs.Current);
        _pipelined = options.CheckpointInterval > TimeSpan.Zero;
        _intervalTicks = (long)(options.CheckpointInterval.TotalSeconds * Stopwatch.Frequency);

        _input = new PartitionOwningConsumer<byte[], byte[]>(kafka, new PartitionOwningConsumerSettings
        {
            Topic = topics.Cdrs,
            GroupId = options.GroupId,
            ClientId = $"rater-{options.InstanceId}",
            GroupInstanceId = options.StaticMembership ? options.InstanceId : null,
            StatisticsInterval = options.StatisticsInterval,
            OnStatistics = OnStatistics,
            OnRetriedError = _ => RaterMetrics.CountConsumeError(),
        }, this, log);

        // Profiles: the subscribers partitions matching the assigned cdrs partitions, assigned by hand.
        var profileConfig = KafkaClientTuning.Consumer(kafka, $"{options.GroupId}-profiles", "none");
        profileConfig.ClientId = $"rater-{options.InstanceId}-profiles";
        _profiles = new ConsumerBuilder<byte[], byte[]>(profileConfig).SetLogHandler((_, _) => { }).Build();

        // State restore: one reader for the session, assigned one rater-state partition at a time. Creating and
        // destroying a client per partition costs a connection each, and librdkafka's destroy can hang when it
        // races a leader re-query after a fetch error; the session's clients are destroyed only when it ends.
        var restoreConfig = KafkaClientTuning.Consumer(kafka, $"{options.GroupId}-restore", "none");
        restoreConfig.ClientId = $"rater-{options.InstanceId}-restore";
        _restore = new ConsumerBuilder<byte[], byte[]>(restoreConfig).SetLogHandler((_, _) => { }).Build();

        var producerConfig = KafkaClientTuning.Producer(kafka);
        producerConfig.ClientId = $"rater-{options.InstanceId}";
        producerConfig.QueueBufferingMaxMessages = 1_000_000;
        // Only the error of a delivery report is read: nothing else is marshalled back per record.
        producerConfig.DeliveryReportFields = "none";
        _producer = new AcknowledgedProducer(new ProducerBuilder<byte[], byte[]>(producerConfig)
            .SetErrorHandler((_, e) => _log.LogWarning("Kafka producer: {Reason} ({Code}, fatal {Fatal})", e.Reason, e.Code, e.IsFatal))
            .SetLogHandler((_, _) => { })
            .Build());
        _restoreRead = new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(120), OnRetriedError = e => ConsumeRetried(_restore, e) };
        _profilesRead = new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(60), Follow = true, OnRetriedError = e => ConsumeRetried(_profiles, e) };
        _checkpointer = new Checkpointer(_producer, _ownership, topics.RaterState, options.AckTimeout);
    }

    public void Run(CancellationToken stop)
    {
        CheckPartitionCounts();
        _input.Subscribe();
        _log.LogInformation("Rater {Instance} subscribed to {Topic} in group {Group}, checkpoint every {Interval}",
            _options.InstanceId, _topics.Cdrs, _options.GroupId, _pipelined ? _options.CheckpointInterval : "batch");
        _nextMark = Stopwatch.GetTimestamp() + _intervalTicks;
        while (!stop.IsCancellationRequested)
        {
            if (_tariffs.Poll() is { } tariff)
            {
                foreach (var lane in _lanes)
                {
                    lane.Engine.Tariff = tariff;
                }
                _metrics.SetTariff(tariff);
            }

            PollProfiles(10_000);
            CollectBatch(stop);
            RateBatch();
            AfterBatch();
            if (_queries.HasWaiting)
            {
                _queries.Serve(AnswerQuery);
            }
        }

        // Graceful stop: everything rated is made durable and committed; then leave the group so partitions move now.
        CheckpointNow();
        _readiness.SetNotReady("stopping");
        RaterMetrics.SetReady(false);
        _input.Close();
        _closed = true;
        _log.LogInformation("Rater {Instance} stopped", _options.InstanceId);
    }

    private void CheckPartitionCounts()
    {
        using var admin = new DependentAdminClientBuilder(_producer.Client.Handle).Build();
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
        _partitionCount = cdrs;
        PublishPartitions();

        var preserve = new[] { _topics.RatedCdrs, _topics.Reminders, _topics.CdrsDlq, _topics.Bills }.All(t => Count(t) == cdrs);
        _targets = new OutputTargets(_topics, cdrs, preserve);
    }

    /// <summary>
    /// A batch: what the client holds now, up to <see cref="RaterOptions.BatchMaxRecords"/> (pipelined), or — with a
    /// checkpoint per batch — up to that many or <see cref="RaterOptions.BatchMaxWait"/> after the first record.
    /// </summary>
    private void CollectBatch(CancellationToken stop)
    {
        var wait = (long)Math.Min(100, _options.BatchMaxWait.TotalMilliseconds);
        if (_pipelined)
        {
            // Wake up for the next mark even when no CDR arrives; while a checkpoint is in flight, look again soon for
            // it to be written, so that its offsets are committed without delay.
            var untilMark = (_nextMark - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            wait = Math.Min(wait, untilMark > 0 && !_checkpointer.Busy ? untilMark : 5);
        }

        var first = WaitForInput(wait);
        if (first is null)
        {
            return;
        }

        _batch.Add(first);
        _input.Fill(_batch, _options.BatchMaxRecords, _pipelined ? TimeSpan.Zero : _options.BatchMaxWait, stop);
    }

    /// <summary>
    /// Rates the batch in hand and hands its outputs to the producer (no wait): each lane its share, the lanes in
    /// parallel. Also called on revoke.
    /// </summary>
    private void RateBatch()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        if (_lanes.Length == 1)
        {
            _lanes[0].Batch.AddRange(_batch);
            _lanes[0].Rate(_assigned, _producer, _epoch, _targets, _topics.Cdrs);
        }
        else
        {
            foreach (var record in _batch)
            {
                LaneOf(record.Partition.Value).Batch.Add(record);
            }

            Parallel.ForEach(_lanes, lane =>
            {
                if (lane.Batch.Count > 0)
                {
                    lane.Rate(_assigned, _producer, _epoch, _targets, _topics.Cdrs);
                }
            });
        }

        foreach (var lane in _lanes)
        {
            if (lane.Batch.Count > 0)
            {
                _metrics.CountBatch(lane.Outputs);
                lane.Outputs.Clear();
                lane.Batch.Clear();
            }
        }

        RaterMetrics.ObserveBatch(_batch.Count, Stopwatch.GetElapsedTime(started).TotalSeconds);

        SetStateMetrics();
        _batch.Clear();
    }

    /// <summary>
    /// The first record, waiting at most <paramref name="milliseconds"/>: in slices of <see cref="UsageQueries.IdleServeInterval"/>,
    /// answering the usage queries that arrive meanwhile, so that an idle rater answers them at once.
    /// </summary>
    private ConsumeResult<byte[], byte[]>? WaitForInput(long milliseconds)
    {
        var slice = (long)UsageQueries.IdleServeInterval.TotalMilliseconds;
        var deadline = Stopwatch.GetTimestamp() + (milliseconds * Stopwatch.Frequency / 1000);
        while (true)
        {
            if (_queries.HasWaiting)
            {
                _queries.Serve(AnswerQuery);
            }

            var left = (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            var record = _input.Next(TimeSpan.FromMilliseconds(Math.Clamp(left, 0, slice)));
            if (record is not null || left <= slice)
            {
                return record;
            }
        }
    }

    /// <summary>A usage query, on the rating thread between batches: the report of a subscriber whose profile is held here.</summary>
    private QueryAnswer AnswerQuery(ulong msisdnKey)
    {
        foreach (var lane in _lanes)
        {
            if (!lane.Engine.Profiles.TryGetValue(msisdnKey, out var profile))
            {
                continue;
            }

            var hasState = lane.Engine.TryGetState(msisdnKey, out var state);
            var partition = _profilesByPartition.FirstOrDefault(p => p.Value.Contains(msisdnKey)).Key;
            return new QueryAnswer(QueryOutcome.Found, UsageReport.Build(profile, hasState, in state, lane.Engine.Tariff, partition));
        }

        return QueryAnswer.Unknown;
    }

    /// <summary>Publishes the owned and the restoring partitions to the usage query API.</summary>
    private void PublishPartitions() => _queries.Publish(_partitionCount, _assigned, _restoring);

    private RatingLane LaneOf(int partition) => _lanes[partition % _lanes.Length];

    private void SetStateMetrics() =>
        RaterMetrics.SetState(_lanes.Sum(l => l.Engine.StateCount), _lanes.Sum(l => l.Engine.ProfileCount), _assigned.Count);

    /// <summary>After a batch: a checkpoint per batch (interval 0), or commit a written checkpoint and mark the next when due.</summary>
    private void AfterBatch()
    {
        if (!_pipelined)
        {
            CheckpointNow();
            return;
        }

        if (_checkpointer.TakeWritten() is { } written)
        {
            Commit(written);
        }

        var now = Stopwatch.GetTimestamp();
        if (now < _nextMark || _checkpointer.Busy)
        {
            return;
        }

        _nextMark = now + _intervalTicks;
        if (Mark() is { } checkpoint)
        {
            _checkpointer.Submit(checkpoint);
        }
        else
        {
            _input.CommitStaged();
        }
    }

    /// <summary>A checkpoint on this thread, now: after the one in flight, mark, write, commit. On revoke, on stop, and per batch with interval 0.</summary>
    private void CheckpointNow()
    {
        if (_checkpointer.WaitIdle() is { } written)
        {
            Commit(written);
        }

        if (Mark() is { } checkpoint)
        {
            _checkpointer.Write(checkpoint);
            Commit(checkpoint);
        }
        else
        {
            _input.CommitStaged();
        }
    }

    /// <summary>
    /// Step 4's mark: closes the epoch of the outputs produced so far and takes the states changed since the previous
    /// mark as they are now (encoded: a copy), tagged with the offset of their last applied record, and the input
    /// offsets. Null when nothing happened since the previous mark.
    /// </summary>
    private Checkpoint? Mark()
    {
        if (_epoch.Produced == 0 && _lanes.All(l => l.Dirty.Count == 0 && l.Positions.Count == 0))
        {
            return null;
        }

        var checkpoint = new Checkpoint(_epoch);
        _epoch = new AcknowledgementGroup();
        foreach (var lane in _lanes)
        {
            Mark(lane, checkpoint);
        }

        return checkpoint;
    }

    private void Mark(RatingLane lane, Checkpoint checkpoint)
    {
        foreach (var (key, partition) in lane.Dirty)
        {
            var generation = _ownership.GenerationOf(partition);
            if (generation < 0 || !lane.Engine.TryGetState(key, out var state))
            {
                continue;
            }

            var size = UsageStateCodec.MaxSize(in state);
            if (_stateBuffer.Length < size)
            {
                _stateBuffer = new byte[Math.Max(size, _stateBuffer.Length * 2)];
            }

            var length = UsageStateCodec.Write(in state, _stateBuffer);
            checkpoint.States.Add(new StateRecord(partition, generation, lane.KeyOf(key), _stateBuffer.AsSpan(0, length).ToArray()));
            Track(_statesByPartition, partition, key);
        }

        lane.Dirty.Clear();
        foreach (var (partition, next) in lane.Positions)
        {
            checkpoint.Offsets.Add(new OffsetMark(partition, _ownership.GenerationOf(partition), next));
        }

        lane.Positions.Clear();
    }

    /// <summary>Step 6 for a written checkpoint: its offsets, for the partitions still owned in the generation of its mark.</summary>
    private void Commit(Checkpoint checkpoint)
    {
        foreach (var mark in checkpoint.Offsets)
        {
            if (_ownership.Owns(mark.Partition, mark.Generation))
            {
                _input.Stage(mark.Partition, mark.Next);
            }
        }

        _input.CommitStaged();
        RaterMetrics.ObserveCheckpoint(Stopwatch.GetElapsedTime(checkpoint.MarkedAt).TotalSeconds, checkpoint.StatesWritten, checkpoint.StatesDropped);
    }

    public void Dispose()
    {
        if (!_closed)
        {
            // Ended by a fault: stop the checkpoint in flight (nothing more is made durable), then leave the group properly.
            // Destroying a consumer that was not closed hangs while a rebalance is under way (the client waits for a revoke
            // nobody handles), and the worker never recovers.
            _abandoning = true;
            _batch.Clear();
            _checkpointer.Dispose();

            // Whatever this member handed to its producer reaches the broker (or fails) while the partitions are still
            // its own: leaving the group first would let a new owner restore, and write newer states, before this
            // member's last ones arrive.
            _producer.Client.Flush(TimeSpan.FromSeconds(5));
            try
            {
                _input.Close();
            }
            catch (Exception e) when (e is KafkaException or InvalidOperationException)
            {
                _log.LogWarning("Closing the consumer of the failed session: {Error}", e.Message);
            }
        }
        else
        {
            _checkpointer.Dispose();
        }

        _queries.Close();
        _producer.Client.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _restore.Dispose();
        _profiles.Dispose();
        _input.Dispose();
    }
}
