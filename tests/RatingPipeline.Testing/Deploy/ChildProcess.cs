using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>What a finished tool run printed and how it ended.</summary>
internal sealed record ToolResult(string Command, int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    public override string ToString() =>
        $"{Command}: exit code {ExitCode}{(TimedOut ? " (killed after its timeout)" : "")}\n{Stdout}\n{Stderr}".TrimEnd();
}

/// <summary>
/// Outside programs the deploy tests run: tools to completion (bounded), and long-running children (the
/// published app, Prometheus) whose output is captured and which are stopped with SIGTERM, then killed if they
/// outstay their bound. A missing tool fails the test with the package that provides it.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private const int Sigterm = 15;
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process, string command)
    {
        _process = process;
        Command = command;
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data, _stdoutClosed);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data, _stderrClosed);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Command { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get
        {
            lock (_lock)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_lock)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The full path of <paramref name="name"/> on PATH; fails the test naming the Debian package otherwise.</summary>
    public static string Tool(string name, string debianPackage)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail($"{name} is not installed (not on PATH). The deploy tests run it as the real tool; on Debian: apt-get install {debianPackage} (.ci/run installs it).");
        return name;
    }

    public static ChildProcess Start(string executable, IEnumerable<string> args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"{executable} did not start");
        process.StandardInput.Close();
        return new ChildProcess(process, $"{Path.GetFileName(executable)} {string.Join(' ', info.ArgumentList)}");
    }

    /// <summary>Runs a tool to its end, killing it after <paramref name="timeout"/>.</summary>
    public static ToolResult Run(string executable, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var child = Start(executable, args, workingDirectory, environment);
        var exited = child.WaitForExit(timeout);
        if (!exited)
        {
            child.Kill();
        }

        return new ToolResult(child.Command, exited ? child.ExitCode : -1, child.Stdout, child.Stderr, !exited);
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        // The output pipes close when the child exits, unless a grandchild (a build server) inherited them: bounded.
        Task.WaitAll([_stdoutClosed.Task, _stderrClosed.Task], TimeSpan.FromSeconds(5));
        return true;
    }

    /// <summary>Sends SIGTERM, as a container runtime or the kubelet does to stop a container.</summary>
    public void Terminate() => Signal(Sigterm);

    /// <summary>Sends a signal (Linux numbers: 15 SIGTERM, 19 SIGSTOP, 18 SIGCONT).</summary>
    public void Signal(int signal)
    {
        if (!_process.HasExited && kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Stops the child if it still runs: SIGTERM, then a kill after 10 s.</summary>
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Terminate();
            if (!WaitForExit(TimeSpan.FromSeconds(10)))
            {
                Kill();
            }
        }

        _process.Dispose();
    }

    private void Append(StringBuilder target, string? line, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
            return;
        }

        lock (_lock)
        {
            target.Append(line).Append('\n');
        }
    }

    // No .NET API sends SIGTERM to another process (Process.Kill sends SIGKILL).
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
