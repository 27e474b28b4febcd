using System.Buffers;
using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using RatingPipeline.Synthetic;
using RatingPipeline.Time;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// The monthly zero-rating audit on a hand-made stream whose relief is worked out by hand (example tariff,
/// mini-18 subscriber): the month and days by local start, relief per record, unpriced records, CSV quoting.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class ZeroRatingAuditTests(int lanes)
{
    private readonly int _lanes = lanes;

    private const string Msisdn = "8613800000001";

    // id, line, and what the record should show (local day at +08:00, relief in micros) — see each comment.
    private static readonly string[] Cdrs =
    [
        // v1: voice mo 61 s to 10086 at home. Rate voice/domestic/mo/national 60+60, 150,000 per 60:
        // B = 60 + ceil(1/60)×60 = 120, C = (120 × 150,000 + 30) / 60 = 300,000.
        Cdr("v1", "voice", "mo", "10086", "2026-11-03T10:00:00+08:00", ",\"durationSec\":61"),

        // v2: the same call in Hong Kong (454, HMT). Rate voice/HMT/mo 60/60, 990,000 per 60:
        // B = 120, C = (120 × 990,000 + 30) / 60 = 1,980,000.
        Cdr("v2", "voice", "mo", "10086", "2026-11-04T10:00:00+08:00", ",\"durationSec\":61,\"visitedMcc\":\"454\""),

        // v3: a 0 s call to 10086: B = 0, relief 0.
        Cdr("v3", "voice", "mo", "10086", "2026-11-06T10:00:00+08:00", ",\"durationSec\":0"),

        // s1: Apple port SMS at 23:30 local on 11-30 (15:30Z): rate sms/*/mo/* 1,000,000 per 1 → 1,000,000.
        Cdr("s1", "sms", "mo", "+447537410217", "2026-11-30T23:30:00+08:00"),

        // s3: SMS mt from 10086 at 00:30 local on 11-01 (10-31 in UTC): rate sms/domestic/mt price 0 → relief 0.
        Cdr("s3", "sms", "mt", "10086", "2026-11-01T00:30:00+08:00"),

        // s4 (id with a comma and quotes): SMS mo to 10086 roaming in 262 (ROW): sms/*/mo/* → 1,000,000.
        Cdr("q,\\\"4\\\"", "sms", "mo", "10086", "2026-11-05T12:00:00+08:00", ",\"visitedMcc\":\"262\""),

        // n1: an ordinary SMS (not zero-rated) in the month.
        Cdr("n1", "sms", "mo", "13900000000", "2026-11-07T12:00:00+08:00"),

        // s2 (last: it opens the December cycle): Apple port SMS at 16:30Z on 11-30 = 00:30 local on 12-01,
        // so December in local time and November in UTC.
        Cdr("s2", "sms", "mo", "00447786205094", "2026-11-30T16:30:00Z"),
    ];

    private TestFolder _folder = null!;
    private string _subscribers = null!;
    private string _cdrs = null!;
    private string _rated = null!;

    [SetUp]
    public async Task SetUp()
    {
        _folder = new TestFolder();
        _subscribers = WriteLines(_folder, "subscribers.jsonl", [$"{{\"msisdn\":\"{Msisdn}\",\"plan\":\"mini-18\",\"cycleDay\":1}}"]);
        _cdrs = WriteLines(_folder, "cdrs.jsonl", Cdrs);
        _rated = await RateAsync(ExampleTariff, _subscribers, _cdrs, _folder.File("rated"));
    }

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task Relief_per_record_rule_and_day_matches_the_hand_computed_figures()
    {
        var outDir = _folder.File("audit");

        var (code, stdout, stderr) = await AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", outDir, Sample: 10, Tariff: ExampleTariff, Cdrs: _cdrs));

        Assert.That(code, Is.Zero, stderr);
        var summary = Summary(outDir);
        var sample = Csv(outDir);
        var reliefById = sample.Skip(1).ToDictionary(row => row[1], row => row[19]);
        Assert.Multiple(() =>
        {
            // Local November: v1, v2, v3, s1, s3, s4 (s2 is 12-01 local). 300,000 + 1,980,000 + 0 + 1,000,000 + 0 + 1,000,000.
            Assert.That(summary.GetProperty("zeroRated").GetInt64(), Is.EqualTo(6));
            Assert.That(summary.GetProperty("recordsInMonth").GetInt64(), Is.EqualTo(7));
            Assert.That(summary.GetProperty("relief").GetProperty("micros").GetInt64(), Is.EqualTo(4_280_000));
            Assert.That(summary.GetProperty("relief").GetProperty("yuan").GetString(), Is.EqualTo("4.28"));
            Assert.That(PerRule(summary), Is.EqualTo(new Dictionary<string, (long, long)>
            {
                ["apple-activation"] = (1, 1_000_000),
                ["customer-service"] = (5, 3_280_000),
            }));
            Assert.That(PerDay(summary), Is.EqualTo(new Dictionary<string, (long, long)>
            {
                ["2026-11-01"] = (1, 0),
                ["2026-11-03"] = (1, 300_000),
                ["2026-11-04"] = (1, 1_980_000),
                ["2026-11-05"] = (1, 1_000_000),
                ["2026-11-06"] = (1, 0),
                ["2026-11-30"] = (1, 1_000_000),
            }));
            Assert.That(reliefById, Is.EqualTo(new Dictionary<string, string>
            {
                ["v1"] = "300000",
                ["v2"] = "1980000",
                ["v3"] = "0",
                ["s1"] = "1000000",
                ["s3"] = "0",
                ["q,\"4\""] = "1000000",
            }));
            Assert.That(stdout.Trim(), Is.EqualTo("6 zero-rated records in 2026-11 (of 7 rated in the month), 2 rules, relief 4.28 yuan (4280000 micros) over 6 priced; sample 6 (seed 1)"));
            Assert.That(File.ReadAllText(Path.Combine(outDir, "zero-rating-summary.txt")), Does.Contain("4.28 yuan (4280000 micros) over 6 priced records"));
        });
    }

    [Test]
    public async Task Without_a_tariff_days_are_utc_and_relief_is_left_out()
    {
        var outDir = _folder.File("audit");

        var (code, _, stderr) = await AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", outDir));

        Assert.That(code, Is.Zero, stderr);
        var summary = Summary(outDir);
        Assert.Multiple(() =>
        {
            // UTC November: v1, v2, v3, s1, s2 (16:30Z on 11-30), s4; s3 is 10-31 in UTC.
            Assert.That(summary.GetProperty("utcOffset").GetString(), Is.EqualTo("Z"));
            Assert.That(PerRule(summary).ToDictionary(kv => kv.Key, kv => kv.Value.Count),
                Is.EqualTo(new Dictionary<string, long> { ["apple-activation"] = 2, ["customer-service"] = 4 }));
            Assert.That(PerDay(summary)["2026-11-30"].Count, Is.EqualTo(2));
            Assert.That(summary.GetProperty("relief").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(Csv(outDir)[0], Has.None.StartsWith("relief"));
            Assert.That(File.ReadAllText(Path.Combine(outDir, "zero-rating-summary.txt")), Does.Contain("Relief: not computed"));
        });
    }

    [Test]
    public async Task A_record_whose_cdr_is_missing_is_counted_but_not_priced()
    {
        var withoutS4 = WriteLines(_folder, "cdrs-without-s4.jsonl", Cdrs.Where(l => !l.Contains("262", StringComparison.Ordinal)));
        var outDir = _folder.File("audit");

        var (code, _, _) = await AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", outDir, Tariff: ExampleTariff, Cdrs: withoutS4));

        var relief = Summary(outDir).GetProperty("relief");
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(Summary(outDir).GetProperty("zeroRated").GetInt64(), Is.EqualTo(6));
            Assert.That(relief.GetProperty("priced").GetInt64(), Is.EqualTo(5));
            Assert.That(relief.GetProperty("micros").GetInt64(), Is.EqualTo(3_280_000));
            Assert.That(relief.GetProperty("unpriced").GetProperty("no-cdr").GetInt64(), Is.EqualTo(1));
            Assert.That(Csv(outDir).Single(r => r[1] == "q,\"4\"")[21], Is.EqualTo("no-cdr"));
        });
    }

    [Test]
    public async Task Sample_csv_has_a_header_and_quotes_fields_as_rfc_4180_says()
    {
        var outDir = _folder.File("audit");

        await AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", outDir, Tariff: ExampleTariff, Cdrs: _cdrs));

        var text = File.ReadAllText(Path.Combine(outDir, "zero-rating-sample.csv"));
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.StartWith("line,id,msisdn,type,start,localDay,cycle,plan,tariffVersion,zone,billableUnits,allowanceUnits,"
                + "overageUnits,charge,zeroRated,direction,peer,dest,reliefUnits,reliefMicros,reliefYuan,reliefNote\r\n"));
            Assert.That(text, Does.Contain(",\"q,\"\"4\"\"\"," + Msisdn + ",sms,"));
            Assert.That(text.Split("\r\n"), Has.Length.EqualTo(1 + 6 + 1), "header, six records, and the empty rest after the last CRLF");
        });
    }

    [TestCase("2026-13")] // there is no month 13
    [TestCase("2026-00")] // there is no month 0
    [TestCase("2026-1")] // the month needs two digits
    [TestCase("26-11")] // the year needs four digits
    [TestCase("2026/11")] // the separator is '-'
    [TestCase("2026-11-01")] // a day, not a month
    public async Task A_month_not_written_yyyy_MM_is_refused(string month)
    {
        var (code, _, stderr) = await AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, month, _folder.File("audit")));

        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--month must be yyyy-MM"));
    }

    [TestCase(true, false)] // relief needs the CDRs for direction and peer
    [TestCase(false, true)] // the CDRs are only read to price relief, which needs the tariff
    public async Task Relief_needs_both_tariff_and_cdrs(bool withTariff, bool withCdrs)
    {
        var (code, _, stderr) = await AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", _folder.File("audit"),
            Tariff: withTariff ? ExampleTariff : null, Cdrs: withCdrs ? _cdrs : null));

        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("relief needs both --tariff"));
    }

    [TestCase(0, "0.00")]
    [TestCase(4_999, "0.00")]
    [TestCase(5_000, "0.01")]
    [TestCase(1_000_000, "1.00")]
    [TestCase(4_285_000, "4.29")]
    [TestCase(-1_005_000, "-1.01")]
    public void Micros_are_shown_as_yuan_with_two_decimals_rounded_half_away_from_zero(long micros, string yuan) =>
        Assert.That(ZeroRatingReportWriter.Yuan(micros), Is.EqualTo(yuan));

    internal static async Task<(int Code, string Stdout, string Stderr)> AuditAsync(int lanes, ZeroRatingAuditOptions options)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await AuditCommand.RunZeroRatingAsync(options with { Lanes = lanes }, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    internal static JsonElement Summary(string outDir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "zero-rating-summary.json"))).RootElement;

    internal static Dictionary<string, (long Count, long Relief)> PerRule(JsonElement summary) => Table(summary, "perRule", "reason");

    /// <summary>The days with zero-rated records.</summary>
    internal static Dictionary<string, (long Count, long Relief)> PerDay(JsonElement summary) =>
        Table(summary, "perDay", "day").Where(kv => kv.Value.Count > 0).ToDictionary();

    /// <summary>The sample CSV as rows of fields (RFC 4180: quoted fields, doubled quotes, CRLF rows).</summary>
    internal static List<string[]> Csv(string outDir)
    {
        var text = File.ReadAllText(Path.Combine(outDir, "zero-rating-sample.csv"));
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add([.. row]);
                row.Clear();
                i++;
            }
            else
            {
                field.Append(c);
            }
        }

        return rows;
    }

    private static Dictionary<string, (long Count, long Relief)> Table(JsonElement summary, string name, string key) =>
        summary.GetProperty(name).EnumerateArray().ToDictionary(
            e => e.GetProperty(key).GetString()!,
            e => (e.GetProperty("count").GetInt64(), e.TryGetProperty("reliefMicros", out var r) ? r.GetInt64() : 0));

    private static string Cdr(string id, string type, string direction, string peer, string start, string extra = "") =>
        $"{{\"id\":\"{id}\",\"type\":\"{type}\",\"msisdn\":\"{Msisdn}\",\"direction\":\"{direction}\",\"peer\":\"{peer}\",\"start\":\"{start}\"{extra}}}";
}

/// <summary>The audit on a generated month: counts equal a direct count; the sample is reproducible.</summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class ZeroRatingAuditGeneratedDataTests(int lanes)
{
    private readonly int _lanes = lanes;

    private TestFolder _folder = null!;
    private string _tariff = null!;
    private string _cdrs = null!;
    private string _rated = null!;

    [OneTimeSetUp]
    public async Task GenerateAndRate()
    {
        _folder = new TestFolder();
        var data = _folder.File("data");

        // Tariff and profiles from ratingctl generate; then 20,000 CDRs about 150 s apart from 2026-11-01 local,
        // so the stream runs about 35 days: every day of November, the start of December, cycle changes.
        await GenerateCommand.RunAsync(data, subscribers: 200, cdrs: 0, seed: 11, CancellationToken.None);
        _tariff = Path.Combine(data, "tariff.json");
        _cdrs = Path.Combine(data, "cdrs.jsonl");
        var synthetic = new SyntheticData(11, 200, stepTicks: 150 * Instant.TicksPerSecond);
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 20_000; i++)
        {
            synthetic.WriteNextCdr(buffer);
            buffer.Write("\n"u8);
        }

        await File.WriteAllBytesAsync(_cdrs, buffer.WrittenMemory.ToArray());
        _rated = await RateAsync(_tariff, Path.Combine(data, "subscribers.jsonl"), _cdrs, _folder.File("rated"));
    }

    [OneTimeTearDown]
    public void CleanUp() => _folder.Dispose();

    [Test]
    public async Task Counts_per_rule_and_per_day_equal_a_direct_count_of_the_rated_file()
    {
        var outDir = _folder.File("audit-counts");

        var (code, _, stderr) = await ZeroRatingAuditTests.AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", outDir, Tariff: _tariff, Cdrs: _cdrs));

        // Direct count: the local (+08:00) date of each record's start, with the framework's own parser.
        var inMonth = JsonLines(_rated)
            .Select(r => (Record: r, Local: DateTimeOffset.Parse(r.GetProperty("start").GetString()!, CultureInfo.InvariantCulture).ToOffset(TimeSpan.FromHours(8))))
            .Where(x => x.Local.Year == 2026 && x.Local.Month == 11)
            .ToList();
        var zeroRated = inMonth.Where(x => x.Record.GetProperty("zeroRated").ValueKind == JsonValueKind.String).ToList();
        var byRule = zeroRated.GroupBy(x => x.Record.GetProperty("zeroRated").GetString()!).ToDictionary(g => g.Key, g => (long)g.Count());
        var byDay = zeroRated.GroupBy(x => x.Local.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToDictionary(g => g.Key, g => (long)g.Count());
        var summary = ZeroRatingAuditTests.Summary(outDir);

        Assert.That(code, Is.Zero, stderr);
        Assert.That(byDay, Has.Count.EqualTo(30), "the stream covers every day of November");
        Assert.That(inMonth, Has.Count.LessThan(JsonLines(_rated).Count), "and records outside it");
        Assert.Multiple(() =>
        {
            Assert.That(summary.GetProperty("recordsRead").GetInt64(), Is.EqualTo(JsonLines(_rated).Count));
            Assert.That(summary.GetProperty("recordsInMonth").GetInt64(), Is.EqualTo(inMonth.Count));
            Assert.That(summary.GetProperty("zeroRated").GetInt64(), Is.EqualTo(zeroRated.Count));
            Assert.That(ZeroRatingAuditTests.PerRule(summary).ToDictionary(kv => kv.Key, kv => kv.Value.Count), Is.EqualTo(byRule));
            Assert.That(ZeroRatingAuditTests.PerDay(summary).ToDictionary(kv => kv.Key, kv => kv.Value.Count), Is.EqualTo(byDay));
            Assert.That(summary.GetProperty("relief").GetProperty("priced").GetInt64(), Is.EqualTo(zeroRated.Count), "every record's CDR is in the stream");
        });
    }

    [Test]
    public async Task The_same_seed_draws_the_same_sample_and_another_seed_another()
    {
        var first = await SampleAsync(seed: 5, "a");
        var again = await SampleAsync(seed: 5, "b");
        var other = await SampleAsync(seed: 6, "c");

        Assert.Multiple(() =>
        {
            Assert.That(first, Has.Count.EqualTo(1 + 20));
            Assert.That(again, Is.EqualTo(first));
            Assert.That(other.Select(r => r[0]), Is.Not.EqualTo(first.Select(r => r[0])));
        });
    }

    [Test]
    public async Task The_sample_is_reservoir_sampling_with_new_Random_seed_over_the_zero_rated_records_in_file_order()
    {
        // The documented algorithm, so an auditor can draw the same sample independently.
        const int Size = 20;
        const int Seed = 42;
        var candidates = File.ReadAllLines(_rated)
            .Select((line, index) => (Line: index + 1L, Record: JsonDocument.Parse(line).RootElement))
            .Where(x => x.Record.GetProperty("zeroRated").ValueKind == JsonValueKind.String
                && DateTimeOffset.Parse(x.Record.GetProperty("start").GetString()!, CultureInfo.InvariantCulture).ToOffset(TimeSpan.FromHours(8)).Month == 11)
            .Select(x => x.Line)
            .ToList();
        var random = new Random(Seed);
        var reservoir = new List<long>();
        for (var i = 0; i < candidates.Count; i++)
        {
            if (i < Size)
            {
                reservoir.Add(candidates[i]);
            }
            else if (random.Next(i + 1) is var j && j < Size)
            {
                reservoir[j] = candidates[i];
            }
        }

        var sample = await SampleAsync(Seed, "reference", Size);

        Assert.That(candidates, Has.Count.GreaterThan(Size));
        Assert.That(sample.Skip(1).Select(r => long.Parse(r[0], CultureInfo.InvariantCulture)), Is.EqualTo(reservoir.Order()));
    }

    private async Task<List<string[]>> SampleAsync(int seed, string name, int size = 20)
    {
        var outDir = _folder.File("sample-" + name);
        var (code, _, stderr) = await ZeroRatingAuditTests.AuditAsync(_lanes, new ZeroRatingAuditOptions(_rated, "2026-11", outDir, Sample: size, Seed: seed, Tariff: _tariff, Cdrs: _cdrs));
        Assert.That(code, Is.Zero, stderr);
        return ZeroRatingAuditTests.Csv(outDir);
    }
}
