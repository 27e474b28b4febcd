using Prometheus;

namespace RatingPipeline.Sender;

/// <summary>The sender's Prometheus metrics. Labels never carry an msisdn.</summary>
public static class SenderMetrics
{
    public static readonly Counter Notices = Metrics.CreateCounter(
        "ratingpipeline_notices_total",
        "Notices by kind, channel and outcome (sent, suppressed-opt-out, deferred, failed; duplicate: skipped, already handled).",
        "kind", "channel", "outcome");

    public static readonly Counter DeliveryAttempts = Metrics.CreateCounter(
        "ratingpipeline_notice_delivery_attempts_total",
        "Delivery attempts by channel and result (accepted, transient, timeout, permanent, circuit-open, rate-limited).",
        "channel", "result");

    public static readonly Histogram DeliverySeconds = Metrics.CreateHistogram(
        "ratingpipeline_notice_delivery_seconds",
        "Time to deliver a notice through its channel, retries included.",
        new HistogramConfiguration
        {
            LabelNames = ["channel"],
            Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
        });

    public static readonly Gauge CircuitState = Metrics.CreateGauge(
        "ratingpipeline_notice_circuit_state",
        "Circuit breaker state by channel: 0 closed, 1 half-open, 2 open.",
        "channel");

    public static readonly Gauge Deferred = Metrics.CreateGauge(
        "ratingpipeline_notices_deferred",
        "Deferred notices waiting for the end of quiet hours or the next day (backlog of the partitions owned).");

    public static readonly Counter SuppressedOptOut = Metrics.CreateCounter(
        "ratingpipeline_notices_suppressed_optout_total",
        "Notices not sent because the subscriber opted out of reminders.");

    public static readonly Counter ProfilesRefused = Metrics.CreateCounter(
        "ratingpipeline_sender_profiles_refused_total",
        "Subscriber profiles that broke the rules and were not applied (the previous one is kept).");

    public static readonly Counter RemindersInvalid = Metrics.CreateCounter(
        "ratingpipeline_sender_reminders_invalid_total",
        "Reminder records the sender could not read (sent to notices-dlq).");

    public static readonly Counter MoRequests = Metrics.CreateCounter(
        "ratingpipeline_mo_requests_total",
        "Requests to POST /v1/mo by result: accepted, unauthorized, invalid, too-large, unavailable.",
        "result");

    public static readonly Counter MoCommands = Metrics.CreateCounter(
        "ratingpipeline_mo_commands_total",
        "Mobile-originated SMS handled, by command (list, cancel, cancel-all, usage, help) and outcome (answered, failed; duplicate: a replayed id, skipped).",
        "command", "outcome");

    public static readonly Counter MoReplies = Metrics.CreateCounter(
        "ratingpipeline_mo_replies_total",
        "Reply SMS to mobile-originated SMS by outcome (sent, failed).",
        "outcome");

    public static readonly Counter UsageLookups = Metrics.CreateCounter(
        "ratingpipeline_mo_usage_lookups_total",
        "Usage summaries asked of the rater's usage query API for 查询/CXLL, by result (found, not-configured, not-available, later).",
        "result");

    public static readonly Counter Recoveries = Metrics.CreateCounter(
        "ratingpipeline_sender_recoveries_total",
        "Sessions the sender started over after a Kafka fault (new clients, partitions restored).");
}
