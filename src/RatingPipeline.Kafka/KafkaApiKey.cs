namespace RatingPipeline.Kafka;

/// <summary>Kafka protocol request types (ApiKey), as used for the mock cluster's fault injection.</summary>
#pragma warning disable CA1028 // The protocol defines ApiKey as INT16.
public enum KafkaApiKey : short
#pragma warning restore CA1028
{
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    DescribeGroups = 15,
    ListGroups = 16,
    SaslHandshake = 17,
    ApiVersions = 18,
    CreateTopics = 19,
    DeleteTopics = 20,
    DeleteRecords = 21,
    InitProducerId = 22,
    OffsetForLeaderEpoch = 23,
    AddPartitionsToTxn = 24,
    AddOffsetsToTxn = 25,
    EndTxn = 26,
    TxnOffsetCommit = 28,
    DescribeConfigs = 32,
    SaslAuthenticate = 36,
    OffsetDelete = 47,
    GetTelemetrySubscriptions = 71,
    PushTelemetry = 72,
}
