using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// The shared configuration: workstation, non-concurrent GC (so allocation figures are deterministic), the memory
/// diagnoser, and a JSON export for the allocation budget check. The default job is a short run (3 warm-ups,
/// 10 iterations) so a run takes minutes; <c>--job</c> on the command line replaces it, the GC settings stay.
/// </summary>
public sealed class BenchmarkConfig : ManualConfig
{
    public BenchmarkConfig()
    {
        AddJob(Job.Default.WithGcServer(false).WithGcConcurrent(false).WithGcForce(true).AsMutator());
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithId("Quick").AsDefault());
        AddDiagnoser(MemoryDiagnoser.Default);

        // On a shared machine the median and the minimum say more than the mean.
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        AddExporter(JsonExporter.Full, MarkdownExporter.GitHub);

        // Building the generated benchmark project takes minutes when the two cores are busy with other builds.
        WithBuildTimeout(TimeSpan.FromMinutes(10));
    }

    /// <summary>
    /// The allocation gate for CI: in-process (no project generation or build per benchmark), one warm-up and three
    /// iterations of four invocations. Its times are indicative only; its allocation figures are the point. With one
    /// invocation, a one-off allocation of the runtime's on another thread during the measured invocation (a few KB)
    /// showed as 1 B per operation even for a bare JSON reader pass; over four invocations it rounds away, while an
    /// allocation per record still shows in full.
    /// </summary>
    public static IConfig Gate() => ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(Job.Dry
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithInvocationCount(4)
            .WithUnrollFactor(1)
            .WithId("AllocGate"))
        .AddExporter(JsonExporter.Full);

    /// <summary>
    /// In-process runs timed by the benchmark thread's CPU time instead of the wall clock (Linux only): on a machine
    /// whose cores are busy with other work, this is what still measures the code rather than the queue for a core.
    /// </summary>
    public static IConfig CpuTime() => ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(Job.Default
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithClock(ThreadCpuClock.Instance)
            .WithWarmupCount(3)
            .WithIterationCount(15)
            .WithId("ThreadCpuTime"))
        .AddExporter(JsonExporter.Full);
}
