namespace RatingPipeline.Rater;

/// <summary>Section <c>Rater</c> of the configuration.</summary>
public sealed class RaterOptions
{
    public const string Section = "Rater";

    /// <summary>The tariff JSON file; watched and hot-reloaded.</summary>
    public string TariffPath { get; set; } = "";

    /// <summary>Stable name of this instance (pod name); used for static group membership when enabled.</summary>
    public string InstanceId { get; set; } = Environment.MachineName;

    /// <summary>Use <see cref="InstanceId"/> as <c>group.instance.id</c>, so a restart within the session timeout does not rebalance.</summary>
    public bool StaticMembership { get; set; }

    public string GroupId { get; set; } = "ratingpipeline-rater";

    /// <summary>
    /// How often a checkpoint makes the rated input durable beside the rating: outputs before its mark acknowledged,
    /// the states changed since the previous checkpoint written, the input offsets committed. After a crash the
    /// outputs of up to one interval are written again (same ids). <see cref="TimeSpan.Zero"/> checkpoints after every
    /// batch, on the rating thread: fewest repeated outputs, least throughput.
    /// </summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Rating lanes: the assigned partitions are shared out among this many engines (partition number modulo the
    /// count), which rate their shares of each batch in parallel on separate cores. A subscriber's records stay in
    /// one lane, in order. 1 rates on the consuming thread alone.
    /// </summary>
    public int Lanes { get; set; } = 1;

    /// <summary>A batch ends after this many CDRs…</summary>
    public int BatchMaxRecords { get; set; } = 5000;

    /// <summary>
    /// …or this long after its first CDR. With checkpoints every batch (<see cref="CheckpointInterval"/> 0)
    /// a batch waits this long to fill; otherwise a batch takes what the client holds and rating goes on at once.
    /// </summary>
    public TimeSpan BatchMaxWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often the tariff file is checked for a new version.</summary>
    public TimeSpan TariffReloadInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to wait for the cluster to acknowledge a checkpoint's records before starting over.</summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>librdkafka statistics interval (consumer lag metric); 0 disables.</summary>
    public TimeSpan StatisticsInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Keys of this section that took milliseconds before they took durations: refused with their new names.</summary>
    public static readonly (string Old, string New, string Example)[] RenamedKeys =
    [
        ("BatchMaxWaitMs", nameof(BatchMaxWait), "00:00:00.100"),
        ("TariffReloadIntervalMs", nameof(TariffReloadInterval), "00:00:01"),
        ("AckTimeoutMs", nameof(AckTimeout), "00:01:00"),
        ("StatisticsIntervalMs", nameof(StatisticsInterval), "00:00:05"),
    ];

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(TariffPath))
        {
            yield return "Rater:TariffPath is required (the tariff JSON file)";
        }
        else if (!File.Exists(TariffPath))
        {
            yield return $"Rater:TariffPath {TariffPath} does not exist";
        }

        if (string.IsNullOrWhiteSpace(InstanceId))
        {
            yield return "Rater:InstanceId must not be empty";
        }

        if (string.IsNullOrWhiteSpace(GroupId))
        {
            yield return "Rater:GroupId must not be empty";
        }

        if (BatchMaxRecords is < 1 or > 1_000_000)
        {
            yield return "Rater:BatchMaxRecords must be 1..1000000";
        }

        if (BatchMaxWait < TimeSpan.FromMilliseconds(1) || BatchMaxWait > TimeSpan.FromMinutes(1))
        {
            yield return "Rater:BatchMaxWait must be 00:00:00.001..00:01:00";
        }

        if (CheckpointInterval < TimeSpan.Zero || CheckpointInterval > TimeSpan.FromDays(1))
        {
            yield return "Rater:CheckpointInterval must be 00:00:00..1.00:00:00 (0: after every batch)";
        }

        if (Lanes is < 1 or > 256)
        {
            yield return "Rater:Lanes must be 1..256";
        }

        if (TariffReloadInterval < TimeSpan.FromMilliseconds(100) || TariffReloadInterval > TimeSpan.FromDays(1))
        {
            yield return "Rater:TariffReloadInterval must be 00:00:00.100..1.00:00:00";
        }

        if (AckTimeout < TimeSpan.FromSeconds(1) || AckTimeout > TimeSpan.FromHours(1))
        {
            yield return "Rater:AckTimeout must be 00:00:01..01:00:00";
        }

        if (StatisticsInterval < TimeSpan.Zero || StatisticsInterval > TimeSpan.FromDays(1))
        {
            yield return "Rater:StatisticsInterval must be 00:00:00..1.00:00:00 (0: no statistics)";
        }
    }
}
