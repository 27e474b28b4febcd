using System.Text;
using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Records;

/// <summary>
/// SPEC §2.1 and §2.3: malformed and invalid CDRs are rejected <c>invalid</c> (never thrown), and the rejected
/// record carries <c>id</c>/<c>msisdn</c> exactly when the record parses as one JSON object without repeated names
/// and the member is a string (§5). Rows are written with ' for " to stay readable.
/// </summary>
[TestFixture]
public sealed class CdrDecoderTests
{
    private const string M = Cdrs.Msisdn;

    private static EngineHarness NewRater()
    {
        var tariff = TestTariff.Build([TestTariff.Rate(null, price: 1, unit: 1, increment: 1)]);
        return new EngineHarness(tariff, Profiles.Of(tariff));
    }

    private static string J(string row) => row.Replace('\'', '"');

    private static void AssertInvalid(byte[] record, string? id, string? msisdn)
    {
        var rater = NewRater();
        var step = rater.Process(record);
        Assert.Multiple(() =>
        {
            Assert.That(step.Reason, Is.EqualTo("invalid"));
            Assert.That(step.Reminders, Is.Empty);
            Assert.That(rater.HasState(), Is.False);
            var rejected = step.Rejected[0];
            Assert.That(rejected.ContainsKey("id") ? (string?)rejected["id"] : "(absent)", Is.EqualTo(id ?? "(absent)"), "id");
            Assert.That(rejected.ContainsKey("msisdn") ? (string?)rejected["msisdn"] : "(absent)", Is.EqualTo(msisdn ?? "(absent)"), "msisdn");
            Assert.That((string?)rejected["detail"], Is.Not.Empty);
            // raw is the original record; bytes that are not UTF-8 become U+FFFD, as a JSON string cannot hold them.
            Assert.That((string?)rejected["raw"], Is.EqualTo(Encoding.UTF8.GetString(record)));
        });
    }

    private static Step AssertNotInvalid(byte[] record)
    {
        var step = NewRater().Process(record);
        Assert.That(step.Rejected.Select(r => (string?)r["reason"]), Has.No.Member("invalid"),
            () => $"rejected: {string.Join(" ", step.Rejected.Select(r => r["detail"]))}");
        return step;
    }

    // Not one well-formed JSON object (or repeated names): no id, no msisdn.
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo'")] // truncated
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':61")] // missing closing brace
    [TestCase("")] // empty record
    [TestCase("   ")] // whitespace only
    [TestCase("not json")] // not JSON
    [TestCase("[{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}]")] // a top-level array
    [TestCase("'v1'")] // a top-level string
    [TestCase("null")] // a top-level null
    [TestCase("42")] // a top-level number
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':NaN}")] // NaN is not JSON
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'x':Infinity}")] // Infinity, even in an unknown field
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'x':-Infinity}")] // -Infinity
    [TestCase("{'id':'v1', /* note */ 'type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // a block comment
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1} // note")] // a line comment after the object
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1} x")] // trailing content
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}{}")] // a second object after it
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1},")] // a trailing comma after it
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}}")] // an extra closing brace
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,}")] // a trailing comma inside
    [TestCase("x{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // leading garbage
    [TestCase("{id:'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // an unquoted member name
    [TestCase("{'id':'v\t1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // a raw tab inside a string
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':01}")] // a leading zero
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':+1}")] // a plus sign on a number
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'x':'\\x41'}")] // an invalid escape
    [TestCase("{'id':'v1','id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // id given twice at the top level
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'bytes':2}")] // bytes given twice
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'x':1,'x':1}")] // an unknown member given twice
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'ext':{'a':1,'a':2}}")] // a name twice inside an unknown object
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'ext':[{'a':1},{'b':{'c':1,'c':1}}]}")] // twice deep inside an unknown array
    [TestCase("{'id':'v1','\\u0069d':'v2','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // id twice, once escaped
    public void Malformed_or_repeated_name_records_are_invalid_without_id(string row) =>
        AssertInvalid(Encoding.UTF8.GetBytes(J(row)), null, null);

    // One well-formed object, but a field breaks a rule: invalid, with id and msisdn copied where they are strings.
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':'61'}", "v1", M)] // durationSec as a string
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':5.0}", "v1", M)] // 5.0 is not an integer token
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':6.1e1}", "v1", M)] // fraction and exponent
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1e3}", "v1", M)] // 1e3 has an exponent
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1E3}", "v1", M)] // capital E
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':0.0}", "v1", M)] // zero with a fraction
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':-1}", "v1", M)] // negative duration
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':86401}", "v1", M)] // one second over a day
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':true}", "v1", M)] // durationSec as a boolean
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':[61]}", "v1", M)] // durationSec as an array
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // voice without durationSec
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':null}", "v1", M)] // durationSec null is absent
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':-5}", "v1", M)] // negative bytes
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1000000000001}", "v1", M)] // 10^12 + 1 bytes
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':99999999999999999999}", "v1", M)] // beyond 64 bits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':'1'}", "v1", M)] // bytes as a string
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // data without bytes
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':null}", "v1", M)] // bytes null is absent
    // id
    [TestCase("{'id':'12345678901234567890123456789012345678901234567890123456789012345','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "12345678901234567890123456789012345678901234567890123456789012345", M)] // id of 65 characters
    [TestCase("{'id':'','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "", M)] // empty id
    [TestCase("{'id':'v\\u0001','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v\u0001", M)] // a control character (escaped)
    [TestCase("{'id':'v\\u007f','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v\u007f", M)] // DEL is not printable
    [TestCase("{'id':'v\\n','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v\n", M)] // an escaped line feed
    [TestCase("{'id':'vé','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "vé", M)] // not ASCII
    [TestCase("{'id':5,'type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", null, M)] // id as a number: not copied
    [TestCase("{'id':null,'type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", null, M)] // id null
    [TestCase("{'id':{'v':1},'type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", null, M)] // id as an object
    [TestCase("{'type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", null, M)] // no id
    [TestCase("{}", null, null)] // the empty object
    // msisdn
    [TestCase("{'id':'v1','type':'data','msisdn':'8613','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", "8613")] // 4 digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", "8613800000000001")] // 16 digits
    [TestCase("{'id':'v1','type':'data','msisdn':'86138000000a1','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", "86138000000a1")] // a letter
    [TestCase("{'id':'v1','type':'data','msisdn':'+8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", "+8613800000001")] // a plus sign
    [TestCase("{'id':'v1','type':'data','msisdn':'','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", "")] // empty
    [TestCase("{'id':'v1','type':'data','msisdn':8613800000001,'start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", null)] // a number: not copied
    [TestCase("{'id':'v1','type':'data','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", null)] // no msisdn
    // type and direction
    [TestCase("{'id':'v1','type':'fax','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", M)] // unknown type
    [TestCase("{'id':'v1','type':'DATA','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", M)] // type is case-sensitive
    [TestCase("{'id':'v1','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", M)] // no type
    [TestCase("{'id':'v1','type':2,'msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}", "v1", M)] // type as a number
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'MO','peer':'139','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // direction is case-sensitive
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'in','peer':'139','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // unknown direction
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','peer':'139','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // SMS without direction
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':null,'peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':1}", "v1", M)] // voice with direction null
    // peer
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'123456789012345678901234567890123','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // 33 digits
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'+123456789012345678901234567890123','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // + and 33 digits
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'139abc','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // letters
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'+','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // + without digits
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // empty
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'++86','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // two plus signs
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'139 0','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // a space
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'13+9','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // + not leading
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':139,'start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // a number
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','start':'2026-11-02T10:00:00+08:00'}", "v1", M)] // SMS without peer
    // start (§2.3)
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-13-02T10:00:00+08:00','bytes':1}", "v1", M)] // month 13
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-00-02T10:00:00+08:00','bytes':1}", "v1", M)] // month 00
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-02-30T10:00:00+08:00','bytes':1}", "v1", M)] // 30 February
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-02-29T10:00:00+08:00','bytes':1}", "v1", M)] // 29 February of a common year
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2100-02-29T10:00:00+08:00','bytes':1}", "v1", M)] // 2100 is not a leap year
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-31T10:00:00+08:00','bytes':1}", "v1", M)] // 31 November
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-00T10:00:00+08:00','bytes':1}", "v1", M)] // day 00
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T24:00:00+08:00','bytes':1}", "v1", M)] // hour 24
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T23:60:00+08:00','bytes':1}", "v1", M)] // minute 60
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T23:59:60+08:00','bytes':1}", "v1", M)] // a leap second
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00.12345678+08:00','bytes':1}", "v1", M)] // 8 fraction digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00.+08:00','bytes':1}", "v1", M)] // a point without digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00,5+08:00','bytes':1}", "v1", M)] // a comma for the fraction
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02t10:00:00+08:00','bytes':1}", "v1", M)] // lowercase t
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00z','bytes':1}", "v1", M)] // lowercase z
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02 10:00:00+08:00','bytes':1}", "v1", M)] // a space for T
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+24:00','bytes':1}", "v1", M)] // offset hour 24
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:60','bytes':1}", "v1", M)] // offset minute 60
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+0800','bytes':1}", "v1", M)] // offset without colon
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08','bytes':1}", "v1", M)] // offset without minutes
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00','bytes':1}", "v1", M)] // no offset
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00+08:00','bytes':1}", "v1", M)] // no seconds
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-2T10:00:00+08:00','bytes':1}", "v1", M)] // one-digit day
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02','bytes':1}", "v1", M)] // a date only
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00 ','bytes':1}", "v1", M)] // a trailing space inside the string
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00Z+08:00','bytes':1}", "v1", M)] // Z and an offset
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':1793585600,'bytes':1}", "v1", M)] // a number
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','bytes':1}", "v1", M)] // no start
    // visitedMcc
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':'45'}", "v1", M)] // 2 digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':'4540'}", "v1", M)] // 4 digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':'45a'}", "v1", M)] // a letter
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':454}", "v1", M)] // a number
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':''}", "v1", M)] // empty
    public void Invalid_fields_are_rejected_with_the_readable_id_and_msisdn(string row, string? id, string? msisdn) =>
        AssertInvalid(Encoding.UTF8.GetBytes(J(row)), id, msisdn);

    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':61}")] // a plain voice CDR
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mt','peer':'+85291234567','start':'2026-11-02T10:00:00Z'}")] // a plain SMS
    [TestCase("{'start':'2026-11-02T10:00:00+08:00','bytes':0,'msisdn':'8613800000001','type':'data','id':'v1'}")] // members in any order
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':null}")] // null optional field
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'ext':{'a':[1,{'b':null}],'c':'d','e':{'f':{'g':[]}}},'more':[true,false,null]}")] // unknown fields, nested
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'direction':5,'peer':{'x':1},'durationSec':'long'}")] // voice/SMS fields on data: ignored even of the wrong type
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':1,'bytes':'many'}")] // bytes on voice: ignored
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':1.5,'bytes':-1}")] // durationSec and bytes on SMS: ignored
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'x':1e400,'y':-0.5E-7,'z':123456789012345678901234567890}")] // any JSON number in an unknown field
    [TestCase("{'id':'v1','ID':'v2','Id':'v3','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // names differ by case: not repeated
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'a':{'x':1},'b':{'x':1},'x':{'x':{'x':1}}}")] // the same name in different objects
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'a':[{'x':1},{'x':1}]}")] // the same name in sibling objects of an array
    [TestCase(" \t\r\n{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1} \t\r\n")] // JSON whitespace around the object
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}\r")] // a trailing CR
    [TestCase("{ 'id' : 'v1' ,\n 'type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1 }")] // whitespace inside
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':86400}")] // the longest call
    [TestCase("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'139','start':'2026-11-02T10:00:00+08:00','durationSec':0}")] // an unanswered call
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1000000000000}")] // the largest data record
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'12345678901234567890123456789012','start':'2026-11-02T10:00:00+08:00'}")] // 32-digit peer
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'+12345678901234567890123456789012','start':'2026-11-02T10:00:00+08:00'}")] // + and 32 digits
    [TestCase("{'id':'v1','type':'sms','msisdn':'8613800000001','direction':'mo','peer':'0','start':'2026-11-02T10:00:00+08:00'}")] // a 1-digit peer
    [TestCase("{'id':'1234567890123456789012345678901234567890123456789012345678901234','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // 64-character id
    [TestCase("{'id':' !~\\'\\\\','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}")] // printable edges: space, !, ~, escaped quote and backslash
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00.1234567+08:00','bytes':1}")] // 7 fraction digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00.5Z','bytes':1}")] // 1 fraction digit, Z
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-01T21:00:00-05:00','bytes':1}")] // a negative offset
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+23:59','bytes':1}")] // the largest offset
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2028-02-29T10:00:00+08:00','bytes':1}")] // a leap day
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2000-02-29T10:00:00+08:00','bytes':1}")] // 2000 is a leap year
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':'460'}")] // the home MCC
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'visitedMcc':'000'}")] // MCC 000 is 3 digits
    [TestCase("{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'note':'北京 \\ud83d\\ude00'}")] // non-ASCII text and an escaped surrogate pair in an unknown field
    public void Valid_records_are_rated(string row)
    {
        var step = NewRater().Process(J(row));
        Assert.That(step.Rated, Has.Count.EqualTo(1), () => $"rejected: {string.Join(" ", step.Rejected.Select(r => r["detail"]))}");
    }

    [TestCase("86138", "12345")] // 5 digits
    [TestCase("861380000000001", "123456789012345")] // 15 digits
    [TestCase("00000", "00000")] // leading zeros
    public void Msisdn_of_5_to_15_digits_is_valid(string msisdn, string _)
    {
        // No profile for it: the next reason (unknown-subscriber) shows the record passed validation.
        var step = NewRater().Process(Cdrs.Data("v1", 1, msisdn: msisdn));
        Assert.That(step.Reason, Is.EqualTo("unknown-subscriber"));
    }

    [Test]
    public void An_escaped_id_is_unescaped()
    {
        // "\u0031" is the id "1"; "\/" is "/".
        var step = NewRater().Process(J("{'id':'\\u0031\\/2','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1}"));
        Assert.That((string?)step.Single["id"], Is.EqualTo("1/2"));
    }

    [Test]
    public void Escaped_member_names_and_values_are_read_as_their_text()
    {
        // "\u0074ype" is "type", "\u0064ata" is "data", "+\u0038\u0036..." is a peer.
        var step = NewRater().Process(J("{'id':'v1','\\u0074ype':'\\u0064ata','msisdn':'861380000000\\u0031','start':'2026-11-02T10:00:00+08:00','bytes':1}"));
        Assert.That(((string?)step.Single["type"], (string?)step.Single["msisdn"]), Is.EqualTo(("data", Cdrs.Msisdn)));
    }

    [Test]
    public void A_1000_digit_integer_is_invalid_as_bytes_but_fine_in_an_unknown_field()
    {
        var huge = "9" + new string('0', 999);
        var asBytes = J($"{{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':{huge}}}");
        var asDuration = J($"{{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mo','peer':'1','start':'2026-11-02T10:00:00+08:00','durationSec':-{huge}}}");
        var unknown = J($"{{'id':'v1','type':'data','msisdn':'8613800000001','start':'2026-11-02T10:00:00+08:00','bytes':1,'x':{huge}}}");
        AssertInvalid(Encoding.UTF8.GetBytes(asBytes), "v1", M);
        AssertInvalid(Encoding.UTF8.GetBytes(asDuration), "v1", M);
        AssertNotInvalid(Encoding.UTF8.GetBytes(unknown));
    }

    [TestCase(new byte[] { 0xFF })] // never valid in UTF-8
    [TestCase(new byte[] { 0xC0, 0xAF })] // an overlong encoding of '/'
    [TestCase(new byte[] { 0xE4, 0xB8 })] // a truncated 3-byte sequence
    [TestCase(new byte[] { 0xED, 0xA0, 0x80 })] // a UTF-8-encoded surrogate
    [TestCase(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // beyond U+10FFFF
    [TestCase(new byte[] { 0x80 })] // a lone continuation byte
    public void Bad_UTF8_is_invalid_without_id(byte[] bad)
    {
        // The bad bytes sit in an unknown member's string: the record is not valid UTF-8, so nothing is copied.
        var record = Concat("{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1,\"x\":\"", bad, "\"}");
        AssertInvalid(record, null, null);
    }

    [Test]
    public void Bad_UTF8_inside_the_id_is_invalid_without_id() =>
        AssertInvalid(Concat("{\"id\":\"v", [0xFF], "\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}"), null, null);

    [TestCase("{\"id\":\"v", "1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}")] // NUL inside a string
    [TestCase("{\"id\":\"v1\",", "\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}")] // NUL where whitespace may go
    [TestCase("{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}", "")] // NUL after the object
    [TestCase("", "{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}")] // NUL before the object
    public void A_NUL_byte_is_invalid_without_id(string before, string after) => AssertInvalid(Concat(before, [0x00], after), null, null);

    [Test]
    public void A_byte_order_mark_is_not_JSON_whitespace() =>
        AssertInvalid(Concat("", [0xEF, 0xBB, 0xBF], "{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}"), null, null);

    [Test]
    public void The_rejected_record_keeps_the_original_line_as_raw()
    {
        const string line = "{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}";
        var step = NewRater().Process(line);
        Assert.That((string?)step.Rejected.Single()["raw"], Is.EqualTo(line));
    }

    [Test]
    public void Repeated_names_are_found_in_wide_objects()
    {
        // 40 unknown members, the last repeating the 35th: more names than the decoder keeps in its small-object list.
        var members = string.Join(",", Enumerable.Range(0, 40).Select(i => $"\"f{i}\":{i}"));
        var record = $"{{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1,{members},\"f35\":0}}";
        AssertInvalid(Encoding.UTF8.GetBytes(record), null, null);
    }

    [Test]
    public void A_wide_record_after_a_rejected_wide_record_is_judged_on_its_own()
    {
        // Record 1: 40 unknown members and a repeated one (invalid). Record 2: the same 40 members once each (valid).
        // Nothing of the first record's names may linger into the second.
        var members = string.Join(",", Enumerable.Range(0, 40).Select(i => $"\"f{i}\":{i}"));
        var head = "\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1";
        var rater = NewRater();
        var first = rater.Process($"{{{members},\"f39\":1,\"id\":\"w1\",{head}}}");
        var unfinished = rater.Process($"{{{members},\"id\":\"w2\",{head}");
        var second = rater.Process($"{{{members},\"id\":\"w3\",{head}}}");
        Assert.Multiple(() =>
        {
            Assert.That(first.Reason, Is.EqualTo("invalid"));
            Assert.That(unfinished.Reason, Is.EqualTo("invalid"));
            Assert.That(second.Rated, Has.Count.EqualTo(1), () => $"rejected: {string.Join(" ", second.Rejected.Select(r => r["detail"]))}");
        });
    }

    [Test]
    public void Deep_nesting_never_throws_and_gives_one_outcome()
    {
        // 1000 nested arrays in an unknown member: valid JSON by RFC 8259; the decoder may refuse depth it does not
        // support, but must not throw and must give exactly one outcome.
        var deep = new string('[', 1000) + new string(']', 1000);
        var record = $"{{\"id\":\"v1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1,\"x\":{deep}}}";
        var step = NewRater().Process(record);
        Assert.That(step.Rated.Count + step.Rejected.Count, Is.EqualTo(1));
    }

    [Test]
    public void Decoder_reports_the_fields_of_a_valid_CDR()
    {
        var decoder = new CdrDecoder();
        var bytes = Encoding.UTF8.GetBytes(J("{'id':'v1','type':'voice','msisdn':'8613800000001','direction':'mt','peer':'+4420','start':'2026-11-02T10:00:00+08:00','durationSec':61,'visitedMcc':'054'}"));
        var cause = decoder.Decode(bytes, out var cdr);
        // A Cdr is a ref struct: copy its fields out before asserting.
        var fields = (Encoding.ASCII.GetString(cdr.Id), Encoding.ASCII.GetString(cdr.Msisdn), Encoding.ASCII.GetString(cdr.Peer),
            Encoding.ASCII.GetString(cdr.Start), cdr.Type, cdr.Direction, cdr.DurationSec, cdr.VisitedMcc, cdr.StartTicks);
        // 2026-11-02T10:00:00+08:00 = 2026-11-02T02:00:00Z; the peer's + is replaced by 00; MCC "054" is 54.
        var startTicks = (Time.Instant.DaysFromCivil(2026, 11, 2) * Time.Instant.TicksPerDay) + (2 * Time.Instant.TicksPerHour);
        Assert.Multiple(() =>
        {
            Assert.That(cause, Is.EqualTo(InvalidCause.None));
            Assert.That(fields, Is.EqualTo(("v1", Cdrs.Msisdn, "004420", "2026-11-02T10:00:00+08:00", CdrType.Voice, Direction.Mt, 61L, 54, startTicks)));
        });
    }

    private static byte[] Concat(string before, byte[] middle, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. middle, .. Encoding.UTF8.GetBytes(after)];
}
