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
    private IProducer<byte[], byte[]>? _producer;

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
            producer.Produce(topics.Value.RaterEndpoints, new Message<byte[], byte[]> { Key = key, Value = JsonSerializer.SerializeToUtf8Bytes(endpoint, EndpointJson.Default.Endpoint) },
                report =>
                {
                    if (report.Error.IsError)
                    {
                        log.LogWarning("Advertising partition {Partition} on {Topic} failed: {Reason}; other instances redirect its queries to the previous owner",
                            partition, topics.Value.RaterEndpoints, report.Error.Reason);
                    }
                });
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
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var topic = admin.GetMetadata(topics.Value.RaterEndpoints, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault();
        if (topic is null || topic.Error.IsError || topic.Partitions.Count == 0)
        {
            log.LogWarning("Topic {Topic} not found: queries for partitions of other instances get 503 until it exists", topics.Value.RaterEndpoints);
            return 0;
        }

        consumer.Assign(topic.Partitions.Select(p => new TopicPartitionOffset(topics.Value.RaterEndpoints, p.PartitionId, Offset.Beginning)));
        return topic.Partitions.Count;
    }

    private void Apply(byte[]? key, byte[] value)
    {
        try
        {
            if (JsonSerializer.Deserialize(value, EndpointJson.Default.Endpoint) is { Url.Length: > 0 } endpoint && endpoint.Partition >= 0
                && Uri.TryCreate(endpoint.Url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                _owners[endpoint.Partition] = endpoint;
                return;
            }
        }
        catch (JsonException)
        {
            // refused below
        }

        log.LogWarning("Record of {Topic} with key {Key} is no endpoint; ignored", topics.Value.RaterEndpoints, key is null ? "(none)" : System.Text.Encoding.ASCII.GetString(key));
    }

    private IProducer<byte[], byte[]> Producer()
    {
        lock (_producerLock)
        {
            if (_producer is null)
            {
                var config = KafkaClientTuning.Producer(kafka.Value.BootstrapServers, kafka.Value.Properties);
                config.ClientId = $"rater-{rater.Value.InstanceId}-endpoints";
                _producer = new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();
            }

            return _producer;
        }
    }

    public override void Dispose()
    {
        // Disposed once as a singleton and once as a hosted service.
        IProducer<byte[], byte[]>? producer;
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
