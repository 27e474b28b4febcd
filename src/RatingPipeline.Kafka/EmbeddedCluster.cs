namespace RatingPipeline.Kafka;

/// <summary>
/// A one-broker mock cluster with every product topic created, for tests and local runs
/// without a Kafka installation. One broker because the mock loses acknowledged messages
/// with several brokers.
/// </summary>
public sealed class EmbeddedCluster : IDisposable
{
    /// <summary>
    /// Consumer groups wait this long for more members before the first assignment
    /// (the broker default is 3 s, which only slows tests down).
    /// </summary>
    public static readonly TimeSpan InitialRebalanceDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Consumer properties for groups whose membership changes on the embedded cluster. The mock
    /// answers JoinGroup only when its rebalance timer fires: <c>session.timeout.ms</c> − 1 s after a
    /// member left, or joined a group that still had members (44 s at the default 45 s session).
    /// A 6 s session, the lowest a real broker accepts by default, brings that down to 5 s; the
    /// heartbeat interval must then stay well below it. After the mock broker is taken down and up, a
    /// request on a connection opened before was seen to go unanswered until <c>socket.timeout.ms</c>
    /// (60 s by default, three times in a row: a group member or an offsets query stalled about 3 minutes);
    /// 10 s bounds that.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ShortSessionConsumerProperties =
        new Dictionary<string, string>
        {
            ["session.timeout.ms"] = "6000",
            ["heartbeat.interval.ms"] = "1000",
            ["socket.timeout.ms"] = "10000",
        };

    private EmbeddedCluster(MockCluster mock, int partitions, TopicNames topics)
    {
        Mock = mock;
        Partitions = partitions;
        Topics = topics;
    }

    /// <summary>Bootstrap servers for clients (loopback addresses).</summary>
    public string BootstrapServers => Mock.BootstrapServers;

    /// <summary>The underlying mock cluster, for fault injection.</summary>
    public MockCluster Mock { get; }

    /// <summary>Partition count of every product topic.</summary>
    public int Partitions { get; }

    /// <summary>The topic names the cluster was created with.</summary>
    public TopicNames Topics { get; }

    /// <summary>
    /// Starts the cluster and creates every topic of <see cref="TopicSet.All"/> (dead-letter topics
    /// included) with <paramref name="partitions"/> partitions.
    /// </summary>
    public static EmbeddedCluster Start(int partitions = 4, TopicNames? names = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        names ??= new TopicNames();
        var topics = TopicSet.All(names);

        var mock = MockCluster.Start(brokers: 1);
        try
        {
            mock.SetInitialRebalanceDelay(InitialRebalanceDelay);
            foreach (var topic in topics)
            {
                mock.CreateTopic(topic, partitions);
            }

            return new EmbeddedCluster(mock, partitions, names);
        }
        catch
        {
            mock.Dispose();
            throw;
        }
    }

    public void Dispose() => Mock.Dispose();
}
