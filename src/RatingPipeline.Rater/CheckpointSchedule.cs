using System.Diagnostics;
using RatingPipeline.Kafka;
using RatingPipeline.Rating;
using RatingPipeline.Records;

namespace RatingPipeline.Rater;

/// <summary>
/// The rating thread's side of the checkpoints (DESIGN.md, "Rater: processing guarantee"): when to mark one, what a
/// mark takes (the epoch of outputs produced so far, the states changed since the previous mark as they are now, the
/// input positions), and committing the input offsets of a written checkpoint for the partitions still owned in the
/// generation of its mark. The <see cref="Checkpointer"/> writes them beside the rating; with interval 0 a checkpoint
/// runs after every batch on the rating thread.
/// </summary>
internal sealed class CheckpointSchedule : IDisposable
{
    private readonly RatingLane[] _lanes;
    private readonly RaterPartitions _partitions;
    private readonly PartitionOwningConsumer<byte[], byte[]> _input;
    private readonly Checkpointer _checkpointer;
    private readonly long _intervalTicks;
    private byte[] _stateBuffer = new byte[1024];
    private long _nextMark;
    private long _lastMark;

    public CheckpointSchedule(RaterOptions options, AcknowledgedProducer producer, TopicNames topics, RatingLane[] lanes, RaterPartitions partitions,
        PartitionOwningConsumer<byte[], byte[]> input)
    {
        _lanes = lanes;
        _partitions = partitions;
        _input = input;
        Pipelined = options.CheckpointInterval > TimeSpan.Zero;
        _intervalTicks = (long)(options.CheckpointInterval.TotalSeconds * Stopwatch.Frequency);
        _checkpointer = new Checkpointer(producer, partitions.Ownership, topics.RaterState, options.AckTimeout);
    }

    /// <summary>Checkpoints beside the rating every interval (false: after every batch, on the rating thread).</summary>
    public bool Pipelined { get; }

    /// <summary>The acknowledgement group the outputs produced now belong to (closed by the next mark).</summary>
    public AcknowledgementGroup Epoch { get; private set; } = new();

    /// <summary>The first mark is due one interval from now.</summary>
    public void Start()
    {
        _lastMark = Stopwatch.GetTimestamp();
        _nextMark = _lastMark + _intervalTicks;
    }

    /// <summary>
    /// The input is drained (a wait found no record): the next mark is brought forward to now when something was
    /// consumed since the previous mark and that mark is at least a tenth of the interval old — so a rater that has
    /// caught up makes its work durable and commits it at once instead of waiting out the interval, while a trickle of
    /// records never marks more often than ten times an interval.
    /// </summary>
    public void InputDrained()
    {
        var now = Stopwatch.GetTimestamp();
        if (Pipelined && now - _lastMark >= _intervalTicks / 10 && now < _nextMark
            && (Epoch.Produced > 0 || _lanes.Any(l => l.Dirty.Count > 0 || l.Positions.Count > 0)))
        {
            _nextMark = now;
        }
    }

    /// <summary>
    /// How long the rating thread may wait for input, at most <paramref name="milliseconds"/>: until the next mark is
    /// due, or briefly while a checkpoint is in flight, so that its offsets are committed without delay.
    /// </summary>
    public long WaitBound(long milliseconds)
    {
        if (!Pipelined)
        {
            return milliseconds;
        }

        var untilMark = (_nextMark - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
        return Math.Min(milliseconds, untilMark > 0 && !_checkpointer.Busy ? untilMark : 5);
    }

    /// <summary>After a batch: a checkpoint per batch (interval 0), or commit a written checkpoint and mark the next when due.</summary>
    public void AfterBatch()
    {
        if (!Pipelined)
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

        _lastMark = now;
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
    public void CheckpointNow()
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

    /// <summary>Stops the checkpoint in flight (a session ended by a fault makes nothing more durable).</summary>
    public void Dispose() => _checkpointer.Dispose();

    /// <summary>
    /// Step 4's mark: closes the epoch of the outputs produced so far and takes the states changed since the previous
    /// mark as they are now (encoded: a copy), tagged with the offset of their last applied record, and the input
    /// offsets. Null when nothing happened since the previous mark.
    /// </summary>
    private Checkpoint? Mark()
    {
        if (Epoch.Produced == 0 && _lanes.All(l => l.Dirty.Count == 0 && l.Positions.Count == 0))
        {
            return null;
        }

        var checkpoint = new Checkpoint(Epoch);
        Epoch = new AcknowledgementGroup();
        foreach (var lane in _lanes)
        {
            Mark(lane, checkpoint);
        }

        return checkpoint;
    }

    private void Mark(RatingLane lane, Checkpoint checkpoint)
    {
        var ownership = _partitions.Ownership;
        foreach (var (key, partition) in lane.Dirty)
        {
            var generation = ownership.GenerationOf(partition);
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
            _partitions.TrackState(partition, key);
        }

        lane.Dirty.Clear();
        foreach (var (partition, next) in lane.Positions)
        {
            checkpoint.Offsets.Add(new OffsetMark(partition, ownership.GenerationOf(partition), next));
        }

        lane.Positions.Clear();
    }

    /// <summary>Step 6 for a written checkpoint: its offsets, for the partitions still owned in the generation of its mark.</summary>
    private void Commit(Checkpoint checkpoint)
    {
        foreach (var mark in checkpoint.Offsets)
        {
            if (_partitions.Ownership.Owns(mark.Partition, mark.Generation))
            {
                _input.Stage(mark.Partition, mark.Next);
            }
        }

        _input.CommitStaged();
        RaterMetrics.ObserveCheckpoint(Stopwatch.GetElapsedTime(checkpoint.MarkedAt).TotalSeconds, checkpoint.StatesWritten, checkpoint.StatesDropped);
    }
}
