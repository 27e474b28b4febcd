using System.Globalization;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// <c>dotnet run --project bench/RatingPipeline.Scale -c Release -- [--quick] [--cdrs N] [--lanes N] [memory] [restore] [throughput] [processes] [latency] [tariff] [usage]</c>:
/// the scale figures, each with its baseline measured in the same run. No figure named runs them all; <c>--cdrs</c> sets
/// the throughput figure's CDR count (200,000; 40,000 quick), <c>--lanes</c> its raters' <c>Rater:Lanes</c> (1).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var quick = args.Contains("--quick");
        var cdrsAt = Array.IndexOf(args, "--cdrs");
        var throughputCdrs = quick ? 40_000 : 200_000;
        if (cdrsAt >= 0 && (cdrsAt + 1 >= args.Length || !int.TryParse(args[cdrsAt + 1], NumberStyles.None, CultureInfo.InvariantCulture, out throughputCdrs) || throughputCdrs < 1))
        {
            Console.Error.WriteLine("--cdrs takes a positive number of CDRs");
            return 2;
        }

        var lanesAt = Array.IndexOf(args, "--lanes");
        var lanes = 1;
        if (lanesAt >= 0 && (lanesAt + 1 >= args.Length || !int.TryParse(args[lanesAt + 1], NumberStyles.None, CultureInfo.InvariantCulture, out lanes) || lanes is < 1 or > 256))
        {
            Console.Error.WriteLine("--lanes takes a number of lanes, 1..256");
            return 2;
        }

        var figures = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (cdrsAt < 0 || i != cdrsAt + 1) && (lanesAt < 0 || i != lanesAt + 1))
            .ToHashSet(StringComparer.Ordinal);
        var all = figures.Count == 0;
        var known = new[] { "memory", "restore", "throughput", "processes", "latency", "tariff", "usage" };
        if (figures.Except(known).FirstOrDefault() is { } unknown)
        {
            Console.Error.WriteLine($"unknown figure '{unknown}'; choose from {string.Join(", ", known)}");
            return 2;
        }

        Console.WriteLine($"RatingPipeline scale figures{(quick ? " (quick sizes)" : "")}: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC, load average {LoadAverage()}");
        if (all || figures.Contains("memory"))
        {
            StateMemory.Run(quick ? 100_000 : 1_000_000);
        }

        if (all || figures.Contains("restore"))
        {
            RestoreTime.Run(100_000, quick ? 1 : 3);
        }

        if (all || figures.Contains("throughput"))
        {
            Throughput.Run(throughputCdrs, [1, 2, 4], lanes);
        }

        if (all || figures.Contains("processes"))
        {
            RaterProcesses.Run(throughputCdrs);
        }

        if (all || figures.Contains("latency"))
        {
            Latency.Run(quick ? 2_000 : 5_000, quick ? 15 : 60);
        }

        if (all || figures.Contains("tariff"))
        {
            TariffCost.Run(quick ? 50_000 : 200_000, quick ? 3 : 5);
        }

        if (all || figures.Contains("usage"))
        {
            UsageQueryLoad.Run(throughputCdrs, clients: 4, rounds: quick ? 1 : 3);
        }

        Row("done", "");
        return 0;
    }
}
