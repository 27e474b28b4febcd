using Confluent.Kafka;

namespace RatingPipeline.Kafka;

/// <summary>
/// Builds the product's producer and consumer configurations. Pass-through librdkafka
/// properties (SASL, SSL, client.id, ...) are applied last, so they win over every default here.
/// </summary>
public static class KafkaClientTuning
{
    /// <summary>Default <c>fetch.wait.max.ms</c>: bounds end-to-end latency at low traffic.</summary>
    public const int FetchWaitMaxMs = 100;

    /// <summary>
    /// <c>fetch.wait.max.ms</c> for the embedded (mock) cluster, whose fetches otherwise wait the
    /// full time even when data is there. Only latency changes, never what is delivered.
    /// </summary>
    public const int EmbeddedFetchWaitMaxMs = 5;

    /// <summary>Producer configuration with the product defaults.</summary>
    public static ProducerConfig Producer(string bootstrapServers, IEnumerable<KeyValuePair<string, string>>? properties = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            // No loss, no duplicates, order kept per partition across retries.
            EnableIdempotence = true,
            Acks = Acks.All,
            // A short linger batches bursts without adding noticeable latency.
            LingerMs = 5,
            // Records are small; compression costs CPU for little gain.
            CompressionType = CompressionType.None,
            // A delivery report needs only its error (and the topic, partition and offset, which it always has):
            // by default Confluent.Kafka copies every record's headers back into new objects and asks librdkafka for
            // its timestamp and persistence status, per record, on the delivery thread.
            DeliveryReportFields = "none",
        };
        Apply(config, properties);
        return config;
    }

    /// <summary>Producer configuration with the product defaults for the cluster <paramref name="kafka"/> describes.</summary>
    public static ProducerConfig Producer(KafkaOptions kafka)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        return Producer(kafka.BootstrapServers, kafka.Properties);
    }

    /// <summary>
    /// Consumer configuration with the product defaults for the cluster <paramref name="kafka"/> describes, with its
    /// session timeout (<see cref="KafkaOptions.EffectiveSessionTimeout"/>) and a heartbeat a sixth of it (at most 3 s).
    /// On the embedded cluster a request is also given up after 10 s (<c>socket.timeout.ms</c>): after the mock broker
    /// went down and up, a request on a connection opened before was seen to go unanswered until then (60 s by default).
    /// Pass-through properties still win.
    /// </summary>
    public static ConsumerConfig Consumer(KafkaOptions kafka, string groupId, string consumeResultFields)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        var session = kafka.EffectiveSessionTimeout;
        var tuned = new Dictionary<string, string>
        {
            ["session.timeout.ms"] = Milliseconds(session),
            ["heartbeat.interval.ms"] = Milliseconds(TimeSpan.FromTicks(Math.Clamp(session.Ticks / 6, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond * 3))),
        };
        if (kafka.Embedded)
        {
            tuned["socket.timeout.ms"] = "10000";
        }

        foreach (var (key, value) in kafka.Properties)
        {
            tuned[key] = value;
        }

        return Consumer(kafka.BootstrapServers, groupId, consumeResultFields, kafka.Embedded, tuned);
    }

    private static string Milliseconds(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Consumer configuration with the product defaults.</summary>
    /// <param name="bootstrapServers">Brokers to bootstrap from.</param>
    /// <param name="groupId">The consumer group.</param>
    /// <param name="consumeResultFields">
    /// Which optional fields consumed records carry: <c>none</c>, <c>all</c>, or a comma list of
    /// <c>topic</c>, <c>headers</c>, <c>timestamp</c>. Each field left out saves work per record.
    /// </param>
    /// <param name="forEmbeddedCluster">Lower <c>fetch.wait.max.ms</c> for the mock cluster (latency only).</param>
    /// <param name="properties">librdkafka properties applied last.</param>
    public static ConsumerConfig Consumer(
        string bootstrapServers,
        string groupId,
        string consumeResultFields,
        bool forEmbeddedCluster = false,
        IEnumerable<KeyValuePair<string, string>>? properties = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        ArgumentException.ThrowIfNullOrWhiteSpace(consumeResultFields);
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            // Offsets are committed by the application once a record's effects are durable.
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            // Rebalances move only the partitions that change owner; the others keep consuming.
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            // A new group starts from the oldest record: nothing is skipped.
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchWaitMaxMs = forEmbeddedCluster ? EmbeddedFetchWaitMaxMs : FetchWaitMaxMs,
            ConsumeResultFields = consumeResultFields,
        };
        Apply(config, properties);
        return config;
    }

    private static void Apply(ClientConfig config, IEnumerable<KeyValuePair<string, string>>? properties)
    {
        if (properties is null)
        {
            return;
        }

        foreach (var (key, value) in properties)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key, nameof(properties));
            config.Set(key, value);
        }
    }
}
