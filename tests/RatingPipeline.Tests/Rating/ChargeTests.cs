using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.7: C = (O × price + unit / 2) / unit in integer arithmetic (half up), exact for large values.</summary>
[TestFixture]
public sealed class ChargeTests
{
    private static long ChargeOfOneSecond(long price, long unit)
    {
        // Per-second billing (first 1, increment 1), so a 1 s call has B = O = 1.
        var tariff = TestTariff.Build([TestTariff.Rate("voice", price: price, unit: unit, increment: 1, first: 1)]);
        return new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Voice("v", 1)).Charge;
    }

    [TestCase(15, 10, 2)] // exactly 1.5: (15 + 5) / 10 = 2 (half goes up)
    [TestCase(14, 10, 1)] // 1.4: (14 + 5) / 10 = 1
    [TestCase(1500, 1000, 2)] // exactly 1.5: (1500 + 500) / 1000 = 2
    [TestCase(1499, 1000, 1)] // just below the half, 1.499: (1499 + 500) / 1000 = 1
    [TestCase(1501, 1000, 2)] // just above: (1501 + 500) / 1000 = 2
    [TestCase(1, 2, 1)] // 0.5 → (1 + 1) / 2 = 1
    [TestCase(1, 3, 0)] // odd unit, 0.33: unit / 2 = 1, (1 + 1) / 3 = 0
    [TestCase(2, 3, 1)] // 0.67: (2 + 1) / 3 = 1
    [TestCase(0, 60, 0)] // a free rate
    [TestCase(1_000_000_000, 1, 1_000_000_000)] // the highest price, per unit
    public void Charge_is_rounded_half_up(long price, long unit, long charge) =>
        Assert.That(ChargeOfOneSecond(price, unit), Is.EqualTo(charge));

    [Test]
    public void Charge_is_exact_where_O_times_price_exceeds_64_bits()
    {
        // Data per byte (increment 1), price 10^9 per 10^6 bytes: the largest record, 10^12 bytes, has
        // O × price = 10^21 (beyond 2^63 ≈ 9.2 × 10^18); C = (10^21 + 500000) / 10^6 = 10^15 exactly, the allowed maximum.
        var tariff = TestTariff.Build([TestTariff.Rate("data", price: 1_000_000_000, unit: 1_000_000, increment: 1)]);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var largest = rater.Process(Cdrs.Data("d1", 1_000_000_000_000));
        // 999,999,999,999 bytes: (999999999999 × 10^9 + 500000) / 10^6 = 999,999,999,999,000 (+0.5 floored away exactly).
        var smaller = rater.Process(Cdrs.Data("d2", 999_999_999_999));
        // 1,234,567 bytes: (1234567 × 10^9 + 500000) / 10^6 = 1,234,567,000.
        var small = rater.Process(Cdrs.Data("d3", 1_234_567));
        Assert.Multiple(() =>
        {
            Assert.That(largest.Charge, Is.EqualTo(1_000_000_000_000_000));
            Assert.That(smaller.Charge, Is.EqualTo(999_999_999_999_000));
            Assert.That(small.Charge, Is.EqualTo(1_234_567_000));
        });
    }

    // 290000 per MiB, increment 1024: 1500 bytes → B = 2048; 2048 × 290000 / 1048576 = 566.41;
    // C = (593,920,000 + 524,288) / 1,048,576 = 566 (rounds down).
    [TestCase(290_000, 1024, 1500, 566)]
    // 3000000 per MiB, increment 10240: 10241 bytes → B = 20480; 20480 × 3000000 / 1048576 = 58593.75;
    // C = (61,440,000,000 + 524,288) / 1,048,576 = 58594 (rounds up).
    [TestCase(3_000_000, 10_240, 10_241, 58_594)]
    public void Data_charge_rounds_half_up_on_megabyte_units(long price, long increment, long bytes, long charge)
    {
        var tariff = TestTariff.Build([TestTariff.Rate("data", price: price, unit: 1_048_576, increment: increment)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Data("d", bytes));
        Assert.That(step.Charge, Is.EqualTo(charge));
    }
}
