using System.Text.Json;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// The allocation budget gate: compares the bytes allocated per operation in BenchmarkDotNet's JSON reports
/// with the budget file (<c>"Type.Method": bytes</c>) and fails when a benchmark allocates more than its budget,
/// has no budget, or has a budget but no result.
/// </summary>
public static class AllocationBudget
{
    public const string FileName = "allocation-budget.json";

    /// <summary>Checks every <c>*.json</c> report under <paramref name="resultsDirectory"/>; returns the exit code.</summary>
    public static int Check(string resultsDirectory, string budgetPath, TextWriter output)
    {
        if (!Directory.Exists(resultsDirectory))
        {
            output.WriteLine($"FAIL no results directory {resultsDirectory}");
            return 2;
        }

        Dictionary<string, long> budgets;
        try
        {
            budgets = ReadBudgets(budgetPath);
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException)
        {
            output.WriteLine($"FAIL budget file {budgetPath}: {e.Message}");
            return 2;
        }

        var measured = new SortedDictionary<string, long?>(StringComparer.Ordinal);
        foreach (var report in Directory.EnumerateFiles(resultsDirectory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            ReadReport(report, measured);
        }

        if (measured.Count == 0)
        {
            output.WriteLine($"FAIL no benchmark results in {resultsDirectory} (export with JsonExporter)");
            return 1;
        }

        var failed = 0;
        foreach (var (name, bytes) in measured)
        {
            // A budget for "Type.Method" covers every parameter case "Type.Method(Mix=…)" that has no budget of its own.
            if (!budgets.TryGetValue(name, out var budget) && !budgets.TryGetValue(WithoutParameters(name), out budget))
            {
                output.WriteLine($"FAIL {name}: {Show(bytes)} allocated, no budget in {FileName}");
                failed++;
            }
            else if (bytes is null)
            {
                output.WriteLine($"FAIL {name}: no allocation figure (is the memory diagnoser on?), budget {budget} B/op");
                failed++;
            }
            else if (bytes > budget)
            {
                output.WriteLine($"FAIL {name}: {bytes} B/op allocated, budget {budget} B/op");
                failed++;
            }
            else
            {
                output.WriteLine($"PASS {name}: {bytes} B/op allocated, budget {budget} B/op");
            }
        }

        var unmeasured = budgets.Keys.Where(k => !measured.Keys.Any(m => m == k || WithoutParameters(m) == k)).Order(StringComparer.Ordinal).ToList();
        foreach (var name in unmeasured)
        {
            output.WriteLine($"FAIL {name}: budgeted but not in the results (renamed, or filtered out?)");
            failed++;
        }

        output.WriteLine(failed == 0 ? $"allocation budget: PASS ({measured.Count} benchmarks)" : $"allocation budget: FAIL ({failed} of {measured.Count + unmeasured.Count})");
        return failed == 0 ? 0 : 1;
    }

    private static Dictionary<string, long> ReadBudgets(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var budgets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            if (entry.Name.StartsWith('$'))
            {
                continue; // "$comment" and the like
            }

            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt64(out var bytes) || bytes < 0)
            {
                throw new InvalidDataException($"\"{entry.Name}\" must be a whole number of bytes ≥ 0");
            }

            budgets[entry.Name] = bytes;
        }

        return budgets;
    }

    /// <summary>Reads one BenchmarkDotNet JSON report (full or brief); other JSON files are skipped.</summary>
    private static void ReadReport(string path, SortedDictionary<string, long?> measured)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException)
        {
            return;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("Benchmarks", out var benchmarks)
                || benchmarks.ValueKind != JsonValueKind.Array)
            {
                return;
            }

            foreach (var benchmark in benchmarks.EnumerateArray())
            {
                var name = $"{Text(benchmark, "Type")}.{Text(benchmark, "Method")}";
                var parameters = Text(benchmark, "Parameters");
                if (parameters.Length > 0)
                {
                    name += $"({parameters})";
                }

                long? bytes = benchmark.TryGetProperty("Memory", out var memory) && memory.ValueKind == JsonValueKind.Object
                    && memory.TryGetProperty("BytesAllocatedPerOperation", out var allocated) && allocated.TryGetInt64(out var value)
                    ? value
                    : null;

                // Several jobs of one benchmark: the largest allocation counts.
                measured[name] = measured.TryGetValue(name, out var previous) && previous > bytes ? previous : bytes;
            }
        }
    }

    private static string WithoutParameters(string name)
    {
        var open = name.IndexOf('(', StringComparison.Ordinal);
        return open < 0 ? name : name[..open];
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private static string Show(long? bytes) => bytes is null ? "unknown bytes" : $"{bytes} B/op";
}
