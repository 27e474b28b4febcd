using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MimeKit;
using NUnit.Framework;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// Postfix's <c>smtp-sink</c> on 127.0.0.1: a real SMTP server that writes every message it takes to a file
/// (<c>-d</c>), so a test can read what was sent. Missing smtp-sink fails the test (Debian: package postfix).
/// </summary>
internal sealed class SmtpSink : IDisposable
{
    private readonly Process _process;

    private SmtpSink(Process process, int port, string folder)
    {
        _process = process;
        Port = port;
        Folder = folder;
    }

    public int Port { get; }

    public string Folder { get; }

    public static SmtpSink Start()
    {
        var executable = new[] { "/usr/sbin/smtp-sink", "/usr/bin/smtp-sink" }.FirstOrDefault(File.Exists);
        if (executable is null)
        {
            Assert.Fail("smtp-sink is not installed (/usr/sbin/smtp-sink). The e-mail tests deliver to it as a real SMTP server; "
                + "on Debian: echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections && "
                + "DEBIAN_FRONTEND=noninteractive apt-get install -y postfix");
        }

        var folder = Path.Combine(Path.GetTempPath(), $"smtp-sink-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var port = LoopbackPort.Free();
        var start = new ProcessStartInfo(executable!) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        if (Environment.UserName == "root")
        {
            // smtp-sink refuses to run as root without a user to switch to.
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("root");
        }

        foreach (var arg in new[] { "-d", Path.Combine(folder, "mail."), $"127.0.0.1:{port}", "100" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("smtp-sink did not start");
        var sink = new SmtpSink(process, port, folder);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                Assert.Fail($"smtp-sink exited with {process.ExitCode}: {process.StandardError.ReadToEnd()}");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return sink;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        sink.Dispose();
        Assert.Fail("smtp-sink did not accept connections within 10 s");
        return null!;
    }

    /// <summary>The messages written so far, parsed (complete files only).</summary>
    public IReadOnlyList<MimeMessage> Messages()
    {
        var messages = new List<MimeMessage>();
        foreach (var file in Directory.GetFiles(Folder).Order(StringComparer.Ordinal))
        {
            try
            {
                messages.Add(MimeMessage.Load(file));
            }
            catch (FormatException)
            {
                // Still being written.
            }
        }

        return messages;
    }

    public IReadOnlyList<MimeMessage> WaitForMessages(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var messages = Messages();
            if (messages.Count >= count || clock.Elapsed > timeout)
            {
                return messages;
            }

            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
