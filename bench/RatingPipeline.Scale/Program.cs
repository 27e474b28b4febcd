using System.Globalization;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// <c>dotnet run --project bench/RatingPipeline.Scale -c Release -- [--quick] [--cdrs N] [--lanes N] [--partitions N,N…] [--rounds N] [memory] [restore] [throughput] [lane] [processes] [latency] [tariff] [usage]</c>:
/// the scale figures, each with its baseline measured in the same run. No figure named runs them all; <c>--cdrs</c> sets
/// the throughput figure's CDR count (200,000; 40,000 quick), <c>--lanes</c> its raters' <c>Rater:Lanes</c> (1),
/// <c>--partitions</c> its partition counts (1,2,4), <c>--rounds</c> how many times it runs them (1; with more, a
/// summary of the rounds' ratios follows: on a shared machine one round says little); the lane figure uses the same CDR
/// count and at least three rounds.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var quick = args.Contains("--quick");
        var throughputCdrs = quick ? 40_000 : 200_000;
        if (!TryNumber(args, "--cdrs", 1, int.MaxValue, ref throughputCdrs, out var cdrsAt))
        {
            Console.Error.WriteLine("--cdrs takes a positive number of CDRs");
            return 2;
        }

        var lanes = 1;
        if (!TryNumber(args, "--lanes", 1, 256, ref lanes, out var lanesAt))
        {
            Console.Error.WriteLine("--lanes takes a number of lanes, 1..256");
            return 2;
        }

        var partitionsAt = Array.IndexOf(args, "--partitions");
        int[] partitionCounts = [1, 2, 4];
        if (partitionsAt >= 0 && (partitionsAt + 1 >= args.Length || !TryPartitionCounts(args[partitionsAt + 1], out partitionCounts)))
        {
            Console.Error.WriteLine("--partitions takes partition counts 1..64, separated by commas (e.g. 1,2,4)");
            return 2;
        }

        var rounds = 1;
        if (!TryNumber(args, "--rounds", 1, 20, ref rounds, out var roundsAt))
        {
            Console.Error.WriteLine("--rounds takes a number of rounds, 1..20");
            return 2;
        }

        int[] valueAt = [cdrsAt, lanesAt, partitionsAt, roundsAt];
        var figures = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && !valueAt.Any(at => at >= 0 && i == at + 1))
            .ToHashSet(StringComparer.Ordinal);
        var all = figures.Count == 0;
        var known = new[] { "memory", "restore", "throughput", "lane", "processes", "latency", "tariff", "usage" };
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
            Throughput.Run(throughputCdrs, partitionCounts, lanes, rounds);
        }

        if (all || figures.Contains("lane"))
        {
            LaneCost.Run(throughputCdrs, Math.Max(rounds, 3));
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

    /// <summary>
    /// The number given after option <paramref name="name"/> into <paramref name="value"/> (left as it is when the
    /// option is absent); false when the option has no number in <paramref name="min"/>..<paramref name="max"/> after it.
    /// <paramref name="at"/> is the option's place in <paramref name="args"/>, -1 when absent.
    /// </summary>
    private static bool TryNumber(string[] args, string name, int min, int max, ref int value, out int at)
    {
        at = Array.IndexOf(args, name);
        if (at < 0)
        {
            return true;
        }

        if (at + 1 < args.Length && int.TryParse(args[at + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var given) && given >= min && given <= max)
        {
            value = given;
            return true;
        }

        return false;
    }

    private static bool TryPartitionCounts(string text, out int[] counts)
    {
        var parts = text.Split(',');
        counts = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out counts[i]) || counts[i] is < 1 or > 64)
            {
                return false;
            }
        }

        return counts.Length > 0;
    }
}
