using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using RatingPipeline.Tests.Schemas;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// <c>ratingctl credit</c>: a goodwill credit for one complaining subscriber, in the adjustment ledger's format (kind
/// goodwill, a deterministic adjustmentId), recorded once however often it is given, checked before it is recorded,
/// left alone by re-rating and counted by the zero-rating audit in the month of the CDR it names.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class CreditCommandTests(int lanes)
{
    private readonly int _lanes = lanes;

    private const string Subscriber1 = "8613800000001";

    private TestFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TestFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task A_goodwill_credit_is_appended_to_the_ledger_once_however_often_it_is_given()
    {
        var ledger = _folder.File("ledger");
        var options = new CreditOptions(Subscriber1, "5000000", "complaint 2026-1142: activation SMS abroad", "a9", ledger, null);

        var first = await RunAsync(options);
        var second = await RunAsync(options);
        var other = await RunAsync(options with { Reason = "complaint 2026-1143", Cdr = null });

        var lines = JsonLines(Path.Combine(ledger, RerateCommand.AdjustmentsFile));
        var expectedId = GoodwillCredit.IdOf(Subscriber1, 5_000_000, "complaint 2026-1142: activation SMS abroad", "a9");
        var totals = JsonDocument.Parse(File.ReadAllText(Path.Combine(ledger, RerateCommand.TotalsFile))).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That((first.Code, second.Code, other.Code), Is.EqualTo((0, 0, 0)), first.Stderr + second.Stderr + other.Stderr);
            Assert.That(first.Stdout, Does.StartWith($"goodwill credit of 5000000 micros to {Subscriber1} recorded as {expectedId}"));
            Assert.That(second.Stdout, Does.StartWith($"goodwill credit of 5000000 micros to {Subscriber1} already recorded as {expectedId}"));
            Assert.That(lines, Has.Count.EqualTo(2), "the repeated credit is recorded once; another reason is another credit");
            Assert.That(expectedId, Does.Match($"^{Subscriber1}:goodwill:[0-9a-f]{{16}}$"));
            Assert.That(lines[0].GetRawText(), Is.EqualTo(
                $$"""{"adjustmentId":"{{expectedId}}","kind":"goodwill","id":"a9","msisdn":"{{Subscriber1}}","cycle":null,"oldCharge":null,"newCharge":null,"difference":-5000000,"oldTariffVersion":null,"newTariffVersion":null,"zeroRated":null,"reason":"complaint 2026-1142: activation SMS abroad"}"""));
            Assert.That(lines[1].GetProperty("id").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(totals.GetProperty("difference").GetInt64(), Is.EqualTo(-10_000_000));
            Assert.That(totals.GetProperty("byKind").GetProperty("goodwill").GetProperty("adjustments").GetInt64(), Is.EqualTo(2));
            Assert.That(totals.GetProperty("byKind").GetProperty("rerate").GetProperty("adjustments").GetInt64(), Is.Zero);
            Assert.That(totals.GetProperty("lastRun").GetProperty("command").GetString(), Is.EqualTo("credit"));
        });
    }

    [Test]
    public async Task A_negative_amount_is_a_debit()
    {
        var (code, stdout, stderr) = await RunAsync(new CreditOptions(Subscriber1, "-5000000", "credit of complaint 2026-1142 given twice by mistake", null, _folder.File("l"), null));

        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout, Does.StartWith($"goodwill debit of 5000000 micros to {Subscriber1}"));
        Assert.That(JsonLines(Path.Combine(_folder.File("l"), RerateCommand.AdjustmentsFile)).Single().GetProperty("difference").GetInt64(), Is.EqualTo(5_000_000));
    }

    [TestCase("86138-00000", "5000000", "ticket 1", null, "ledger", null, "msisdn \"86138-00000\"")]
    [TestCase("8613800000001x", "5000000", "ticket 1", null, "ledger", null, "5-15 ASCII digits")]
    [TestCase("1234", "5000000", "ticket 1", null, "ledger", null, "5-15 ASCII digits")]
    [TestCase("8613800000001", "0", "ticket 1", null, "ledger", null, "must not be 0")]
    [TestCase("8613800000001", "1.5", "ticket 1", null, "ledger", null, "whole number of micros")]
    [TestCase("8613800000001", "5e6", "ticket 1", null, "ledger", null, "whole number of micros")]
    [TestCase("8613800000001", "99999999999999999999", "ticket 1", null, "ledger", null, "whole number of micros")]
    [TestCase("8613800000001", "1000000000000001", "ticket 1", null, "ledger", null, "beyond 1000000000000000")]
    [TestCase("8613800000001", "-1000000000000001", "ticket 1", null, "ledger", null, "beyond 1000000000000000")]
    [TestCase("8613800000001", "5000000", "  ", null, "ledger", null, "reason must not be empty")]
    [TestCase("8613800000001", "5000000", "line one\nline two", null, "ledger", null, "one line")]
    [TestCase("8613800000001", "5000000", "ticket 1", "", "ledger", null, "CDR id")]
    [TestCase("8613800000001", "5000000", "ticket 1", "é1", "ledger", null, "CDR id")]
    [TestCase("8613800000001", "5000000", "ticket 1", null, null, null, "give --out DIR")]
    [TestCase("8613800000001", "5000000", "ticket 1", null, "ledger", "127.0.0.1:9", "give --out DIR")]
    [TestCase(null, "5000000", "ticket 1", null, "ledger", null, "give --msisdn")]
    [TestCase("8613800000001", null, "ticket 1", null, "ledger", null, "--amount MICROS")]
    public async Task Bad_input_exits_2_with_a_message_and_records_nothing(string? msisdn, string? amount, string? reason, string? cdr, string? output,
        string? bootstrap, string message)
    {
        var ledger = output is null ? null : _folder.File(output);

        var (code, stdout, stderr) = await RunAsync(new CreditOptions(msisdn, amount, reason, cdr, ledger, bootstrap));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(2));
            Assert.That(stderr, Does.StartWith("ratingctl credit: ").And.Contain(message));
            Assert.That(stdout, Is.Empty);
            Assert.That(ledger is not null && File.Exists(Path.Combine(ledger, RerateCommand.AdjustmentsFile)), Is.False);
        });
    }

    [Test]
    public async Task Unknown_options_on_the_command_line_exit_2()
    {
        var command = CreditCommand.Build();
        var stderr = new StringWriter();
        var saved = Console.Error;
        Console.SetError(stderr);
        try
        {
            var exit = await command.Parse(["--msisdn", Subscriber1, "--amount", "5", "--reason", "r", "--out", _folder.File("l"), "--ammount", "6"]).InvokeAsync();

            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.ToString(), Does.Contain("not understood: --ammount 6"));
        }
        finally
        {
            Console.SetError(saved);
        }
    }

    [Test]
    public async Task A_ledger_line_that_is_no_entry_stops_the_credit_with_exit_2()
    {
        var ledger = _folder.File("ledger");
        Directory.CreateDirectory(ledger);
        await File.WriteAllTextAsync(Path.Combine(ledger, RerateCommand.AdjustmentsFile), "{\"adjustmentId\":\"x\",\"kind\":\"refund\"}\n");

        var (code, _, stderr) = await RunAsync(new CreditOptions(Subscriber1, "5000000", "ticket 1", null, ledger, null));

        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("adjustments.jsonl:1: kind must be rerate or goodwill"));
    }

    /// <summary>
    /// A goodwill credit is given on top of what the CDR costs: a later re-rate that zero-rates a9 credits its whole
    /// charge (1,000,000, from "sms * mo *") — not what is left after the goodwill — and a re-rate under the old tariff
    /// does not take the goodwill back.
    /// </summary>
    [Test]
    public async Task Re_rating_neither_takes_a_goodwill_credit_back_nor_counts_it_towards_the_charge()
    {
        var oldRated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
        var ledger = _folder.File("ledger");
        Assert.That((await RunAsync(new CreditOptions(Subscriber1, "400000", "ticket 7", "a9", ledger, null))).Code, Is.Zero);

        var unchanged = await RerateCliAsync(_lanes, ExampleTariff, ExampleSubscribers, oldRated, ExampleCdrs, ledger);
        var latePort = await RerateCliAsync(_lanes, Write(TariffWithLatePort("2026-11-15.1"), _folder, "new.json"), ExampleSubscribers, oldRated, ExampleCdrs, ledger);

        var lines = JsonLines(Path.Combine(ledger, RerateCommand.AdjustmentsFile));
        Assert.Multiple(() =>
        {
            Assert.That(unchanged.Stdout, Does.Contain(" 0 adjustments, total difference 0 micros"), unchanged.Stderr);
            Assert.That(latePort.Stdout, Does.Contain(" 1 adjustments, total difference -1000000 micros"), latePort.Stderr);
            Assert.That(lines.Select(l => (l.GetProperty("kind").GetString(), l.GetProperty("id").GetString(), l.GetProperty("difference").GetInt64())),
                Is.EqualTo(new[] { ("goodwill", "a9", -400_000L), ("rerate", "a9", -1_000_000L) }));
            Assert.That(lines[1].GetProperty("oldCharge").GetInt64(), Is.EqualTo(1_000_000));
        });
    }

    /// <summary>
    /// The audit counts ledger entries that name a CDR in the month the CDR started: a goodwill credit for a9 (2 Nov)
    /// counts in November; one for a CDR no rated record holds is counted apart; one naming no CDR is not counted; a
    /// re-rating credit for a9 counts under re-rating, on a record that was not zero-rated.
    /// </summary>
    [Test]
    public async Task The_zero_rating_audit_counts_goodwill_credits_naming_a_cdr_of_the_month()
    {
        var oldRated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
        var ledger = _folder.File("ledger");
        foreach (var (reason, cdr) in new[] { ("ticket 7", "a9"), ("ticket 8", "a7"), ("ticket 9", "no-such-cdr"), ("ticket 10", (string?)null) })
        {
            Assert.That((await RunAsync(new CreditOptions(Subscriber1, "300000", reason, cdr, ledger, null))).Code, Is.Zero);
        }

        await RerateCliAsync(_lanes, Write(TariffWithLatePort("2026-11-15.1"), _folder, "new.json"), ExampleSubscribers, oldRated, ExampleCdrs, ledger);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var auditDir = _folder.File("audit");

        var code = await AuditCommand.RunZeroRatingAsync(
            new ZeroRatingAuditOptions(oldRated, "2026-11", auditDir, Adjustments: Path.Combine(ledger, RerateCommand.AdjustmentsFile), Lanes: _lanes), stdout, stderr, CancellationToken.None);

        var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(auditDir, AuditCommand.SummaryJsonFile))).RootElement.GetProperty("ledger");
        var december = _folder.File("audit-12");
        await AuditCommand.RunZeroRatingAsync(
            new ZeroRatingAuditOptions(oldRated, "2026-12", december, Adjustments: Path.Combine(ledger, RerateCommand.AdjustmentsFile), Lanes: _lanes), TextWriter.Null, TextWriter.Null, CancellationToken.None);
        var inDecember = JsonDocument.Parse(File.ReadAllText(Path.Combine(december, AuditCommand.SummaryJsonFile))).RootElement.GetProperty("ledger");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero, stderr.ToString());
            Assert.That(stdout.ToString(), Does.EndWith("; 2 goodwill credits on CDRs of the month (0.60 yuan)" + Environment.NewLine));
            // a7 was zero-rated (apple-activation), a9 was charged.
            Assert.That(summary.GetProperty("goodwill").GetProperty("differenceMicros").GetInt64(), Is.EqualTo(-600_000));
            Assert.That(summary.GetProperty("goodwill").GetProperty("differenceYuan").GetString(), Is.EqualTo("-0.60"));
            Assert.That(summary.GetProperty("goodwill").GetProperty("count").GetInt64(), Is.EqualTo(2));
            Assert.That(summary.GetProperty("goodwill").GetProperty("onZeroRated").GetInt64(), Is.EqualTo(1));
            Assert.That(summary.GetProperty("rerate").GetProperty("count").GetInt64(), Is.EqualTo(1));
            Assert.That(summary.GetProperty("rerate").GetProperty("differenceMicros").GetInt64(), Is.EqualTo(-1_000_000));
            Assert.That(summary.GetProperty("notFound").GetInt64(), Is.EqualTo(1), "the credit for no-such-cdr");
            Assert.That(inDecember.GetProperty("goodwill").GetProperty("count").GetInt64(), Is.Zero, "counted in the CDR's month only");
            Assert.That(File.ReadAllText(Path.Combine(auditDir, AuditCommand.SummaryTextFile)), Does.Contain("goodwill credits").And.Contain("naming a CDR no rated record read holds: 1"));
        });
    }

    /// <summary>What credit and re-rating write is what the ledger's schema describes; the schema keeps the rules every schema of the project keeps.</summary>
    [Test]
    public async Task Ledger_entries_of_both_kinds_pass_the_adjustment_schema()
    {
        const string Schema = RecordSchemas.Adjustment;
        var oldRated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
        var ledger = _folder.File("ledger");
        await RunAsync(new CreditOptions(Subscriber1, "5000000", "ticket 1", "a9", ledger, null));
        await RunAsync(new CreditOptions(Subscriber1, "-1", "ticket 2 (中文)", null, ledger, null));
        await RerateCliAsync(_lanes, Write(TariffWithLatePort("2026-11-15.1"), _folder, "new.json"), ExampleSubscribers, oldRated, ExampleCdrs, ledger);
        var lines = File.ReadAllLines(Path.Combine(ledger, RerateCommand.AdjustmentsFile)).Where(l => l.Length > 0).ToList();
        var checks = new List<RecordCheck>();
        foreach (var line in lines)
        {
            checks.Add(await RecordSchemas.CheckAsync(Schema, Encoding.UTF8.GetBytes(line)));
        }

        var schemaTests = new SchemaTests();
        await schemaTests.Schema_is_draft_2020_12_with_its_id_and_loads_into_the_validator(Schema);
        await schemaTests.Schema_uses_only_enforced_portable_keywords_and_describes_every_property(Schema);
        var goodwillAsRerate = await RecordSchemas.CheckAsync(Schema, Encoding.UTF8.GetBytes(lines[0].Replace("\"kind\":\"goodwill\"", "\"kind\":\"rerate\"", StringComparison.Ordinal)));
        var zeroCredit = await RecordSchemas.CheckAsync(Schema, Encoding.UTF8.GetBytes(lines[1].Replace("\"difference\":1,", "\"difference\":0,", StringComparison.Ordinal)));
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Count.EqualTo(3));
            Assert.That(checks.Select(c => c.Verdict), Has.All.EqualTo(Verdict.Pass), string.Join("; ", checks));
            Assert.That(goodwillAsRerate.Verdict, Is.EqualTo(Verdict.SchemaFail), "a goodwill credit's nulls are no re-rating adjustment");
            Assert.That(zeroCredit.Verdict, Is.EqualTo(Verdict.SchemaFail), "a credit of 0");
        });
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(CreditOptions options)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CreditCommand.RunAsync(options, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
