using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Confluent.Kafka;
using RatingPipeline.Kafka;

namespace RatingPipeline.Rater;

/// <summary>A subscriber's state as a checkpoint's mark saw it, encoded then (a copy): what goes to <c>rater-state</c>.</summary>
internal readonly record struct StateRecord(int Partition, int Generation, byte[] Key, byte[] Value);

/// <summary>The next input offset of a partition as of a checkpoint's mark, with the partition's ownership generation then.</summary>
internal readonly record struct OffsetMark(int Partition, int Generation, long Next);

/// <summary>
/// What one checkpoint makes durable, taken at its mark on the rating thread: the outputs produced before the mark
/// (their acknowledgement group, closed at the mark), the states of the subscribers changed since the previous mark,
/// each tagged with the offset of its last applied record, and the input offsets as of the mark.
/// </summary>
internal sealed class Checkpoint(AcknowledgementGroup outputs)
{
    public AcknowledgementGroup Outputs { get; } = outputs;

    public long MarkedAt { get; } = Stopwatch.GetTimestamp();

    public List<StateRecord> States { get; } = [];

    public List<OffsetMark> Offsets { get; } = [];

    public int StatesWritten { get; set; }

    public int StatesDropped { get; set; }
}

/// <summary>
/// Writes checkpoints beside the rating (DESIGN.md, "Rater: processing guarantee", steps 4-5): on its own thread it
/// waits until a checkpoint's outputs are acknowledged, then writes its states — only for partitions still owned in
/// the generation of the mark; a revoked or lost partition's states are dropped — and waits for those. The input
/// offsets are then committed by the rating thread, which owns the consumer. One checkpoint at a time; a failed one
/// (a delivery error, a timeout) is rethrown on the rating thread, which ends the session.
/// </summary>
internal sealed class Checkpointer : IDisposable
{
    private readonly AcknowledgedProducer _producer;
    private readonly PartitionOwnership _ownership;
    private readonly string _stateTopic;
    private readonly TimeSpan _ackTimeout;
    private readonly Message<byte[], byte[]> _message = new();
    private readonly Dictionary<int, TopicPartition> _targets = [];
    private readonly CancellationTokenSource _cancel = new();
    private readonly object _gate = new();
    private Thread? _thread;
    private Checkpoint? _submitted;
    private Checkpoint? _written;
    private ExceptionDispatchInfo? _fault;
    private bool _stopping;

    public Checkpointer(AcknowledgedProducer producer, PartitionOwnership ownership, string stateTopic, TimeSpan ackTimeout)
    {
        _producer = producer;
        _ownership = ownership;
        _stateTopic = stateTopic;
        _ackTimeout = ackTimeout;
    }

    /// <summary>Whether a checkpoint was handed over and is not written yet.</summary>
    public bool Busy
    {
        get
        {
            lock (_gate)
            {
                return _submitted is not null;
            }
        }
    }

    /// <summary>Hands <paramref name="checkpoint"/> to the checkpoint thread. Only when not <see cref="Busy"/> and the last written one was taken.</summary>
    public void Submit(Checkpoint checkpoint)
    {
        lock (_gate)
        {
            if (_submitted is not null || _written is not null || _stopping)
            {
                throw new InvalidOperationException("a checkpoint is still in flight or not taken");
            }

            _fault?.Throw();
            _submitted = checkpoint;
            if (_thread is null)
            {
                _thread = new Thread(Loop) { IsBackground = true, Name = "rater-checkpoint" };
                _thread.Start();
            }

            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>The checkpoint written since the last call, whose offsets are now to be committed, or null; rethrows a failed checkpoint's fault.</summary>
    public Checkpoint? TakeWritten()
    {
        lock (_gate)
        {
            _fault?.Throw();
            var written = _written;
            _written = null;
            return written;
        }
    }

    /// <summary>Waits until no checkpoint is in flight; then as <see cref="TakeWritten"/>.</summary>
    public Checkpoint? WaitIdle()
    {
        lock (_gate)
        {
            while (_submitted is not null && _fault is null)
            {
                Monitor.Wait(_gate);
            }
        }

        return TakeWritten();
    }

    /// <summary>
    /// Writes <paramref name="checkpoint"/> on the calling thread (a checkpoint on revoke, on stop, or after every batch
    /// with interval 0). Only when none is in flight (see <see cref="WaitIdle"/>).
    /// </summary>
    public void Write(Checkpoint checkpoint)
    {
        _producer.Await(checkpoint.Outputs, _ackTimeout, "outputs before the checkpoint", _cancel.Token);
        var states = new AcknowledgementGroup();
        foreach (var state in checkpoint.States)
        {
            // The ownership is held while the record is handed to the client: a revoke or loss handled meanwhile waits.
            if (_ownership.WhileOwned(state.Partition, state.Generation, (this, state, states), static s => s.Item1.Produce(s.state, s.states)))
            {
                checkpoint.StatesWritten++;
            }
            else
            {
                checkpoint.StatesDropped++;
            }
        }

        _producer.Await(states, _ackTimeout, "checkpoint states", _cancel.Token);
    }

    private void Produce(in StateRecord state, AcknowledgementGroup group)
    {
        if (!_targets.TryGetValue(state.Partition, out var target))
        {
            target = new TopicPartition(_stateTopic, state.Partition);
            _targets[state.Partition] = target;
        }

        _message.Key = state.Key;
        _message.Value = state.Value;
        _producer.Produce(target, _message, group);
    }

    private void Loop()
    {
        while (true)
        {
            Checkpoint checkpoint;
            lock (_gate)
            {
                while (_submitted is null && !_stopping)
                {
                    Monitor.Wait(_gate);
                }

                if (_stopping)
                {
                    return;
                }

                checkpoint = _submitted!;
            }

            try
            {
                Write(checkpoint);
                lock (_gate)
                {
                    _written = checkpoint;
                    _submitted = null;
                    Monitor.PulseAll(_gate);
                }
            }
            catch (Exception e)
            {
                // Whatever ends a checkpoint ends the session (on the rating thread), never the process.
                lock (_gate)
                {
                    _fault = ExceptionDispatchInfo.Capture(e is OperationCanceledException
                        ? new KafkaException(new Error(ErrorCode.Local_Fail, "checkpoint cancelled: the session ends"), e)
                        : e);
                    _submitted = null;
                    Monitor.PulseAll(_gate);
                }

                return;
            }
        }
    }

    /// <summary>Ends the checkpoint thread: a checkpoint in flight is cancelled (its session ends; the next starts from the last commit).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        _cancel.Cancel();
        if (_thread is null || _thread.Join(TimeSpan.FromSeconds(10)))
        {
            _cancel.Dispose();
        }
    }
}
