using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using RatingPipeline.Hosting;
using RatingPipeline.Records;

namespace RatingPipeline.Rater.Usage;

/// <summary>
/// <c>GET /v1/subscribers/{msisdn}/usage</c> (docs/self-service.md): the subscriber's current cycle from the state the
/// rater holds. Bearer token from <c>Http:Auth:Token</c> (none configured: every request refused 403); a fixed-window
/// rate limit per caller address (429); every query logged with the msisdn masked and the caller's address and token
/// id. The answer comes from the owner of the subscriber's partition: 200 or 404 here, 307 to the owner's advertised
/// URL from another instance, 503 with <c>Retry-After</c> while the partition is restored or has no known owner.
/// </summary>
public static class UsageApi
{
    public const string RateLimitPolicy = "usage-queries";
    public const string Route = "/v1/subscribers/{msisdn}/usage";

    private static readonly Counter Queries = Metrics.CreateCounter("ratingpipeline_usage_queries_total",
        "Usage queries answered, by HTTP status.", "status");

    private static readonly Histogram Duration = Metrics.CreateHistogram("ratingpipeline_usage_query_duration_seconds",
        "Time to answer a usage query (authorised ones).", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16) });

    /// <summary>Registers the options, the query board, the endpoint directory and the rate limiter.</summary>
    public static void AddUsageApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<QueryApiOptions>(configuration, QueryApiOptions.Section, o => o.Validate());
        services.AddSingleton<UsageQueries>();
        services.AddSingleton<RaterEndpoints>();
        services.AddHostedService(sp => sp.GetRequiredService<RaterEndpoints>());
        var limit = configuration.GetSection($"{QueryApiOptions.Section}:RateLimit").Get<RateLimitOptions>() ?? new RateLimitOptions();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, limit.PermitLimit), Window = limit.Window, QueueLimit = 0 }));
            o.OnRejected = (context, _) =>
            {
                Queries.WithLabels("429").Inc();
                var log = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UsageApi).FullName!);
                log.LogWarning("Usage query for {Msisdn} from {Caller} refused: rate limit", Msisdns.Mask(context.HttpContext.Request.RouteValues["msisdn"] as string), Caller(context.HttpContext));
                context.HttpContext.Response.Headers.RetryAfter = "1";
                return ValueTask.CompletedTask;
            };
        });
        foreach (var status in new[] { "200", "307", "400", "401", "403", "404", "429", "503" })
        {
            Queries.WithLabels(status).Inc(0);
        }
    }

    public static WebApplication MapUsageApi(this WebApplication app)
    {
        app.UseRateLimiter();
        app.MapGet(Route, Query).RequireRateLimiting(RateLimitPolicy);
        return app;
    }

    private static async Task<IResult> Query(string msisdn, HttpContext context, UsageQueries queries, RaterEndpoints endpoints,
        IOptions<QueryApiOptions> options, ILoggerFactory loggers)
    {
        var started = Stopwatch.GetTimestamp();
        var log = loggers.CreateLogger(typeof(UsageApi).FullName!);
        var api = options.Value;
        var (result, status, detail) = await Answer(msisdn, context, queries, endpoints, api);
        Queries.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        if (status is not (401 or 403))
        {
            Duration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }

        log.LogInformation("Usage query for {Msisdn} from {Caller} with token {TokenId}: {Status} {Detail} in {Milliseconds:F1} ms",
            Msisdns.Mask(msisdn), Caller(context), TokenIdOf(context, api), status, detail, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return result;
    }

    private static async Task<(IResult Result, int Status, string Detail)> Answer(string msisdn, HttpContext context, UsageQueries queries,
        RaterEndpoints endpoints, QueryApiOptions api)
    {
        if (api.Auth.Token.Length == 0)
        {
            return (Problem(StatusCodes.Status403Forbidden, "the usage query API is disabled: no Http:Auth:Token is configured"), 403, "no token configured");
        }

        if (!Authorised(context, api.Auth.Token))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return (Problem(StatusCodes.Status401Unauthorized, "a valid bearer token is required (Authorization: Bearer <token>)"), 401, "no valid token");
        }

        var digits = Encoding.ASCII.GetBytes(msisdn);
        if (msisdn.Length is 0 or > 20 || !msisdn.All(char.IsAsciiDigit) || !MsisdnKey.TryCompute(digits, out var key))
        {
            return (Problem(StatusCodes.Status400BadRequest, "the msisdn must be 1-20 digits"), 400, "bad msisdn");
        }

        var view = queries.View;
        if (view.PartitionCount == 0)
        {
            return (Unavailable("the rater has not started rating yet"), 503, "not started");
        }

        var partition = KeyPartitioner.Partition(api.Partitioner, digits, view.PartitionCount);
        if (view.Restoring.Contains(partition))
        {
            return (Unavailable($"partition {partition} is being restored"), 503, $"partition {partition} restoring");
        }

        if (!view.Owned.Contains(partition))
        {
            if (endpoints.TryGetOwner(partition, out var owner) && !string.Equals(owner, endpoints.Self, StringComparison.OrdinalIgnoreCase))
            {
                var location = owner + context.Request.Path + context.Request.QueryString;
                return (Results.Redirect(location, permanent: false, preserveMethod: true), 307, $"partition {partition} owned by {owner}");
            }

            return (Unavailable($"partition {partition} has no known owner right now"), 503, $"partition {partition} without owner");
        }

        var answer = await queries.AskAsync(key, api.QueryTimeout, context.RequestAborted);
        return answer.Outcome switch
        {
            QueryOutcome.Found => (Json(answer.Report!), 200, $"partition {partition}"),
            QueryOutcome.Unknown => (Problem(StatusCodes.Status404NotFound, "no such subscriber"), 404, $"partition {partition}"),
            _ => (Unavailable("the rater is busy (restoring a partition); try again"), 503, "rating thread busy"),
        };
    }

    private static IResult Json(UsageReport report) => Results.Bytes(report.ToJson(), "application/json");

    private static IResult Unavailable(string detail) => new RetryAfter(Problem(StatusCodes.Status503ServiceUnavailable, detail), 1);

    private static IResult Problem(int status, string detail) => Results.Json(new Problem(status, detail), ProblemJson.Default.Problem, statusCode: status);

    private static bool Authorised(HttpContext context, string token)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(given), SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>The token id of a caller that sent the configured token, "invalid" for another one, "none" for none.</summary>
    private static string TokenIdOf(HttpContext context, QueryApiOptions api) =>
        context.Request.Headers.Authorization.Count == 0 ? "none"
        : api.Auth.Token.Length > 0 && Authorised(context, api.Auth.Token) ? AuthOptions.IdOf(api.Auth.Token) : "invalid";

    private static string Caller(HttpContext context) =>
        $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";

    /// <summary>An answer with a <c>Retry-After</c> header (seconds).</summary>
    private sealed class RetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The body of a refusal: <c>{"status":401,"error":"…"}</c>.</summary>
public sealed record Problem(int Status, string Error);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Problem))]
internal sealed partial class ProblemJson : System.Text.Json.Serialization.JsonSerializerContext;
