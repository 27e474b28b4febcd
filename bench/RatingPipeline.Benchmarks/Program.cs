using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using RatingPipeline.Benchmarks;

// Modes:
//   (BenchmarkDotNet arguments)              run benchmarks, e.g. --filter '*DecodeRate*' --job short
//   --gate (BenchmarkDotNet arguments)       the same with the quick in-process allocation-gate job
//   --cpu-time (BenchmarkDotNet arguments)   in-process, timed by the thread's CPU time (for a busy machine)
//   --check-budget RESULTS_DIR [--budget F]  check BenchmarkDotNet's JSON reports against the allocation budget
if (args is ["--check-budget", var results, .. var rest])
{
    var budget = rest is ["--budget", var path] ? path : Path.Combine(AppContext.BaseDirectory, AllocationBudget.FileName);
    return AllocationBudget.Check(results, budget, Console.Out);
}

IConfig? config = null;
if (args.Contains("--gate"))
{
    config = BenchmarkConfig.Gate();
    args = [.. args.Where(a => a != "--gate")];
}
else if (args.Contains("--cpu-time"))
{
    config = BenchmarkConfig.CpuTime();
    args = [.. args.Where(a => a != "--cpu-time")];
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(args, config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
