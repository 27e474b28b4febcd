using System.Buffers;
using System.Diagnostics;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// Hostile tariffs: the loader returns a tariff or throws <see cref="TariffException"/> naming a path, whatever the
/// bytes; a tariff of 100,000 zero-rating patterns loads and rates at speed (figures in the test output; no
/// timing is asserted).
/// </summary>
[TestFixture]
public sealed class HostileTariffTests
{
    private const int Patterns = 100_000;
    private static readonly string Demo = Encoding.UTF8.GetString(SyntheticData.DemoTariff());

    private static string WithMember(string member) => "{" + member + "," + Demo.TrimStart()[1..];

    private static IEnumerable<TestCaseData> Refused()
    {
        yield return new TestCaseData(Encoding.UTF8.GetBytes(WithMember("\"x\":" + new string('[', 100_000))), "$: ").SetArgDisplayNames("nesting-1e5-open");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(WithMember("\"x\":" + new string('[', 100_000) + new string(']', 100_000))), "$: ")
            .SetArgDisplayNames("nesting-1e5-closed");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Demo.Replace("\"price\": 150000", "\"price\": 1" + new string('0', 1_000_000), StringComparison.Ordinal)),
            "plans.basic-58.rates[0].price: ").SetArgDisplayNames("price-of-1e6-digits");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Demo.Replace("\"version\": \"2026-11-01.1\"", "\"version\": 1" + new string('0', 1_000_000), StringComparison.Ordinal)),
            "version: ").SetArgDisplayNames("version-as-1e6-digit-number");
        yield return new TestCaseData(Bytes(WithMember("\"x\":\"a"), [0xED, 0xA0, 0x80], "\""u8.ToArray()), "$: not valid UTF-8").SetArgDisplayNames("utf8-surrogate");
        yield return new TestCaseData(Bytes(WithMember("\"x\":\"a"), [0xC0, 0xAF], "\""u8.ToArray()), "$: not valid UTF-8").SetArgDisplayNames("utf8-overlong");
        yield return new TestCaseData(Bytes(WithMember("\"x\":\"a"), [0x00], "\""u8.ToArray()), "$: ").SetArgDisplayNames("nul-in-string");
        yield return new TestCaseData(Bytes(WithMember("\"x\":1"), [0x00], []), "$: ").SetArgDisplayNames("nul-between-members");
        yield return new TestCaseData(Bytes([0xEF, 0xBB, 0xBF], Encoding.UTF8.GetBytes(Demo), []), "$: ").SetArgDisplayNames("byte-order-mark");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(WithMember("\"version\":\"again\"")), "version: is given twice").SetArgDisplayNames("version-twice");
    }

    [TestCaseSource(nameof(Refused))]
    public void A_hostile_tariff_is_refused_with_a_path(byte[] tariff, string messageStart)
    {
        var refusal = Assert.Throws<TariffException>(() => TariffLoader.Load(tariff));
        Assert.That(refusal!.Message, Does.StartWith(messageStart));
    }

    private static IEnumerable<TestCaseData> Loaded()
    {
        yield return new TestCaseData(WithMember("\"x\":\"" + new string('a', 10 << 20) + "\"")).SetArgDisplayNames("unknown-string-10mib");
        yield return new TestCaseData(WithMember("\"x\":" + "9" + new string('0', 1_000_000))).SetArgDisplayNames("unknown-number-1e6-digits");
        yield return new TestCaseData(Demo.Replace("\"2026-11-01.1\"", "\"" + new string('v', 1 << 20) + "\"", StringComparison.Ordinal)).SetArgDisplayNames("version-1mib");
        yield return new TestCaseData(WithMember("\"x\":\"\\u0000\"")).SetArgDisplayNames("escaped-nul");
    }

    [TestCaseSource(nameof(Loaded))]
    public void A_tariff_with_huge_but_valid_members_loads(string tariff)
    {
        var loaded = TariffLoader.Load(Encoding.UTF8.GetBytes(tariff));
        Assert.That(loaded.Plans, Is.Not.Empty);
    }

    [Test]
    public void A_tariff_of_100000_zero_rating_patterns_loads_and_rates_100000_cdrs()
    {
        // Patterns 0044 + ten digits (distinct), some ending in "xx" and some in "*"; CDR 2k dials an instance of
        // pattern k (x → 5, * → 12), CDR 2k+1 dials a 0086 number that no pattern covers.
        var patterns = new string[Patterns];
        for (var k = 0; k < Patterns; k++)
        {
            var digits = "0044" + ((long)k * 99_991).ToString("D10", System.Globalization.CultureInfo.InvariantCulture);
            patterns[k] = (k % 10) switch
            {
                3 => digits[..^2] + "xx",
                7 => digits[..^3] + "*",
                _ => digits,
            };
        }

        var json = Demo.Replace("\"zeroRated\": [", "\"zeroRated\": [" + string.Concat(patterns.Select(p =>
            $"{{\"pattern\":\"{p}\",\"types\":[\"sms\",\"voice\"],\"from\":\"2012-05-20T00:00:00+08:00\",\"reason\":\"r\"}},")), StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(json);
        var watch = Stopwatch.StartNew();
        var tariff = TariffLoader.Load(bytes);
        var loadTime = watch.Elapsed;
        Assert.That(tariff.ZeroRating.Rules, Has.Count.GreaterThanOrEqualTo(Patterns));

        var (rated, zeroRated, perSecond) = RateSms(tariff, Patterns, i => i % 2 == 0
            ? patterns[i / 2].Replace('x', '5').Replace("*", "12", StringComparison.Ordinal)
            : "0086139" + (i % 100_000_000).ToString("D8", System.Globalization.CultureInfo.InvariantCulture));
        TestContext.Out.WriteLine($"tariff of {Patterns:N0} zero-rating patterns ({bytes.Length / 1024.0 / 1024:F1} MiB): "
            + $"loaded in {loadTime.TotalMilliseconds:N0} ms; {Patterns:N0} SMS CDRs rated at {perSecond:N0} CDRs/s, {zeroRated:N0} zero-rated");
        Assert.That(rated, Is.EqualTo(Patterns));
        Assert.That(zeroRated, Is.EqualTo(Patterns / 2));
    }

    /// <summary>
    /// 100,000 patterns of 17 characters, each a '0' or an 'x': the peer 0000…0 follows both edges at every trie node
    /// (about 230,000 nodes match it). The table is split by CDR type, so voice-only patterns cost an SMS nothing; a
    /// voice CDR finds the earliest entry first and skips every subtree that cannot hold an earlier one; dates that
    /// never apply are skipped by subtree too. What is left to walk is a list whose entries' dates interleave so that
    /// none applies while every subtree's dates span the CDR's instant: then the nodes the peer reaches are walked.
    /// No time is asserted (the figures are printed, and the tariff-size benchmark measures them); the results are.
    /// </summary>
    [TestCase("voice", "2012-05-20T00:00:00+08:00", null, "sms", 0, TestName = "Branching voice patterns cost an SMS nothing")]
    [TestCase("voice", "2012-05-20T00:00:00+08:00", null, "voice", 20, TestName = "Branching patterns that all match a voice CDR report the first")]
    [TestCase("voice", "2030-01-01T00:00:00+08:00", null, "voice", 0, TestName = "Branching patterns not yet in force are skipped by subtree")]
    [TestCase("voice", "2012-05-20T00:00:00+08:00", "alternate", "voice", 0, TestName = "Branching patterns whose interleaved dates never apply are walked")]
    public void Zero_rating_patterns_built_to_branch_everywhere(string types, string from, string? dates, string cdrType, int expectedZeroRated)
    {
        var patterns = Enumerable.Range(0, Patterns)
            .Select(k => new string([.. Enumerable.Range(0, 17).Select(bit => ((k >> bit) & 1) == 0 ? '0' : 'x')])).ToArray();
        var json = Demo.Replace("\"zeroRated\": [", "\"zeroRated\": [" + string.Concat(patterns.Select((p, k) =>
        {
            // "alternate": by the last character, entries ending in 0 ended in 2013 and those ending in x start in 2030; a
            // CDR of 2026 is in neither, and every subtree above the last level holds both.
            var window = dates is null ? $"\"from\":\"{from}\""
                : ((k >> 16) & 1) == 0 ? "\"from\":\"2012-01-01T00:00:00+08:00\",\"to\":\"2013-01-01T00:00:00+08:00\""
                : "\"from\":\"2030-01-01T00:00:00+08:00\"";
            return $"{{\"pattern\":\"{p}\",\"types\":[\"{types}\"],{window},\"reason\":\"r{k}\"}},";
        })), StringComparison.Ordinal);
        var watch = Stopwatch.StartNew();
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(json));
        var loadTime = watch.Elapsed;

        const int Cdrs = 20;
        var (rated, zeroRated, perSecond) = Rate(tariff, Cdrs, cdrType, _ => new string('0', 17));
        TestContext.Out.WriteLine($"branching tariff of {Patterns:N0} patterns ({types}, {dates ?? from}): loaded in {loadTime.TotalMilliseconds:N0} ms; "
            + $"{Cdrs:N0} {cdrType} CDRs to 0…0 rated at {perSecond:N0} CDRs/s, {zeroRated} zero-rated");
        Assert.That(rated, Is.EqualTo(Cdrs));
        Assert.That(zeroRated, Is.EqualTo(expectedZeroRated));
    }

    /// <summary>
    /// Two lists that defeat pruning by subtree. "miss-last": 100,000 patterns of 16 × '0' or 'x' and a final '1' —
    /// the peer 0…0 (17 digits) follows both edges at every level and misses at the last digit, so no subtree can be
    /// skipped; the walk is given up after its budget for the bit-parallel match. "windows": 100,000 entries of one
    /// pattern (x…x, 17), each in force on one day of its own, every other day from 2020 on; a CDR on a day between
    /// them matches the pattern and no entry applies — the list's time index finds that without reading the entries.
    /// Both rate every CDR (no time is asserted; the tariff-size benchmark measures them) and report no entry.
    /// </summary>
    [TestCase("miss-last")]
    [TestCase("windows")]
    public void Lists_that_defeat_pruning_by_subtree_are_matched_in_bounded_work(string shape)
    {
        var entries = Enumerable.Range(0, Patterns).Select(k => shape == "miss-last"
            ? $"{{\"pattern\":\"{new string([.. Enumerable.Range(0, 16).Select(bit => ((k >> bit) & 1) == 0 ? '0' : 'x')])}1\",\"types\":[\"voice\"],\"from\":\"2012-05-20T00:00:00+08:00\",\"reason\":\"r{k}\"}},"
            : $"{{\"pattern\":\"{new string('x', 17)}\",\"types\":[\"voice\"],\"from\":\"{new DateTime(2020, 1, 1).AddDays(2 * k):yyyy-MM-dd}T00:00:00+08:00\",\"to\":\"{new DateTime(2020, 1, 1).AddDays((2 * k) + 1):yyyy-MM-dd}T00:00:00+08:00\",\"reason\":\"r{k}\"}},");
        var json = Demo.Replace("\"zeroRated\": [", "\"zeroRated\": [" + string.Concat(entries), StringComparison.Ordinal);
        var watch = Stopwatch.StartNew();
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(json));
        var loadTime = watch.Elapsed;

        const int Cdrs = 2_000;
        var (rated, zeroRated, perSecond) = Rate(tariff, Cdrs, "voice", _ => new string('0', 17));
        TestContext.Out.WriteLine($"{shape}: {Patterns:N0} entries loaded in {loadTime.TotalMilliseconds:N0} ms; {Cdrs} voice CDRs rated at {perSecond:N0} CDRs/s, "
            + $"{zeroRated} zero-rated, {tariff.ZeroRating.FallbackCount} walks given up for the bit-parallel match");
        Assert.Multiple(() =>
        {
            Assert.That(rated, Is.EqualTo(Cdrs));
            Assert.That(zeroRated, Is.Zero);
            Assert.That(tariff.ZeroRating.FallbackCount, shape == "miss-last" ? Is.EqualTo(Cdrs) : Is.Zero,
                shape == "miss-last" ? "every walk is over budget" : "the time index answers without a long walk");
        });
    }

    /// <summary>Rates <paramref name="count"/> SMS CDRs (peer by index) for 100 subscribers; returns rated, zero-rated and CDRs per second.</summary>
    private static (long Rated, long ZeroRated, double PerSecond) RateSms(Tariff tariff, int count, Func<int, string> peer) => Rate(tariff, count, "sms", peer);

    /// <summary>Rates <paramref name="count"/> CDRs of <paramref name="type"/> (peer by index; voice: 60 s) for 100 subscribers.</summary>
    private static (long Rated, long ZeroRated, double PerSecond) Rate(Tariff tariff, int count, string type, Func<int, string> peer)
    {
        var engine = new RatingEngine(tariff);
        for (var s = 0; s < 100; s++)
        {
            engine.SetProfile(SubscriberProfile.TryParse(Encoding.UTF8.GetBytes($"{{\"msisdn\":\"{SyntheticData.MsisdnOf(s)}\",\"plan\":\"basic-58\",\"cycleDay\":1}}"), tariff, out _)!);
        }

        var lines = Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes(
            $"{{\"id\":\"z{i}\",\"type\":\"{type}\",\"msisdn\":\"{SyntheticData.MsisdnOf(i % 100)}\",\"direction\":\"mo\",\"peer\":\"{peer(i)}\",\"start\":\"2026-11-02T10:00:00+08:00\"{(type == "voice" ? ",\"durationSec\":60" : "")}}}")).ToArray();
        var rated = new ArrayBufferWriter<byte>(1 << 20);
        var other = new ArrayBufferWriter<byte>();
        var sink = new JsonlSink(new RecordWriter(), rated, other, other, new ArrayBufferWriter<byte>());
        long zeroRated = 0;
        var watch = Stopwatch.StartNew();
        foreach (var line in lines)
        {
            rated.ResetWrittenCount();
            other.ResetWrittenCount();
            engine.Process(line, ref sink);
            if (rated.WrittenCount > 0 && rated.WrittenSpan.IndexOf(",\"zeroRated\":null,"u8) < 0)
            {
                zeroRated++;
            }
        }

        return (sink.RatedCount, zeroRated, count / watch.Elapsed.TotalSeconds);
    }

    private static byte[] Bytes(string head, byte[] middle, byte[] tail) => Bytes(Encoding.UTF8.GetBytes(head), middle, tail);

    private static byte[] Bytes(byte[] head, byte[] middle, byte[] tail) => [.. head, .. middle, .. tail];
}
