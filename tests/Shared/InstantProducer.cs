using Confluent.Kafka;

namespace RatingPipeline.Testing;

/// <summary>
/// A producer that keeps nothing and acknowledges every record at once; it sums the size of the arrays it was handed.
/// One source file, compiled into the test support and the scale benchmarks (the rater lane's allocation budget, and
/// its cost without a broker).
/// </summary>
internal sealed class InstantProducer : IProducer<byte[], byte[]>
{
    private readonly DeliveryReport<byte[], byte[]> _report = new() { Error = new Error(ErrorCode.NoError), Status = PersistenceStatus.Persisted };

    public long Produced { get; private set; }

    public long DeadLetters { get; private set; }

    /// <summary>Bytes of the value arrays handed over, as the runtime allocates them (header and padding included).</summary>
    public long ArrayBytes { get; private set; }

    public Handle Handle => throw new NotSupportedException();

    public string Name => "in-memory";

    public void Produce(TopicPartition topicPartition, Message<byte[], byte[]> message, Action<DeliveryReport<byte[], byte[]>>? deliveryHandler = null)
    {
        Produced++;
        DeadLetters += message.Headers is null ? 0 : 1;
        ArrayBytes += (24 + message.Value.Length + 7) & ~7L;
        deliveryHandler?.Invoke(_report);
    }

    public void Produce(string topic, Message<byte[], byte[]> message, Action<DeliveryReport<byte[], byte[]>>? deliveryHandler = null) =>
        Produce(new TopicPartition(topic, Partition.Any), message, deliveryHandler);

    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync(string topic, Message<byte[], byte[]> message, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync(TopicPartition topicPartition, Message<byte[], byte[]> message, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public int Poll(TimeSpan timeout) => 0;

    public int Flush(TimeSpan timeout) => 0;

    public void Flush(CancellationToken cancellationToken = default)
    {
    }

    public void InitTransactions(TimeSpan timeout) => throw new NotSupportedException();

    public void BeginTransaction() => throw new NotSupportedException();

    public void CommitTransaction(TimeSpan timeout) => throw new NotSupportedException();

    public void CommitTransaction() => throw new NotSupportedException();

    public void AbortTransaction(TimeSpan timeout) => throw new NotSupportedException();

    public void AbortTransaction() => throw new NotSupportedException();

    public void SendOffsetsToTransaction(IEnumerable<TopicPartitionOffset> offsets, IConsumerGroupMetadata groupMetadata, TimeSpan timeout) =>
        throw new NotSupportedException();

    public int AddBrokers(string brokers) => 0;

    public void SetSaslCredentials(string username, string password) => throw new NotSupportedException();

    public void Dispose()
    {
    }
}
