using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rater;

/// <summary>
/// One lane of the rater: an engine of its own for the partitions given to it (partition number modulo the lane
/// count), with their profiles and states, and the outputs and changes of its share of each batch. Lanes rate their
/// shares of a batch in parallel and hand their outputs to the (thread-safe) producer; a subscriber belongs to one
/// partition and so to one lane, which keeps its outputs in order. Everything else — restore, profiles, tariffs,
/// marks, drops — happens on the rating thread while no lane runs.
/// </summary>
internal sealed class RatingLane
{
    private readonly List<ulong> _changed = [];
    private readonly Dictionary<ulong, byte[]> _keys = [];

    public RatingLane(Tariff tariff) => Engine = new RatingEngine(tariff) { ChangedStates = _changed };

    public RatingEngine Engine { get; }

    /// <summary>The lane's share of the batch in hand.</summary>
    public List<ConsumeResult<byte[], byte[]>> Batch { get; } = [];

    public BatchOutputs Outputs { get; } = new();

    /// <summary>Subscribers whose state changed since the last mark, with their partition.</summary>
    public Dictionary<ulong, int> Dirty { get; } = [];

    /// <summary>The next input offset per partition rated since the last mark.</summary>
    public Dictionary<int, long> Positions { get; } = [];

    /// <summary>
    /// Rates the lane's share of the batch and hands the outputs to the producer in <paramref name="epoch"/>. With
    /// <paramref name="checkKeys"/> (the input has more than one partition) a CDR keyed by anything but its own msisdn is
    /// refused (<see cref="RatingEngine.Process"/>): only the subscriber's key puts it on its subscriber's partition.
    /// </summary>
    public void Rate(HashSet<int> assigned, AcknowledgedProducer producer, AcknowledgementGroup epoch, OutputTargets targets, string inputTopic,
        bool checkKeys = true)
    {
        Outputs.Clear();
        var sink = new KafkaBatchSink(Outputs);
        var batch = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Batch);
        Span<ulong> keys = stackalloc ulong[RatingEngine.PrefetchDepth + 1];
        Span<ulong> ahead = stackalloc ulong[RatingEngine.PrefetchDepth];
        // A batch comes in runs of one partition: whether it is still assigned is asked once per run, and its next
        // offset written once per run (the assignment does not change while the lanes rate).
        var runPartition = -1;
        var runAssigned = false;
        var runNext = -1L;
        for (var i = 0; i < batch.Length; i++)
        {
            Prefetch(batch, i, keys, ahead);
            var record = batch[i];
            var partition = record.Partition.Value;
            if (partition != runPartition)
            {
                EndRun(runPartition, runNext);
                runPartition = partition;
                runAssigned = assigned.Contains(partition);
                runNext = -1;
            }

            if (!runAssigned)
            {
                continue; // lost before it was rated: the next owner rates it
            }

            var offset = record.Offset.Value;
            // The key's msisdn, worked out by the prefetch for this record's place.
            Outputs.From(partition, offset, record.Message.Key, keys[i % keys.Length]);
            // A clock applies to the subscribers whose profiles are in the same-numbered subscribers partition.
            switch (Engine.Process(record.Message.Value ?? [], ref sink, offset, clockGroup: partition, keyMsisdn: checkKeys ? keys[i % keys.Length] : 0))
            {
                case RatingResult.Skipped:
                    Outputs.Skipped++;
                    break;
                case RatingResult.Located:
                    Outputs.Located++;
                    break;
                case RatingResult.Clock:
                    Outputs.Clocks++;
                    break;
            }

            if (_changed.Count > 0)
            {
                foreach (var key in _changed)
                {
                    Dirty[key] = partition;
                }

                _changed.Clear();
            }

            runNext = offset + 1;
        }

        EndRun(runPartition, runNext);

        // Counted into the epoch once for the whole share: the lanes and the delivery thread share its counters.
        var outputs = Outputs.Records;
        producer.CountIn(epoch, outputs.Count);
        var handed = 0;
        try
        {
            foreach (var output in outputs)
            {
                var rejected = output.Kind == OutputKind.Rejected;
                // A dead letter keeps its original key (none when it had none); the others the record's key or the subscriber's.
                var key = rejected ? output.Key : output.Key ?? KeyOf(output.MsisdnKey);
                var headers = rejected
                    ? DeadLetterHeaders.Create(inputTopic, output.Partition, output.Offset, output.Reason, output.Detail ?? "")
                    : null;
                producer.ProduceCounted(targets.For(output.Kind, output.Partition), key, Outputs.Slice(output), headers, epoch);
                handed++;
            }
        }
        catch
        {
            producer.CountOut(epoch, outputs.Count - handed);
            throw;
        }
    }

    /// <summary>The next input offset of a run of one partition, when it rated anything.</summary>
    private void EndRun(int partition, long next)
    {
        if (next >= 0)
        {
            Positions[partition] = next;
        }
    }

    /// <summary>
    /// Tells the engine of the subscribers of the <see cref="RatingEngine.PrefetchDepth"/> records after record
    /// <paramref name="i"/> (by their Kafka keys, the msisdn), so their states are in the cache when rated.
    /// <paramref name="keys"/> keeps each record's key, worked out once, by its place modulo its length (still there when
    /// the record itself is rated);
    /// <paramref name="ahead"/> is where the keys are handed over.
    /// </summary>
    private void Prefetch(ReadOnlySpan<ConsumeResult<byte[], byte[]>> batch, int i, Span<ulong> keys, Span<ulong> ahead)
    {
        const int Depth = RatingEngine.PrefetchDepth;
        var first = i == 0 ? 0 : Depth; // the first record works out its own key and those before the furthest
        for (var k = first; k <= Depth; k++)
        {
            var at = i + k;
            keys[at % keys.Length] = at < batch.Length ? KeyMsisdn(batch[at].Message.Key) : 0;
        }

        for (var k = 1; k <= Depth; k++)
        {
            var key = keys[(i + k) % keys.Length];
            ahead[k - 1] = key == RatingEngine.KeyNotMsisdn ? 0 : key;
        }

        Engine.Prefetch(ahead);
    }

    /// <summary>
    /// The msisdn key of a record's Kafka key: 0 when it has none (an empty key counts as none), or
    /// <see cref="RatingEngine.KeyNotMsisdn"/> when its key is no msisdn.
    /// </summary>
    internal static ulong KeyMsisdn(byte[]? key) =>
        key is not { Length: > 0 } ? 0 : MsisdnKey.TryCompute(key, out var msisdnKey) ? msisdnKey : RatingEngine.KeyNotMsisdn;

    /// <summary>The msisdn text of a subscriber as a Kafka key, made once per subscriber (outputs of a clock, state records).</summary>
    public byte[] KeyOf(ulong msisdnKey)
    {
        if (!_keys.TryGetValue(msisdnKey, out var key))
        {
            key = System.Text.Encoding.ASCII.GetBytes(MsisdnKey.ToText(msisdnKey));
            _keys[msisdnKey] = key;
        }

        return key;
    }

    /// <summary>Forgets a subscriber's state (its partition left this member).</summary>
    public void RemoveState(ulong msisdnKey)
    {
        Engine.RemoveState(msisdnKey);
        _keys.Remove(msisdnKey);
    }
}

/// <summary>The topic partitions outputs go to, made once: the input's partition number, or any (keyed by msisdn).</summary>
internal sealed class OutputTargets
{
    private readonly TopicPartition[][] _byKind;
    private readonly TopicPartition[] _any;
    private readonly string[] _topics;
    private readonly bool _preserve;

    public OutputTargets(TopicNames topics, int partitions, bool preserve)
    {
        // Indexed by OutputKind: Rated, Reminder, Rejected, Bill.
        _topics = [topics.RatedCdrs, topics.Reminders, topics.CdrsDlq, topics.Bills];
        _preserve = preserve;
        _any = [.. _topics.Select(t => new TopicPartition(t, Partition.Any))];
        _byKind = [.. _topics.Select(t => Enumerable.Range(0, partitions).Select(p => new TopicPartition(t, p)).ToArray())];
    }

    public TopicPartition For(OutputKind kind, int partition)
    {
        if (!_preserve)
        {
            return _any[(int)kind];
        }

        var targets = _byKind[(int)kind];
        return (uint)partition < (uint)targets.Length ? targets[partition] : new TopicPartition(_topics[(int)kind], partition);
    }
}
