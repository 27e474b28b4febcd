using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;
using RatingPipeline.Records;

namespace RatingPipeline.Rater;

/// <summary>
/// One life of the rater, from subscribing to closing: a checkpointed pipeline (DESIGN.md, "Rater: processing
/// guarantee"). The rating thread consumes a batch, rates each CDR against its subscriber's state (skipping one whose
/// offset is ≤ the state's offset tag) and hands the outputs to the producer, and goes on without waiting for the
/// cluster; the <see cref="CheckpointSchedule"/> makes what was rated durable and commits it, the
/// <see cref="RaterPartitions"/> restore and drop what comes with the partitions. Any fault throws: the worker
/// starts a new session from the last committed offsets and the stored states, which is what makes reprocessing exact.
/// </summary>
internal sealed class RaterSession : IPartitionOwner, IDisposable
{
    private readonly RaterOptions _options;
    private readonly TopicNames _topics;
    private readonly TariffSource _tariffs;
    private readonly Readiness _readiness;
    private readonly RaterMetrics _metrics;
    private readonly UsageQueries _queries;
    private readonly ILogger _log;
    private readonly RatingLane[] _lanes;
    private readonly RaterPartitions _partitions;
    private readonly PartitionOwningConsumer<byte[], byte[]> _input;
    private readonly AcknowledgedProducer _producer;
    private readonly CheckpointSchedule _checkpoints;
    private readonly List<ConsumeResult<byte[], byte[]>> _batch = [];
    private OutputTargets _targets = null!;
    private bool _closed;
    private bool _abandoning;

    public RaterSession(RaterOptions options, KafkaOptions kafka, TopicNames topics, TariffSource tariffs, Readiness readiness,
        RaterMetrics metrics, UsageQueries queries, RaterEndpoints endpoints, ILogger log)
    {
        _options = options;
        _queries = queries;
        _topics = topics;
        _tariffs = tariffs;
        _readiness = readiness;
        _metrics = metrics;
        _log = log;
        _lanes = [.. Enumerable.Range(0, options.Lanes).Select(_ => new RatingLane(tariffs.Current))];
        _metrics.SetTariff(tariffs.Current);
        _partitions = new RaterPartitions(options, kafka, topics, _lanes, readiness, queries, endpoints, log);
        _input = new PartitionOwningConsumer<byte[], byte[]>(kafka, new PartitionOwningConsumerSettings
        {
            Topic = topics.Cdrs,
            GroupId = options.GroupId,
            ClientId = $"rater-{options.InstanceId}",
            GroupInstanceId = options.StaticMembership ? options.InstanceId : null,
            StatisticsInterval = options.StatisticsInterval,
            OnStatistics = _partitions.OnStatistics,
            OnRetriedError = _ => RaterMetrics.CountConsumeError(),
        }, this, log);

        var producerConfig = KafkaClientTuning.Producer(kafka);
        producerConfig.ClientId = $"rater-{options.InstanceId}";
        producerConfig.QueueBufferingMaxMessages = 1_000_000;
        // Only the error of a delivery report is read: nothing else is marshalled back per record.
        producerConfig.DeliveryReportFields = "none";
        Action<Error> onError = e => _log.LogWarning("Kafka producer: {Reason} ({Code}, fatal {Fatal})", e.Reason, e.Code, e.IsFatal);
        // The lanes' outputs (nearly one record per CDR) go through a producer of their own that allocates nothing per
        // record; the state records, the topic checks and everything else through Confluent.Kafka's.
        var outputsConfig = new ProducerConfig(producerConfig) { ClientId = $"rater-{options.InstanceId}-outputs" };
        _producer = new AcknowledgedProducer(
            new ProducerBuilder<byte[], byte[]>(producerConfig).SetErrorHandler((_, e) => onError(e)).SetLogHandler((_, _) => { }).Build(),
            DirectProducer.Build(outputsConfig, onError));
        _checkpoints = new CheckpointSchedule(options, _producer, topics, _lanes, _partitions, _input);
    }

    public void Run(CancellationToken stop)
    {
        (_partitions.PartitionCount, _targets) = TopicLayout.Check(_producer.Client.Handle, _topics);
        _input.Subscribe();
        _log.LogInformation("Rater {Instance} subscribed to {Topic} in group {Group}, checkpoint every {Interval}",
            _options.InstanceId, _topics.Cdrs, _options.GroupId, _checkpoints.Pipelined ? _options.CheckpointInterval : "batch");
        _checkpoints.Start();
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

            _partitions.FollowProfiles(10_000);
            CollectBatch(stop);
            RateBatch();
            _checkpoints.AfterBatch();
            if (_queries.HasWaiting)
            {
                _queries.Serve(AnswerQuery);
            }
        }

        // Graceful stop: everything rated is made durable and committed; then leave the group so partitions move now.
        _checkpoints.CheckpointNow();
        _readiness.SetNotReady("stopping");
        RaterMetrics.SetReady(false);
        _input.Close();
        _closed = true;
        _log.LogInformation("Rater {Instance} stopped", _options.InstanceId);
    }

    void IPartitionOwner.Assigned(IReadOnlyList<int> partitions) => _partitions.Assign(partitions);

    void IPartitionOwner.Revoked(IReadOnlyList<int> partitions)
    {
        // Rate the batch in hand and checkpoint everything (outputs, states, commit) while the partitions are still ours,
        // then drop them. A session abandoned after a fault finishes nothing: the next owner starts from the last commit.
        if (!_abandoning)
        {
            RateBatch();
            _checkpoints.CheckpointNow();
        }

        _partitions.Drop(partitions);
    }

    void IPartitionOwner.Lost(IReadOnlyList<int> partitions)
    {
        // Lost: another member may own them already; nothing may be written or committed for them (a checkpoint in
        // flight drops their states, see Checkpointer; their staged offsets are dropped by the consumer).
        var lost = partitions.ToHashSet();
        _batch.RemoveAll(r => lost.Contains(r.Partition.Value));
        _partitions.Drop(lost);
    }

    /// <summary>
    /// A batch: what the client holds now, up to <see cref="RaterOptions.BatchMaxRecords"/> (pipelined), or — with a
    /// checkpoint per batch — up to that many or <see cref="RaterOptions.BatchMaxWait"/> after the first record.
    /// </summary>
    private void CollectBatch(CancellationToken stop)
    {
        var first = WaitForInput(_checkpoints.WaitBound((long)Math.Min(100, _options.BatchMaxWait.TotalMilliseconds)));
        if (first is null)
        {
            _checkpoints.InputDrained();
            return;
        }

        _batch.Add(first);
        _input.Fill(_batch, _options.BatchMaxRecords, _checkpoints.Pipelined ? TimeSpan.Zero : _options.BatchMaxWait, stop);
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
        var epoch = _checkpoints.Epoch;
        if (_lanes.Length == 1)
        {
            _lanes[0].Batch.AddRange(_batch);
            _lanes[0].Rate(_partitions.Assigned, _producer, epoch, _targets, _topics.Cdrs, _partitions.PartitionCount > 1);
        }
        else
        {
            foreach (var record in _batch)
            {
                _partitions.LaneOf(record.Partition.Value).Batch.Add(record);
            }

            Parallel.ForEach(_lanes, lane =>
            {
                if (lane.Batch.Count > 0)
                {
                    lane.Rate(_partitions.Assigned, _producer, epoch, _targets, _topics.Cdrs, _partitions.PartitionCount > 1);
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
        _partitions.SetStateMetrics();
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
            if (lane.Engine.ProfileOf(msisdnKey) is not { } profile)
            {
                continue;
            }

            var hasState = lane.Engine.TryGetState(msisdnKey, out var state);
            var partition = _partitions.PartitionOfProfile(msisdnKey);
            return new QueryAnswer(QueryOutcome.Found, UsageReport.Build(profile, hasState, in state, lane.Engine.Tariff, partition));
        }

        return QueryAnswer.Unknown;
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
            _checkpoints.Dispose();

            // Whatever this member handed to its producer reaches the broker (or fails) while the partitions are still
            // its own: leaving the group first would let a new owner restore, and write newer states, before this
            // member's last ones arrive.
            _producer.Flush(TimeSpan.FromSeconds(5));
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
            _checkpoints.Dispose();
        }

        _queries.Close();
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _partitions.Dispose();
        _input.Dispose();
    }
}
