using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Tests.Kafka;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// <c>rerate --from-topic</c> where <c>cdrs</c> no longer holds the cycle's beginning (it keeps 7 days, <c>rated-cdrs</c>
/// 62): the topics are filled by kcat, <c>rated-cdrs</c> with the 150 rated SMS of one cycle and <c>cdrs</c> with only
/// the last 30 CDRs, as retention leaves them. And <c>credit --bootstrap</c> on the same cluster's <c>adjustments</c>.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[NonParallelizable]
public sealed class RerateRetentionTopicTests
{
    private const string Msisdn = "8613800000001";

    private TestFolder _folder = null!;
    private EmbeddedCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _folder = new TestFolder();
        _cluster = EmbeddedCluster.Start(partitions: 2);
        var profile = $"{{\"msisdn\":\"{Msisdn}\",\"plan\":\"mini-18\",\"cycleDay\":1}}";
        var sms = Enumerable.Range(0, 150)
            .Select(i => $"{{\"id\":\"s{i:D3}\",\"type\":\"sms\",\"msisdn\":\"{Msisdn}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"2026-11-02T{2 + (i / 60):D2}:{i % 60:D2}:00+08:00\"}}")
            .ToList();
        var rated = await RateAsync(ExampleTariff, WriteLines(_folder, "subscribers.jsonl", [profile]), WriteLines(_folder, "cdrs.jsonl", sms), _folder.File("old"));
        Kcat.Produce(_cluster.BootstrapServers, _cluster.Topics.Subscribers, [(Msisdn, profile)]);
        Kcat.Produce(_cluster.BootstrapServers, _cluster.Topics.RatedCdrs, File.ReadAllLines(rated).Where(l => l.Length > 0).Select(l => (Msisdn, l)));
        Kcat.Produce(_cluster.BootstrapServers, _cluster.Topics.Cdrs, sms.Skip(120).Select(l => (Msisdn, l)));
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _cluster.Dispose();
        _folder.Dispose();
    }

    /// <summary>
    /// mini-18's 20 SMS of allowance were used by the first 20 of the cycle; the 30 left in <c>cdrs</c> paid 100,000
    /// each. Re-rated under the same rules with a new version from the topics, they still do: no adjustment, none
    /// produced, and the 120 rated records before the topic's beginning are said to be taken as rated.
    /// </summary>
    [Test]
    public async Task A_topic_past_the_cycle_beginning_is_re_rated_from_where_the_old_run_stood()
    {
        var newVersion = TariffJson(ExampleTariff);
        newVersion["version"] = "2026-11-15.1";
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RerateFromTopics.RunFromTopicsAsync(Write(newVersion, _folder, "new.json"), _cluster.BootstrapServers, _cluster.Topics,
            _folder.File("topic-mode"), stdout, stderr, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, stderr.ToString());
            Assert.That(stdout.ToString(), Does.StartWith("30 records compared, 0 adjustments, total difference 0 micros; 0 already adjusted, 0 mismatches; "
                + "120 rated records before the replay taken as rated (1 subscribers taken up where the old run stood)"));
            Assert.That(stdout.ToString(), Does.Contain("0 adjustments produced"));
            Assert.That(Kcat.ConsumeToEnd(_cluster.BootstrapServers, _cluster.Topics.Adjustments).Where(r => r.Value?.Contains("\"goodwill\"", StringComparison.Ordinal) != true),
                Is.Empty, "no re-rating adjustment (a goodwill credit of the other test may be there)");
        });
    }

    /// <summary>
    /// A goodwill credit produced to the adjustments topic (key msisdn) once, however often it is given: the topic is the
    /// ledger, read before producing. The zero-rating audit from the cluster counts it in the month of the CDR it names.
    /// </summary>
    [Test]
    public async Task A_goodwill_credit_goes_to_the_adjustments_topic_once_and_the_audit_counts_it()
    {
        var options = new CreditOptions(Msisdn, "100000", "complaint 2026-1150", "s130", null, _cluster.BootstrapServers, _cluster.Topics.Adjustments);
        using var first = new StringWriter();
        using var second = new StringWriter();
        using var stderr = new StringWriter();

        var codes = (await CreditCommand.RunAsync(options, first, stderr, CancellationToken.None), await CreditCommand.RunAsync(options, second, stderr, CancellationToken.None));

        var onTopic = Kcat.ConsumeToEnd(_cluster.BootstrapServers, _cluster.Topics.Adjustments).Where(r => r.Value?.Contains("\"goodwill\"", StringComparison.Ordinal) == true).ToList();
        var auditOut = _folder.File("audit");
        var audit = await AuditCommand.Build().Parse(["zero-rating", "--from-topic", _cluster.Topics.RatedCdrs, "--bootstrap", _cluster.BootstrapServers,
            "--month", "2026-11", "--out", auditOut]).InvokeAsync();
        var ledger = JsonDocument.Parse(File.ReadAllText(Path.Combine(auditOut, AuditCommand.SummaryJsonFile))).RootElement.GetProperty("ledger");
        Assert.Multiple(() =>
        {
            Assert.That(codes, Is.EqualTo((0, 0)), stderr.ToString());
            Assert.That(first.ToString(), Does.Contain("recorded as").And.Not.Contain("already"));
            Assert.That(second.ToString(), Does.Contain("already recorded"));
            Assert.That(onTopic, Has.Count.EqualTo(1));
            Assert.That(onTopic[0].Key, Is.EqualTo(Msisdn));
            Assert.That(audit, Is.Zero);
            Assert.That(ledger.GetProperty("goodwill").GetProperty("count").GetInt64(), Is.EqualTo(1));
            Assert.That(ledger.GetProperty("goodwill").GetProperty("differenceMicros").GetInt64(), Is.EqualTo(-100_000));
        });
    }

    [Test]
    public async Task A_credit_to_a_topic_the_cluster_lacks_exits_1()
    {
        using var stderr = new StringWriter();

        var code = await CreditCommand.RunAsync(new CreditOptions(Msisdn, "100000", "ticket", null, null, _cluster.BootstrapServers, "no-such-topic"),
            TextWriter.Null, stderr, CancellationToken.None);

        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("topic no-such-topic does not exist"));
    }
}
