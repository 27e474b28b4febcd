using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Rerating;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>Reading rated records and adjustments back: what the re-rate and the audit accept.</summary>
[TestFixture]
public sealed class RatedRecordReaderTests
{
    private const string Valid =
        "{\"id\":\"a9\",\"msisdn\":\"8613800000001\",\"type\":\"sms\",\"start\":\"2026-11-02T16:00:02+08:00\",\"cycle\":\"2026-11-01\","
        + "\"plan\":\"mini-18\",\"tariffVersion\":\"2026-11-01.1\",\"zone\":\"domestic\",\"billableUnits\":1,\"allowanceUnits\":0,"
        + "\"overageUnits\":1,\"charge\":1000000,\"zeroRated\":null}";

    [Test]
    public void Every_expected_rated_record_of_the_worked_example_reads_back_field_for_field()
    {
        var reader = new RatedRecordReader();
        var lines = File.ReadAllLines(Path.Combine(ExampleFolder, "expected", "rated.jsonl")).Where(l => l.Length > 0).ToList();

        foreach (var line in lines)
        {
            var json = JsonDocument.Parse(line).RootElement;
            var record = reader.TryRead(Encoding.UTF8.GetBytes(line), out var error);

            Assert.That(record, Is.Not.Null, error);
            Assert.That(
                (record!.Id, record.Msisdn, record.Type, record.Start, record.Cycle, record.Plan, record.TariffVersion, record.Zone,
                    record.BillableUnits, record.AllowanceUnits, record.OverageUnits, record.Charge, record.ZeroRated),
                Is.EqualTo((json.GetProperty("id").GetString(), json.GetProperty("msisdn").GetString(), json.GetProperty("type").GetString(),
                    json.GetProperty("start").GetString(), json.GetProperty("cycle").GetString(), json.GetProperty("plan").GetString(),
                    json.GetProperty("tariffVersion").GetString(), json.GetProperty("zone").GetString(),
                    json.GetProperty("billableUnits").GetInt64(), json.GetProperty("allowanceUnits").GetInt64(),
                    json.GetProperty("overageUnits").GetInt64(), json.GetProperty("charge").GetInt64(),
                    json.GetProperty("zeroRated").ValueKind == JsonValueKind.Null ? null : json.GetProperty("zeroRated").GetString())));
        }

        Assert.That(lines, Has.Count.EqualTo(24));
    }

    [Test]
    public void Derived_fields_follow_the_text_fields()
    {
        var record = new RatedRecordReader().TryRead(Encoding.UTF8.GetBytes(Valid), out _)!;

        MsisdnKey.TryCompute("8613800000001", out var key);
        Time.Instant.TryParse("2026-11-02T08:00:02Z", out var ticks);
        Assert.That((record.MsisdnKey, record.CdrType, record.StartTicks), Is.EqualTo((key, CdrType.Sms, ticks)));
    }

    [TestCase("[]", "must be a JSON object")] // an array, not an object
    [TestCase("{\"id\":\"a9\"}", "is required")] // most fields missing
    [TestCase("{\"id\":\"a9\"} x", "JSON")] // something after the object
    [TestCase("not json", "JSON")] // not JSON at all
    public void A_line_that_is_not_a_rated_record_is_refused_with_a_reason(string line, string reason)
    {
        Assert.That(new RatedRecordReader().TryRead(Encoding.UTF8.GetBytes(line), out var error), Is.Null);
        Assert.That(error, Does.Contain(reason));
    }

    [TestCase("\"charge\":1000000", "\"charge\":\"1000000\"", "charge must be an integer")] // the charge as a string
    [TestCase("\"charge\":1000000", "\"charge\":1.5", "charge must be an integer")] // a fractional charge
    [TestCase("\"type\":\"sms\"", "\"type\":\"fax\"", "type must be")] // an unknown CDR type
    [TestCase("\"msisdn\":\"8613800000001\"", "\"msisdn\":\"86-138\"", "msisdn must be")] // not 5-15 digits
    [TestCase("\"start\":\"2026-11-02T16:00:02+08:00\"", "\"start\":\"2026-11-02 16:00:02\"", "start must be an instant")] // no T, no offset
    [TestCase("\"zeroRated\":null", "\"zeroRated\":7", "zeroRated must be")] // neither string nor null
    [TestCase("\"plan\":\"mini-18\"", "\"plan\":\"mini-18\",\"plan\":\"basic-58\"", "given twice")] // a member twice
    [TestCase("\"zone\":\"domestic\"", "\"zone\":{\"id\":\"domestic\"}", "zone must be a string")] // an object where a string belongs
    public void A_rated_record_with_a_bad_field_is_refused(string field, string replacement, string reason)
    {
        var line = Valid.Replace(field, replacement, StringComparison.Ordinal);

        Assert.That(line, Is.Not.EqualTo(Valid));
        Assert.That(new RatedRecordReader().TryRead(Encoding.UTF8.GetBytes(line), out var error), Is.Null);
        Assert.That(error, Does.Contain(reason));
    }

    [Test]
    public void An_unknown_member_is_ignored()
    {
        var line = Valid.Replace("{", "{\"extra\":{\"a\":[1,2]},", StringComparison.Ordinal);

        Assert.That(new RatedRecordReader().TryRead(Encoding.UTF8.GetBytes(line), out var error)?.Id, Is.EqualTo("a9"), error);
    }

    [Test]
    public void An_adjustment_written_reads_back_equal()
    {
        var adjustment = new Adjustment(Adjustment.IdOf("8613800000001", "2026-11-01", "a9", "v1", "v2"), "a9", "8613800000001", "2026-11-01",
            1_000_000, 0, -1_000_000, "v1", "v2", "apple-activation");

        var read = AdjustmentJson.TryParse(AdjustmentJson.ToLine(adjustment), out var error);

        Assert.That(read, Is.EqualTo(adjustment), error);
    }

    [Test]
    public void An_adjustment_whose_difference_is_not_new_minus_old_is_refused()
    {
        var line = AdjustmentJson.ToLine(new Adjustment("x", "a9", "8613800000001", "2026-11-01", 1_000_000, 0, -1_000_000, "v1", "v2", null));
        var tampered = Encoding.UTF8.GetString(line).Replace("\"difference\":-1000000", "\"difference\":-2000000", StringComparison.Ordinal);

        Assert.That(AdjustmentJson.TryParse(Encoding.UTF8.GetBytes(tampered), out var error), Is.Null);
        Assert.That(error, Does.Contain("difference"));
    }

    [Test]
    public void A_goodwill_credit_written_reads_back_equal()
    {
        var credit = GoodwillCredit.TryCreate("8613800000001", 5_000_000, "complaint 2026-1142", "a9", out var invalid)!;

        var read = AdjustmentJson.TryParse(AdjustmentJson.ToLine(credit), out var error);

        Assert.That(invalid, Is.Empty);
        Assert.That(read, Is.EqualTo(credit), error);
        Assert.That(((GoodwillCredit)read!).Amount, Is.EqualTo(5_000_000));
    }

    [Test]
    public void A_ledger_line_written_before_kinds_existed_is_a_re_rating_adjustment()
    {
        const string Old = """{"adjustmentId":"8613800000001:2026-11-01:a9:v1->v2","id":"a9","msisdn":"8613800000001","cycle":"2026-11-01","oldCharge":1000000,"newCharge":0,"difference":-1000000,"oldTariffVersion":"v1","newTariffVersion":"v2","zeroRated":null}""";

        var read = AdjustmentJson.TryParse(Encoding.UTF8.GetBytes(Old), out var error);

        Assert.That(read, Is.EqualTo(new Adjustment("8613800000001:2026-11-01:a9:v1->v2", "a9", "8613800000001", "2026-11-01", 1_000_000, 0, -1_000_000, "v1", "v2", null)), error);
    }

    [Test]
    public void A_goodwill_line_of_the_first_credit_command_is_read_with_no_cdr_for_an_empty_id()
    {
        const string First = """{"adjustmentId":"8613800000001:goodwill:account:0123456789abcdef","id":"","msisdn":"8613800000001","cycle":"","oldCharge":0,"newCharge":-700000,"difference":-700000,"oldTariffVersion":"","newTariffVersion":"","zeroRated":null,"kind":"goodwill","reason":"on the account"}""";

        var read = AdjustmentJson.TryParse(Encoding.UTF8.GetBytes(First), out var error);

        Assert.That(read, Is.EqualTo(new GoodwillCredit("8613800000001:goodwill:account:0123456789abcdef", "8613800000001", -700_000, "on the account", null)), error);
    }

    [TestCase("\"difference\":0", "must not be 0")]
    [TestCase("\"reason\":\"\"", "reason must not be empty")]
    [TestCase("\"msisdn\":\"12\"", "5-15 ASCII digits")]
    public void A_goodwill_line_that_breaks_a_credit_rule_is_refused(string member, string message)
    {
        var name = member[..member.IndexOf(':', StringComparison.Ordinal)];
        var line = Encoding.UTF8.GetString(AdjustmentJson.ToLine(GoodwillCredit.TryCreate("8613800000001", 5_000_000, "ticket", null, out _)!));
        var broken = System.Text.RegularExpressions.Regex.Replace(line, name + ":(\"[^\"]*\"|-?[0-9]+)", member.Replace("$", "$$", StringComparison.Ordinal));

        Assert.That(AdjustmentJson.TryParse(Encoding.UTF8.GetBytes(broken), out var error), Is.Null, broken);
        Assert.That(error, Does.Contain(message));
    }

    [Test]
    public void A_fee_record_is_read_only_when_fees_are_asked_for()
    {
        const string Fee = """{"id":"8613800000001:2026-12-01:fee:monthly","msisdn":"8613800000001","type":"fee","start":"2026-12-01T00:00:00+08:00","cycle":"2026-12-01","plan":"mini-18","tariffVersion":"v1","zone":null,"billableUnits":0,"allowanceUnits":0,"overageUnits":0,"charge":18000000,"zeroRated":null,"fee":"monthly","serviceId":null,"direction":null,"peer":null,"durationSec":null,"bytes":null,"visitedMcc":null,"usedAfter":null,"cappedAfter":null,"spendAfter":18000000}""";

        var skipped = new RatedRecordReader().TryRead(Encoding.UTF8.GetBytes(Fee), out var why);
        var fee = new RatedRecordReader { IncludeFees = true }.TryRead(Encoding.UTF8.GetBytes(Fee), out var error);

        Assert.Multiple(() =>
        {
            Assert.That(skipped, Is.Null);
            Assert.That(why, Is.EqualTo(RatedRecordReader.FeeRecord));
            Assert.That(fee, Is.Not.Null, error);
            Assert.That(fee!.IsFee, Is.True);
            Assert.That((fee.Cycle, fee.Charge, fee.SpendAfter, fee.Zone), Is.EqualTo(("2026-12-01", 18_000_000L, (long?)18_000_000, "")));
        });
    }
}
