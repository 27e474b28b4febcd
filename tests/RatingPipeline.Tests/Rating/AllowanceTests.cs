using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.6: allowance A = min(R, B), overage O = B − A, used += A.</summary>
[TestFixture]
public sealed class AllowanceTests
{
    [Test]
    public void A_partial_allowance_covers_the_remainder_and_the_rest_is_overage()
    {
        // Allowance 100 s; 60/60 rate, 60000 micros per 60 s.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60, allowance: true)],
            "\"allowances\":{\"voiceSec\":100}");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));

        // 61 s: B = 120, R = 100 − 0 = 100, A = min(100, 120) = 100, O = 20, C = (20 × 60000 + 30) / 60 = 20000.
        var first = rater.Process(Cdrs.Voice("v1", 61));
        // 30 s: B = 60, R = 100 − 100 = 0, A = 0, O = 60, C = (60 × 60000 + 30) / 60 = 60000.
        var second = rater.Process(Cdrs.Voice("v2", 30));
        Assert.Multiple(() =>
        {
            Assert.That((first.Billable, first.Allowance, first.Overage, first.Charge), Is.EqualTo((120L, 100L, 20L, 20_000L)));
            Assert.That((second.Billable, second.Allowance, second.Overage, second.Charge), Is.EqualTo((60L, 0L, 60L, 60_000L)));
            Assert.That(rater.State().Used[(int)CdrType.Voice], Is.EqualTo(100));
        });
    }

    [Test]
    public void An_allowance_used_exactly_leaves_no_overage()
    {
        // Allowance 120 s: 61 s → B = 120, A = min(120, 120) = 120, O = 0, C = 0; used = 120.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60, allowance: true)],
            "\"allowances\":{\"voiceSec\":120}");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Voice("v1", 61));
        Assert.Multiple(() =>
        {
            Assert.That((step.Allowance, step.Overage, step.Charge), Is.EqualTo((120L, 0L, 0L)));
            Assert.That(rater.State().Used[(int)CdrType.Voice], Is.EqualTo(120));
        });
    }

    [Test]
    public void A_rate_without_useAllowance_charges_everything_and_leaves_the_allowance()
    {
        // useAllowance defaults to false: A = 0, O = B = 60, C = (60 × 60000 + 30) / 60 = 60000; used stays 0.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60)],
            "\"allowances\":{\"voiceSec\":6000}");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Voice("v1", 60));
        Assert.Multiple(() =>
        {
            Assert.That((step.Allowance, step.Overage, step.Charge), Is.EqualTo((0L, 60L, 60_000L)));
            Assert.That(rater.State().Used[(int)CdrType.Voice], Is.Zero);
        });
    }

    [Test]
    public void A_plan_without_an_allowance_for_the_type_has_allowance_0()
    {
        // No smsCount: allowance 0, so R = 0, A = 0, O = B = 1, C = 100000; no allowance reminder (allowance not > 0).
        var tariff = TestTariff.Build(
            [TestTariff.Rate("sms", price: 100_000, allowance: true)],
            "\"allowances\":{\"voiceSec\":600},\"reminderThresholds\":[80,100]");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Sms("s1"));
        Assert.Multiple(() =>
        {
            Assert.That((step.Allowance, step.Overage, step.Charge), Is.EqualTo((0L, 1L, 100_000L)));
            Assert.That(step.Reminders, Is.Empty);
        });
    }

    [Test]
    public void Allowances_are_counted_per_type()
    {
        // smsCount 1 and voiceSec 60: an SMS uses the SMS allowance only, so a 60 s call still has A = 60.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("sms", price: 100_000, allowance: true), TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60, allowance: true)],
            "\"allowances\":{\"voiceSec\":60,\"smsCount\":1}");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var sms = rater.Process(Cdrs.Sms("s1"));
        var voice = rater.Process(Cdrs.Voice("v1", 60));
        var sms2 = rater.Process(Cdrs.Sms("s2"));
        Assert.Multiple(() =>
        {
            Assert.That((sms.Allowance, sms.Charge), Is.EqualTo((1L, 0L)));
            Assert.That((voice.Allowance, voice.Charge), Is.EqualTo((60L, 0L)));
            // R = 1 − 1 = 0: A = 0, O = 1, C = 100000.
            Assert.That((sms2.Allowance, sms2.Charge), Is.EqualTo((0L, 100_000L)));
        });
    }

    [Test]
    public void Data_allowance_is_counted_in_billable_bytes()
    {
        // dataBytes 3000; increment 1024; price 1 micro per byte (unit 1).
        // 2049 bytes → B = 3072, A = min(3000, 3072) = 3000, O = 72, C = 72.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("data", price: 1, unit: 1, increment: 1024, allowance: true)],
            "\"allowances\":{\"dataBytes\":3000}");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Data("d1", 2049));
        Assert.Multiple(() =>
        {
            Assert.That((step.Billable, step.Allowance, step.Overage, step.Charge), Is.EqualTo((3072L, 3000L, 72L, 72L)));
            Assert.That(rater.State().Used[(int)CdrType.Data], Is.EqualTo(3000));
        });
    }

    [Test]
    public void A_later_profile_does_not_reset_usage_already_counted()
    {
        // §2.2: voiceSec 120; 60 s uses 60; a new profile (new high-spend threshold) keeps used = 60,
        // so the next 120 s gets A = min(120 − 60, 120) = 60 and O = 60.
        var tariff = TestTariff.Build(
            [TestTariff.Rate("voice", price: 60_000, unit: 60, increment: 60, allowance: true)],
            "\"allowances\":{\"voiceSec\":120}");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Voice("v1", 60));
        rater.Engine.SetProfile(Profiles.Of(tariff, "\"highSpendThreshold\":999000000"));
        var step = rater.Process(Cdrs.Voice("v2", 120));
        Assert.That((step.Allowance, step.Overage), Is.EqualTo((60L, 60L)));
    }
}
