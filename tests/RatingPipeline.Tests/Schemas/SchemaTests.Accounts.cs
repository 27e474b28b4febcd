using System.Buffers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.Schemas;

/// <summary>
/// The records of clocks, billing cycles and account notices (SPEC §7): the other records of the cdrs stream (clock,
/// location, profile line), the profile and tariff members they read, and the fee records, bills and notices the rater
/// writes.
/// </summary>
public sealed partial class SchemaTests
{
    private static string Examples(params string[] parts) =>
        Path.Combine([TestContext.CurrentContext.TestDirectory, "Examples", .. parts]);

    /// <summary>
    /// The schema a line of the cdrs stream must pass: a top-level type of exactly clock, location or profile picks that
    /// record's schema (a profile line is a profile); every other line is a CDR (SPEC §7.1), also one that is not JSON.
    /// </summary>
    internal static string SchemaOfStreamLine(ReadOnlySpan<byte> line)
    {
        string? type = null;
        try
        {
            type = JsonNode.Parse(line) is JsonObject o && o["type"] is JsonValue v && v.TryGetValue<string>(out var t) ? t : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException)
        {
            // not one JSON object with unique names: a CDR line for the schema (which refuses it)
        }

        return type switch
        {
            "clock" => RecordSchemas.Clock,
            "location" => RecordSchemas.Location,
            "profile" => RecordSchemas.Subscriber,
            _ => RecordSchemas.Cdr,
        };
    }

    // ------------------------------------------------------------------ clock and location records, row by row

    private const string Clock = """{"type":"clock","at":"2026-12-01T00:00:00+08:00"}""";

    [TestCase(Clock, "}", "}", true)]
    [TestCase(Clock, "}", ",\"id\":5,\"msisdn\":null,\"extra\":[1,{\"a\":null}]}", true)] // every other member is ignored
    [TestCase(Clock, "+08:00", ".1234567Z", true)]
    [TestCase(Clock, "2026-12-01", "2028-02-29", true)]
    [TestCase(Clock, ",\"at\":\"2026-12-01T00:00:00+08:00\"", "", false)] // no at
    [TestCase(Clock, "\"2026-12-01T00:00:00+08:00\"", "null", false)] // at null counts as missing
    [TestCase(Clock, "\"2026-12-01T00:00:00+08:00\"", "1764518400", false)] // at a number
    [TestCase(Clock, "T00:00:00+08:00", "", false)] // a date, not an instant
    [TestCase(Clock, "+08:00", "+0800", false)] // offset without a colon
    [TestCase(Clock, "2026-12-01", "2026-02-29", false)] // not a calendar date
    [TestCase(Clock, "2026-12-01T00", "2026-12-01 00", false)] // a space for T
    [TestCase(Clock, "}", ",\"at\":\"2026-12-02T00:00:00+08:00\"}", false)] // at given twice
    [TestCase(Clock, "}", "} {}", false)] // a second value after the object
    [TestCase(Clock, "\"clock\"", "\"Clock\"", false)] // type is case-sensitive: this is a CDR, and an invalid one
    public async Task Clock_schema_and_decoder_agree_on_each_rule(string template, string find, string replacement, bool valid)
    {
        var bytes = Encoding.UTF8.GetBytes(Edit(template, find, replacement));
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Clock, bytes);
        var (cause, kind) = Decode(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(cause == InvalidCause.None && kind == RecordKind.Clock, Is.EqualTo(valid), $"decoder: {InvalidCauses.Detail(cause)}, {kind}");
            Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
        });
    }

    private const string Location = """{"type":"location","id":"l1","msisdn":"8613800000001","start":"2026-11-03T08:00:00+08:00","visitedMcc":"454"}""";

    [TestCase(Location, "}", "}", true)]
    [TestCase(Location, "\"454\"", "null", true)] // null is the home network
    [TestCase(Location, ",\"visitedMcc\":\"454\"", "", true)] // so is an absent visitedMcc
    [TestCase(Location, "}", ",\"durationSec\":1.5,\"direction\":5,\"peer\":null}", true)] // CDR members are ignored
    [TestCase(Location, "\"l1\"", "\"1234567890123456789012345678901234567890123456789012345678901234\"", true)] // id of 64 characters
    [TestCase(Location, ",\"id\":\"l1\"", "", false)] // no id
    [TestCase(Location, "\"l1\"", "null", false)] // id null counts as missing
    [TestCase(Location, "\"l1\"", "\"12345678901234567890123456789012345678901234567890123456789012345\"", false)] // id of 65 characters
    [TestCase(Location, "\"l1\"", "\"l\\u0007\"", false)] // a control character in the id
    [TestCase(Location, ",\"msisdn\":\"8613800000001\"", "", false)] // no msisdn
    [TestCase(Location, "8613800000001", "8613", false)] // msisdn of 4 digits
    [TestCase(Location, ",\"start\":\"2026-11-03T08:00:00+08:00\"", "", false)] // no start (the example's s4)
    [TestCase(Location, "T08:00:00", "T24:00:00", false)] // hour 24
    [TestCase(Location, "\"454\"", "\"45\"", false)] // visitedMcc of 2 digits
    [TestCase(Location, "\"454\"", "454", false)] // visitedMcc a number
    [TestCase(Location, "}", ",\"id\":\"l2\"}", false)] // id given twice
    public async Task Location_schema_and_decoder_agree_on_each_rule(string template, string find, string replacement, bool valid)
    {
        var bytes = Encoding.UTF8.GetBytes(Edit(template, find, replacement));
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Location, bytes);
        var (cause, kind) = Decode(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(cause == InvalidCause.None && kind == RecordKind.Location, Is.EqualTo(valid), $"decoder: {InvalidCauses.Detail(cause)}, {kind}");
            Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
        });
    }

    /// <summary>The rater's verdict on one line of the cdrs stream: why it is invalid (or none), and what kind of record it is.</summary>
    private static (InvalidCause Cause, RecordKind Kind) Decode(byte[] line)
    {
        var cause = new CdrDecoder().Decode(line, out var record);
        return (cause, record.Kind);
    }

    [TestCase(Clock, RecordSchemas.Clock)]
    [TestCase(Location, RecordSchemas.Location)]
    [TestCase("""{"type":"profile","msisdn":"8613800000017","plan":"mini-18","cycleDay":1}""", RecordSchemas.Subscriber)]
    [TestCase(Voice, RecordSchemas.Cdr)]
    [TestCase("""{"type":"fax","id":"x1","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00"}""", RecordSchemas.Cdr)]
    [TestCase("""{"type":["clock"],"at":"2026-12-01T00:00:00+08:00"}""", RecordSchemas.Cdr)]
    [TestCase("not json at all", RecordSchemas.Cdr)]
    public async Task The_type_of_a_stream_record_picks_its_schema_as_it_picks_the_decoders_kind(string line, string schemaName)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var (_, decoded) = Decode(bytes);
        var kind = schemaName switch
        {
            RecordSchemas.Clock => RecordKind.Clock,
            RecordSchemas.Location => RecordKind.Location,
            RecordSchemas.Subscriber => RecordKind.Profile,
            _ => RecordKind.Cdr,
        };

        Assert.Multiple(() =>
        {
            Assert.That(SchemaOfStreamLine(bytes), Is.EqualTo(schemaName));
            Assert.That(decoded, Is.EqualTo(kind));
        });

        // A record of one kind fails the schemas of the others: the kinds never overlap.
        foreach (var other in new[] { RecordSchemas.Clock, RecordSchemas.Location, RecordSchemas.Cdr }.Where(s => s != schemaName))
        {
            Assert.That((await RecordSchemas.CheckAsync(other, bytes)).Verdict, Is.Not.EqualTo(Verdict.Pass), other);
        }
    }

    // ------------------------------------------------------------------ profile and tariff rules the schemas cannot see

    [TestCase(",\"services\":[" + News + "," + News + "]}", null)] // a service id listed twice
    [TestCase(",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\",\"cancelledAt\":\"2026-11-10T08:59:59+08:00\"}]}", null)] // cancelled before ordered
    [TestCase(",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\",\"cancelledAt\":\"2026-11-10T09:00:00+09:00\"}]}", null)] // the same, in another offset
    [TestCase(",\"monthlyMinimum\":49999999}", "cycle-close")] // below basic-58's scaled minimum of 50,000,000
    [TestCase(",\"dataCap\":30000000}", "basic")] // not one of basic-58's dataCapTiers
    public async Task Profile_rules_across_members_are_left_to_the_parser(string replacement, string? tariffOf)
    {
        var bytes = Encoding.UTF8.GetBytes(Edit(Profile, "}", replacement));
        var tariff = tariffOf is null ? null : TariffLoader.LoadFile(Examples(tariffOf, "tariff.json"));
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Subscriber, bytes);
        var profile = Subscribers.SubscriberProfile.TryParse(bytes, tariff, out var error);

        Assert.Multiple(() =>
        {
            Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), "the schema cannot see this rule; its description states it");
            Assert.That(profile, Is.Null, "the parser refuses it");
            Assert.That(error, Is.Not.Empty);
        });
    }

    private const string News = """{"id":"news","name":{"zh":"手机报","en":"Mobile News"},"price":5000000,"orderedAt":"2026-11-10T09:00:00+08:00"}""";

    [TestCase(16, true)]
    [TestCase(17, false)]
    public async Task A_profile_lists_at_most_sixteen_services(int count, bool valid)
    {
        var services = string.Join(',', Enumerable.Range(0, count).Select(i => News.Replace("\"news\"", $"\"s{i}\"", StringComparison.Ordinal)));
        var bytes = Encoding.UTF8.GetBytes(Edit(Profile, "}", $",\"services\":[{services}]}}"));
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Subscriber, bytes);
        var profile = Subscribers.SubscriberProfile.TryParse(bytes, tariff: null, out var error);

        Assert.Multiple(() =>
        {
            Assert.That(profile is not null, Is.EqualTo(valid), $"parser: {error}");
            Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
        });
    }

    [TestCase("zeroRated.0.zones", "[\"MARS\"]")] // not domestic, a key of zones or the defaultRoamingZone
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":1000000000000,\"atPricePerMinute\":1}")] // scaled: 1.5x10^17 > 10^15
    [TestCase("plans.no-voice", "{\"rates\":[{\"type\":\"data\",\"unit\":1,\"increment\":1,\"price\":0}],\"monthlyMinimum\":{\"amount\":1,\"atPricePerMinute\":1}}")] // a minimum without a domestic national mo voice rate to scale it
    public async Task Tariff_rules_of_the_account_members_across_members_are_left_to_the_loader(string path, string valueJson)
    {
        var bytes = await Mutate(Example("tariff.json"), path, valueJson);
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Tariff, bytes);

        Assert.Multiple(() =>
        {
            Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), "the schema cannot see this rule; its description states it");
            Assert.That(() => TariffLoader.Load(bytes), Throws.TypeOf<TariffException>());
        });
    }

    public static IEnumerable<TestCaseData> ExampleInputFiles()
    {
        foreach (var folder in Directory.GetDirectories(Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples")).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(folder);
            if (File.Exists(Path.Combine(folder, "tariff.json")))
            {
                yield return new TestCaseData(name, "tariff.json", RecordSchemas.Tariff);
            }

            foreach (var subscribers in Directory.GetFiles(folder, "subscribers*.jsonl").Order(StringComparer.Ordinal))
            {
                yield return new TestCaseData(name, Path.GetFileName(subscribers), RecordSchemas.Subscriber);
            }
        }
    }

    /// <summary>
    /// Every example's tariff and subscriber files pass, cycle-close's subscribers-refused.jsonl too: its line 2 breaks
    /// only the minimum rule, which needs the tariff.
    /// </summary>
    [TestCaseSource(nameof(ExampleInputFiles))]
    public async Task Every_example_tariff_and_subscriber_file_passes_its_schema(string example, string file, string schemaName)
    {
        var path = Examples(example, file);
        var schema = await RecordSchemas.LoadAsync(schemaName);
        var lines = schemaName == RecordSchemas.Tariff ? [File.ReadAllBytes(path)] : RecordSchemas.ReadLines(path);
        var failures = lines
            .Select((line, i) => (Line: i + 1, Check: RecordSchemas.Check(schema, line)))
            .Where(x => x.Check.Verdict != Verdict.Pass)
            .Select(x => $"line {x.Line}: {x.Check}")
            .ToList();

        Assert.That(lines, Is.Not.Empty);
        Assert.That(failures, Is.Empty);
    }

    // ------------------------------------------------------------------ fee records, bills and account notices

    /// <summary>
    /// Each row takes one record of the cycle-close example's expected output, found by its id or eventId, applies the
    /// edits (<c>path=json</c> sets a member, a bare <c>path</c> removes it; edits separated by <c>;</c>) and checks it.
    /// </summary>
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "", true)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "charge=0", true)] // a monthly fee of 0 is still a fee record
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "start=\"10000-01-01T00:00:00+08:00\"; cycle=\"10000-01-01\"", true)] // past 9999-12-31
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "serviceId=\"news\"", false)] // a monthly fee names no service
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "fee=\"service\"", false)] // its id says monthly
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "serviceId", false)] // serviceId is always written
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "fee", false)] // so is fee
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "zone=\"domestic\"", false)] // a fee has no zone
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "direction=\"mo\"", false)] // nor call details
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "visitedMcc=\"460\"", false)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "usedAfter=0", false)] // nor allowance totals
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "cappedAfter=0", false)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "spendAfter=null", false)] // but always the spend
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "billableUnits=1", false)] // a fee has no units
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "allowanceUnits=-1", false)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "zeroRated=\"promo\"", false)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "charge=1000000000001", false)] // above 10^12
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "type=\"voice\"", false)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "id=\"8613800000013:2026-11-15:fee:yearly\"", false)]
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "start=\"2026-11-15\"", false)] // a date, not an instant
    [TestCase("rated.jsonl", "8613800000013:2026-11-15:fee:monthly", "start=\"10000-02-01T00:00:00+08:00\"", false)] // no instant reaches February 10000
    [TestCase("rated.jsonl", "8613800000014:2026-12-01:fee:service:video", "", true)]
    [TestCase("rated.jsonl", "8613800000014:2026-12-01:fee:service:video", "serviceId=null", false)] // a service fee names its service
    [TestCase("rated.jsonl", "8613800000014:2026-12-01:fee:service:video", "serviceId=\"a b\"", false)] // not a service id
    [TestCase("rated.jsonl", "8613800000014:2026-12-01:fee:service:video", "fee=\"monthly\"", false)] // its id says service
    [TestCase("rated.jsonl", "8613800000014:2026-12-01:fee:service:video", "id=\"8613800000014:2026-12-01:fee:service:\"", false)] // no service id
    [TestCase("rated.jsonl", "a1", "", true)]
    [TestCase("rated.jsonl", "a1", "cycle=\"-0001-12-01\"", true)] // a start in year 0000, local time in the year before
    [TestCase("rated.jsonl", "a1", "cycle=\"-0002-12-01\"", false)]
    [TestCase("rated.jsonl", "a1", "cycle=\"10000-02-01\"", false)]
    [TestCase("rated.jsonl", "a1", "start=\"10000-01-01T00:00:00+08:00\"", false)] // a CDR's start is an instant as received
    [TestCase("rated.jsonl", "a1", "allowanceUnits=-2400; overageUnits=2520; charge=6300000", true)] // after a move to a smaller allowance
    [TestCase("rated.jsonl", "a1", "allowanceUnits=-1; charge=1000000000000001", true)] // only then can a charge pass 10^15
    [TestCase("rated.jsonl", "a1", "charge=1000000000000001", false)]
    [TestCase("rated.jsonl", "a1", "serviceId=null", false)] // a rated CDR has no serviceId
    [TestCase("rated.jsonl", "a1", "usedAfter=null", false)] // a rated CDR always has its running totals
    [TestCase("rated.jsonl", "a1", "cappedAfter=null", false)]
    [TestCase("rated.jsonl", "a1", "usedAfter=-1", false)]
    [TestCase("rated.jsonl", "a1", "peer=\"+8613900000000\"", false)] // the peer is written normalised
    [TestCase("rated.jsonl", "a1", "visitedMcc=\"4540\"", false)]
    [TestCase("rated.jsonl", "a1", "id=\"8613800000011:2026-11-01:fee:service:12345678901234567890123456789012\"", false)] // 69 characters: a fee record's id, not a CDR's
    [TestCase("rated.jsonl", "a3", "usedAfter=0; cappedAfter=0", true)] // a zero-rated CDR repeats the cycle's totals
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "", true)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "cdrId=\"a1\"", false)] // fired by a notice item
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "name.en", false)] // the name in both languages
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "name.fr=\"x\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "chargeAt=\"2026-11-11\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "chargeAt=\"10000-01-30T23:00:00-23:59\"", true)] // orderedAt late in 9999 plus 720 h
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "at=\"10000-01-01T09:00:00+08:00\"", false)] // orderedAt is given, so an instant
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "eventId=\"8613800000011:2026-11-01:vas-precharge:news\"", false)] // without orderedAt
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "price=1000000000001", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:vas-precharge:news:2026-11-10T09:00:00+08:00", "monthlyFee=null", false)] // a member of another kind
    [TestCase("reminders.jsonl", "8613800000014:2026-12-01:vas-precharge:video:2026-12-20T20:00:00.5Z", "", true)]
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "", true)]
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "monthlyFee=null", true)] // the new plan has no monthly fee
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "cdrId=null; at=\"2026-11-21T08:00:00+08:00\"; eventId=\"8613800000013:2026-11-15:plan-change:mini-18:basic-58:2026-11-21T08:00:00+08:00\"", true)] // started by a clock
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "cdrId=null", false)] // a clock's trigger is its at
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "monthlyFee", false)] // always written
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "to=\"\"", false)]
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:plan-change:mini-18:basic-58:c2", "eventId=\"8613800000013:2026-11-15:plan-expiry:mini-18:basic-58:c2\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:plan-expiry:2026-12-05T00:00:00+08:00", "", true)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:plan-expiry:2026-12-05T00:00:00+08:00", "cdrId=\"a1\"", false)] // fired by a clock
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:plan-expiry:2026-12-05T00:00:00+08:00", "endsAt=\"2026-12-05\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:plan-expiry:2026-12-05T00:00:00+08:00", "eventId=\"8613800000011:2026-11-01:plan-expiry:2026-12-05\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:plan-expiry:2026-12-05T00:00:00+08:00", "plan", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-12-01:high-spend:60000000", "", true)] // fired by a fee charge: cdrId is the fee record's id
    [TestCase("reminders.jsonl", "8613800000011:2026-12-01:high-spend:60000000", "cdrId=\"8613800000011:2026-12-01:fee:service:12345678901234567890123456789012\"", true)]
    [TestCase("reminders.jsonl", "8613800000011:2026-12-01:high-spend:60000000", "cdrId=null", false)]
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:low-balance:2026-11-01T00:00:00+08:00", "", true)]
    [TestCase("reminders.jsonl", "8613800000013:2026-11-15:low-balance:2026-11-01T00:00:00+08:00", "at=\"10000-01-01T00:00:00+08:00\"", true)] // a fee record's start
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:allowance:voice:80", "cdrId=\"8613800000011:2026-12-01:fee:service:12345678901234567890123456789012\"", false)] // no fee fires an allowance reminder
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:allowance:voice:80", "threshold=0; eventId=\"8613800000011:2026-11-01:allowance:voice:0\"", true)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:allowance:voice:80", "threshold=127; eventId=\"8613800000011:2026-11-01:allowance:voice:127\"", true)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:allowance:voice:80", "threshold=-5; eventId=\"8613800000011:2026-11-01:allowance:voice:-5\"", true)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:allowance:voice:80", "eventId=\"8613800000011:2026-11-01:allowance:voice:-0\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:allowance:voice:80", "eventId=\"8613800000011:2026-11-01:allowance:voice:080\"", false)]
    [TestCase("reminders.jsonl", "8613800000011:2026-11-01:roaming:454:a4", "cdrId=null", false)]
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "", true)]
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "cycleEnd=\"10000-02-01\"", true)]
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "cycle=\"10000-02-01\"", false)]
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "fees.0.serviceId=null", false)] // a service fee names its service
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "fees.0.fee=\"monthly\"", false)] // its id says service
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "fees.0.charge=1000000000001", false)]
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "fees.0.zone=null", false)] // a fee entry has exactly four members
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "usage.voice.allowanceUnits=-1", false)] // the used units are never negative
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "usage.fee={\"count\":1,\"billableUnits\":0,\"allowanceUnits\":0,\"charge\":1}", false)] // fees are no usage
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "minimum=-1", false)]
    [TestCase("bills.jsonl", "8613800000011:2026-11-01:bill", "topUp", false)]
    [TestCase("bills.jsonl", "8613800000014:2026-12-01:bill", "", true)]
    [TestCase("bills.jsonl", "8613800000014:2026-12-01:bill", "fees.0.serviceId=\"video\"", false)] // the monthly fee names no service
    [TestCase("bills.jsonl", "8613800000014:2026-12-01:bill", "fees.0.id=\"8613800000014:2026-12-01:fee:service:video\"", false)] // its fee says monthly
    public async Task Cycle_close_records_pass_their_schema_and_broken_variants_fail(string file, string key, string edits, bool valid)
    {
        var schemaName = file switch
        {
            "rated.jsonl" => RecordSchemas.RatedCdr,
            "reminders.jsonl" => RecordSchemas.Reminder,
            _ => RecordSchemas.Bill,
        };
        var matches = RecordSchemas.ReadLines(Examples("cycle-close", "expected", file))
            .Where(line => JsonNode.Parse(line) is { } node && ((string?)node["id"] ?? (string?)node["eventId"]) == key)
            .ToList();
        Assert.That(matches, Has.Count.EqualTo(1), $"one record {key} in {file}");

        var bytes = matches[0];
        foreach (var edit in edits.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = edit.IndexOf('=', StringComparison.Ordinal);
            bytes = at < 0 ? Mutate(bytes, edit, null) : Mutate(bytes, edit[..at], edit[(at + 1)..]);
        }

        var check = await RecordSchemas.CheckAsync(schemaName, bytes);

        Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
    }

    // ------------------------------------------------------------------ patterns shared by the schemas

    [Test]
    public async Task Every_schema_names_cycles_and_writes_instants_with_the_same_patterns()
    {
        var instant = (string)(await SchemaNode(RecordSchemas.Cdr))["properties"]!["start"]!["pattern"]!;
        var rated = await SchemaNode(RecordSchemas.RatedCdr);
        var reminder = await SchemaNode(RecordSchemas.Reminder);
        var bill = await SchemaNode(RecordSchemas.Bill);
        var subscriber = await SchemaNode(RecordSchemas.Subscriber);
        var service = subscriber["properties"]!["services"]!["items"]!["properties"]!;
        string?[] instants =
        [
            (string?)(await SchemaNode(RecordSchemas.Clock))["properties"]!["at"]!["pattern"],
            (string?)(await SchemaNode(RecordSchemas.Location))["properties"]!["start"]!["pattern"],
            (string?)subscriber["properties"]!["planEndsAt"]!["pattern"],
            (string?)service["orderedAt"]!["pattern"],
            (string?)service["cancelledAt"]!["pattern"],
        ];
        var outputInstant = (string?)rated["$defs"]!["outputInstant"]!["pattern"];
        var cycle = (string?)rated["$defs"]!["cycle"]!["pattern"];

        Assert.Multiple(() =>
        {
            Assert.That(instants, Is.All.EqualTo(instant));
            Assert.That(outputInstant, Is.EqualTo("^(?:10000-01-(?:0[1-9]|[12][0-9]|3[01])|" + instant["^(?:".Length..]),
                "an instant the rater computes: the instant pattern plus January of the year 10000");
            Assert.That((string?)reminder["$defs"]!["outputInstant"]!["pattern"], Is.EqualTo(outputInstant));
            Assert.That((string?)reminder["properties"]!["cycle"]!["pattern"], Is.EqualTo(cycle));
            Assert.That((string?)bill["$defs"]!["cycle"]!["pattern"], Is.EqualTo(cycle));
        });
    }

    [Test]
    public async Task Cycle_pattern_accepts_every_cycle_name_the_rater_can_write_and_no_other_date()
    {
        var pattern = new Regex((string)(await SchemaNode(RecordSchemas.RatedCdr))["$defs"]!["cycle"]!["pattern"]!);
        var cycleEnd = new Regex((string)(await SchemaNode(RecordSchemas.Bill))["properties"]!["cycleEnd"]!["pattern"]!);

        // The earliest instant is 0000-01-01T00:00:00+23:59 and the latest 9999-12-31T23:59:59.9999999-23:59; with the
        // tariff's offset (-23:59 to +23:59) their local dates are -0001-12-30 and 10000-01-02, so cycles run from
        // -0001-12-01 to 10000-01-02, and the last cycle of a 10000-01-02 state ends 10000-02-02.
        var first = Instant.DaysFromCivil(-1, 12, 1);
        var last = Instant.DaysFromCivil(10000, 2, 28);
        var disagreements = new List<string>();
        var checkedNames = 0;
        Span<byte> buffer = stackalloc byte[16];
        for (var day = first - 400; day <= last + 400; day++)
        {
            var (year, month, dayOfMonth) = Instant.CivilFromDays(day);
            var name = Encoding.ASCII.GetString(buffer[..BillingCycle.Format((int)day, buffer)]);
            var yearMonth = (year * 100L) + month;
            var isCycle = day >= first && dayOfMonth <= 28 && yearMonth <= 10000_01;
            var isEnd = dayOfMonth <= 28 && yearMonth >= 0_01 && yearMonth <= 10000_02;
            checkedNames++;
            if ((pattern.IsMatch(name) != isCycle || cycleEnd.IsMatch(name) != isEnd) && disagreements.Count < 20)
            {
                disagreements.Add($"{name}: cycle {pattern.IsMatch(name)} (expected {isCycle}), cycleEnd {cycleEnd.IsMatch(name)} (expected {isEnd})");
            }

            if (day > first + 500 && day < last - 500)
            {
                day += 9; // the years in between follow the same rule: sample them
            }
        }

        Assert.That(disagreements, Is.Empty);
        Assert.That(checkedNames, Is.GreaterThan(4 * 900), "both ends are checked day by day");
    }

    // ------------------------------------------------------------------ what the rater writes at the edges

    /// <summary>
    /// Instants of year 0000 and 9999 in an offset far from the tariff's fall in local dates before 0000 and after 9999:
    /// the rater names those cycles -0001-12-DD and 10000-01-DD, and a fee or a first charge computed past 9999-12-31 is
    /// written in the year 10000. The schemas accept what it writes.
    /// </summary>
    [Test]
    public async Task Records_the_rater_writes_at_the_ends_of_the_calendar_pass_their_schemas()
    {
        var run = await RateAsync(
            await File.ReadAllBytesAsync(Examples("cycle-close", "tariff.json")),
            [
                """{"msisdn":"8613800000009","plan":"basic-58","cycleDay":1}""",
                """{"msisdn":"8613800000008","plan":"basic-58","cycleDay":1,"services":[{"id":"s","name":{"zh":"服务","en":"Service"},"price":1,"orderedAt":"9999-12-31T23:00:00-23:59"}]}""",
            ],
            [
                """{"id":"y1","type":"voice","msisdn":"8613800000009","direction":"mo","peer":"13900000000","start":"0000-01-01T00:00:00+23:59","durationSec":30}""",
                """{"id":"y2","type":"voice","msisdn":"8613800000008","direction":"mo","peer":"13900000000","start":"9999-12-31T23:59:59-23:59","durationSec":30}""",
                """{"type":"clock","at":"9999-12-31T23:59:59.9999999-23:59"}""",
            ]);
        try
        {
            var outputs = await CheckOutputsAsync(run.Output);
            var text = string.Concat(OutputFiles.Select(f => File.ReadAllText(Path.Combine(run.Output, f.File))));

            Assert.Multiple(() =>
            {
                Assert.That(outputs.Failures, Is.Empty);
                Assert.That(text, Does.Contain("\"cycle\":\"-0001-12-01\""));
                Assert.That(text, Does.Contain("\"cycle\":\"10000-01-01\""));
                Assert.That(text, Does.Contain("\"start\":\"10000-01-01T00:00:00+08:00\""), "a monthly fee at the start of 10000-01-01");
                Assert.That(text, Does.Contain("\"chargeAt\":\"10000-01-01T23:00:00-23:59\""));
            });
        }
        finally
        {
            Directory.Delete(run.Folder, recursive: true);
        }
    }

    /// <summary>
    /// SPEC §4 step 6 reads A = min(R, B) with R = allowance - used: after a move to a plan with a smaller allowance R is
    /// negative, so the rated CDR's allowanceUnits is negative, its overage exceeds its billable units, and the used
    /// units come down to the new allowance. The schema accepts that record, and the bill's used units stay ≥ 0.
    /// </summary>
    [Test]
    public async Task A_move_to_a_smaller_allowance_writes_negative_allowance_units_the_schema_accepts()
    {
        var run = await RateAsync(
            await File.ReadAllBytesAsync(Example("tariff.json")),
            ["""{"msisdn":"8613800000009","plan":"basic-58","cycleDay":1}"""],
            [
                """{"id":"n1","type":"voice","msisdn":"8613800000009","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00","durationSec":3000}""",
                """{"type":"profile","msisdn":"8613800000009","plan":"mini-18","cycleDay":1}""",
                """{"id":"n2","type":"voice","msisdn":"8613800000009","direction":"mo","peer":"13900000000","start":"2026-11-03T10:00:00+08:00","durationSec":60}""",
                """{"type":"clock","at":"2026-12-01T00:00:00+08:00"}""",
            ]);
        try
        {
            var outputs = await CheckOutputsAsync(run.Output);
            var n2 = File.ReadAllLines(Path.Combine(run.Output, "rated.jsonl")).Select(l => JsonNode.Parse(l)!).Single(r => (string?)r["id"] == "n2");
            var bill = JsonNode.Parse(File.ReadAllLines(Path.Combine(run.Output, "bills.jsonl")).Single())!;

            Assert.Multiple(() =>
            {
                Assert.That(outputs.Failures, Is.Empty);
                Assert.That((long)n2["allowanceUnits"]!, Is.EqualTo(600 - 3000), "R = mini-18's 600 s - the 3,000 s used");
                Assert.That((long)n2["overageUnits"]!, Is.GreaterThan((long)n2["billableUnits"]!));
                Assert.That((long)n2["usedAfter"]!, Is.EqualTo(600));
                Assert.That((long)bill["usage"]!["voice"]!["allowanceUnits"]!, Is.EqualTo(600));
                Assert.That(outputs.Counts["rated.jsonl"], Is.EqualTo(2));
                Assert.That(outputs.Counts["bills.jsonl"], Is.EqualTo(1));
            });
        }
        finally
        {
            Directory.Delete(run.Folder, recursive: true);
        }
    }

    /// <summary>
    /// Generated traffic with every kind of record of the cdrs stream: CDRs (with the generator's duplicates, late and
    /// malformed ones), location records before roaming trips, a clock every 12 hours of stream time and profile lines
    /// that change plans; profiles with services, own minimums and plan terms; a tariff with monthly fees, a minimum and
    /// the notice settings. Every input line passes the schema of its kind exactly when the rater does not reject it as
    /// invalid, and every output record passes its schema; the outputs hold every reminder kind, both fee kinds and bills.
    /// </summary>
    [Test]
    public async Task Records_of_ratingctl_rate_on_generated_traffic_with_clocks_fees_and_notices_pass_their_schemas()
    {
        const int Subscribers = 200;
        var tariff = JsonNode.Parse(SyntheticData.DemoTariff())!;
        tariff["vasNoticeLeadHours"] = 36;
        tariff["planExpiryNoticeDays"] = 5;
        tariff["lateGraceHours"] = 24;
        foreach (var (plan, fee) in new[] { ("basic-58", 58_000_000L), ("mini-18", 18_000_000L), ("unl-data", 128_000_000L), ("biz-400", 0L) })
        {
            tariff["plans"]![plan]!["monthlyFee"] = fee;
        }

        tariff["plans"]!["basic-58"]!["monthlyMinimum"] = JsonNode.Parse("""{"amount":100000000,"atPricePerMinute":300000}""");

        var data = new SyntheticData(seed: 29, Subscribers, stepTicks: 20 * Instant.TicksPerMinute, locationRecords: true);
        var start = SyntheticData.DefaultStartTicks;
        var buffer = new ArrayBufferWriter<byte>();
        var profiles = new List<JsonObject>();
        for (var i = 0; i < Subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            var profile = JsonNode.Parse(buffer.WrittenSpan)!.AsObject();
            if (i % 3 == 0)
            {
                profile["services"] = JsonNode.Parse($$"""
                    [{"id":"news","name":{"zh":"手机报","en":"Mobile News"},"price":5000000,"orderedAt":"{{SyntheticData.FormatInstant(start + (26 * Instant.TicksPerHour))}}"},
                     {"id":"weather.v2","name":{"zh":"天气预报","en":"Weather"},"price":3000000,"orderedAt":"2026-11-02T17:30:00.25Z","cancelledAt":"2026-11-03T01:00:00Z"},
                     {"id":"video_hd-1","name":{"zh":"视频会员","en":"Video membership"},"price":15000000,"orderedAt":"{{SyntheticData.FormatInstant(start + (9 * Instant.TicksPerDay))}}"}]
                    """);
            }

            if (i % 4 == 1)
            {
                profile["planEndsAt"] = SyntheticData.FormatInstant(start + (20 * Instant.TicksPerDay));
            }

            if (i % 10 == 2)
            {
                profile["monthlyMinimum"] = 60_000_000; // basic-58 (plan index i % 10 < 5): above its scaled 50,000,000
            }

            profiles.Add(profile);
        }

        var cdrs = new List<string>();
        var nextClock = start;
        const int Lines = 3000;
        for (var n = 0; n < Lines; n++)
        {
            if (n == Lines / 2)
            {
                // Plan changes, noticed at each subscriber's next event.
                foreach (var i in new[] { 0, 1, 2, 3, 10, 11 })
                {
                    var line = profiles[i].DeepClone().AsObject();
                    line["type"] = "profile";
                    line["plan"] = (string?)line["plan"] == "mini-18" ? "basic-58" : "mini-18";
                    line.Remove("monthlyMinimum");
                    cdrs.Add(line.ToJsonString());
                }
            }

            buffer.ResetWrittenCount();
            data.WriteNextCdr(buffer);
            cdrs.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
            while (data.NowTicks >= nextClock)
            {
                cdrs.Add($$"""{"type":"clock","at":"{{SyntheticData.FormatInstant(nextClock)}}"}""");
                nextClock += 12 * Instant.TicksPerHour;
            }
        }

        var run = await RateAsync(Encoding.UTF8.GetBytes(tariff.ToJsonString()), profiles.Select(p => p.ToJsonString()), cdrs);
        try
        {
            var outputs = await CheckOutputsAsync(run.Output);
            var invalid = RawOfRejected(Path.Combine(run.Output, "rejected.jsonl"), "invalid").ToHashSet(StringComparer.Ordinal);
            var disagreements = new List<string>();
            var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var line in RecordSchemas.ReadLines(Path.Combine(run.Folder, "cdrs.jsonl")))
            {
                var schema = SchemaOfStreamLine(line);
                kinds[schema] = kinds.GetValueOrDefault(schema) + 1;
                var passes = (await RecordSchemas.CheckAsync(schema, line)).Verdict == Verdict.Pass;
                var text = Encoding.UTF8.GetString(line);
                if (passes == invalid.Contains(text) && disagreements.Count < 10)
                {
                    disagreements.Add($"{schema}: {(passes ? "passes, but the rater rejects it invalid" : "fails, but the rater accepts it")}: {text}");
                }
            }

            var reminderKinds = File.ReadLines(Path.Combine(run.Output, "reminders.jsonl")).Select(l => (string)JsonNode.Parse(l)!["kind"]!).ToHashSet();
            var feeKinds = File.ReadLines(Path.Combine(run.Output, "rated.jsonl")).Select(l => (string?)JsonNode.Parse(l)!["fee"]).OfType<string>().ToHashSet();
            var schemaKinds = (await SchemaNode(RecordSchemas.Reminder))["properties"]!["kind"]!["enum"]!.AsArray().Select(k => (string)k!);

            Assert.Multiple(() =>
            {
                Assert.That(outputs.Failures, Is.Empty);
                Assert.That(disagreements, Is.Empty);
                Assert.That(kinds.Keys, Is.EquivalentTo(new[] { RecordSchemas.Cdr, RecordSchemas.Clock, RecordSchemas.Location, RecordSchemas.Subscriber }));
                Assert.That(invalid, Is.Not.Empty, "the generator writes some malformed records");
                Assert.That(reminderKinds, Is.EquivalentTo(schemaKinds), "every reminder kind");
                Assert.That(feeKinds, Is.EquivalentTo(new[] { "monthly", "service" }));
                Assert.That(outputs.Counts["bills.jsonl"], Is.GreaterThan(Subscribers / 2));
                Assert.That(run.Summary, Does.Contain(
                    $"{outputs.Counts["rated.jsonl"]} rated, {outputs.Counts["rejected.jsonl"]} rejected, {outputs.Counts["reminders.jsonl"]} reminders, {outputs.Counts["bills.jsonl"]} bills"));
            });
        }
        finally
        {
            Directory.Delete(run.Folder, recursive: true);
        }
    }

    private static readonly (string File, string Schema)[] OutputFiles =
    [
        ("rated.jsonl", RecordSchemas.RatedCdr), ("reminders.jsonl", RecordSchemas.Reminder),
        ("rejected.jsonl", RecordSchemas.RejectedRecord), ("bills.jsonl", RecordSchemas.Bill),
    ];

    private sealed record RateRun(string Folder, string Output, string Summary);

    /// <summary>Writes the input files to a new folder and runs <c>ratingctl rate</c> on them; it must succeed.</summary>
    private static async Task<RateRun> RateAsync(byte[] tariff, IEnumerable<string> subscribers, IEnumerable<string> cdrs)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"ratingpipeline-schemas-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        await File.WriteAllBytesAsync(Path.Combine(folder, "tariff.json"), tariff);
        await File.WriteAllLinesAsync(Path.Combine(folder, "subscribers.jsonl"), subscribers);
        await File.WriteAllLinesAsync(Path.Combine(folder, "cdrs.jsonl"), cdrs);
        var output = Path.Combine(folder, "out");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await RateCommand.RunAsync(
            new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers.jsonl"), Path.Combine(folder, "cdrs.jsonl"), output, Progress: false),
            stdout, stderr, timeout.Token);
        Assert.That(exit, Is.Zero, stderr.ToString());
        return new RateRun(folder, output, stdout.ToString());
    }

    /// <summary>Checks every line of the four output files against its schema.</summary>
    private static async Task<(Dictionary<string, int> Counts, List<string> Failures)> CheckOutputsAsync(string output)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (var (file, schema) in OutputFiles)
        {
            var (count, fileFailures) = await CheckFile(Path.Combine(output, file), schema);
            counts[file] = count;
            failures.AddRange(fileFailures);
        }

        return (counts, failures);
    }
}
