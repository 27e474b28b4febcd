using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;

namespace RatingPipeline.Sender.Inbound;

/// <summary>
/// The bearer token of the HTTP API (<c>Http:Auth:Token</c>): a request must carry
/// <c>Authorization: Bearer TOKEN</c>. With no token configured every request is refused. Compared in constant
/// time (over SHA-256 digests, so the length does not show either).
/// </summary>
public sealed class BearerToken
{
    public const string ConfigurationKey = "Http:Auth:Token";

    private readonly byte[]? _digest;

    public BearerToken(string? token) => _digest = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));

    public static BearerToken From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new BearerToken(configuration[ConfigurationKey]);
    }

    public bool IsConfigured => _digest is not null;

    /// <summary>Whether the <c>Authorization</c> header value carries the configured token.</summary>
    public bool Admits(string? authorization)
    {
        if (_digest is null || authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var given = SHA256.HashData(Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _digest);
    }
}

/// <summary>A mobile-originated SMS as the gateway posts it: JSON <c>{from, to, text, id}</c>.</summary>
public static class MoRequest
{
    public const int MaxIdLength = 64;
    public const int MaxTextLength = 1000;
    public const int MaxServiceNumberLength = 21;

    /// <summary>
    /// Reads the body. <c>from</c>: the subscriber, 5–15 digits (a leading <c>+</c> is dropped); <c>to</c>: the
    /// service number, 1–21 characters; <c>text</c>: at most 1000 characters (may be empty); <c>id</c>: the
    /// gateway's message id, 1–64 printable ASCII characters. Other members are ignored.
    /// </summary>
    public static MoReceived? TryParse(ReadOnlySpan<byte> body, DateTimeOffset receivedAt, out string error)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "the body must be a JSON object {from, to, text, id}";
                return null;
            }

            string? Member(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var from = Member("from");
            var to = Member("to");
            var text = Member("text");
            var id = Member("id");
            var msisdn = from is { Length: > 0 } && from[0] == '+' ? from[1..] : from;
            if (msisdn is null || msisdn.Length is < 5 or > 15 || !msisdn.All(char.IsAsciiDigit))
            {
                error = "from must be the subscriber's number, 5-15 digits (a leading + allowed)";
            }
            else if (to is null || to.Length is < 1 or > MaxServiceNumberLength)
            {
                error = $"to must be the service number, 1-{MaxServiceNumberLength} characters";
            }
            else if (text is null || text.Length > MaxTextLength)
            {
                error = $"text must be a string of at most {MaxTextLength} characters";
            }
            else if (id is null || id.Length is < 1 or > MaxIdLength || !id.All(c => c is > ' ' and < '\x7f'))
            {
                error = $"id must be the gateway's message id, 1-{MaxIdLength} printable ASCII characters";
            }
            else
            {
                error = "";
                return new MoReceived(msisdn, id, text, to, receivedAt);
            }

            return null;
        }
        catch (JsonException e)
        {
            error = $"the body is not JSON: {e.Message}";
            return null;
        }
    }
}

/// <summary>
/// Takes mobile-originated SMS in: writes each as a <c>received</c> record to <c>notice-log</c> (key the
/// subscriber, so it lands on the partition of the subscriber's notices) and answers once the record is
/// acknowledged. The worker that owns the partition answers it (<see cref="SenderWorker"/>); a replayed id is
/// taken in again and answered once.
/// </summary>
public sealed class MoInbox : IDisposable
{
    private readonly Lazy<AcknowledgedProducer> _producer;
    private readonly string _topic;

    public MoInbox(IOptions<KafkaOptions> kafka, IOptions<TopicNames> topics, ILogger<MoInbox> logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(topics);
        _topic = topics.Value.NoticeLog;
        _producer = new Lazy<AcknowledgedProducer>(() => AcknowledgedProducer.Build(
            KafkaClientTuning.Producer(kafka.Value),
            e => logger.LogWarning("Kafka MO producer: {Reason}", e.Reason),
            keepClientLog: true));
    }

    public async Task TakeAsync(MoReceived mo, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mo);
        await _producer.Value.ProduceAndAwaitAsync(new TopicPartition(_topic, Partition.Any), new Message<byte[], byte[]>
        {
            Key = AcknowledgedProducer.Utf8Key(mo.Msisdn),
            Value = mo.ToRecord().ToUtf8Json(),
            Timestamp = new Timestamp(mo.ReceivedAt),
        }, AcknowledgedProducer.UntilReported, "SMS taken in", cancellationToken);
    }

    public void Dispose()
    {
        if (_producer.IsValueCreated)
        {
            _producer.Value.Flush(TimeSpan.FromSeconds(5));
            _producer.Value.Dispose();
        }
    }
}

/// <summary><c>POST /v1/mo</c>.</summary>
public static class MoEndpoint
{
    public const string Path = "/v1/mo";

    /// <summary>How long a request waits for <c>notice-log</c> to acknowledge the SMS before answering 503.</summary>
    public static readonly TimeSpan AckTimeout = TimeSpan.FromSeconds(10);

    public static WebApplication MapMo(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var token = BearerToken.From(app.Configuration);
        app.MapPost(Path, (HttpContext context, MoInbox inbox, IOptions<SenderOptions> options, TimeProvider time, ILogger<MoInbox> logger) =>
            HandleAsync(context, token, inbox, options.Value, time, logger));
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpContext context, BearerToken token, MoInbox inbox, SenderOptions options, TimeProvider time, ILogger logger)
    {
        if (!token.Admits(context.Request.Headers.Authorization))
        {
            SenderMetrics.MoRequests.WithLabels("unauthorized").Inc();
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Json(new { error = token.IsConfigured ? "missing or wrong bearer token" : $"no token is configured ({BearerToken.ConfigurationKey}): every request is refused" },
                statusCode: StatusCodes.Status401Unauthorized);
        }

        var body = await ReadBodyAsync(context.Request, options.Mo.MaxRequestBytes, context.RequestAborted);
        if (body is null)
        {
            SenderMetrics.MoRequests.WithLabels("too-large").Inc();
            return Results.Json(new { error = $"the body is larger than Sender:Mo:MaxRequestBytes ({options.Mo.MaxRequestBytes} bytes)" },
                statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var mo = MoRequest.TryParse(body, time.GetUtcNow(), out var error);
        if (mo is null)
        {
            SenderMetrics.MoRequests.WithLabels("invalid").Inc();
            logger.LogWarning("MO request refused: {Error}", error);
            return Results.Json(new { error }, statusCode: StatusCodes.Status400BadRequest);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(AckTimeout);
        try
        {
            await inbox.TakeAsync(mo, timeout.Token);
        }
        catch (Exception e) when (e is KafkaException or OperationCanceledException)
        {
            SenderMetrics.MoRequests.WithLabels("unavailable").Inc();
            logger.LogWarning("SMS {MoId} from {Msisdn} not taken in: {Reason}", mo.MoId, Msisdns.Mask(mo.Msisdn), e.Message);
            context.Response.Headers.RetryAfter = "5";
            return Results.Json(new { error = "the SMS could not be recorded; send it again" }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        SenderMetrics.MoRequests.WithLabels("accepted").Inc();
        logger.LogInformation("SMS {MoId} from {Msisdn} taken in", mo.MoId, Msisdns.Mask(mo.Msisdn));
        return Results.Json(new { id = mo.MoId, status = "accepted" }, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/> bytes.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
