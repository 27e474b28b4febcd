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
        AddExporter(JsonExporter.Full, MarkdownExporter.GitHub);
    }

    /// <summary>
    /// The allocation gate for CI: in-process (no project generation or build per benchmark), one warm-up and three
    /// one-invocation iterations. Its times are indicative only; its allocation figures are the point.
    /// </summary>
    public static IConfig Gate() => ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(Job.Dry
            .WithToolchain(InProcessNoEmitToolchain.Instance)
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithId("AllocGate"))
        .AddExporter(JsonExporter.Full);
}
