namespace RatingPipeline.FaultSuite;

/// <summary>
/// What one run of the fault suite does. <see cref="Full"/> is the hand-run proof (≥ 200,000 CDRs, ≥ 10 rater
/// kills); <see cref="Ci"/> is the shortened form the test suite runs on two cores in under four minutes.
/// </summary>
public sealed record FaultSuiteOptions
{
    /// <summary>CDRs streamed into <c>cdrs</c>.</summary>
    public int Cdrs { get; init; } = 200_000;

    /// <summary>Subscribers with a profile in <c>subscribers</c>; the CDRs spread over them.</summary>
    public int Subscribers { get; init; } = 3_000;

    /// <summary>
    /// Partitions of every topic (the mock keeps only ~5 MiB per partition: more partitions, more room). 32: with 24,
    /// the repeats of ten crashes at a 1 s checkpoint interval filled a <c>rated-cdrs</c> partition to 4.5-4.8 MiB, and
    /// in one run of 2026-12-07 past the limit (the mock dropped its oldest records, and the run failed on them).
    /// </summary>
    public int Partitions { get; init; } = 32;

    /// <summary>Times a rater process is killed with SIGKILL (and started again).</summary>
    public int RaterKills { get; init; } = 10;

    /// <summary>Times the sender process is killed with SIGKILL (and started again), when the sender is in.</summary>
    public int SenderKills { get; init; } = 5;

    /// <summary>Broker faults: request errors on Produce, Fetch and OffsetCommit, the broker down and up, added latency (round robin).</summary>
    public int BrokerFaults { get; init; } = 10;

    /// <summary>CDRs produced per second; the stream is paced so that faults land while it flows.</summary>
    public int Rate { get; init; } = 1_500;

    /// <summary>The whole run is abandoned (and fails) beyond this.</summary>
    public TimeSpan DurationCap { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Seed of the synthetic data and of the fault schedule.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// <c>Rater:BatchMaxWait</c> (in milliseconds here) of the rater processes. Longer batches write fewer <c>rater-state</c> records
    /// (one per subscriber touched per batch), which keeps every partition under the mock's size limit.
    /// </summary>
    public int BatchWaitMs { get; init; } = 1000;

    /// <summary>Folder for worker logs, the tariff files and the offline run; a temporary folder when null.</summary>
    public string? WorkDir { get; init; }

    /// <summary>Print progress lines while running.</summary>
    public bool Verbose { get; init; } = true;

    public static FaultSuiteOptions Full => new();

    public static FaultSuiteOptions Ci => new()
    {
        Cdrs = 30_000,
        Subscribers = 2_000,
        Partitions = 8,
        RaterKills = 3,
        SenderKills = 2,
        BrokerFaults = 5,
        Rate = 500,
        DurationCap = TimeSpan.FromSeconds(240),
    };

    public IEnumerable<string> Validate()
    {
        if (Cdrs < 1_000)
        {
            yield return "--cdrs must be at least 1000";
        }

        if (Subscribers < 10)
        {
            yield return "--subscribers must be at least 10";
        }

        if (Partitions is < 1 or > 64)
        {
            yield return "--partitions must be 1..64";
        }

        if (RaterKills < 0 || SenderKills < 0 || BrokerFaults < 0)
        {
            yield return "fault counts must not be negative";
        }

        if (Rate < 10)
        {
            yield return "--rate must be at least 10 CDRs/s";
        }

        if (DurationCap < TimeSpan.FromSeconds(30))
        {
            yield return "--duration-cap must be at least 30s";
        }

        if (BatchWaitMs is < 1 or > 60_000)
        {
            yield return "--batch-wait-ms must be 1..60000";
        }
    }
}
