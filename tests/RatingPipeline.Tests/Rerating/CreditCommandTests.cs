using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// <c>ratingctl credit</c>: a goodwill adjustment in the re-rating ledger — recorded once however often it is given,
/// refused when its options are wrong, left out of what a re-rate compares, counted by the zero-rating audit when it
/// names a CDR of the month.
/// </summary>
[TestFixture]
public sealed class CreditCommandTests
{
    private const string Msisdn = "8613800000001";

    private static async Task<(int Code, string Stdout, string Stderr)> CreditAsync(CreditOptions options)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CreditCommand.RunAsync(options, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task A_credit_is_a_goodwill_line_in_the_ledger_recorded_once()
    {
        using var folder = new TestFolder();
        var options = new CreditOptions(Msisdn, 2_000_000, "complaint 2026-1205-17", "a9", folder.Path, null);
        var first = await CreditAsync(options);
        var again = await CreditAsync(options);
        var ledger = AdjustmentJson.ReadFile(folder.File(RerateCommand.AdjustmentsFile));

        Assert.Multiple(() =>
        {
            Assert.That(first.Code, Is.Zero, first.Stderr);
            Assert.That(again.Code, Is.Zero, again.Stderr);
            Assert.That(again.Stdout, Does.Contain("already recorded"));
            Assert.That(ledger, Has.Count.EqualTo(1));
            var credit = ledger.Single();
            Assert.That(credit.Kind, Is.EqualTo(Adjustment.Goodwill));
            Assert.That(credit.Reason, Is.EqualTo("complaint 2026-1205-17"));
            Assert.That((credit.Msisdn, credit.Id, credit.Difference, credit.NewCharge - credit.OldCharge), Is.EqualTo((Msisdn, "a9", -2_000_000L, -2_000_000L)));
            Assert.That(credit.AdjustmentId, Does.StartWith($"{Msisdn}:goodwill:a9:"));
            Assert.That(AdjustmentTotals.Of(ledger).Total, Is.EqualTo(new AdjustmentSum(1, -2_000_000)));
        });
    }

    [TestCase("86138", 1_000_000, "r", null, "must be 5-15")]
    [TestCase("8613800000001x", 1_000_000, "r", null, "must be 5-15")]
    [TestCase(Msisdn, 0, "r", null, "non-zero")]
    [TestCase(Msisdn, 1_000_000_000_000_001, "r", null, "non-zero")]
    [TestCase(Msisdn, 1_000_000, " ", null, "--reason")]
    [TestCase(Msisdn, 1_000_000, "r", "", "--cdr")]
    public async Task Bad_options_are_refused_with_exit_code_2(string msisdn, long amount, string reason, string? cdr, string message)
    {
        using var folder = new TestFolder();
        var run = await CreditAsync(new CreditOptions(msisdn == "86138" ? "8613" : msisdn, amount, reason, cdr, folder.Path, null));
        Assert.That(run.Code, Is.EqualTo(2));
        Assert.That(run.Stderr, Does.Contain(message));
        Assert.That(File.Exists(folder.File(RerateCommand.AdjustmentsFile)), Is.False, "nothing written");
    }

    [Test]
    public async Task Either_a_folder_or_a_cluster_is_named()
    {
        var neither = await CreditAsync(new CreditOptions(Msisdn, 1, "r", null, null, null));
        var both = await CreditAsync(new CreditOptions(Msisdn, 1, "r", null, "/tmp/x", "127.0.0.1:1"));
        Assert.That((neither.Code, both.Code), Is.EqualTo((2, 2)));
        Assert.That(neither.Stderr, Does.Contain("either --out DIR or --bootstrap"));
    }

    [Test]
    public async Task A_rerate_compares_charges_not_the_credits_granted()
    {
        using var folder = new TestFolder();
        var rated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, folder.File("old"));
        var tariff = Write(TariffWithLatePort("2026-11-20.1"), folder, "new.json");
        var plain = await RerateCliAsync(tariff, ExampleSubscribers, rated, ExampleCdrs, folder.File("plain"));
        var credited = folder.File("credited");
        Assert.That((await CreditAsync(new CreditOptions(Msisdn, 500_000, "goodwill on a9", "a9", credited, null))).Code, Is.Zero);
        var after = await RerateCliAsync(tariff, ExampleSubscribers, rated, ExampleCdrs, credited);

        static IEnumerable<string> Rerated(string folder) =>
            AdjustmentJson.ReadFile(Path.Combine(folder, RerateCommand.AdjustmentsFile)).Where(a => !a.IsGoodwill).Select(a => a.AdjustmentId + " " + a.Difference);
        Assert.Multiple(() =>
        {
            Assert.That((plain.Code, after.Code), Is.EqualTo((0, 0)), after.Stderr);
            Assert.That(Rerated(credited), Is.EqualTo(Rerated(folder.File("plain"))).And.Not.Empty, "the same re-rate adjustments beside the credit");
        });
    }

    [Test]
    public async Task The_zero_rating_audit_counts_credits_naming_a_cdr_of_the_month()
    {
        using var folder = new TestFolder();
        var rated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, folder.File("old"));
        var ledger = folder.File("ledger");
        await CreditAsync(new CreditOptions(Msisdn, 300_000, "complaint A", "a9", ledger, null));
        await CreditAsync(new CreditOptions(Msisdn, 200_000, "complaint B", "a1", ledger, null));
        await CreditAsync(new CreditOptions(Msisdn, 700_000, "on the account", null, ledger, null));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await AuditCommand.RunZeroRatingAsync(
            new ZeroRatingAuditOptions(rated, "2026-11", folder.File("audit"), Adjustments: Path.Combine(ledger, RerateCommand.AdjustmentsFile)),
            stdout, stderr, CancellationToken.None);

        Assert.That(code, Is.Zero, stderr.ToString());
        Assert.That(stdout.ToString(), Does.Contain("Goodwill credits naming a CDR of the month: 2, 0.50 yuan (500000 micros)"));
        Assert.That(File.ReadAllText(Path.Combine(folder.File("audit"), AuditCommand.SummaryTextFile)), Does.Contain("Goodwill credits naming a CDR of the month: 2"));
    }
}

/// <summary><c>ratingctl credit --bootstrap</c>: the goodwill line goes to the adjustments topic, keyed by msisdn (read back with kcat).</summary>
[TestFixture]
[Category("kafka")]
[Category("needs-kcat")]
public sealed class CreditToTopicTests
{
    [Test]
    public async Task A_credit_goes_to_the_adjustments_topic_keyed_by_msisdn()
    {
        using var cluster = RatingPipeline.Kafka.EmbeddedCluster.Start(partitions: 2);
        var topics = RatingPipeline.Tests.Rater.TestTopics.Create(cluster, RatingPipeline.Tests.Rater.TestTopics.UniquePrefix("credit"));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CreditCommand.RunAsync(new CreditOptions("8613800000001", 1_500_000, "complaint C", "a3", null, cluster.BootstrapServers, topics.Adjustments),
            stdout, stderr, CancellationToken.None);
        var records = RatingPipeline.Tests.Kafka.Kcat.ConsumeToEnd(cluster.BootstrapServers, topics.Adjustments);

        Assert.That(code, Is.Zero, stderr.ToString());
        Assert.That(records, Has.Count.EqualTo(1));
        Assert.That(records[0].Key, Is.EqualTo("8613800000001"));
        var credit = AdjustmentJson.TryParse(System.Text.Encoding.UTF8.GetBytes(records[0].Value!), out var error);
        Assert.That(credit, Is.Not.Null, error);
        Assert.That((credit!.Kind, credit.Difference, credit.Id), Is.EqualTo((Adjustment.Goodwill, -1_500_000L, "a3")));
    }
}
