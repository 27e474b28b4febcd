using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Tests.Kafka;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// <c>rerate --from-topic</c> and <c>audit zero-rating --from-topic</c> on the embedded cluster: the topics are
/// filled by kcat (the outside client) with the worked example's profiles, CDRs and rated records — the rated
/// ones twice, as a rater recovering from a crash may deliver them — and the results must equal file mode.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[NonParallelizable]
public sealed class RerateTopicModeTests
{
    private TestFolder _folder = null!;
    private EmbeddedCluster _cluster = null!;
    private string _oldRated = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _folder = new TestFolder();
        _cluster = EmbeddedCluster.Start(partitions: 2);
        _oldRated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
        Kcat.Produce(_cluster.BootstrapServers, _cluster.Topics.Subscribers, KeyedLines(ExampleSubscribers));
        Kcat.Produce(_cluster.BootstrapServers, _cluster.Topics.Cdrs, KeyedLines(ExampleCdrs));
        var rated = KeyedLines(_oldRated).ToList();
        Kcat.Produce(_cluster.BootstrapServers, _cluster.Topics.RatedCdrs, rated.Concat(rated));
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _cluster.Dispose();
        _folder.Dispose();
    }

    [Test]
    public async Task Late_port_credit_from_topics_equals_file_mode_and_is_produced_once()
    {
        var tariff = Write(TariffWithLatePort("2026-11-15.1"), _folder, "new.json");
        var fileOut = _folder.File("file-mode");
        using (var stderr = new StringWriter())
        {
            Assert.That(await RerateCommand.RunAsync(new RerateOptions(tariff, ExampleSubscribers, _oldRated, ExampleCdrs, fileOut), TextWriter.Null, stderr, CancellationToken.None),
                Is.Zero, stderr.ToString());
        }

        var topicOut = _folder.File("topic-mode");
        var first = await RunTopicModeAsync(tariff, topicOut);
        var second = await RunTopicModeAsync(tariff, _folder.File("topic-mode-again"));

        // Told the old tariff, topic mode narrows too: a9's subscriber (its CDR answered differently, its credit in the ledger).
        var narrowed = await RunTopicModeAsync(tariff, _folder.File("topic-mode-narrowed"), oldTariff: ExampleTariff);

        var fromFiles = Lines(Path.Combine(fileOut, RerateCommand.AdjustmentsFile));
        var fromTopics = Lines(Path.Combine(topicOut, RerateCommand.AdjustmentsFile));
        var onTopic = Kcat.ConsumeToEnd(_cluster.BootstrapServers, _cluster.Topics.Adjustments).Select(r => r.Value).ToList();
        Assert.Multiple(() =>
        {
            // a9 (SMS to 004475374102) was charged 1.00 yuan and is now zero-rated: one credit of -1,000,000 micros.
            Assert.That(fromFiles, Has.Count.EqualTo(1));
            Assert.That(JsonDocument.Parse(fromFiles[0]).RootElement.GetProperty("difference").GetInt64(), Is.EqualTo(-1_000_000));
            Assert.That(fromTopics, Is.EqualTo(fromFiles), "topic mode sees the same records as file mode (duplicated rated records collapse)");
            Assert.That(first, Does.Contain("1 adjustments produced"));
            Assert.That(second, Does.Contain("0 adjustments produced"), "the adjustments topic is the ledger: nothing twice");
            Assert.That(onTopic, Is.EqualTo(fromFiles));
            Assert.That(narrowed, Does.Match(@"^[1-9]\d* records compared, 0 adjustments, total difference 0 micros; 1 already adjusted, 0 mismatches; narrowed to the change: 1 subscribers replayed, [1-9]\d* CDR lines and [1-9]\d* rated records of the others left out\n0 adjustments produced"));
        });
    }

    [Test]
    public async Task Audit_from_topic_counts_each_zero_rated_record_once()
    {
        var fileOut = _folder.File("audit-file");
        var topicOut = _folder.File("audit-topic");
        var options = new ZeroRatingAuditOptions(_oldRated, "2026-11", fileOut, Sample: 3, Seed: 5);
        Assert.That(await AuditCommand.RunZeroRatingAsync(options, TextWriter.Null, TextWriter.Null, CancellationToken.None), Is.Zero);
        var root = AuditCommand.Build();
        var exit = await root.Parse(["zero-rating", "--from-topic", _cluster.Topics.RatedCdrs, "--bootstrap", _cluster.BootstrapServers,
            "--month", "2026-11", "--sample", "3", "--seed", "5", "--out", topicOut]).InvokeAsync();

        var fromFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(fileOut, AuditCommand.SummaryJsonFile))).RootElement;
        var fromTopic = JsonDocument.Parse(File.ReadAllText(Path.Combine(topicOut, AuditCommand.SummaryJsonFile))).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            // The example's zero-rated records in November: a7, a8 (apple-activation), a10 (customer-service), a10c (apple-activation-2026).
            Assert.That(fromFile.GetRawText(), Does.Contain("\"apple-activation\""));
            Assert.That(fromTopic.GetProperty("perRule").GetRawText(), Is.EqualTo(fromFile.GetProperty("perRule").GetRawText()));
        });
    }

    private async Task<string> RunTopicModeAsync(string tariff, string outDir, string? oldTariff = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await RerateFromTopics.RunFromTopicsAsync(tariff, _cluster.BootstrapServers, _cluster.Topics, outDir, stdout, stderr, CancellationToken.None,
            progress: false, oldTariff: oldTariff);
        Assert.That(exit, Is.Zero, stderr.ToString());
        return stdout.ToString();
    }

    private static List<string> Lines(string path) => [.. File.ReadAllLines(path).Where(l => l.Length > 0)];

    /// <summary>Non-blank lines keyed by their msisdn (unparseable lines by a fixed key).</summary>
    private static IEnumerable<(string Key, string Value)> KeyedLines(string path)
    {
        foreach (var line in File.ReadAllLines(path).Where(l => l.Trim().Length > 0))
        {
            string key;
            try
            {
                using var json = JsonDocument.Parse(line);
                key = json.RootElement.TryGetProperty("msisdn", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "none";
            }
            catch (JsonException)
            {
                key = "none";
            }

            yield return (key, line);
        }
    }
}
