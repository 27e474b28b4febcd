using System.Collections.Concurrent;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;

namespace RatingPipeline.Rater.Usage;

/// <summary>
/// Who answers for which partition: the compacted topic <c>rater-endpoints</c>, key = the <c>cdrs</c> partition
/// number, value <c>{"partition":p,"url":"http://…","instance":"…"}</c>. A rater writes one record per partition the
/// group assigns to it, when it is assigned (before its restore), so the last record of a key names the partition's
/// current owner; every rater reads the topic from its beginning and follows it, and answers a query for a partition it
/// does not own with a redirect to that URL. Nothing is written on revoke: the next owner's record replaces the entry.
/// </summary>
public sealed class RaterEndpoints(
    IOptions<KafkaOptions> kafka,
    IOptions<TopicNames> topics,
    IOptions<RaterOptions> rater,
    IOptions<QueryApiOptions> api,
    ILogger<RaterEndpoints> log) : BackgroundService
{
    private readonly ConcurrentDictionary<int, Endpoint> _owners = new();
    private readonly Lock _producerLock = new();
    private AcknowledgedProducer? _producer;

    /// <summary>This instance's URL, as written to the topic.</summary>
    public string Self { get; } = api.Value.Advertised(RaterHost.DefaultUrl);

    /// <summary>The URL of the owner of a partition as last advertised, if any.</summary>
    public bool TryGetOwner(int partition, out string url)
    {
        if (_owners.TryGetValue(partition, out var endpoint))
        {
            url = endpoint.Url;
            return true;
        }

        url = "";
        return false;
    }

    /// <summary>Writes this instance as the owner of <paramref name="partitions"/> (called on assignment; does not wait).</summary>
    public void Advertise(IEnumerable<int> partitions)
    {
        var producer = Producer();
        foreach (var partition in partitions)
        {
            var endpoint = new Endpoint(partition, Self, rater.Value.InstanceId);
            _owners[partition] = endpoint; // known here at once, before the record comes back
            var key = System.Text.Encoding.ASCII.GetBytes(partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var advertised = new AcknowledgementGroup(error =>
                log.LogWarning("Advertising partition {Partition} on {Topic} failed: {Reason}; other instances redirect its queries to the previous owner",
                    partition, topics.Value.RaterEndpoints, error.Reason));
            producer.Produce(topics.Value.RaterEndpoints, new Message<byte[], byte[]> { Key = key, Value = JsonSerializer.SerializeToUtf8Bytes(endpoint, EndpointJson.Default.Endpoint) },
                advertised);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => FollowForever(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Follows the topic until the host stops; a failed reader is made anew (rating never depends on it).</summary>
    private void FollowForever(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Follow(stop);
            }
            catch (Exception e) when (e is KafkaException or ArgumentException or InvalidOperationException)
            {
                log.LogError("Reader of {Topic} failed, starting it again in 5 s: {Error}", topics.Value.RaterEndpoints, e.Message);
                stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(5));
            }
        }
    }

    private void Follow(CancellationToken stop)
    {
        var config = KafkaClientTuning.Consumer(kafka.Value.BootstrapServers, $"{rater.Value.GroupId}-endpoints", "none", kafka.Value.Embedded, kafka.Value.Properties);
        config.ClientId = $"rater-{rater.Value.InstanceId}-endpoints";
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        var assigned = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                if (assigned == 0)
                {
                    assigned = AssignAll(consumer);
                    if (assigned == 0)
                    {
                        stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(2));
                        continue;
                    }
                }

                if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message.Value: { } value } record)
                {
                    Apply(record.Message.Key, value);
                }
            }
            catch (KafkaException e)
            {
                log.LogWarning("Reading {Topic}: {Reason}; the client retries", topics.Value.RaterEndpoints, e.Error.Reason);
                stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
            catch (ObjectDisposedException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }

        consumer.Close();
    }

    private int AssignAll(IConsumer<byte[], byte[]> consumer)
    {
        var beginning = Beginning(consumer, topics.Value.RaterEndpoints, TimeSpan.FromSeconds(10));
        if (beginning is null)
        {
            log.LogWarning("Topic {Topic} not found: queries for partitions of other instances get 503 until it exists", topics.Value.RaterEndpoints);
            return 0;
        }

        consumer.Assign(beginning);
        return beginning.Count;
    }

    private void Apply(byte[]? key, byte[] value)
    {
        if (TryRead(value, out var endpoint))
        {
            _owners[endpoint.Partition] = endpoint;
            return;
        }

        log.LogWarning("Record of {Topic} with key {Key} is no endpoint; ignored", topics.Value.RaterEndpoints, key is null ? "(none)" : System.Text.Encoding.ASCII.GetString(key));
    }

    /// <summary>
    /// The owners as the topic names them now: reads <paramref name="topic"/> from its beginning to its end (each
    /// partition to where it ended when assigned), the last record of a partition naming its owner. For tools that ask
    /// once (<c>ratingctl usage --bootstrap</c>); a record that is no endpoint is skipped and counted in
    /// <paramref name="ignored"/>. Throws <see cref="InvalidOperationException"/> when the topic does not exist and
    /// <see cref="TimeoutException"/> when its end is not reached within <paramref name="timeout"/>.
    /// </summary>
    public static Dictionary<int, Endpoint> ReadToEnd(string bootstrap, string topic, IEnumerable<KeyValuePair<string, string>>? properties, TimeSpan timeout, out int ignored)
    {
        var config = KafkaClientTuning.Consumer(bootstrap, $"ratingpipeline-endpoints-reader-{Guid.NewGuid():N}", "none", properties: properties);
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).SetErrorHandler((_, _) => { }).Build();
        var beginning = Beginning(consumer, topic, timeout) ?? throw new InvalidOperationException($"topic {topic} does not exist at {bootstrap}");
        var owners = new Dictionary<int, Endpoint>();
        var pending = beginning.Select(p => p.Partition.Value).ToHashSet();
        ignored = 0;
        var deadline = DateTime.UtcNow + timeout;
        consumer.Assign(beginning);
        try
        {
            while (pending.Count > 0)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"the end of {topic} (partitions {string.Join(",", pending.Order())}) was not reached within {timeout.TotalSeconds:0.#} s");
                }

                if (consumer.Consume(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200)) is not { } record)
                {
                    continue;
                }

                if (record.IsPartitionEOF)
                {
                    pending.Remove(record.Partition.Value);
                }
                else if (record.Message.Value is { } value && TryRead(value, out var endpoint))
                {
                    owners[endpoint.Partition] = endpoint;
                }
                else
                {
                    ignored++;
                }
            }
        }
        finally
        {
            consumer.Close();
        }

        return owners;
    }

    /// <summary>A record's value as an endpoint: a partition ≥ 0 and an absolute http(s) URL.</summary>
    internal static bool TryRead(byte[] value, out Endpoint endpoint)
    {
        try
        {
            if (JsonSerializer.Deserialize(value, EndpointJson.Default.Endpoint) is { Url.Length: > 0 } read && read.Partition >= 0
                && Uri.TryCreate(read.Url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                endpoint = read;
                return true;
            }
        }
        catch (JsonException)
        {
            // not an endpoint
        }

        endpoint = null!;
        return false;
    }

    /// <summary>Every partition of <paramref name="topic"/> at its beginning; null when the topic does not exist.</summary>
    private static List<TopicPartitionOffset>? Beginning(IConsumer<byte[], byte[]> consumer, string topic, TimeSpan timeout)
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var found = admin.GetMetadata(topic, timeout).Topics.FirstOrDefault();
        return found is null || found.Error.IsError || found.Partitions.Count == 0
            ? null
            : [.. found.Partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning))];
    }

    private AcknowledgedProducer Producer()
    {
        lock (_producerLock)
        {
            return _producer ??= AcknowledgedProducer.Build(kafka.Value, clientId: $"rater-{rater.Value.InstanceId}-endpoints");
        }
    }

    public override void Dispose()
    {
        // Disposed once as a singleton and once as a hosted service.
        AcknowledgedProducer? producer;
        lock (_producerLock)
        {
            producer = _producer;
            _producer = null;
        }

        producer?.Flush(TimeSpan.FromSeconds(5));
        producer?.Dispose();
        base.Dispose();
    }
}

/// <summary>A <c>rater-endpoints</c> record: who owns a <c>cdrs</c> partition and where it answers.</summary>
public sealed record Endpoint(int Partition, string Url, string Instance);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Endpoint))]
internal sealed partial class EndpointJson : System.Text.Json.Serialization.JsonSerializerContext;
