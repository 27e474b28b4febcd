using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.5: billable units B of voice, SMS and data.</summary>
[TestFixture]
public sealed class BillableUnitsTests
{
    private static EngineHarness VoiceRater(long first, long increment, long price = 0, long unit = 60)
    {
        var tariff = TestTariff.Build([TestTariff.Rate("voice", price: price, unit: unit, increment: increment, first: first)]);
        return new EngineHarness(tariff, Profiles.Of(tariff));
    }

    [Test]
    public void Voice_call_of_0s_bills_nothing()
    {
        // durationSec = 0 → B = 0 (no first increment); A = 0, O = 0, C = (0 × 150000 + 30) / 60 = 0.
        var step = VoiceRater(60, 60, price: 150_000).Process(Cdrs.Voice("v0", 0));
        Assert.Multiple(() =>
        {
            Assert.That(step.Billable, Is.Zero);
            Assert.That(step.Allowance, Is.Zero);
            Assert.That(step.Overage, Is.Zero);
            Assert.That(step.Charge, Is.Zero);
        });
    }

    [Test]
    public void Voice_call_of_61s_on_60_60_bills_120s()
    {
        // B = 60 + ceil((61 − 60) / 60) × 60 = 120; C = (120 × 150000 + 30) / 60 = 18000030 / 60 = 300000.
        var step = VoiceRater(60, 60, price: 150_000).Process(Cdrs.Voice("v61", 61));
        Assert.Multiple(() =>
        {
            Assert.That(step.Billable, Is.EqualTo(120));
            Assert.That(step.Overage, Is.EqualTo(120));
            Assert.That(step.Charge, Is.EqualTo(300_000));
        });
    }

    [Test]
    public void Voice_call_of_7s_on_6_6_bills_12s()
    {
        // B = 6 + ceil((7 − 6) / 6) × 6 = 12; C = (12 × 1990000 + 30) / 60 = 23880030 / 60 = 398000 (398000.5 floored).
        var step = VoiceRater(6, 6, price: 1_990_000).Process(Cdrs.Voice("v7", 7));
        Assert.Multiple(() =>
        {
            Assert.That(step.Billable, Is.EqualTo(12));
            Assert.That(step.Charge, Is.EqualTo(398_000));
        });
    }

    // first 60, increment 60
    [TestCase(60, 60, 1, 60)] // a 1 s call pays the whole first increment
    [TestCase(60, 60, 60, 60)] // exactly one increment: max(0, 60 − 60) = 0 further
    [TestCase(60, 60, 120, 120)] // 60 + ceil(60 / 60) × 60
    [TestCase(60, 60, 86_400, 86_400)] // the longest call: 60 + ceil(86340 / 60) × 60 = 60 + 1439 × 60
    // firstIncrement ≠ increment: 30 then 6
    [TestCase(30, 6, 1, 30)] // below the first increment: 30
    [TestCase(30, 6, 30, 30)] // exactly the first increment
    [TestCase(30, 6, 31, 36)] // 30 + ceil(1 / 6) × 6
    [TestCase(30, 6, 36, 36)] // 30 + ceil(6 / 6) × 6
    [TestCase(30, 6, 37, 42)] // 30 + ceil(7 / 6) × 6
    // firstIncrement 60 then per second
    [TestCase(60, 1, 61, 61)] // 60 + ceil(1 / 1) × 1
    [TestCase(60, 1, 59, 60)] // below the first increment
    // firstIncrement smaller than increment
    [TestCase(1, 60, 2, 61)] // 1 + ceil(1 / 60) × 60
    [TestCase(1, 60, 1, 1)] // 1 + 0
    public void Voice_billable_units_are_first_increment_then_whole_increments(long first, long increment, long duration, long billable)
    {
        var step = VoiceRater(first, increment).Process(Cdrs.Voice("v", duration));
        Assert.That(step.Billable, Is.EqualTo(billable));
    }

    [Test]
    public void Voice_rate_without_firstIncrement_uses_increment_for_the_first_step()
    {
        // firstIncrement defaults to increment (30): 31 s → 30 + ceil(1 / 30) × 30 = 60.
        var tariff = TestTariff.Build([TestTariff.Rate("voice", increment: 30, unit: 60)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Voice("v", 31));
        Assert.That(step.Billable, Is.EqualTo(60));
    }

    [Test]
    public void An_sms_is_one_billable_unit_whatever_the_increment()
    {
        // SMS: B = 1 (the rate's increment 10 does not apply); C = (1 × 100000 + 0) / 1 = 100000.
        var tariff = TestTariff.Build([TestTariff.Rate("sms", price: 100_000, unit: 1, increment: 10, first: 5)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Sms("s"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Billable, Is.EqualTo(1));
            Assert.That(step.Charge, Is.EqualTo(100_000));
        });
    }

    [TestCase(0, 0)] // ceil(0 / 1024) × 1024
    [TestCase(1, 1024)] // ceil(1 / 1024) × 1024
    [TestCase(1023, 1024)]
    [TestCase(1024, 1024)] // exactly one increment
    [TestCase(1025, 2048)] // one byte over: two increments
    [TestCase(999_999_999_999, 1_000_000_000_000)] // 10^12 = 976562500 × 1024
    [TestCase(1_000_000_000_000, 1_000_000_000_000)] // the largest data record
    public void Data_is_rounded_up_to_whole_increments(long bytes, long billable)
    {
        var tariff = TestTariff.Build([TestTariff.Rate("data", increment: 1024, unit: 1_048_576)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Data("d", bytes));
        Assert.That(step.Billable, Is.EqualTo(billable));
    }

    [Test]
    public void Data_ignores_firstIncrement()
    {
        // Data: B = ceil(bytes / increment) × increment only: 1 byte with firstIncrement 4096, increment 1024 → 1024.
        var tariff = TestTariff.Build([TestTariff.Rate("data", increment: 1024, first: 4096, unit: 1_048_576)]);
        var step = new EngineHarness(tariff, Profiles.Of(tariff)).Process(Cdrs.Data("d", 1));
        Assert.That(step.Billable, Is.EqualTo(1024));
    }
}
