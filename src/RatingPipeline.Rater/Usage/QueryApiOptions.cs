using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace RatingPipeline.Rater.Usage;

/// <summary>
/// Section <c>Http</c>, the parts the usage query API reads: where other instances and clients reach this one, the
/// bearer token, the rate limit, how long a query waits for the rating thread and which partitioner keyed the input.
/// </summary>
public sealed class QueryApiOptions
{
    public const string Section = "Http";

    /// <summary>The listener (shared with /metrics and health).</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// The URL other instances redirect to for this instance's partitions (written to <c>rater-endpoints</c>); by default
    /// <see cref="Url"/>, a wildcard listener (<c>http://0.0.0.0:9464</c>) under this machine's host name. Set it when other
    /// instances do not reach this one by its host name — e.g. to the pod's address in Kubernetes.
    /// </summary>
    public string AdvertisedUrl { get; set; } = "";

    public AuthOptions Auth { get; set; } = new();

    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>How long a query waits for the rating thread before 503 (it answers between batches).</summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The partitioner the producers of <c>cdrs</c> and <c>subscribers</c> key by: <c>consistent</c> or <c>murmur2</c>.</summary>
    public string Partitioner { get; set; } = KeyPartitioner.Consistent;

    /// <summary>
    /// The URL this instance advertises: <see cref="AdvertisedUrl"/>, else <see cref="Url"/>, without a trailing slash. A
    /// listener on every address (<c>0.0.0.0</c>, <c>[::]</c>, <c>+</c>, <c>*</c>) is no address another instance can
    /// reach: it is advertised under this machine's host name instead (<paramref name="hostName"/>, by default
    /// <see cref="Dns.GetHostName"/>), which is what a container's name resolves to on its network (a compose
    /// service's replicas, for one).
    /// </summary>
    public string Advertised(string fallback, string? hostName = null)
    {
        var url = (AdvertisedUrl is { Length: > 0 } a ? a : Url is { Length: > 0 } u ? u : fallback).TrimEnd('/');
        var hostStart = url.IndexOf("://", StringComparison.Ordinal);
        if (hostStart < 0)
        {
            return url;
        }

        hostStart += 3;
        var hostEnd = hostStart < url.Length && url[hostStart] == '[' ? url.IndexOf(']', hostStart) + 1 : url.IndexOfAny([':', '/'], hostStart);
        if (hostEnd <= 0)
        {
            hostEnd = url.Length;
        }

        var host = url[hostStart..hostEnd];
        return host is "0.0.0.0" or "[::]" or "+" or "*"
            ? string.Concat(url.AsSpan(0, hostStart), hostName ?? Dns.GetHostName(), url.AsSpan(hostEnd))
            : url;
    }

    public IEnumerable<string> Validate()
    {
        if (AdvertisedUrl.Length > 0 && !Uri.TryCreate(AdvertisedUrl, UriKind.Absolute, out _))
        {
            yield return "Http:AdvertisedUrl must be an absolute URL (http://host:port)";
        }

        if (Auth.Token.Length is > 0 and < 16)
        {
            yield return "Http:Auth:Token must be at least 16 characters (or absent: the query API then refuses every request)";
        }

        if (RateLimit.PermitLimit < 1)
        {
            yield return "Http:RateLimit:PermitLimit must be at least 1";
        }

        if (RateLimit.Window < TimeSpan.FromMilliseconds(10) || RateLimit.Window > TimeSpan.FromHours(1))
        {
            yield return "Http:RateLimit:Window must be 00:00:00.010..01:00:00";
        }

        if (QueryTimeout < TimeSpan.FromMilliseconds(10) || QueryTimeout > TimeSpan.FromMinutes(1))
        {
            yield return "Http:QueryTimeout must be 00:00:00.010..00:01:00";
        }

        if (!KeyPartitioner.IsKnown(Partitioner))
        {
            yield return $"Http:Partitioner must be {KeyPartitioner.Consistent} or {KeyPartitioner.Murmur2}";
        }
    }
}

/// <summary>Section <c>Http:Auth</c>.</summary>
public sealed class AuthOptions
{
    /// <summary>The bearer token callers send (<c>Authorization: Bearer …</c>). Empty: the query API refuses every request.</summary>
    public string Token { get; set; } = "";

    /// <summary>What logs name the token by: the first 8 hex digits of its SHA-256, never the token itself.</summary>
    public static string IdOf(string token) =>
        token.Length == 0 ? "none" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)))[..8];
}

/// <summary>Section <c>Http:RateLimit</c>: a fixed window per caller address over the query endpoints.</summary>
public sealed class RateLimitOptions
{
    public int PermitLimit { get; set; } = 100;

    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(1);
}
