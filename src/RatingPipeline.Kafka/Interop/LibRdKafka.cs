using System.Runtime.InteropServices;

namespace RatingPipeline.Kafka.Interop;

/// <summary>
/// P/Invoke declarations for the parts of librdkafka that Confluent.Kafka does not wrap:
/// handle creation for the mock cluster's owner and the mock cluster API of <c>rdkafka_mock.h</c>.
/// The library name is resolved by <see cref="RdKafkaLibrary"/> to the very native library
/// Confluent.Kafka loaded, so the mock cluster and the .NET clients share one librdkafka.
/// </summary>
internal static unsafe partial class LibRdKafka
{
    internal const string LibraryName = "librdkafka";

    /// <summary><c>rd_kafka_type_t</c>.</summary>
    internal const int ProducerType = 0;

    /// <summary><c>rd_kafka_conf_res_t</c>: <c>RD_KAFKA_CONF_OK</c>.</summary>
    internal const int ConfOk = 0;

    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_conf_new();

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_destroy(nint conf);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_conf_set(nint conf, string name, string value, byte* errstr, nuint errstrSize);

    /// <summary>Takes ownership of <paramref name="conf"/> on success only.</summary>
    [LibraryImport(LibraryName)]
    internal static partial RdKafkaHandle rd_kafka_new(int type, nint conf, byte* errstr, nuint errstrSize);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_destroy(nint rk);

    [LibraryImport(LibraryName)]
    internal static partial MockClusterHandle rd_kafka_mock_cluster_new(RdKafkaHandle rk, int brokerCount);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_cluster_destroy(nint mcluster);

    /// <summary>Returns a string owned by the cluster, valid until it is destroyed.</summary>
    [LibraryImport(LibraryName)]
    internal static partial byte* rd_kafka_mock_cluster_bootstraps(MockClusterHandle mcluster);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_topic_create(MockClusterHandle mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_push_request_errors_array(MockClusterHandle mcluster, short apiKey, nuint count, int* errors);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_clear_request_errors(MockClusterHandle mcluster, short apiKey);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(MockClusterHandle mcluster, int delayMs);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_down(MockClusterHandle mcluster, int brokerId);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_up(MockClusterHandle mcluster, int brokerId);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_broker_set_rtt(MockClusterHandle mcluster, int brokerId, int rttMs);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int rd_kafka_mock_partition_set_leader(MockClusterHandle mcluster, string topic, int partition, int brokerId);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_start_request_tracking(MockClusterHandle mcluster);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_stop_request_tracking(MockClusterHandle mcluster);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_clear_requests(MockClusterHandle mcluster);

    /// <summary>Returns an array the caller frees with <see cref="rd_kafka_mock_request_destroy_array"/>.</summary>
    [LibraryImport(LibraryName)]
    internal static partial nint* rd_kafka_mock_get_requests(MockClusterHandle mcluster, nuint* count);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_mock_request_destroy_array(nint* requests, nuint count);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_mock_request_id(nint request);

    [LibraryImport(LibraryName)]
    internal static partial short rd_kafka_mock_request_api_key(nint request);

    [LibraryImport(LibraryName)]
    internal static partial long rd_kafka_mock_request_timestamp(nint request);
}
