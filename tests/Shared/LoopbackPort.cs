using System.Net;
using System.Net.Sockets;

namespace RatingPipeline.Testing;

/// <summary>
/// Loopback ports for listeners the tests and benchmarks start (HTTP endpoints, SMTP, Prometheus). One source
/// file, compiled into the fault suite and the scale benchmarks; the tests see it through the fault suite, whose
/// internals they already use.
/// </summary>
internal static class LoopbackPort
{
    /// <summary>A port that was free a moment ago: bound on 127.0.0.1:0, read, released.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
