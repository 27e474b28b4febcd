using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using RatingPipeline.Hosting;

namespace RatingPipeline.Sender.Inbound;

/// <summary>The figures of a usage summary by SMS, as the rater's usage query API answered them (schemas/usage.schema.json).</summary>
/// <param name="Cycle">The state's cycle (<c>yyyy-MM-dd</c>), null while the subscriber has no usage yet.</param>
/// <param name="CycleEnd">The next cycle's first day, null without a cycle.</param>
/// <param name="Used">Used per type (voice seconds, messages, data bytes), in <see cref="Types"/> order.</param>
/// <param name="Remaining">Remaining allowance per type, in <see cref="Types"/> order.</param>
/// <param name="Spend">The cycle's spend in micros.</param>
/// <param name="PrepaidRemaining">The prepaid balance left in micros, null for a postpaid subscriber.</param>
public sealed record UsageSummary(string? Cycle, string? CycleEnd, IReadOnlyList<long> Used, IReadOnlyList<long> Remaining, long Spend, long? PrepaidRemaining)
{
    public static readonly IReadOnlyList<string> Types = ["voice", "sms", "data"];

    /// <summary>Reads the members the SMS shows from the API's answer; null when they are not all there.</summary>
    public static UsageSummary? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            var root = document.RootElement;
            string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var usage = root.GetProperty("usage");
            var used = Types.Select(t => usage.GetProperty(t).GetProperty("used").GetInt64()).ToList();
            var remaining = Types.Select(t => usage.GetProperty(t).GetProperty("remaining").GetInt64()).ToList();
            long? prepaid = root.TryGetProperty("prepaid", out var p) && p.ValueKind == JsonValueKind.Object ? p.GetProperty("remaining").GetInt64() : null;
            return new UsageSummary(Text(root, "cycle"), Text(root, "cycleEnd"), used, remaining, root.GetProperty("spend").GetInt64(), prepaid);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>What asking for the usage gave: the summary, or why there is none.</summary>
public enum UsageLookupResult
{
    /// <summary>The rater answered 200 with a usage summary.</summary>
    Found,

    /// <summary>No rater is configured (<c>Sender:UsageApi:Url</c> empty): the service is not offered.</summary>
    NotConfigured,

    /// <summary>The rater refused the query or holds no profile of the subscriber (401, 403, 404, 400, an unreadable answer).</summary>
    NotAvailable,

    /// <summary>No answer in time (503 while a partition is restored, 429, 5xx, a timeout, a refused connection): try again later.</summary>
    Later,
}

/// <summary>The outcome of one usage lookup; <see cref="Reason"/> says why there is no summary (for notice-log and the log).</summary>
public sealed record UsageLookup(UsageLookupResult Result, UsageSummary? Summary, string? Reason)
{
    /// <summary>The metric label: <c>found</c>, <c>not-configured</c>, <c>not-available</c>, <c>later</c>.</summary>
    public string Label => Result switch
    {
        UsageLookupResult.Found => "found",
        UsageLookupResult.NotConfigured => "not-configured",
        UsageLookupResult.NotAvailable => "not-available",
        _ => "later",
    };
}

/// <summary>
/// Asks a rater's usage query API (<c>Sender:UsageApi</c>) for a subscriber's current cycle:
/// <c>GET {Url}/v1/subscribers/{msisdn}/usage</c> with the bearer token, following a <c>307</c> to the owner of the
/// subscriber's partition (at most 3 times, sending the token again) behind a Polly pipeline: a timeout per attempt,
/// retries with back-off and jitter on 503, 429, 5xx, timeouts and refused connections (a <c>Retry-After</c> of up to
/// 2 s is followed). Never throws for what the rater does: every outcome is a <see cref="UsageLookup"/>.
/// </summary>
public sealed class UsageApiClient : IDisposable
{
    public const int MaxRedirects = 3;
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(2);

    private readonly UsageApiOptions _options;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger<UsageApiClient> _logger;

    public UsageApiClient(SenderOptions options, TimeProvider time, ILogger<UsageApiClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.UsageApi;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = Timeout.InfiniteTimeSpan, // the pipeline times each attempt
        };
        var builder = new ResiliencePipelineBuilder { TimeProvider = time, Name = "usage-api" };
        if (_options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TransientUsageException>().Handle<TimeoutRejectedException>().Handle<HttpRequestException>(),
                MaxRetryAttempts = _options.MaxRetries,
                Delay = _options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception is TransientUsageException { RetryAfter: { } after }
                    ? after < MaxRetryAfter ? after : MaxRetryAfter
                    : null),
            });
        }

        _pipeline = builder.AddTimeout(_options.Timeout).Build();
    }

    public async Task<UsageLookup> LookUpAsync(string msisdn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(msisdn);
        if (!_options.IsConfigured)
        {
            return new UsageLookup(UsageLookupResult.NotConfigured, null, "no usage query API is configured (Sender:UsageApi:Url)");
        }

        var attempts = 0;
        UsageLookup lookup;
        try
        {
            lookup = await _pipeline.ExecuteAsync(
                async token =>
                {
                    attempts++;
                    return await AttemptAsync(msisdn, token);
                },
                cancellationToken);
        }
        catch (TransientUsageException e)
        {
            lookup = new UsageLookup(UsageLookupResult.Later, null, $"usage query API: {e.Message} after {attempts} attempt(s)");
        }
        catch (TimeoutRejectedException)
        {
            lookup = new UsageLookup(UsageLookupResult.Later, null, $"usage query API: no answer within {_options.Timeout.TotalSeconds:0.###} s after {attempts} attempt(s)");
        }
        catch (HttpRequestException e)
        {
            lookup = new UsageLookup(UsageLookupResult.Later, null, $"usage query API: {e.Message} after {attempts} attempt(s)");
        }

        SenderMetrics.UsageLookups.WithLabels(lookup.Label).Inc();
        if (lookup.Result != UsageLookupResult.Found)
        {
            _logger.LogWarning("Usage of {Msisdn} not looked up: {Reason}", Msisdns.Mask(msisdn), lookup.Reason);
        }

        return lookup;
    }

    /// <summary>One attempt: the request, and the redirects to the owner.</summary>
    private async ValueTask<UsageLookup> AttemptAsync(string msisdn, CancellationToken token)
    {
        var uri = new Uri(new Uri(_options.Url), $"/v1/subscribers/{msisdn}/usage");
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.Token);
            using var response = await _http.SendAsync(request, token);
            var body = await response.Content.ReadAsByteArrayAsync(token);
            var status = (int)response.StatusCode;
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    return UsageSummary.TryParse(body) is { } summary
                        ? new UsageLookup(UsageLookupResult.Found, summary, null)
                        : new UsageLookup(UsageLookupResult.NotAvailable, null, "usage query API: the answer is not a usage summary");
                case HttpStatusCode.TemporaryRedirect when response.Headers.Location is { } location:
                    if (hop >= MaxRedirects)
                    {
                        throw new TransientUsageException($"more than {MaxRedirects} redirects (the owner of the partition is moving)", null);
                    }

                    uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                    continue;
                case HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout:
                    throw new TransientUsageException($"{status} from {uri.GetLeftPart(UriPartial.Authority)}", response.Headers.RetryAfter?.Delta);
                case >= HttpStatusCode.InternalServerError:
                    throw new TransientUsageException($"{status} from {uri.GetLeftPart(UriPartial.Authority)}", null);
                case HttpStatusCode.NotFound:
                    return new UsageLookup(UsageLookupResult.NotAvailable, null, "usage query API: 404, the rater holds no profile of the subscriber");
                default:
                    return new UsageLookup(UsageLookupResult.NotAvailable, null, $"usage query API: {status} from {uri.GetLeftPart(UriPartial.Authority)} (check Sender:UsageApi:Token)");
            }
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>An answer worth trying again: 503, 429, 408, 5xx or a redirect loop.</summary>
    private sealed class TransientUsageException(string message, TimeSpan? retryAfter) : Exception(message)
    {
        public TimeSpan? RetryAfter { get; } = retryAfter;
    }
}
