namespace RatingPipeline.Sender;

/// <summary>Section <c>Sender</c>: rendering, consumer-protection rules, channels. See docs/sender.md.</summary>
public sealed class SenderOptions
{
    public const string Section = "Sender";

    /// <summary>Consumer group on <c>reminders</c>.</summary>
    public string GroupId { get; set; } = "ratingpipeline-sender";

    /// <summary>Stable name of this instance (pod name): the client id, and <c>group.instance.id</c> with <see cref="StaticMembership"/>.</summary>
    public string InstanceId { get; set; } = Environment.MachineName;

    /// <summary>
    /// Use <see cref="InstanceId"/> as <c>group.instance.id</c>: an instance restarted with the same name within the
    /// session timeout gets its partitions back without a rebalance. Only for names that stay the same across restarts
    /// and are never shared by two running instances.
    /// </summary>
    public bool StaticMembership { get; set; }

    /// <summary>Template file; a relative path is taken from the application's folder.</summary>
    public string TemplatesPath { get; set; } = "templates.json";

    /// <summary>The only link a notice may carry (<c>{selfServiceUrl}</c>); empty: no link at all.</summary>
    public string SelfServiceUrl { get; set; } = "https://my.operator.example";

    /// <summary>How to check usage, per language (<c>en</c>, <c>zh</c>); may use <c>{selfServiceUrl}</c>.</summary>
    public Dictionary<string, string> UsageCheckHint { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A template that could need more SMS segments than this is refused at start.</summary>
    public int MaxSmsSegments { get; set; } = 3;

    /// <summary>Local time for quiet hours and daily limits, <c>±HH:MM</c> (no daylight saving).</summary>
    public string UtcOffset { get; set; } = "+08:00";

    public QuietHoursOptions QuietHours { get; set; } = new();

    /// <summary>
    /// Which notices go out at once, even in quiet hours and beyond the daily limit, by kind:
    /// <c>roaming</c>, <c>data-cap</c>, <c>high-spend</c>, <c>low-balance</c>, <c>allowance-100</c> (allowance
    /// at a threshold of 100 % or more), <c>allowance</c> (below 100 %), <c>plan-change</c>,
    /// <c>vas-precharge</c>, <c>plan-expiry</c> and <c>bill</c>. Unlisted keys keep their default. Voice calls
    /// still wait for the end of quiet hours.
    /// </summary>
    public Dictionary<string, bool> Urgent { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Non-urgent notices per subscriber per local day; the excess waits for the next day.</summary>
    public int DailyLimit { get; set; } = 5;

    /// <summary>
    /// A <c>vas-precharge</c> notice is deferred (quiet hours, daily limit) only to at least this long before
    /// the service's <c>chargeAt</c>; otherwise it goes at once.
    /// </summary>
    public TimeSpan VasPrechargeMargin { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How far back <c>notice-log</c> is read on assignment to rebuild what was already sent.</summary>
    public TimeSpan DedupWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Reminders consumed per batch, at most.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>How long a batch waits for more reminders once it has one.</summary>
    public TimeSpan BatchWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Notices delivered at the same time, over all channels.</summary>
    public int MaxConcurrentDeliveries { get; set; } = 16;

    /// <summary>Longest time to restore a partition's profiles and notice log before giving up (and restarting).</summary>
    public TimeSpan RestoreTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public HttpChannelOptions Sms { get; set; } = new();

    public HttpChannelOptions Voice { get; set; } = new();

    public SmtpOptions Smtp { get; set; } = new();

    /// <summary>Mobile-originated SMS: <c>0000</c> and <c>TD</c> (docs/mo-sms.md).</summary>
    public MoOptions Mo { get; set; } = new();

    /// <summary>The rater's usage query API, asked for the usage summary of <c>查询</c> / <c>CXLL</c> (docs/mo-sms.md).</summary>
    public UsageApiOptions UsageApi { get; set; } = new();

    internal static readonly IReadOnlyDictionary<string, bool> DefaultUrgent = new Dictionary<string, bool>(StringComparer.Ordinal)
    {
        ["roaming"] = true,
        ["data-cap"] = true,
        ["high-spend"] = true,
        ["low-balance"] = true,
        ["allowance-100"] = true,
        ["allowance"] = false,
        ["plan-change"] = false,
        ["vas-precharge"] = false,
        ["plan-expiry"] = false,
        ["bill"] = false,
    };

    internal static readonly IReadOnlyDictionary<string, string> DefaultUsageCheckHint = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["en"] = "Check your usage at {selfServiceUrl}",
        ["zh"] = "查询用量请访问{selfServiceUrl}",
    };

    /// <summary>Whether a notice of <paramref name="kind"/> (allowance: at <paramref name="threshold"/> %) is urgent.</summary>
    public bool IsUrgent(string kind, long threshold)
    {
        var key = kind == "allowance" && threshold >= 100 ? "allowance-100" : kind;
        return Urgent.TryGetValue(key, out var urgent) ? urgent : DefaultUrgent.TryGetValue(key, out var d) && d;
    }

    public string HintFor(string language) =>
        UsageCheckHint.TryGetValue(language, out var hint) ? hint : DefaultUsageCheckHint.GetValueOrDefault(language, "");
}

/// <summary>Section <c>Sender:Mo</c>: the answers to mobile-originated SMS (<c>POST /v1/mo</c>).</summary>
public sealed class MoOptions
{
    /// <summary>
    /// Hours from a service's <c>orderedAt</c> to its first charge: the tariff's <c>vasNoticeLeadHours</c> (SPEC §3),
    /// used for the next charge in a <c>0000</c> list. It must equal the tariff's value.
    /// </summary>
    public int VasNoticeLeadHours { get; set; } = 24;

    /// <summary>Longest request body of <c>POST /v1/mo</c>, in bytes.</summary>
    public int MaxRequestBytes { get; set; } = 16 * 1024;
}

/// <summary>
/// Section <c>Sender:UsageApi</c>: where the sender asks for a subscriber's usage (<c>GET /v1/subscribers/{msisdn}/usage</c>
/// on any rater; a rater that does not own the subscriber answers 307 to the owner, which is followed).
/// </summary>
public sealed class UsageApiOptions
{
    /// <summary>A rater's base address, e.g. <c>http://rater:9464</c>; empty: <c>查询</c> is answered "not available".</summary>
    public string Url { get; set; } = "";

    /// <summary>The raters' bearer token (their <c>Http:Auth:Token</c>); required with <see cref="Url"/>.</summary>
    public string Token { get; set; } = "";

    /// <summary>Time for one attempt (redirects included).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Retries after the first attempt (503, 429, 5xx, timeouts, refused connections).</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Delay before a retry (doubled each time, with jitter); a rater's <c>Retry-After</c> is followed up to 2 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    public bool IsConfigured => Url.Length > 0;
}

/// <summary>Quiet hours in local time, <c>HH:MM</c>; start equal to end means none.</summary>
public sealed class QuietHoursOptions
{
    public string Start { get; set; } = "22:00";

    public string End { get; set; } = "08:00";
}

/// <summary>Resilience of one channel: per-attempt timeout, retries, circuit breaker, the gateway's rate.</summary>
public class ChannelResilienceOptions
{
    /// <summary>Time for one attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after the first attempt (408, 429, 5xx, timeouts, connection errors, open circuit).</summary>
    public int MaxRetries { get; set; } = 8;

    /// <summary>First retry delay; doubles each retry, with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The circuit opens when this share of attempts failed within <see cref="BreakerSamplingDuration"/>.</summary>
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Attempts needed in the sampling window before the circuit may open.</summary>
    public int BreakerMinimumThroughput { get; set; } = 10;

    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the circuit stays open before one trial attempt (half-open).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The gateway's allowed rate: requests per second (a burst of this many, refilled every second).</summary>
    public int RatePerSecond { get; set; } = 50;
}

/// <summary>An HTTP gateway (SMS or voice call): <c>POST Url</c> with JSON <c>{to, text, id}</c>.</summary>
public sealed class HttpChannelOptions : ChannelResilienceOptions
{
    /// <summary>The gateway endpoint; empty: the channel is not configured.</summary>
    public string Url { get; set; } = "";

    /// <summary>An extra header sent with every request, <c>Name: value</c> (e.g. <c>Authorization: Bearer …</c>).</summary>
    public string AuthHeader { get; set; } = "";
}

/// <summary>The e-mail channel (SMTP through MailKit).</summary>
public sealed class SmtpOptions : ChannelResilienceOptions
{
    /// <summary>SMTP server; empty: the channel is not configured.</summary>
    public string Host { get; set; } = "";

    public int Port { get; set; } = 25;

    /// <summary>Sender address of the notices.</summary>
    public string From { get; set; } = "";

    /// <summary>Display name of the sender.</summary>
    public string FromName { get; set; } = "";

    /// <summary>Login, when the server needs one.</summary>
    public string User { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary><c>none</c>, <c>starttls-when-available</c> (default), <c>starttls</c> or <c>tls</c>.</summary>
    public string Security { get; set; } = "starttls-when-available";

    public SmtpOptions() => Timeout = TimeSpan.FromSeconds(30);
}
