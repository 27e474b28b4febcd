using System.Globalization;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// <c>dotnet run --project bench/RatingPipeline.Scale -c Release -- [--quick] [memory] [restore] [throughput] [latency] [tariff]</c>:
/// the scale figures, each with its baseline measured in the same run. No argument runs them all.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var quick = args.Contains("--quick");
        var figures = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var all = figures.Count == 0;
        var known = new[] { "memory", "restore", "throughput", "latency", "tariff" };
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
            Throughput.Run(quick ? 40_000 : 200_000, [1, 2, 4]);
        }

        if (all || figures.Contains("latency"))
        {
            Latency.Run(quick ? 2_000 : 5_000, quick ? 15 : 60);
        }

        if (all || figures.Contains("tariff"))
        {
            TariffCost.Run(quick ? 50_000 : 200_000, quick ? 3 : 5);
        }

        Row("done", "");
        return 0;
    }
}
