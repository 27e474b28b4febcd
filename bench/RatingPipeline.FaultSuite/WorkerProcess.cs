using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using RatingPipeline.Testing;

namespace RatingPipeline.FaultSuite;

/// <summary>
/// One worker (<c>ratingctl rater</c> or <c>ratingctl sender</c>) run as a child process, so it can be killed
/// with SIGKILL at any point and started again with the same configuration. Its output goes to a log file;
/// its readiness and metrics are read over HTTP on a loopback port of its own.
/// </summary>
internal sealed partial class WorkerProcess : IDisposable
{
    private const int SigTerm = 15;

    private readonly string _command;
    private readonly IReadOnlyList<string> _settings;
    private readonly string _logPath;
    private readonly Lock _lock = new();
    private Process? _process;
    private StreamWriter? _log;
    private double _recoveriesBefore;

    public WorkerProcess(string name, string command, IEnumerable<string> settings, string logFolder)
    {
        Name = name;
        _command = command;
        Port = LoopbackPort.Free();
        Url = new Uri($"http://127.0.0.1:{Port}/");
        _settings = [.. settings, $"--Http:Url=http://127.0.0.1:{Port}"];
        _logPath = Path.Combine(logFolder, $"{name}.log");
    }

    public string Name { get; }

    public int Port { get; }

    public Uri Url { get; }

    /// <summary>Times started (the first start included).</summary>
    public int Starts { get; private set; }

    public int Kills { get; private set; }

    /// <summary>Starts after a kill.</summary>
    public int Restarts { get; set; }

    /// <summary>The worker's recovery counter as last read (this process life).</summary>
    public double LastRecoveries { get; set; }

    /// <summary>Recovery counters summed over every process life.</summary>
    public double TotalRecoveries => _recoveriesBefore + LastRecoveries;

    /// <summary>Exit code of a rater that ended itself because its Kafka clients did not close in time.</summary>
    public const int HungClientExitCode = 3;

    /// <summary>Times the worker ended itself with <see cref="HungClientExitCode"/> (and was started again).</summary>
    public int HungClientExits { get; private set; }

    /// <summary>The process exited by itself (not killed or stopped by the suite) this many times.</summary>
    public int UnexpectedExits { get; private set; }

    public bool IsRunning
    {
        get
        {
            lock (_lock)
            {
                return _process is { HasExited: false };
            }
        }
    }

    /// <summary>Starts the worker: <c>dotnet ratingctl.dll {command} --Key=value …</c>.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (_process is { HasExited: false })
            {
                throw new InvalidOperationException($"{Name} is already running");
            }

            _process?.Dispose();
            _recoveriesBefore += LastRecoveries;
            LastRecoveries = 0;
            _log ??= new StreamWriter(_logPath, append: true) { AutoFlush = true };
            var start = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            start.ArgumentList.Add(RatingctlPath());
            start.ArgumentList.Add(_command);
            foreach (var setting in _settings)
            {
                start.ArgumentList.Add(setting);
            }

            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var log = _log;
            process.OutputDataReceived += (_, e) => Write(log, e.Data);
            process.ErrorDataReceived += (_, e) => Write(log, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            Starts++;
            Write(log, $"### suite: start #{Starts} pid {process.Id} at {DateTimeOffset.UtcNow:O}");
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, no group leave, nothing flushed.</summary>
    public void Kill()
    {
        lock (_lock)
        {
            if (_process is not { HasExited: false } process)
            {
                return;
            }

            process.Kill(entireProcessTree: false);
            process.WaitForExit(10_000);
            Kills++;
            Write(_log, $"### suite: SIGKILL at {DateTimeOffset.UtcNow:O}");
        }
    }

    /// <summary>SIGTERM and wait: the worker finishes its batch, commits and leaves the group. Killed if it does not end in time.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Process? process;
        lock (_lock)
        {
            process = _process is { HasExited: false } p ? p : null;
        }

        if (process is null)
        {
            return;
        }

        Write(_log, $"### suite: SIGTERM at {DateTimeOffset.UtcNow:O}");
        _ = SendSignal(process.Id, SigTerm);
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Write(_log, "### suite: no exit after SIGTERM, killing");
            process.Kill();
            process.WaitForExit(10_000);
        }
    }

    /// <summary>
    /// Called by the suite's monitor: notes an exit the suite did not cause. A rater that ends itself because its
    /// Kafka clients hung on close (exit code 3, so that its supervisor starts it afresh) is counted apart.
    /// </summary>
    public bool CheckUnexpectedExit(bool expectedRunning)
    {
        lock (_lock)
        {
            if (!expectedRunning || _process is not { HasExited: true } process)
            {
                return false;
            }

            if (process.ExitCode == HungClientExitCode)
            {
                HungClientExits++;
            }
            else
            {
                UnexpectedExits++;
            }

            Write(_log, $"### suite: exited by itself with code {process.ExitCode}");
            return true;
        }
    }

    public async Task<bool> IsReadyAsync(HttpClient http, CancellationToken cancel)
    {
        if (!IsRunning)
        {
            return false;
        }

        try
        {
            using var response = await http.GetAsync(new Uri(Url, "healthz/ready"), cancel);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            return false; // the request's own timeout
        }
    }

    /// <summary>The worker's Prometheus text, or null when it does not answer.</summary>
    public async Task<string?> MetricsAsync(HttpClient http, CancellationToken cancel)
    {
        if (!IsRunning)
        {
            return null;
        }

        try
        {
            return await http.GetStringAsync(new Uri(Url, "metrics"), cancel);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Sum of the samples of <paramref name="metric"/> (all label sets) in a Prometheus text, or null.</summary>
    public static double? Sample(string? metrics, string metric, string? labels = null)
    {
        if (metrics is null)
        {
            return null;
        }

        double? sum = null;
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith(metric, StringComparison.Ordinal) || line.Length <= metric.Length || (line[metric.Length] != ' ' && line[metric.Length] != '{'))
            {
                continue;
            }

            if (labels is not null && !line.Contains(labels, StringComparison.Ordinal))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sum = (sum ?? 0) + value;
            }
        }

        return sum;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_process is { HasExited: false } process)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }

            _process?.Dispose();
            _process = null;
            _log?.Dispose();
            _log = null;
        }
    }

    /// <summary>ratingctl.dll beside this assembly (the suite references the CLI project, so the build puts it there).</summary>
    public static string RatingctlPath()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "ratingctl.dll");
        return File.Exists(path) && File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json"))
            ? path
            : throw new FileNotFoundException($"ratingctl.dll with its runtimeconfig.json is not in {AppContext.BaseDirectory}; build the project that runs the suite first", path);
    }

    /// <summary>The dotnet host that runs this process (the SDK sets DOTNET_HOST_PATH under dotnet test and dotnet run).</summary>
    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host))
        {
            return host;
        }

        return Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private static void Write(StreamWriter? log, string? line)
    {
        if (log is null || line is null)
        {
            return;
        }

        try
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
        catch (ObjectDisposedException)
        {
            // Output that arrives after the suite closed the log is dropped.
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
