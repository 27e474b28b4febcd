using System.Buffers;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Tests.Output;

/// <summary>The bill's fast path must write exactly what the general JSON-writer path writes, or step aside.</summary>
public sealed class BillFastPathTests
{
    [TestCase("8613800014090", "basic-58", "2026-11-01.1")]
    [TestCase("12345", "p", "v")]
    [TestCase("123456789012345", "a b+c<d>&'`~!@#$%^*()[]{}|;:,./?=_-", "2026-11-01.1")]
    public void Without_fees_the_fast_path_writes_the_same_bytes(string msisdn, string plan, string version)
    {
        AssertSame(msisdn, plan, version, counters: Counters(3), fees: [], totals: (1_500_000, 0, 0, 0, 1_500_000));
    }

    [Test]
    public void With_monthly_and_service_fees_the_fast_path_writes_the_same_bytes()
    {
        var music = NameTable.Services.Intern("music-pack");
        var video = NameTable.Services.Intern("video:hd_1080p");
        FeeEntry[] fees = [new(FeeKind.Monthly, 0, 58_000_000), new(FeeKind.Service, music, 5_000_000), new(FeeKind.Service, video, 0)];

        AssertSame("8613800014090", "basic-58", "2026-11-01.1", Counters(7), fees, totals: (2_000_000, 63_000_000, 68_000_000, 3_000_000, 68_000_000));
    }

    [Test]
    public void Extreme_numbers_and_cycles_write_the_same_bytes()
    {
        foreach (var (value, cycleDay) in new[] { (long.MinValue, int.MinValue / 1000), (long.MaxValue, 2_932_896), (-1L, -1), (0L, 0) })
        {
            var counters = default(CycleCounters);
            for (var t = 0; t < 3; t++)
            {
                counters.Count[t] = value;
                counters.Units[t] = value;
                counters.Used[t] = -value;
                counters.Charges[t] = value;
            }

            AssertSame("8613800014090", "basic-58", "v1", counters, [new(FeeKind.Monthly, 0, value)], (value, value, value, value, value), cycleDay);
        }
    }

    [TestCase("套餐", "v1", null)] // a non-ASCII plan goes through the encoder
    [TestCase("basic", "quo\"te", null)] // a quote in the version must be escaped
    [TestCase("basic", "v1", "tab\tservice")] // a control character in a service id must be escaped
    [TestCase("basic", "v1", "back\\slash")]
    public void Texts_that_need_escaping_take_the_general_path_with_the_same_result(string plan, string version, string? service)
    {
        FeeEntry[] fees = service is null ? [] : [new(FeeKind.Service, NameTable.Services.Intern(service), 1)];
        var bill = Bill("8613800014090", plan, version, Counters(1), fees, (1, 1, 2, 0, 2), 20_758);

        var fast = new ArrayBufferWriter<byte>();
        var used = RecordWriter.TryWriteBillVerbatim(fast, in bill);
        var general = new ArrayBufferWriter<byte>();
        new RecordWriter().WriteBillWithJsonWriter(general, in bill);
        var viaPublic = new ArrayBufferWriter<byte>();
        new RecordWriter().WriteBill(viaPublic, in bill);

        Assert.Multiple(() =>
        {
            Assert.That(used, Is.False);
            Assert.That(fast.WrittenCount, Is.Zero);
            Assert.That(Encoding.UTF8.GetString(viaPublic.WrittenSpan), Is.EqualTo(Encoding.UTF8.GetString(general.WrittenSpan)));
        });
    }

    [Test]
    public void A_bill_read_back_has_every_member_in_order()
    {
        var bill = Bill("8613800014090", "basic-58", "2026-11-01.1", Counters(2), [new(FeeKind.Monthly, 0, 58)], (10, 58, 100, 32, 100), 20_758);
        var output = new ArrayBufferWriter<byte>();

        Assert.That(RecordWriter.TryWriteBillVerbatim(output, in bill), Is.True);
        using var document = System.Text.Json.JsonDocument.Parse(output.WrittenMemory);
        var names = document.RootElement.EnumerateObject().Select(p => p.Name);
        Assert.That(names, Is.EqualTo(new[]
        {
            "eventId", "msisdn", "cycle", "cycleEnd", "plan", "tariffVersion", "usage", "usageCharge", "fees", "feeCharge", "minimum", "topUp", "total",
        }));
        Assert.That(document.RootElement.GetProperty("usage").GetProperty("sms").GetProperty("billableUnits").GetInt64(), Is.EqualTo((2 + 1) * 10)); // Counters(2): sms is type 1
    }

    private static void AssertSame(string msisdn, string plan, string version, CycleCounters counters, FeeEntry[] fees,
        (long Usage, long Fee, long Minimum, long TopUp, long Total) totals, int cycleDay = 20_758)
    {
        var bill = Bill(msisdn, plan, version, counters, fees, totals, cycleDay);
        var fast = new ArrayBufferWriter<byte>();
        var used = RecordWriter.TryWriteBillVerbatim(fast, in bill);
        var general = new ArrayBufferWriter<byte>();
        new RecordWriter().WriteBillWithJsonWriter(general, in bill);

        Assert.Multiple(() =>
        {
            Assert.That(used, Is.True);
            Assert.That(Encoding.UTF8.GetString(fast.WrittenSpan), Is.EqualTo(Encoding.UTF8.GetString(general.WrittenSpan)));
        });
    }

    private static CycleCounters Counters(long seed)
    {
        var counters = default(CycleCounters);
        for (var t = 0; t < 3; t++)
        {
            counters.Count[t] = seed + t;
            counters.Units[t] = (seed + t) * 10;
            counters.Used[t] = (seed + t) * 5;
            counters.Charges[t] = (seed + t) * 1_000;
        }

        return counters;
    }

    private static BillRecord Bill(string msisdn, string plan, string version, CycleCounters counters, FeeEntry[] fees,
        (long Usage, long Fee, long Minimum, long TopUp, long Total) totals, int cycleDay) => new()
        {
            Msisdn = Encoding.UTF8.GetBytes(msisdn),
            CycleDay = cycleDay,
            CycleEnd = cycleDay + 30,
            Plan = Encoding.UTF8.GetBytes(plan),
            TariffVersion = Encoding.UTF8.GetBytes(version),
            Counters = counters,
            Fees = fees,
            UsageCharge = totals.Usage,
            FeeCharge = totals.Fee,
            Minimum = totals.Minimum,
            TopUp = totals.TopUp,
            Total = totals.Total,
        };
}
