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
}
