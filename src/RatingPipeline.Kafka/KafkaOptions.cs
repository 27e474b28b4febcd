namespace RatingPipeline.Kafka;

/// <summary>
/// Section <c>Kafka</c>: where the cluster is, and any librdkafka property passed through unchanged
/// (<c>Kafka:Properties:security.protocol</c>, <c>sasl.mechanism</c>, <c>ssl.ca.location</c>, …). The workers' clients
/// are built from it by <see cref="KafkaClientTuning"/>.
/// </summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    /// <summary>Comma-separated host:port list. Empty means: not configured.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>librdkafka properties applied last, over the product's defaults.</summary>
    public Dictionary<string, string> Properties { get; set; } = [];

    /// <summary>Set when the cluster is the embedded (librdkafka mock) one: lower fetch waits for its latency.</summary>
    public bool Embedded { get; set; }

    /// <summary>
    /// How long the group waits for a silent member (<c>session.timeout.ms</c>) before its partitions move to the
    /// others: the failover time after a crash. Null: <see cref="DefaultSessionTimeout"/>, or
    /// <see cref="EmbeddedSessionTimeout"/> on the embedded cluster. Shorter fails over sooner; too short evicts a
    /// member whose heartbeats a pause (GC, a slow network, an overloaded host) held back, which moves its partitions
    /// for nothing. A real broker refuses values below its <c>group.min.session.timeout.ms</c> (6 s by default).
    /// </summary>
    public TimeSpan? SessionTimeout { get; set; }

    /// <summary>librdkafka's default session timeout.</summary>
    public static readonly TimeSpan DefaultSessionTimeout = TimeSpan.FromSeconds(45);

    /// <summary>
    /// The session timeout on the embedded cluster, whose rebalances wait for it (the mock answers a join only
    /// session timeout − 1 s after a member left or joined): the lowest a real broker accepts by default.
    /// </summary>
    public static readonly TimeSpan EmbeddedSessionTimeout = TimeSpan.FromSeconds(6);

    /// <summary>The session timeout the group consumers use.</summary>
    public TimeSpan EffectiveSessionTimeout => SessionTimeout ?? (Embedded ? EmbeddedSessionTimeout : DefaultSessionTimeout);

    /// <summary>What is wrong with these options, each naming its key.</summary>
    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            yield return "Kafka:BootstrapServers is required (host:port[,host:port…])";
        }

        if (SessionTimeout is { } session && (session < TimeSpan.FromSeconds(1) || session > TimeSpan.FromMinutes(30)))
        {
            yield return "Kafka:SessionTimeout must be 00:00:01..00:30:00";
        }
    }
}
