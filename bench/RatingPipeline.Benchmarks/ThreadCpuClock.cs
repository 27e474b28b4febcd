using System.Runtime.InteropServices;
using Perfolizer.Horology;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// The CPU time of the calling thread (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), in nanoseconds. On a machine shared with
/// other work, wall-clock iterations include the time the thread waited for a core; this clock counts only the time
/// it ran (cache and memory contention from the neighbours still show). Used by the in-process <c>--cpu-time</c> job.
/// </summary>
internal sealed partial class ThreadCpuClock : IClock
{
    private const int ClockThreadCpuTimeId = 3;

    public static ThreadCpuClock Instance { get; } = new();

    public string Title => "ThreadCpuTime";

    public bool IsAvailable => OperatingSystem.IsLinux();

    public Frequency Frequency => new(1_000_000_000);

    public long GetTimestamp() => ClockGetTime(ClockThreadCpuTimeId, out var time) == 0 ? (time.Seconds * 1_000_000_000) + time.Nanoseconds : 0;

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
