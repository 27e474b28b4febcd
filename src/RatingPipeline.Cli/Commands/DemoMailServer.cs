using System.Buffers;
using System.Net;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// The demo's SMTP server: a real one (the SmtpServer library) on a free loopback port, so the sender delivers e-mail
/// notices as it would to an operator's relay; it keeps nothing but counts the messages it accepts.
/// </summary>
internal sealed class DemoMailServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private readonly CountingStore _store = new();

    private DemoMailServer(int port)
    {
        Port = port;
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(endpoint => endpoint.Endpoint(new IPEndPoint(IPAddress.Loopback, port)))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(_store);
        _running = new SmtpServer.SmtpServer(options, services).StartAsync(_stop.Token);
    }

    public int Port { get; }

    /// <summary>Messages accepted so far.</summary>
    public long Received => Interlocked.Read(ref _store.Count);

    /// <summary>Starts the server on a free loopback port.</summary>
    public static DemoMailServer Start()
    {
        var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new DemoMailServer(port);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private sealed class CountingStore : MessageStore
    {
        public long Count;

        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Count);
            return Task.FromResult(SmtpResponse.Ok);
        }
    }
}
