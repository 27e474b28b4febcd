using System.Net;
using System.Net.Http.Json;
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
/// <c>Idempotency-Key: id</c> (the reminder's eventId, so the gateway takes a repeated request once) and the
/// configured auth header. 2xx = accepted; 408, 429 and 5xx are transient; any other status is permanent.
/// </summary>
public sealed class HttpGatewayChannel : INoticeChannel
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly HttpClient _http;
    private readonly Uri _url;
    private readonly (string Name, string Value)? _auth;

    public HttpGatewayChannel(string name, HttpClient http, string url, string authHeader)
    {
        Name = name;
        _http = http;
        _url = new Uri(url, UriKind.Absolute);
        _auth = ParseHeader(authHeader);
    }

    public string Name { get; }

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

    public async Task SendAsync(Notice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        using var request = new HttpRequestMessage(HttpMethod.Post, _url)
        {
            Content = JsonContent.Create(new GatewayMessage(notice.To, notice.Text, notice.EventId), options: Json),
        };
        request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, notice.EventId);
        if (_auth is { } auth)
        {
            request.Headers.TryAddWithoutValidation(auth.Name, auth.Value);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new TransientDeliveryException($"{Name} gateway unreachable: {e.Message}", e);
        }

        using (response)
        {
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
}
