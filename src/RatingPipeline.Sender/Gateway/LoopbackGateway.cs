using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Sender.Channels;

namespace RatingPipeline.Sender.Gateway;

/// <summary>One request the loopback gateway received, how its body was framed, and how it answered.</summary>
public sealed record GatewayRequest(
    string Path,
    string? IdempotencyKey,
    string? To,
    string? Text,
    string? Id,
    int Status,
    bool Delivered,
    bool Duplicate,
    DateTimeOffset At,
    long? ContentLength = null,
    bool Chunked = false);

/// <summary>
/// An SMS / voice-call gateway on 127.0.0.1 (a real Kestrel server) for the demo and the tests. It takes the
/// gateway contract (<c>POST</c> any path, so one gateway can serve the SMS and the voice path, JSON
/// <c>{to, text, id}</c>, <c>Idempotency-Key</c> equal to <c>id</c>; 400 otherwise), delivers a key's first
/// accepted request and answers later ones with the same key as duplicates (200, not delivered again), and can inject faults: the next n requests failing with a status
/// (5xx bursts, 429, 4xx), every request failing, a delay before each answer or the next n answers (after
/// delivering: the gateway took it even if the client gave up), a required auth header.
/// </summary>
public sealed class LoopbackGateway : IDisposable, IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<GatewayRequest> _received = [];
    private readonly Dictionary<string, int> _deliveries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly TextWriter? _log;
    private WebApplication? _app;
    private int _failNext;
    private int _failNextStatus;
    private int? _failAlways;
    private long _delayTicks;
    private int _delayNext;
    private TimeSpan _delayNextBy;
    private (string Name, string Value)? _requiredHeader;
    private volatile bool _deduplicate = true;

    private LoopbackGateway(TextWriter? log) => _log = log;

    /// <summary>The gateway's base address, e.g. <c>http://127.0.0.1:41234/</c>; any path under it is accepted.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Starts a gateway on 127.0.0.1:<paramref name="port"/> (0: any free port); prints each request to <paramref name="log"/>.</summary>
    public static LoopbackGateway Start(int port = 0, TextWriter? log = null) => StartAsync(port, log).GetAwaiter().GetResult();

    public static async Task<LoopbackGateway> StartAsync(int port = 0, TextWriter? log = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var gateway = new LoopbackGateway(log);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Run(gateway.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        gateway.Url = new Uri(address.EndsWith('/') ? address : address + "/");
        gateway._app = app;
        return gateway;
    }

    /// <summary>Waits this long before each answer (after deciding and delivering).</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }

    /// <summary>De-duplicate by <c>Idempotency-Key</c> (default). Off: every accepted request is a delivery.</summary>
    public bool Deduplicate
    {
        get => _deduplicate;
        set => _deduplicate = value;
    }

    /// <summary>Every request received so far, in order.</summary>
    public IReadOnlyList<GatewayRequest> Received
    {
        get
        {
            lock (_lock)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Deliveries per idempotency key (with de-duplication on, at most 1 each).</summary>
    public IReadOnlyDictionary<string, int> DeliveriesByKey
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_deliveries, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Requests per idempotency key, whatever the answer (failures and duplicates included).</summary>
    public IReadOnlyDictionary<string, int> RequestsByKey
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_requests, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>The next <paramref name="count"/> requests are answered <paramref name="status"/> and not delivered.</summary>
    public void FailNext(int count, int status = 503)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock)
        {
            _failNext = count;
            _failNextStatus = status;
        }
    }

    /// <summary>The next <paramref name="count"/> requests are answered only after <paramref name="delay"/> (after delivering).</summary>
    public void DelayNext(int count, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_lock)
        {
            _delayNext = count;
            _delayNextBy = delay;
        }
    }

    /// <summary>Every request is answered <paramref name="status"/> until <see cref="Heal"/>.</summary>
    public void FailAlways(int status)
    {
        lock (_lock)
        {
            _failAlways = status;
        }
    }

    /// <summary>Ends injected failures and delays.</summary>
    public void Heal()
    {
        lock (_lock)
        {
            _failAlways = null;
            _failNext = 0;
            _delayNext = 0;
        }

        Delay = TimeSpan.Zero;
    }

    /// <summary>Requests without this header value are answered 401.</summary>
    public void RequireHeader(string name, string value)
    {
        lock (_lock)
        {
            _requiredHeader = (name, value);
        }
    }

    /// <summary>Waits until <paramref name="keys"/> distinct keys were delivered; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForDeliveriesAsync(int keys, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (_lock)
            {
                if (_deliveries.Count >= keys)
                {
                    return true;
                }
            }

            await Task.Delay(20);
        }

        return false;
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(stop.Token);
            await app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var key = context.Request.Headers["Idempotency-Key"].ToString();
        GatewayMessage? message = null;
        if (HttpMethods.IsPost(context.Request.Method))
        {
            try
            {
                message = await JsonSerializer.DeserializeAsync<GatewayMessage>(context.Request.Body, cancellationToken: context.RequestAborted);
            }
            catch (JsonException)
            {
                message = null;
            }
        }

        int status;
        bool delivered = false, duplicate = false;
        var delay = Delay;
        lock (_lock)
        {
            if (_delayNext > 0)
            {
                _delayNext--;
                delay = _delayNextBy;
            }

            if (key.Length > 0)
            {
                _requests[key] = _requests.GetValueOrDefault(key) + 1;
            }

            if (_requiredHeader is { } required && context.Request.Headers[required.Name].ToString() != required.Value)
            {
                status = StatusCodes.Status401Unauthorized;
            }
            else if (message is null || message.To is not { Length: > 0 } || message.Text is not { Length: > 0 } || key.Length == 0 || message.Id != key)
            {
                status = StatusCodes.Status400BadRequest;
            }
            else if (_failNext > 0)
            {
                _failNext--;
                status = _failNextStatus;
            }
            else if (_failAlways is { } always)
            {
                status = always;
            }
            else
            {
                status = StatusCodes.Status200OK;
                duplicate = _deduplicate && _deliveries.ContainsKey(key);
                delivered = !duplicate;
                if (delivered)
                {
                    _deliveries[key] = _deliveries.GetValueOrDefault(key) + 1;
                }
            }

            _received.Add(new GatewayRequest(context.Request.Path.ToString(), key.Length > 0 ? key : null, message?.To, message?.Text, message?.Id,
                status, delivered, duplicate, DateTimeOffset.UtcNow, context.Request.ContentLength,
                context.Request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase)));
        }

        _log?.WriteLine($"[gateway {context.Request.Path}] {status}{(duplicate ? " duplicate" : "")} to {Msisdns.Mask(message?.To)} key={key}: {message?.Text}");
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        context.Response.StatusCode = status;
        if (status == StatusCodes.Status200OK)
        {
            await context.Response.WriteAsJsonAsync(new { id = key, status = duplicate ? "duplicate" : "accepted" });
        }
    }
}
