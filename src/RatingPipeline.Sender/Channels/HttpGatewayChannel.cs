using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RatingPipeline.Sender.Channels;

/// <summary>The body of an SMS or voice-call gateway request.</summary>
public sealed record GatewayMessage(
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("id")] string Id);

/// <summary>
/// An HTTP gateway (SMS, or voice call with the text read out): <c>POST</c> JSON <c>{to, text, id}</c> with
/// <c>Content-Length</c> (never a chunked body, which many gateways refuse), <c>Idempotency-Key: id</c> (the
/// notice's key <c>eventId:channel</c>, so the gateway takes a repeated request once, and the SMS and the voice
/// call of one event as two notices) and the configured auth header. 2xx = accepted; 408, 429 and 5xx are
/// transient; any other status is permanent.
/// </summary>
/// <remarks>
/// Connections: a gateway that keeps connections open is served over pooled connections. A gateway that
/// answers HTTP/1.0 without <c>Connection: keep-alive</c> closes the connection after every answer (HTTP/1.0's
/// rule), but .NET's handler would keep such a connection in its pool and send the next request down it after
/// the gateway closed it: that request fails (the response "ended prematurely") and, having a body, is not
/// re-sent by the handler, so every such failure cost a retry with back-off. So each answer says which kind of
/// gateway this is, and while it is one that closes, every request goes out on a connection of its own, with
/// <c>Connection: close</c>, that is never reused. Until the first answer the channel assumes it closes (the
/// safe way). An HTTP/1.1 <c>Connection: close</c> answer is honoured by the handler itself.
/// </remarks>
public sealed class HttpGatewayChannel : INoticeChannel, IDisposable
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private const int Unknown = 0;
    private const int KeepsConnections = 1;
    private const int ClosesConnections = 2;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly HttpClient _pooled;
    private readonly HttpClient _oneShot;
    private readonly Uri _url;
    private readonly (string Name, string Value)? _auth;
    private int _gateway = Unknown;

    /// <param name="name">The channel's name (<c>sms</c> or <c>voice</c>), for logs and dead letters.</param>
    /// <param name="url">The gateway's URL.</param>
    /// <param name="authHeader">An authorization header as <c>Name: value</c>, or empty for none.</param>
    /// <param name="connectTimeout">Longest wait for a TCP connection (per-attempt timeouts belong to the resilience pipeline).</param>
    public HttpGatewayChannel(string name, string url, string authHeader, TimeSpan? connectTimeout = null)
    {
        Name = name;
        _url = new Uri(url, UriKind.Absolute);
        _auth = ParseHeader(authHeader);
        var connect = connectTimeout ?? TimeSpan.FromSeconds(10);
        _pooled = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = connect,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

        // A connection lifetime of zero: a connection is closed when its request is done, never reused.
        _oneShot = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = connect,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Name { get; }

    /// <summary>Whether the last answer said the gateway closes its connections (true also before the first answer).</summary>
    public bool GatewayClosesConnections => Volatile.Read(ref _gateway) != KeepsConnections;

    /// <summary>Parses <c>Name: value</c>; null for an empty setting.</summary>
    public static (string Name, string Value)? ParseHeader(string header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        var colon = header.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || header[..colon].Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new FormatException("an auth header must be written 'Name: value'");
        }

        return (header[..colon].Trim(), header[(colon + 1)..].Trim());
    }

    /// <summary>The JSON body as bytes, so the request carries <c>Content-Length</c> (never a chunked body).</summary>
    internal static ByteArrayContent Body(GatewayMessage message)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(message, Json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        return content;
    }

    /// <summary>Whether an answer says the gateway closes the connection after it: HTTP/1.0 without keep-alive.</summary>
    internal static bool ClosesAfter(HttpResponseMessage response) =>
        response.Version < HttpVersion.Version11
        && !response.Headers.Connection.Contains("keep-alive", StringComparer.OrdinalIgnoreCase);

    public async Task SendAsync(Notice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        var oneShot = GatewayClosesConnections;
        using var request = new HttpRequestMessage(HttpMethod.Post, _url)
        {
            Content = Body(new GatewayMessage(notice.To, notice.Text, notice.Key)),
        };
        request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, notice.Key);
        if (oneShot)
        {
            request.Headers.ConnectionClose = true;
        }

        if (_auth is { } auth)
        {
            request.Headers.TryAddWithoutValidation(auth.Name, auth.Value);
        }

        HttpResponseMessage response;
        try
        {
            response = await (oneShot ? _oneShot : _pooled).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new TransientDeliveryException($"{Name} gateway unreachable: {e.Message}", e);
        }

        using (response)
        {
            Volatile.Write(ref _gateway, ClosesAfter(response) ? ClosesConnections : KeepsConnections);
            var status = (int)response.StatusCode;
            if (status is >= 200 and <= 299)
            {
                return;
            }

            var what = $"{Name} gateway answered {status} {response.ReasonPhrase}";
            if (response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || status >= 500)
            {
                throw new TransientDeliveryException(what);
            }

            throw new PermanentDeliveryException(what);
        }
    }

    public void Dispose()
    {
        _pooled.Dispose();
        _oneShot.Dispose();
    }
}
