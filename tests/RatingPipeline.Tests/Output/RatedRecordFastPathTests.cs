using System.Buffers;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Output;

/// <summary>The rated record's fast path must write exactly what the general JSON-writer path writes.</summary>
public sealed class RatedRecordFastPathTests
{
    [TestCase("g000000001", "basic-58", "domestic", null)]
    [TestCase("a b+c<d>&'`~!@#$%^*()[]{}|;:,./?=_-", "basic-58", "domestic", null)]
    [TestCase("id", "plan", "HMT", "apple-activation")]
    [TestCase("x", "p", "ROW", "")]
    public void Fast_path_writes_the_same_bytes_as_the_json_writer(string id, string plan, string zone, string? zeroRated)
    {
        var (fast, usedFastPath) = WriteFast(id, plan, zone, zeroRated, charge: 1_234_567, cycleDay: 20_758);
        var general = WriteGeneral(id, plan, zone, zeroRated, charge: 1_234_567, cycleDay: 20_758);

        Assert.Multiple(() =>
        {
            Assert.That(usedFastPath, Is.True);
            Assert.That(fast, Is.EqualTo(general));
        });
    }

    [TestCase("quo\"te", "basic-58")] // a quote in the id must be escaped
    [TestCase("back\\slash", "basic-58")] // a backslash in the id must be escaped
    [TestCase("g1", "套餐")] // a non-ASCII plan id goes through the encoder
    [TestCase("g1", "tab\tplan")] // a control character must be escaped
    public void Strings_that_need_escaping_take_the_general_path_with_the_same_result(string id, string plan)
    {
        var (fast, usedFastPath) = WriteFast(id, plan, "domestic", null, charge: 0, cycleDay: 0);
        var viaPublicMethod = WritePublic(id, plan, "domestic", null, charge: 0, cycleDay: 0);
        var general = WriteGeneral(id, plan, "domestic", null, charge: 0, cycleDay: 0);

        Assert.Multiple(() =>
        {
            Assert.That(usedFastPath, Is.False);
            Assert.That(fast, Is.Empty);
            Assert.That(viaPublicMethod, Is.EqualTo(general));
        });
    }

    [Test]
    public void Extreme_numbers_and_cycles_write_the_same_bytes()
    {
        foreach (var (charge, cycleDay) in new[] { (long.MinValue, int.MinValue / 1000), (long.MaxValue, 2_932_896), (-1L, -1), (0L, 0) })
        {
            var (fast, _) = WriteFast("g1", "basic-58", "domestic", null, charge, cycleDay);
            var general = WriteGeneral("g1", "basic-58", "domestic", null, charge, cycleDay);
            Assert.That(fast, Is.EqualTo(general), $"charge {charge}, cycle day {cycleDay}");
        }
    }

    [Test]
    public void Every_byte_the_decoders_scan_lets_into_a_string_goes_out_verbatim()
    {
        // A record the engine rated from the canonical-shape scan skips the id check on the strength of this.
        var unescaped = Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b).Where(b => b is not (byte)'"' and not (byte)'\\');
        Assert.That(unescaped.Where(b => !RecordWriter.IsVerbatim([b])).Select(b => (char)b), Is.Empty);
    }

    [TestCase("{\"id\":\"quo\\\"te\",", "quo\"te")] // an escape: the general reader, the id checked and escaped
    [TestCase("{\"id\":\"back\\\\slash\",", "back\\slash")]
    [TestCase("{ \"id\" : \"spaced\" ,", "spaced")] // whitespace between tokens is still the scan's shape
    public void An_id_rated_from_either_reader_comes_back_as_it_was_sent(string opening, string id)
    {
        var tariff = TestTariff.Build([TestTariff.Rate("sms", zone: "domestic", price: 100_000)]);
        var harness = new EngineHarness(tariff, Profiles.Of(tariff));
        var record = opening + Cdrs.Sms("x")[(Cdrs.Sms("x").IndexOf(',', StringComparison.Ordinal) + 1)..];

        var step = harness.Process(record);

        Assert.That((string?)step.Single["id"], Is.EqualTo(id), record);
    }

    [Test]
    public void Tariff_texts_that_need_escaping_are_escaped_in_the_rated_record()
    {
        var json = TestTariff.Json([TestTariff.Rate("sms", zone: "domestic", price: 100_000)]).Replace("\"version\":\"test-1\"", "\"version\":\"v\\\"1 套\"", StringComparison.Ordinal);
        var tariff = RatingPipeline.Tariffs.TariffLoader.Load(Encoding.UTF8.GetBytes(json));
        var harness = new EngineHarness(tariff, Profiles.Of(tariff));

        var step = harness.Process(Cdrs.Sms("g1"));

        Assert.That((string?)step.Single["tariffVersion"], Is.EqualTo("v\"1 套"));
    }

    private static (string Text, bool UsedFastPath) WriteFast(string id, string plan, string zone, string? zeroRated, long charge, int cycleDay)
    {
        var output = new ArrayBufferWriter<byte>();
        var rated = Rated(id, plan, zone, zeroRated, charge, cycleDay);
        var used = RecordWriter.TryWriteRatedVerbatim(output, in rated);
        return (Encoding.UTF8.GetString(output.WrittenSpan), used);
    }

    private static string WriteGeneral(string id, string plan, string zone, string? zeroRated, long charge, int cycleDay)
    {
        var output = new ArrayBufferWriter<byte>();
        var rated = Rated(id, plan, zone, zeroRated, charge, cycleDay);
        new RecordWriter().WriteRatedWithJsonWriter(output, in rated);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string WritePublic(string id, string plan, string zone, string? zeroRated, long charge, int cycleDay)
    {
        var output = new ArrayBufferWriter<byte>();
        var rated = Rated(id, plan, zone, zeroRated, charge, cycleDay);
        new RecordWriter().WriteRated(output, in rated);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static RatedCdr Rated(string id, string plan, string zone, string? zeroRated, long charge, int cycleDay) => new()
    {
        Id = Encoding.UTF8.GetBytes(id),
        Msisdn = "8613800000001"u8,
        Type = CdrType.Voice,
        Start = "2026-11-03T09:15:00+08:00"u8,
        CycleDay = cycleDay,
        Plan = Encoding.UTF8.GetBytes(plan),
        TariffVersion = "2026-11-01.1"u8,
        Zone = Encoding.UTF8.GetBytes(zone),
        BillableUnits = 120,
        AllowanceUnits = 60,
        OverageUnits = 60,
        Charge = charge,
        IsZeroRated = zeroRated is not null,
        ZeroRated = zeroRated is null ? default : Encoding.UTF8.GetBytes(zeroRated),
    };
}
