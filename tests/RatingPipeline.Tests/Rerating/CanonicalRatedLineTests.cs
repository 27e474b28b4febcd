using System.Text;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// The rated-record lines the product writes are read without the JSON reader (<see cref="CanonicalRatedLine"/>); what
/// that reads, and what it refuses or leaves to the JSON reader, must be exactly what the JSON reader makes of the same line.
/// </summary>
[TestFixture]
public sealed class CanonicalRatedLineTests
{
    private const string Written =
        "{\"id\":\"a9\",\"msisdn\":\"8613800000001\",\"type\":\"voice\",\"start\":\"2026-11-02T16:00:02+08:00\",\"cycle\":\"2026-11-01\","
        + "\"plan\":\"mini-18\",\"tariffVersion\":\"2026-11-01.1\",\"zone\":\"roaming-eu\",\"billableUnits\":120,\"allowanceUnits\":60,"
        + "\"overageUnits\":60,\"charge\":-1000000,\"zeroRated\":null,\"direction\":\"mo\",\"peer\":\"13800000002\",\"durationSec\":95,"
        + "\"bytes\":null,\"visitedMcc\":\"262\",\"usedAfter\":180,\"cappedAfter\":0,\"spendAfter\":5000000}";

    private TestFolder _folder = null!;

    [OneTimeSetUp]
    public void MakeFolder() => _folder = new TestFolder();

    [OneTimeTearDown]
    public void CleanUp() => _folder.Dispose();

    [Test]
    public async Task Every_record_the_product_writes_is_read_in_its_layout_as_the_JSON_reader_reads_it()
    {
        var data = _folder.File("data");
        await GenerateCommand.RunAsync(data, subscribers: 50, cdrs: 3_000, seed: 11, CancellationToken.None);
        var generated = await RateAsync(Path.Combine(data, "tariff.json"), Path.Combine(data, "subscribers.jsonl"), Path.Combine(data, "cdrs.jsonl"),
            _folder.File("generated"));
        var example = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("example"));

        var read = 0;
        var fees = 0;
        foreach (var line in File.ReadLines(generated).Concat(File.ReadLines(example)))
        {
            var utf8 = Encoding.UTF8.GetBytes(line);
            var canonical = default(RatedLine);
            if (CanonicalRatedLine.TryRead(utf8, ref canonical))
            {
                read++;
                Assert.That(Fields(utf8, canonical: true), Is.EqualTo(Fields(utf8, canonical: false)), line);
                Assert.That(Describe(in canonical), Is.EqualTo(Members(utf8)), line);
            }
            else
            {
                Assert.That(line, Does.Contain("\"type\":\"fee\""), "only a fee record (zone null) is left to the JSON reader");
                fees++;
            }
        }

        Assert.That(read, Is.GreaterThan(2_000), $"{fees} fee records");
    }

    [TestCase(Written)]
    [TestCase("{\"id\": \"a9\"" + "REST")] // a space after a colon
    [TestCase("{\"id\":\"a\\u0039\"" + "REST")] // an escape
    [TestCase("{\"id\":\"a\t9\"" + "REST")] // a raw control character: not JSON
    [TestCase("{\"id\":\"a\\\"9\"" + "REST")] // an escaped quote: the string goes on after it
    [TestCase("{\"id\":\"a9\"" + "REST" + "\u0001")] // a control character after the object
    [TestCase("{\"msisdn\":\"8613800000001\",\"id\":\"a9\"" + "REST")] // another order (msisdn twice then)
    [TestCase("{\"id\":\"a9\",\"id\":\"a9\"" + "REST")] // a member twice
    [TestCase("{\"id\":\"a9\"" + "REST" + " ")] // a space after the object
    [TestCase("{\"id\":\"a9\"" + "REST" + "\r")]
    [TestCase("{\"id\":\"a9\"" + "REST" + "x")]
    [TestCase("{\"id\":\"a9\"" + "REST" + "{}")]
    [TestCase("{\"id\":\"a9\",\"msisdn\":\"8613800000001\"}")] // members missing
    [TestCase("{\"id\":\"a9\",\"msisdn\":\"8613800000001\",\"type\":\"voice")] // cut
    [TestCase("{\"id\":\"a9\",\"msisdn\":")]
    [TestCase("{\"id\":\"a9")]
    [TestCase("{\"id\":")]
    [TestCase("{")]
    [TestCase("")]
    [TestCase("null")]
    public void A_line_in_or_out_of_the_layout_is_read_or_refused_as_the_JSON_reader_does(string line)
    {
        line = line.Replace("REST", Written[Written.IndexOf(",\"msisdn\"", StringComparison.Ordinal)..^1] + "}", StringComparison.Ordinal);
        var utf8 = Encoding.UTF8.GetBytes(line);

        Assert.That(Fields(utf8, canonical: true), Is.EqualTo(Fields(utf8, canonical: false)));
    }

    /// <summary>
    /// A line of up to 512 bytes has its quotes marked in its first pass, a longer one searches string by string: ids
    /// of every length put the strings' ends at every place in and across the marks' words, on both sides of the limit,
    /// with ASCII and with a plan name outside ASCII; each line is read in the layout, as the JSON reader reads it.
    /// </summary>
    [Test]
    public void Lines_of_every_length_around_the_quote_marks_are_read_as_the_JSON_reader_reads_them()
    {
        var read = 0;
        foreach (var plan in new[] { "mini-18", "套餐-18" })
        {
            for (var pad = 0; pad <= 200; pad++)
            {
                var line = Written.Replace("\"a9\"", $"\"a9{new string('p', pad)}\"", StringComparison.Ordinal)
                    .Replace("\"mini-18\"", $"\"{plan}\"", StringComparison.Ordinal);
                var utf8 = Encoding.UTF8.GetBytes(line);
                var canonical = default(RatedLine);
                Assert.That(CanonicalRatedLine.TryRead(utf8, ref canonical), Is.True, line);
                Assert.That(Fields(utf8, canonical: true), Is.EqualTo(Fields(utf8, canonical: false)), line);
                Assert.That(Describe(in canonical), Is.EqualTo(Members(utf8)), line);
                read++;
            }
        }

        Assert.That(read, Is.EqualTo(2 * 201));
        Assert.That(Encoding.UTF8.GetByteCount(Written), Is.LessThan(512 - 100), "the shortest lines are marked, the longest are not");
    }

    [TestCase("\"charge\":-1000000", "\"charge\":0")]
    [TestCase("\"charge\":-1000000", "\"charge\":-0")]
    [TestCase("\"charge\":-1000000", "\"charge\":01")]
    [TestCase("\"charge\":-1000000", "\"charge\":1.0")]
    [TestCase("\"charge\":-1000000", "\"charge\":1e3")]
    [TestCase("\"charge\":-1000000", "\"charge\":1E3")]
    [TestCase("\"charge\":-1000000", "\"charge\":-")]
    [TestCase("\"charge\":-1000000", "\"charge\":999999999999999999")]
    [TestCase("\"charge\":-1000000", "\"charge\":-999999999999999999")]
    [TestCase("\"charge\":-1000000", "\"charge\":9223372036854775807")]
    [TestCase("\"charge\":-1000000", "\"charge\":9223372036854775808")]
    [TestCase("\"charge\":-1000000", "\"charge\":\"5\"")]
    [TestCase("\"charge\":-1000000", "\"charge\":null")]
    [TestCase("\"usedAfter\":180", "\"usedAfter\":null")]
    [TestCase("\"usedAfter\":180", "\"usedAfter\":1.5")]
    [TestCase("\"spendAfter\":5000000", "\"spendAfter\":\"x\"")]
    [TestCase("\"durationSec\":95", "\"durationSec\":\"95\"")]
    [TestCase("\"durationSec\":95", "\"durationSec\":true")]
    [TestCase("\"visitedMcc\":\"262\"", "\"visitedMcc\":262")]
    [TestCase("\"visitedMcc\":\"262\"", "\"visitedMcc\":nul")]
    [TestCase("\"zeroRated\":null", "\"zeroRated\":\"apple-activation\"")]
    [TestCase("\"zeroRated\":null", "\"zeroRated\":7")]
    [TestCase("\"zone\":\"roaming-eu\"", "\"zone\":null")]
    [TestCase("\"zone\":\"roaming-eu\"", "\"zone\":\"\"")]
    [TestCase("\"direction\":\"mo\"", "\"direction\":null")]
    [TestCase("\"peer\":\"13800000002\"", "\"peer\":null")]
    [TestCase("\"peer\":\"13800000002\"", "\"peer\":\"13800\\\"000002\"")]
    [TestCase("\"peer\":\"13800000002\"", "\"peer\":\"13800\\\\\"")] // an escaped backslash ends the last string read
    [TestCase("\"plan\":\"", "\"plan\":\"\u001f")] // a control character in a middle string
    [TestCase("\"type\":\"voice\"", "\"type\":\"fee\"")]
    [TestCase("\"type\":\"voice\"", "\"type\":\"fax\"")]
    [TestCase("\"msisdn\":\"8613800000001\"", "\"msisdn\":\"86138\"")]
    [TestCase("\"msisdn\":\"8613800000001\"", "\"msisdn\":\"8613800000001x\"")]
    [TestCase("\"start\":\"2026-11-02T16:00:02+08:00\"", "\"start\":\"2026-11-02 16:00:02\"")]
    [TestCase("\"id\":\"a9\"", "\"id\":\"\u00e9t\u00e9-\u4e2d\"")]
    public void A_value_in_or_out_of_the_layout_is_read_or_refused_as_the_JSON_reader_does(string member, string replacement)
    {
        Assert.That(Written.Contains(member, StringComparison.Ordinal), Is.True, member);
        var utf8 = Encoding.UTF8.GetBytes(Written.Replace(member, replacement, StringComparison.Ordinal));

        foreach (var includeFees in new[] { false, true })
        {
            Assert.That(Fields(utf8, canonical: true, includeFees), Is.EqualTo(Fields(utf8, canonical: false, includeFees)), $"fees {includeFees}");
        }
    }

    [Test]
    public void The_written_layout_is_read_without_the_JSON_reader()
    {
        var line = default(RatedLine);

        Assert.That(CanonicalRatedLine.TryRead(Encoding.UTF8.GetBytes(Written), ref line), Is.True);
        Assert.That(Describe(in line), Does.Contain("charge=-1000000").And.Contain("peer=13800000002").And.Contain("usedAfter=180"));
        Assert.That(CanonicalRatedLine.TryRead(Encoding.UTF8.GetBytes(Written.Replace("\"id\":\"a9\"", "\"id\": \"a9\"", StringComparison.Ordinal)), ref line), Is.False);
    }

    /// <summary>What <see cref="RatedRecordReader.TryParse"/> makes of the line: the error, or every field of the record.</summary>
    private static string Fields(byte[] utf8, bool canonical, bool includeFees = true)
    {
        var line = default(RatedLine);
        return RatedRecordReader.TryParse(utf8, includeFees, ref line, out var error, canonical)
            ? Describe(in line) + $" key={line.MsisdnKey} type#={line.CdrType} ticks={line.StartTicks} fee={line.IsFee}"
            : "refused: " + error;
    }

    /// <summary>The members as the JSON reader alone reads them.</summary>
    private static string Members(byte[] utf8)
    {
        var line = default(RatedLine);
        Assert.That(RatedRecordReader.ReadMembers(utf8, ref line, out var seen, out var error), Is.True, error);
        Assert.That(seen & RatedRecordReader.AllFields, Is.EqualTo(RatedRecordReader.AllFields));
        return Describe(in line);
    }

    private static string Describe(in RatedLine l) =>
        $"id={Text(l.Id)} msisdn={Text(l.Msisdn)} type={Text(l.Type)} start={Text(l.Start)} cycle={Text(l.Cycle)} plan={Text(l.Plan)} "
        + $"version={Text(l.TariffVersion)} zone={Text(l.Zone)} zeroRated={Text(l.ZeroRated)} direction={Text(l.Direction)} peer={Text(l.Peer)} "
        + $"billable={l.BillableUnits} allowance={l.AllowanceUnits} overage={l.OverageUnits} charge={l.Charge} "
        + $"usedAfter={(l.HasUsedAfter ? l.UsedAfter : "none")} cappedAfter={(l.HasCappedAfter ? l.CappedAfter : "none")} "
        + $"spendAfter={(l.HasSpendAfter ? l.SpendAfter : "none")}";

    private static string Text(in RatedText text) =>
        text.IsPresent ? text.ToText() + (text.Text is null ? "" : " (escaped)") : "(absent)";
}
