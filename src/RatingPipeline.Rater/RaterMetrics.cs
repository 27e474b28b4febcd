using Prometheus;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rater;

/// <summary>
/// The rater's Prometheus metrics. Labels are bounded (reason, kind, rule, partition, version); an msisdn is
/// never a label. Children are resolved once, so counting on the per-record path allocates nothing.
/// </summary>
public sealed class RaterMetrics
{
    private static readonly Counter Consumed = Metrics.CreateCounter("ratingpipeline_cdrs_consumed_total", "CDR records consumed from the cdrs topic.");
    private static readonly Counter RatedCounter = Metrics.CreateCounter("ratingpipeline_cdrs_rated_total", "CDRs rated (accepted), zero-rated included.");
    private static readonly Counter SkippedCounter = Metrics.CreateCounter("ratingpipeline_cdrs_skipped_total", "CDRs skipped on reprocessing because the subscriber's state already holds them.");
    private static readonly Counter LocatedCounter = Metrics.CreateCounter("ratingpipeline_location_records_total", "Location records accepted (a subscriber registering in a network; no rated record).");
    private static readonly Counter ClocksCounter = Metrics.CreateCounter("ratingpipeline_clock_records_total", "Clock records applied.");
    private static readonly Counter RejectedCounter = Metrics.CreateCounter("ratingpipeline_cdrs_rejected_total", "CDRs rejected to the dead-letter topic, by reason.", "reason");
    private static readonly Counter ZeroRatedCounter = Metrics.CreateCounter("ratingpipeline_cdrs_zero_rated_total", "CDRs zero-rated, by rule reason.", "rule");
    private static readonly Counter BillsCounter = Metrics.CreateCounter("ratingpipeline_bills_total", "Bills of closed billing cycles written to the bills topic.");
    private static readonly Counter FeesCounter = Metrics.CreateCounter("ratingpipeline_fees_total", "Fee records (monthly and service fees) written to rated-cdrs.");
    private static readonly Counter RemindersCounter = Metrics.CreateCounter("ratingpipeline_reminders_total", "Reminder events emitted, by kind.", "kind");
    private static readonly Histogram BatchDuration = Metrics.CreateHistogram("ratingpipeline_batch_duration_seconds", "Time to rate a batch and hand its outputs to the producer (with Rater:CheckpointInterval 0 also its checkpoint).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
    private static readonly Histogram CheckpointDuration = Metrics.CreateHistogram("ratingpipeline_checkpoint_duration_seconds", "Time from a checkpoint's mark to its input offsets committed: outputs before the mark acknowledged, changed states written and acknowledged.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
    private static readonly Counter StatesWritten = Metrics.CreateCounter("ratingpipeline_state_records_written_total", "rater-state records written by checkpoints.");
    private static readonly Counter StatesDropped = Metrics.CreateCounter("ratingpipeline_state_records_dropped_total", "rater-state records a checkpoint dropped because their partition was revoked or lost after its mark.");
    private static readonly Histogram BatchSize = Metrics.CreateHistogram("ratingpipeline_batch_records", "CDRs per batch.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 4, 9) });
    private static readonly Gauge Lag = Metrics.CreateGauge("ratingpipeline_consumer_lag", "Consumer lag of the cdrs topic per partition (records), from client statistics.", "partition");
    private static readonly Gauge Subscribers = Metrics.CreateGauge("ratingpipeline_subscribers_in_state", "Subscribers whose usage state this instance holds.");
    private static readonly Gauge Profiles = Metrics.CreateGauge("ratingpipeline_subscriber_profiles", "Subscriber profiles this instance holds.");
    private static readonly Gauge AssignedPartitions = Metrics.CreateGauge("ratingpipeline_assigned_partitions", "cdrs partitions assigned to this instance.");
    private static readonly Histogram Restore = Metrics.CreateHistogram("ratingpipeline_state_restore_duration_seconds", "Time to restore one assigned partition's state and profiles.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.01, 2, 14) });
    private static readonly Gauge TariffInfo = Metrics.CreateGauge("ratingpipeline_tariff_info", "The tariff version in force (value 1).", "version");
    private static readonly Counter TariffRefusals = Metrics.CreateCounter("ratingpipeline_tariff_refusals_total", "Tariff versions refused at load (the previous one stays in force).");
    private static readonly Counter TariffReloads = Metrics.CreateCounter("ratingpipeline_tariff_reloads_total", "Tariff versions loaded while running.");
    private static readonly Counter Retroactive = Metrics.CreateCounter("ratingpipeline_tariff_retroactive_zero_rating_entries_total", "New zero-rating entries whose start lies in the past when loaded (records to credit with ratingctl rerate).");
    private static readonly Counter ProfileRefusals = Metrics.CreateCounter("ratingpipeline_profile_refusals_total", "Subscriber profiles refused (the previous profile stays).");
    private static readonly Counter Recoveries = Metrics.CreateCounter("ratingpipeline_rater_recoveries_total", "Times the rater started over from the last committed offsets after a fault.");
    private static readonly Counter ConsumeErrors = Metrics.CreateCounter("ratingpipeline_consume_errors_total", "Non-fatal consumer errors (e.g. a failed fetch) the client retried by itself; the session went on.");
    private static readonly Gauge Ready = RatingPipeline.Hosting.Readiness.Gauge;

    private readonly Counter.Child[] _rejected = [.. Enumerable.Range(0, 7).Select(r => RejectedCounter.WithLabels(r == 0 ? "none" : RecordNames.ReasonText((RejectReason)r)))];
    private readonly Counter.Child[] _reminders = [.. Enum.GetValues<ReminderKind>().Select(k => RemindersCounter.WithLabels(System.Text.Encoding.ASCII.GetString(Output.RecordWriter.KindName(k))))];
    private Counter.Child[] _zeroRated = [];
    private string? _tariffVersion;

    public RaterMetrics()
    {
        // Publish every series at 0 from the start, so dashboards and alert rules see them before the first event.
        foreach (var child in _rejected.Skip(1))
        {
            child.Inc(0);
        }

        foreach (var child in _reminders)
        {
            child.Inc(0);
        }

        Consumed.Inc(0);
        RatedCounter.Inc(0);
        BillsCounter.Inc(0);
        FeesCounter.Inc(0);
        SkippedCounter.Inc(0);
        LocatedCounter.Inc(0);
        ClocksCounter.Inc(0);
        TariffRefusals.Inc(0);
        TariffReloads.Inc(0);
        Retroactive.Inc(0);
        ProfileRefusals.Inc(0);
        Recoveries.Inc(0);
        ConsumeErrors.Inc(0);
        StatesWritten.Inc(0);
        StatesDropped.Inc(0);
        Ready.Set(0);
    }

    public void SetTariff(Tariff tariff)
    {
        if (_tariffVersion is not null)
        {
            TariffInfo.RemoveLabelled(_tariffVersion);
        }

        _tariffVersion = tariff.Version;
        TariffInfo.WithLabels(tariff.Version).Set(1);
        _zeroRated = [.. tariff.ZeroRating.Rules.Select(r => ZeroRatedCounter.WithLabels(r.Reason))];
        foreach (var child in _zeroRated)
        {
            child.Inc(0);
        }
    }

    /// <summary>Adds what one lane counted in a batch (rated, skipped, located, clocks, rejected, zero-rated, reminders, bills, fees).</summary>
    internal void CountBatch(BatchOutputs batch)
    {
        Add(RatedCounter, batch.Rated);
        Add(SkippedCounter, batch.Skipped);
        Add(LocatedCounter, batch.Located);
        Add(ClocksCounter, batch.Clocks);
        Add(FeesCounter, batch.Fees);
        Add(BillsCounter, batch.Bills);
        for (var reason = 1; reason < _rejected.Length; reason++)
        {
            Add(_rejected[reason], batch.Rejected[reason]);
        }

        for (var kind = 0; kind < _reminders.Length; kind++)
        {
            Add(_reminders[kind], batch.Reminders[kind]);
        }

        for (var rule = 0; rule < batch.ZeroRated.Length && rule < _zeroRated.Length; rule++)
        {
            Add(_zeroRated[rule], batch.ZeroRated[rule]);
        }
    }

    /// <summary>One batch consumed and rated: its size and duration.</summary>
    public static void ObserveBatch(int consumed, double seconds)
    {
        Consumed.Inc(consumed);
        BatchDuration.Observe(seconds);
        BatchSize.Observe(consumed);
    }

    /// <summary>One checkpoint done: its duration (mark to commit) and the state records it wrote and dropped (partitions no longer owned).</summary>
    public static void ObserveCheckpoint(double seconds, int statesWritten, int statesDropped)
    {
        CheckpointDuration.Observe(seconds);
        Add(StatesWritten, statesWritten);
        Add(StatesDropped, statesDropped);
    }

    private static void Add(Counter counter, int count)
    {
        if (count > 0)
        {
            counter.Inc(count);
        }
    }

    private static void Add(Counter.Child counter, int count)
    {
        if (count > 0)
        {
            counter.Inc(count);
        }
    }

    public static void SetLag(int partition, long lag) => Lag.WithLabels(partition.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(lag);

    public static void RemoveLag(int partition) => Lag.RemoveLabelled(partition.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static void SetState(int subscribers, int profiles, int partitions)
    {
        Subscribers.Set(subscribers);
        Profiles.Set(profiles);
        AssignedPartitions.Set(partitions);
    }

    public static void ObserveRestore(double seconds) => Restore.Observe(seconds);

    public static void CountTariffRefusal() => TariffRefusals.Inc();

    public static void CountTariffReload() => TariffReloads.Inc();

    public static void CountRetroactive(int entries) => Retroactive.Inc(entries);

    /// <summary>New zero-rating entries with a start in the past seen at tariff loads so far.</summary>
    public static long RetroactiveEntries => (long)Retroactive.Value;

    /// <summary>Tariff versions refused so far.</summary>
    public static long TariffRefused => (long)TariffRefusals.Value;

    public static void CountProfileRefusal() => ProfileRefusals.Inc();

    public static void CountRecovery() => Recoveries.Inc();

    public static void CountConsumeError() => ConsumeErrors.Inc();

    public static void SetReady(bool ready) => Ready.Set(ready ? 1 : 0);

    /// <summary>Totals for an in-process viewer (the demo's live figures).</summary>
    public static RaterTotals ReadTotals() => new(
        (long)Consumed.Value,
        (long)RatedCounter.Value,
        (long)SkippedCounter.Value,
        RecordNames.AllReasons.ToDictionary(r => r, r => (long)RejectedCounter.WithLabels(r).Value),
        Enum.GetValues<ReminderKind>().Select(k => System.Text.Encoding.ASCII.GetString(Output.RecordWriter.KindName(k)))
            .ToDictionary(k => k, k => (long)RemindersCounter.WithLabels(k).Value),
        Lag.GetAllLabelValues().Sum(labels => (long)Lag.WithLabels(labels).Value),
        Ready.Value > 0,
        (long)BillsCounter.Value,
        (long)FeesCounter.Value,
        (long)LocatedCounter.Value,
        (long)ClocksCounter.Value);
}

/// <summary>A snapshot of the rater's counters.</summary>
public sealed record RaterTotals(long Consumed, long Rated, long Skipped, IReadOnlyDictionary<string, long> RejectedByReason,
    IReadOnlyDictionary<string, long> RemindersByKind, long Lag, bool Ready, long Bills, long Fees, long Located = 0, long Clocks = 0)
{
    public long Rejected => RejectedByReason.Values.Sum();

    public long Reminders => RemindersByKind.Values.Sum();
}
