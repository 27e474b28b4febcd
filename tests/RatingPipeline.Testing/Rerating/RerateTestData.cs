using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Rerating;

/// <summary>A temporary folder, deleted on dispose.</summary>
internal sealed class TestFolder : IDisposable
{
    public TestFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ratingpipeline-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>Inputs and helpers shared by the re-rating and audit tests.</summary>
internal static class RerateTestData
{
    public static string ExampleFolder => Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples", "basic");

    public static string ExampleTariff => Path.Combine(ExampleFolder, "tariff.json");

    public static string ExampleSubscribers => Path.Combine(ExampleFolder, "subscribers.jsonl");

    public static string ExampleCdrs => Path.Combine(ExampleFolder, "cdrs.jsonl");

    /// <summary>The example tariff (or another) as a mutable JSON tree.</summary>
    public static JsonObject TariffJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    public static JsonArray ZeroRated(JsonObject tariff) => tariff["zeroRated"]!.AsArray();

    public static JsonObject ZeroRatingEntry(string pattern, string reason, string from = "2012-05-20T00:00:00+08:00", params string[] types) =>
        new()
        {
            ["pattern"] = pattern,
            ["types"] = new JsonArray([.. (types.Length == 0 ? ["sms"] : types).Select(t => (JsonNode)t)]),
            ["from"] = from,
            ["reason"] = reason,
        };

    public static string Write(JsonObject tariff, TestFolder folder, string name)
    {
        var path = folder.File(name);
        File.WriteAllText(path, tariff.ToJsonString());
        return path;
    }

    /// <summary>The example tariff plus a late-added activation port covering a9's peer <c>004475374102</c>.</summary>
    public static JsonObject TariffWithLatePort(string version)
    {
        var tariff = TariffJson(ExampleTariff);
        tariff["version"] = version;
        ZeroRated(tariff).Add(ZeroRatingEntry("004475374102", "apple-activation-late"));
        return tariff;
    }

    /// <summary>Rates a CDR file with <c>ratingctl rate</c> and returns the rated.jsonl path.</summary>
    public static async Task<string> RateAsync(string tariff, string subscribers, string cdrs, string outDir)
    {
        using var stderr = new StringWriter();
        var code = await RateCommand.RunAsync(new RateOptions(tariff, subscribers, cdrs, outDir, Progress: false), TextWriter.Null, stderr, CancellationToken.None);
        Assert.That(code, Is.Zero, stderr.ToString());
        return Path.Combine(outDir, "rated.jsonl");
    }

    public static IEnumerable<ReadOnlyMemory<byte>> Lines(string path) =>
        File.ReadAllLines(path).Select(l => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(l));

    /// <summary>Re-rates on <paramref name="lanes"/> lanes with the subscriber file read under the new tariff; the findings in memory.</summary>
    public static RerateResult Rerate(int lanes, string newTariff, string subscribers, string rated, string cdrs, AdjustmentLedger? ledger = null)
    {
        var tariff = TariffLoader.LoadFile(newTariff);
        return Rerate(lanes, tariff, SubscriberFile.Load(subscribers, tariff), rated, cdrs, ledger);
    }

    /// <summary>Re-rates on <paramref name="lanes"/> lanes (profile lines in the CDR file replace profiles); the findings in memory.</summary>
    public static RerateResult Rerate(int lanes, Tariff tariff, IReadOnlyCollection<SubscriberProfile> profiles, string rated, string cdrs, AdjustmentLedger? ledger = null)
    {
        var rerater = new RerateLanes(tariff, profiles, ledger, null, profileLines: true, lanes);
        rerater.ReadRated(rated, CancellationToken.None);
        var findings = new Findings();
        rerater.Run(cdrs, findings, CancellationToken.None);
        return new RerateResult(findings.Adjustments, findings.Mismatches, rerater.Summary);
    }

    public static async Task<(int Code, string Stdout, string Stderr)> RerateCliAsync(int lanes, string newTariff, string subscribers, string rated, string cdrs, string outDir)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await RerateCommand.RunAsync(new RerateOptions(newTariff, subscribers, rated, cdrs, outDir, Lanes: lanes), stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static List<JsonElement> JsonLines(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>Writes JSON Lines built from anonymous objects or raw strings.</summary>
    public static string WriteLines(TestFolder folder, string name, IEnumerable<string> lines)
    {
        var path = folder.File(name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    private sealed class Findings : IRerateReceiver
    {
        public List<Adjustment> Adjustments { get; } = [];

        public List<RerateMismatch> Mismatches { get; } = [];

        public void Adjustment(Adjustment adjustment) => Adjustments.Add(adjustment);

        public void Mismatch(RerateMismatch mismatch) => Mismatches.Add(mismatch);
    }
}
