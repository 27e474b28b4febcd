using System.Diagnostics;
using System.Text;
using System.Text.Json;
using RatingPipeline.Kafka;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Rater;

/// <summary>Bounded waiting: every wait has a deadline and a poll count, and says what it waited for.</summary>
internal static class Poll
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> has passed; returns whether it held.</summary>
    public static async Task<bool> UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, TimeSpan? interval = null)
    {
        var every = interval ?? Interval;
        var clock = Stopwatch.StartNew();
        var maxPolls = (int)Math.Ceiling(timeout / every) + 1;
        for (var poll = 0; poll < maxPolls; poll++)
        {
            if (await condition())
            {
                return true;
            }

            if (clock.Elapsed >= timeout)
            {
                break;
            }

            await Task.Delay(every);
        }

        return await condition();
    }

    public static Task<bool> UntilAsync(Func<bool> condition, TimeSpan timeout, TimeSpan? interval = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, interval);
}

/// <summary>A topic set of a test's own inside a shared embedded cluster, so tests never see each other's records.</summary>
internal static class TestTopics
{
    public static TopicNames Create(EmbeddedCluster cluster, string prefix)
    {
        var names = new TopicNames
        {
            Cdrs = $"{prefix}.cdrs",
            Subscribers = $"{prefix}.subscribers",
            RaterState = $"{prefix}.rater-state",
            RatedCdrs = $"{prefix}.rated-cdrs",
            Reminders = $"{prefix}.reminders",
            CdrsDlq = $"{prefix}.cdrs-dlq",
            NoticeLog = $"{prefix}.notice-log",
            NoticesDlq = $"{prefix}.notices-dlq",
            Adjustments = $"{prefix}.adjustments",
            Bills = $"{prefix}.bills",
            RaterEndpoints = $"{prefix}.rater-endpoints",
        };
        foreach (var topic in TopicSet.All(names))
        {
            cluster.Mock.CreateTopic(topic, cluster.Partitions);
        }

        return names;
    }

    /// <summary>A short unique prefix naming the test, for topics and group ids.</summary>
    public static string UniquePrefix(string what) => $"{what}-{Guid.NewGuid().ToString("N")[..8]}";
}

/// <summary>
/// The configuration one rater instance is started with, the same keys whether it runs in this process
/// (<c>RaterHost.Build</c>) or as <c>ratingctl rater --Key=value …</c>.
/// </summary>
internal sealed class RaterSettings
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public RaterSettings(string bootstrap, TopicNames topics, string groupId, string tariffPath, string instanceId)
    {
        Topics = topics;
        GroupId = groupId;
        InstanceId = instanceId;
        Port = LoopbackPort.Free();
        _values["Kafka:BootstrapServers"] = bootstrap;
        _values["Kafka:Embedded"] = "true";
        _values["Rater:TariffPath"] = tariffPath;
        _values["Rater:GroupId"] = groupId;
        _values["Rater:InstanceId"] = instanceId;
        _values["Rater:BatchMaxWait"] = "00:00:00.050";
        _values["Http:Url"] = $"http://127.0.0.1:{Port}";
        _values["Topics:Cdrs"] = topics.Cdrs;
        _values["Topics:Subscribers"] = topics.Subscribers;
        _values["Topics:RaterState"] = topics.RaterState;
        _values["Topics:RatedCdrs"] = topics.RatedCdrs;
        _values["Topics:Reminders"] = topics.Reminders;
        _values["Topics:CdrsDlq"] = topics.CdrsDlq;
        _values["Topics:NoticeLog"] = topics.NoticeLog;
        _values["Topics:NoticesDlq"] = topics.NoticesDlq;
        _values["Topics:Adjustments"] = topics.Adjustments;
        _values["Topics:Bills"] = topics.Bills;
        _values["Topics:RaterEndpoints"] = topics.RaterEndpoints;
    }

    public TopicNames Topics { get; }

    public string GroupId { get; }

    public string InstanceId { get; }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public RaterSettings Set(string key, string value)
    {
        _values[key] = value;
        return this;
    }

    /// <summary>The 6 s session the embedded cluster needs wherever group membership changes (restarts, a second member).</summary>
    public RaterSettings WithShortSession()
    {
        foreach (var (key, value) in EmbeddedCluster.ShortSessionConsumerProperties)
        {
            _values[$"Kafka:Properties:{key}"] = value;
        }

        return this;
    }

    /// <summary>The same configuration for another life of the instance (a restart): same group and topics, a new port.</summary>
    public RaterSettings Restarted(string instanceId)
    {
        var copy = new RaterSettings(_values["Kafka:BootstrapServers"], Topics, GroupId, _values["Rater:TariffPath"], instanceId);
        foreach (var (key, value) in _values)
        {
            if (key is not ("Http:Url" or "Rater:InstanceId"))
            {
                copy._values[key] = value;
            }
        }

        return copy;
    }

    public IReadOnlyDictionary<string, string> Values => _values;

    public string[] CommandLine() => [.. _values.Select(p => $"--{p.Key}={p.Value}")];
}

/// <summary>Test data on the way into Kafka: records keyed as mediation and the BSS key them.</summary>
internal static class RecordKeys
{
    /// <summary>The key of a CDR line no msisdn can be read from (not JSON, no msisdn member, not digits).</summary>
    public const string Unparsed = "unparsed";

    /// <summary>The msisdn of a CDR or profile line, as the producer's key; <see cref="Unparsed"/> when there is none.</summary>
    public static string Of(ReadOnlySpan<byte> line)
    {
        try
        {
            // As deep as the rater reads (a record nested deeper than the default 64 levels is still a valid CDR).
            using var document = JsonDocument.Parse(line.ToArray(), new JsonDocumentOptions { MaxDepth = RatingPipeline.Records.CdrDecoder.MaxDepth });
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("msisdn", out var msisdn)
                && msisdn.ValueKind == JsonValueKind.String
                && msisdn.GetString() is { Length: > 0 } digits
                && digits.All(char.IsAsciiDigit))
            {
                return digits;
            }
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            // Not JSON (or not UTF-8): the fixed key.
        }

        return Unparsed;
    }

    /// <summary>
    /// The records of a JSON Lines file exactly as <c>ratingctl rate</c> reads them: the bytes of every line without
    /// its '\n'; blank lines (only spaces, tabs, '\r') are not records.
    /// </summary>
    public static List<byte[]> Lines(string path)
    {
        var file = File.ReadAllBytes(path);
        var lines = new List<byte[]>();
        foreach (var range in file.AsSpan().Split((byte)'\n'))
        {
            var line = file.AsSpan()[range];
            if (line.IndexOfAnyExcept(" \t\r"u8) >= 0)
            {
                lines.Add(line.ToArray());
            }
        }

        return lines;
    }

    public static string Text(byte[]? bytes) => bytes is null ? "" : Encoding.UTF8.GetString(bytes);
}
