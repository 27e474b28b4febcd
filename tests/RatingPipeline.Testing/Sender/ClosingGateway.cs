using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RatingPipeline.Sender.Channels;

namespace RatingPipeline.Tests.Sender;

/// <summary>How <see cref="ClosingGateway"/> ends each exchange.</summary>
public enum ClosingStyle
{
    /// <summary><c>HTTP/1.0 200 OK</c> with no <c>Connection</c> header (HTTP/1.0's default: the connection closes), then close.</summary>
    Http10,

    /// <summary><c>HTTP/1.1 200 OK</c> with <c>Connection: close</c>, then close.</summary>
    Http11ConnectionClose,
}

/// <summary>One request the closing gateway read, and its answer.</summary>
internal sealed record ClosingGatewayRequest(string Path, string? IdempotencyKey, long? ContentLength, bool Chunked, string? To, string? Text, string? Id, int Status, bool Delivered);

/// <summary>
/// An SMS / voice-call gateway of the old kind, written on raw sockets on 127.0.0.1: it reads one request per
/// connection, answers it and closes the connection, every time (as HTTP/1.0 servers and many gateways behind
/// simple front ends do). It needs a <c>Content-Length</c>: a chunked request is answered
/// <c>411 Length Required</c>, as such gateways refuse it. It de-duplicates by <c>Idempotency-Key</c> like the
/// loopback gateway. Connections are served concurrently, with a listen backlog that never drops a connect.
/// </summary>
internal sealed class ClosingGateway : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly ClosingStyle _style;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<ClosingGatewayRequest> _received = [];
    private readonly Dictionary<string, int> _deliveries = new(StringComparer.Ordinal);
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private long _accepted;

    private ClosingGateway(ClosingStyle style)
    {
        _style = style;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(backlog: 1024);
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = Task.Run(AcceptAsync);
    }

    public Uri Url { get; }

    /// <summary>TCP connections accepted: one per request, since each is closed after its answer.</summary>
    public long ConnectionsAccepted => Interlocked.Read(ref _accepted);

    public static ClosingGateway Start(ClosingStyle style) => new(style);

    public IReadOnlyList<ClosingGatewayRequest> Received
    {
        get
        {
            lock (_lock)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>Keys delivered (each once: a repeated key is answered as a duplicate).</summary>
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        Task[] open;
        lock (_lock)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open).WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _accepted);
            var task = Task.Run(() => ServeAsync(client));
            lock (_lock)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(task);
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            client.NoDelay = true;
            var stream = client.GetStream();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                var (status, body) = await ReadAndDecideAsync(stream, timeout.Token);
                var version = _style == ClosingStyle.Http10 ? "HTTP/1.0" : "HTTP/1.1";
                var connection = _style == ClosingStyle.Http10 ? "" : "Connection: close\r\n";
                var reason = status switch { 200 => "OK", 400 => "Bad Request", 411 => "Length Required", _ => "Error" };
                var head = $"{version} {status.ToString(CultureInfo.InvariantCulture)} {reason}\r\nContent-Type: application/json\r\n"
                    + $"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n{connection}\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head).Concat(body).ToArray(), timeout.Token);
                client.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // The client went away, or the gateway is stopping: nothing to answer.
            }
        }
    }

    private async Task<(int Status, byte[] Body)> ReadAndDecideAsync(NetworkStream stream, CancellationToken token)
    {
        var buffer = new List<byte>(1024);
        var chunk = new byte[4096];
        int headerEnd;
        while ((headerEnd = IndexOfBlankLine(buffer)) < 0)
        {
            var read = await stream.ReadAsync(chunk, token);
            if (read == 0 || buffer.Count > 64 * 1024)
            {
                throw new IOException("the request ended before its headers");
            }

            buffer.AddRange(chunk.AsSpan(0, read));
        }

        var lines = Encoding.ASCII.GetString(buffer.GetRange(0, headerEnd).ToArray()).Split("\r\n");
        var path = lines[0].Split(' ') is [_, var p, ..] ? p : "";
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(h => h.Length == 2)
            .GroupBy(h => h[0].Trim(), StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var key = headers.GetValueOrDefault(HttpGatewayChannel.IdempotencyKeyHeader);
        var chunked = headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        long? length = headers.TryGetValue("Content-Length", out var text) && long.TryParse(text, CultureInfo.InvariantCulture, out var n) ? n : null;
        if (chunked || length is null)
        {
            // The old kind of gateway does not read chunked bodies: it refuses them, reading no further.
            return Record(new ClosingGatewayRequest(path, key, length, chunked, null, null, null, 411, false));
        }

        var body = buffer.Skip(headerEnd + 4).ToList();
        while (body.Count < length)
        {
            var read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, length.Value - body.Count)), token);
            if (read == 0)
            {
                throw new IOException("the request ended before its body");
            }

            body.AddRange(chunk.AsSpan(0, read));
        }

        GatewayMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<GatewayMessage>(body.ToArray());
        }
        catch (JsonException)
        {
            message = null;
        }

        if (message is not { To.Length: > 0, Text.Length: > 0 } || string.IsNullOrEmpty(key) || message.Id != key)
        {
            return Record(new ClosingGatewayRequest(path, key, length, false, message?.To, message?.Text, message?.Id, 400, false));
        }

        bool delivered;
        lock (_lock)
        {
            delivered = _deliveries.TryAdd(key, 1);
        }

        return Record(new ClosingGatewayRequest(path, key, length, false, message.To, message.Text, message.Id, 200, delivered));
    }

    private (int Status, byte[] Body) Record(ClosingGatewayRequest request)
    {
        lock (_lock)
        {
            _received.Add(request);
        }

        var answer = request.Status == 200
            ? JsonSerializer.SerializeToUtf8Bytes(new { id = request.IdempotencyKey, status = request.Delivered ? "accepted" : "duplicate" })
            : JsonSerializer.SerializeToUtf8Bytes(new { error = request.Status == 411 ? "Content-Length required" : "bad request" });
        return (request.Status, answer);
    }

    private static int IndexOfBlankLine(List<byte> buffer)
    {
        for (var i = 0; i + 3 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
