using System.Diagnostics;
using Confluent.Kafka;

namespace RatingPipeline.Kafka;

/// <summary>
/// Records produced as one group whose acknowledgements are awaited together: the outputs of one checkpoint epoch,
/// or the state records one checkpoint writes. Records are counted in when produced and out when the cluster's
/// delivery report arrives; the first delivery error is kept.
/// </summary>
public sealed class AcknowledgementGroup
{
    private readonly object _drained = new();
    private long _pending;
    private long _produced;
    private string? _error;

    public AcknowledgementGroup() => Handler = OnDelivery;

    /// <summary>Records produced in this group and not yet acknowledged (or failed).</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Records produced in this group.</summary>
    public long Produced => Interlocked.Read(ref _produced);

    /// <summary>The first delivery error of the group, or null.</summary>
    public string? Error => Volatile.Read(ref _error);

    /// <summary>The delivery handler handed to the client with every record of the group (one instance, no allocation per record).</summary>
    internal Action<DeliveryReport<byte[], byte[]>> Handler { get; }

    internal void Add()
    {
        Interlocked.Increment(ref _produced);
        Interlocked.Increment(ref _pending);
    }

    /// <summary>Takes back a record the client refused at once (it gets no delivery report).</summary>
    internal void Remove()
    {
        Interlocked.Decrement(ref _produced);
        Release();
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the group to drain; a drain after the check inside the lock still wakes it.</summary>
    internal void Wait(TimeSpan timeout)
    {
        lock (_drained)
        {
            if (Pending > 0)
            {
                Monitor.Wait(_drained, timeout);
            }
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            lock (_drained)
            {
                Monitor.PulseAll(_drained);
            }
        }
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.CompareExchange(ref _error, $"{report.Topic}: {report.Error.Reason} ({report.Error.Code})", null);
        }

        Release();
    }
}

/// <summary>
/// The product's producer with acknowledgements tracked per <see cref="AcknowledgementGroup"/>: a worker produces into
/// the group of its current epoch and goes on; whoever needs the epoch durable (a checkpoint) waits for that group
/// alone, while later records keep flowing. Safe to use from several threads (the client is).
/// </summary>
public sealed class AcknowledgedProducer(IProducer<byte[], byte[]> producer) : IDisposable
{
    /// <summary>How often a wait looks again at its deadline and cancellation while the group has not drained.</summary>
    private static readonly TimeSpan WaitSlice = TimeSpan.FromMilliseconds(5);

    public IProducer<byte[], byte[]> Client { get; } = producer;

    /// <summary>
    /// Hands <paramref name="message"/> to the client (which copies key, value and headers, so the caller may reuse the
    /// instance at once), counted in <paramref name="group"/>. A full local queue is waited out.
    /// </summary>
    public void Produce(TopicPartition target, Message<byte[], byte[]> message, AcknowledgementGroup group)
    {
        group.Add();
        while (true)
        {
            try
            {
                Client.Produce(target, message, group.Handler);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                Client.Poll(TimeSpan.FromMilliseconds(20));
            }
            catch
            {
                group.Remove();
                throw;
            }
        }
    }

    /// <summary>
    /// Waits until every record of <paramref name="group"/> is acknowledged. Throws a <see cref="KafkaException"/> on a
    /// delivery error (<see cref="ErrorCode.Local_Fail"/>) or when <paramref name="timeout"/> passes
    /// (<see cref="ErrorCode.Local_TimedOut"/>), and <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public void Await(AcknowledgementGroup group, TimeSpan timeout, string what, CancellationToken cancel = default)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (group.Pending > 0)
        {
            cancel.ThrowIfCancellationRequested();
            if (Stopwatch.GetTimestamp() > deadline)
            {
                KafkaThrow.TimedOut($"{what}: {group.Pending} records not acknowledged within {timeout.TotalMilliseconds:F0} ms");
            }

            group.Wait(WaitSlice);
        }

        if (group.Error is { } error)
        {
            KafkaThrow.DeliveryFailed(what, error);
        }
    }

    public void Dispose() => Client.Dispose();
}
