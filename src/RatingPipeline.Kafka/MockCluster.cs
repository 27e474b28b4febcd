using System.Runtime.InteropServices;
using Confluent.Kafka;
using RatingPipeline.Kafka.Interop;

namespace RatingPipeline.Kafka;

/// <summary>
/// librdkafka's in-process mock Kafka cluster: real TCP listeners on 127.0.0.1 that any Kafka
/// client can use, in this process or another. Experimental in librdkafka; see the facts in
/// the remarks before relying on it for more than tests.
/// </summary>
/// <remarks>
/// Measured limits: use one broker (with three, acknowledged messages were lost in about half
/// the runs); a partition keeps only its newest ~5 MiB / 100k message sets; no log compaction;
/// no CreateTopics admin API (use <see cref="CreateTopic"/>); auto-created topics get 4
/// partitions; transactions do not work end to end. A consumer group's first member is assigned
/// after the initial rebalance delay (<see cref="SetInitialRebalanceDelay"/>), but any later
/// rebalance, including a new member joining after the last one left, waits for
/// <c>session.timeout.ms</c> − 1 s (see <see cref="EmbeddedCluster.ShortSessionConsumerProperties"/>).
/// </remarks>
public sealed class MockCluster : IDisposable
{
    private const int ErrorBufferSize = 512;

    private readonly RdKafkaHandle _owner;
    private readonly MockClusterHandle _cluster;

    private MockCluster(RdKafkaHandle owner, MockClusterHandle cluster, string bootstrapServers, int brokers)
    {
        _owner = owner;
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
        Brokers = brokers;
    }

    /// <summary>Comma-separated <c>host:port</c> list of the mock brokers (loopback addresses).</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids run from 1 to this number.</summary>
    public int Brokers { get; }

    /// <summary>Full path of the native librdkafka the cluster runs in.</summary>
    public static string NativeLibraryPath => RdKafkaLibrary.Path;

    /// <summary>Starts a mock cluster with <paramref name="brokers"/> brokers (ids 1..n).</summary>
    /// <exception cref="DllNotFoundException">The native librdkafka (with the mock API) cannot be loaded.</exception>
    public static MockCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        RdKafkaLibrary.EnsureLoaded();

        var owner = NewOwnerHandle();
        try
        {
            var cluster = LibRdKafka.rd_kafka_mock_cluster_new(owner, brokers);
            if (cluster.IsInvalid)
            {
                cluster.Dispose();
                throw new InvalidOperationException($"librdkafka could not create a mock cluster with {brokers} broker(s).");
            }

            cluster.HoldOwner(owner);
            string bootstrapServers;
            unsafe
            {
                bootstrapServers = Marshal.PtrToStringUTF8((nint)LibRdKafka.rd_kafka_mock_cluster_bootstraps(cluster))
                    ?? throw new InvalidOperationException("librdkafka's mock cluster reported no bootstrap servers.");
            }

            return new MockCluster(owner, cluster, bootstrapServers, brokers);
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    /// <summary>Creates a topic; the mock has no CreateTopics admin API.</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ThrowIfFailed(
            LibRdKafka.rd_kafka_mock_topic_create(_cluster, name, partitions, replicationFactor),
            $"create topic '{name}' with {partitions} partition(s)");
    }

    /// <summary>
    /// Sets the broker setting <c>group.initial.rebalance.delay.ms</c> (3 s by default) for every
    /// consumer group: how long a new group waits for more members before its first assignment.
    /// </summary>
    public void SetInitialRebalanceDelay(TimeSpan delay) =>
        LibRdKafka.rd_kafka_mock_group_initial_rebalance_delay_ms(_cluster, ToMilliseconds(delay));

    /// <summary>
    /// Makes the next <c>errors.Length</c> requests of type <paramref name="api"/> (to any broker)
    /// fail with these errors, in order. <see cref="ErrorCode.Local_Transport"/> disconnects the client.
    /// </summary>
    public void PushRequestErrors(KafkaApiKey api, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Length == 0)
        {
            return;
        }

        var codes = Array.ConvertAll(errors, e => (int)e);
        unsafe
        {
            fixed (int* first = codes)
            {
                LibRdKafka.rd_kafka_mock_push_request_errors_array(_cluster, (short)api, (nuint)codes.Length, first);
            }
        }
    }

    /// <summary>Drops the errors still queued by <see cref="PushRequestErrors"/> for <paramref name="api"/>.</summary>
    public void ClearRequestErrors(KafkaApiKey api) =>
        LibRdKafka.rd_kafka_mock_clear_request_errors(_cluster, (short)api);

    /// <summary>Disconnects the broker and refuses new connections (no leader change). -1 means all brokers.</summary>
    public void SetBrokerDown(int brokerId) =>
        ThrowIfFailed(LibRdKafka.rd_kafka_mock_broker_set_down(_cluster, brokerId), $"set broker {brokerId} down");

    /// <summary>Makes the broker accept connections again. -1 means all brokers.</summary>
    public void SetBrokerUp(int brokerId) =>
        ThrowIfFailed(LibRdKafka.rd_kafka_mock_broker_set_up(_cluster, brokerId), $"set broker {brokerId} up");

    /// <summary>Delays every response of the broker by <paramref name="rtt"/>. -1 means all brokers.</summary>
    public void SetBrokerRtt(int brokerId, TimeSpan rtt) =>
        ThrowIfFailed(
            LibRdKafka.rd_kafka_mock_broker_set_rtt(_cluster, brokerId, ToMilliseconds(rtt)),
            $"set the round-trip time of broker {brokerId}");

    /// <summary>Moves a partition's leadership to <paramref name="brokerId"/> (-1: leaderless).</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ThrowIfFailed(
            LibRdKafka.rd_kafka_mock_partition_set_leader(_cluster, topic, partition, brokerId),
            $"set the leader of {topic} [{partition}] to broker {brokerId}");
    }

    /// <summary>Starts recording the requests the brokers receive (see <see cref="GetRequests"/>).</summary>
    public void StartRequestTracking() => LibRdKafka.rd_kafka_mock_start_request_tracking(_cluster);

    /// <summary>Stops recording requests; those recorded so far are kept.</summary>
    public void StopRequestTracking() => LibRdKafka.rd_kafka_mock_stop_request_tracking(_cluster);

    /// <summary>Forgets the requests recorded so far.</summary>
    public void ClearRequests() => LibRdKafka.rd_kafka_mock_clear_requests(_cluster);

    /// <summary>The requests recorded since tracking started, in arrival order.</summary>
    public IReadOnlyList<MockRequest> GetRequests()
    {
        unsafe
        {
            nuint count = 0;
            var requests = LibRdKafka.rd_kafka_mock_get_requests(_cluster, &count);
            if (requests is null)
            {
                return [];
            }

            try
            {
                var result = new MockRequest[(int)count];
                for (var i = 0; i < result.Length; i++)
                {
                    var request = requests[i];
                    result[i] = new MockRequest(
                        LibRdKafka.rd_kafka_mock_request_id(request),
                        (KafkaApiKey)LibRdKafka.rd_kafka_mock_request_api_key(request),
                        LibRdKafka.rd_kafka_mock_request_timestamp(request));
                }

                return result;
            }
            finally
            {
                LibRdKafka.rd_kafka_mock_request_destroy_array(requests, count);
            }
        }
    }

    /// <summary>Destroys the cluster (closing its listeners), then the handle it was created on.</summary>
    public void Dispose()
    {
        _cluster.Dispose();
        _owner.Dispose();
    }

    private static RdKafkaHandle NewOwnerHandle()
    {
        var conf = LibRdKafka.rd_kafka_conf_new();
        unsafe
        {
            var error = stackalloc byte[ErrorBufferSize];
            error[0] = 0;
            try
            {
                // The owner handle never connects anywhere; it only hosts the cluster. Without
                // bootstrap.servers librdkafka would log a configuration warning, so only errors are logged.
                Set(conf, "client.id", "rating-mock-cluster", error);
                Set(conf, "log_level", "3", error);
            }
            catch
            {
                LibRdKafka.rd_kafka_conf_destroy(conf);
                throw;
            }

            var owner = LibRdKafka.rd_kafka_new(LibRdKafka.ProducerType, conf, error, ErrorBufferSize);
            if (owner.IsInvalid)
            {
                owner.Dispose();
                LibRdKafka.rd_kafka_conf_destroy(conf);
                throw new InvalidOperationException($"librdkafka could not create the mock cluster's handle: {Text(error)}");
            }

            return owner;
        }
    }

    private static unsafe void Set(nint conf, string name, string value, byte* error)
    {
        if (LibRdKafka.rd_kafka_conf_set(conf, name, value, error, ErrorBufferSize) != LibRdKafka.ConfOk)
        {
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Text(error)}");
        }
    }

    private static unsafe string Text(byte* error) => Marshal.PtrToStringUTF8((nint)error) ?? string.Empty;

    private static int ToMilliseconds(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        return checked((int)value.TotalMilliseconds);
    }

    private static void ThrowIfFailed(int error, string what)
    {
        var code = (ErrorCode)error;
        if (code != ErrorCode.NoError)
        {
            throw new KafkaException(new Error(code, $"Mock cluster could not {what}: {code}"));
        }
    }
}

/// <summary>A request a mock broker received, as recorded by request tracking.</summary>
/// <param name="BrokerId">The broker that received it.</param>
/// <param name="ApiKey">Its request type.</param>
/// <param name="TimestampMicroseconds">When it arrived, on librdkafka's monotonic clock.</param>
public readonly record struct MockRequest(int BrokerId, KafkaApiKey ApiKey, long TimestampMicroseconds);
