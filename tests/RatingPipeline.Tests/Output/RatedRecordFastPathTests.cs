using System.Buffers;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;

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
