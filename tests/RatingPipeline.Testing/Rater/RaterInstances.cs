using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using RatingPipeline.Rater;

namespace RatingPipeline.Tests.Rater;

/// <summary>What every way of running a rater offers the tests: its HTTP endpoints.</summary>
internal abstract class RaterInstance
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    protected RaterInstance(RaterSettings settings) => Settings = settings;

    public RaterSettings Settings { get; }

    /// <summary>The status of <c>/healthz/ready</c>, or null while nothing answers on the port.</summary>
    public async Task<HttpStatusCode?> ReadyStatusAsync()
    {
        try
        {
            using var response = await Http.GetAsync($"{Settings.BaseUrl}/healthz/ready");
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>The body of <c>/healthz/ready</c> (the reason when not ready).</summary>
    public async Task<string> ReadyTextAsync() => await Http.GetStringAsync($"{Settings.BaseUrl}/healthz/ready").ConfigureAwait(false);

    /// <summary>Scrapes <c>/metrics</c> over real HTTP.</summary>
    public async Task<MetricsScrape> ScrapeAsync() => MetricsScrape.Parse(await Http.GetStringAsync($"{Settings.BaseUrl}/metrics"));

    /// <summary>Waits until <c>/healthz/ready</c> answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        var ready = await Poll.UntilAsync(async () => await ReadyStatusAsync() == HttpStatusCode.OK, timeout);
        if (!ready)
        {
            NUnit.Framework.Assert.Fail($"rater {Settings.InstanceId} not ready within {timeout}{Diagnostics()}");
        }
    }

    /// <summary>Recent log lines, for failure messages.</summary>
    public virtual string Diagnostics() => "";
}

/// <summary>A rater in the test process, built by <see cref="RaterHost.Build"/>: stopped gracefully like on SIGTERM.</summary>
internal sealed class InProcessRater : RaterInstance, IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private InProcessRater(RaterSettings settings, WebApplication app)
        : base(settings) => _app = app;

    public static async Task<InProcessRater> StartAsync(RaterSettings settings)
    {
        var app = RaterHost.Build([], settings.Values.ToDictionary(p => p.Key, p => (string?)p.Value));
        await app.StartAsync();
        return new InProcessRater(settings, app);
    }

    /// <summary>Graceful stop: the host cancels the worker, which finishes its batch, commits and leaves the group.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(45));
        await _app.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A rater as its own process, <c>dotnet ratingctl.dll rater --Key=value …</c> (the test output holds ratingctl.dll,
/// the test project references the CLI), so it can be killed with SIGKILL or stopped with SIGTERM like in production.
/// </summary>
internal sealed partial class RaterProcess : RaterInstance, IDisposable
{
    private const int SigTerm = 15;
    private const int KeptLines = 300;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private RaterProcess(RaterSettings settings, Process process)
        : base(settings) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static RaterProcess Start(RaterSettings settings)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ratingctl.dll");
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("rater");
        foreach (var arg in settings.CommandLine())
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("ratingctl rater did not start");
        var rater = new RaterProcess(settings, process);
        process.OutputDataReceived += (_, e) => rater.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => rater.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return rater;
    }

    /// <summary>SIGKILL (what <see cref="Process.Kill()"/> sends on Linux): no shutdown code runs at all.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        if (!_process.WaitForExit(TimeSpan.FromSeconds(10)))
        {
            NUnit.Framework.Assert.Fail($"rater {Settings.InstanceId} (pid {Pid}) still running 10 s after SIGKILL");
        }
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: the host shuts down gracefully.</summary>
    public void Terminate()
    {
        if (!_process.HasExited && Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public override string Diagnostics() =>
        $"{Environment.NewLine}--- last output of rater {Settings.InstanceId} (pid {Pid}{(HasExited ? $", exit code {ExitCode}" : "")}) ---{Environment.NewLine}"
        + string.Join(Environment.NewLine, _output);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line.Length > 600 ? line[..600] : line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }

    /// <summary>The dotnet host running the tests (so the child uses the same runtime).</summary>
    private static string DotnetHost()
    {
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}

/// <summary>The rater processes a test started: killed at its end, their output printed when it failed.</summary>
internal sealed class StartedRaters : IDisposable
{
    private readonly List<RaterProcess> _processes = [];

    public RaterProcess Start(RaterSettings settings)
    {
        var process = RaterProcess.Start(settings);
        _processes.Add(process);
        return process;
    }

    /// <summary>Prints every rater's recent output if the current test did not pass (always with RATER_TEST_LOGS=1).</summary>
    public void ReportIfFailed()
    {
        if (NUnit.Framework.TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Passed
            && Environment.GetEnvironmentVariable("RATER_TEST_LOGS") != "1")
        {
            return;
        }

        foreach (var process in _processes)
        {
            NUnit.Framework.TestContext.Out.WriteLine(process.Diagnostics());
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        _processes.Clear();
    }
}
