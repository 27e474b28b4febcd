using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4: when several reasons apply: invalid > unknown-subscriber > unknown-plan > late > duplicate > no-rate.</summary>
[TestFixture]
public sealed class RejectPrecedenceTests
{
    // SMS and voice are rated domestically; data has no rate at all (no-rate); 10086 is zero-rated.
    private static EngineHarness NewRater(out RatingPipeline.Tariffs.Tariff tariff)
    {
        tariff = TestTariff.Build(
            [TestTariff.Rate("sms", zone: "domestic", price: 100_000), TestTariff.Rate("voice", zone: "domestic", unit: 60, increment: 60)],
            zeroRated: [TestTariff.Zero("10086", "customer-service")]);
        return new EngineHarness(tariff, Profiles.Of(tariff));
    }

    [Test]
    public void Invalid_beats_unknown_subscriber()
    {
        var rater = NewRater(out _);
        // Unknown msisdn and a fractional duration: invalid.
        var step = rater.Process($"{{\"id\":\"v\",\"type\":\"voice\",\"msisdn\":\"8613899999999\",\"direction\":\"mo\",\"peer\":\"139\",\"start\":\"{Cdrs.Start}\",\"durationSec\":1.5}}");
        Assert.That(step.Reason, Is.EqualTo("invalid"));
    }

    [Test]
    public void Unknown_subscriber_for_a_valid_CDR_without_profile()
    {
        var rater = NewRater(out _);
        var step = rater.Process(Cdrs.Data("d", 1, msisdn: "8613899999999"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Reason, Is.EqualTo("unknown-subscriber"));
            Assert.That(rater.HasState("8613899999999"), Is.False);
        });
    }

    [Test]
    public void Unknown_plan_beats_late_duplicate_and_no_rate()
    {
        var rater = NewRater(out var tariff);
        rater.Process(Cdrs.Sms("x", "2026-12-02T10:00:00+08:00"));
        // The subscriber moves to a plan the tariff does not have; a data CDR that is late, a duplicate and has no rate:
        rater.Engine.SetProfile(Profiles.Of(tariff, plan: "gone"));
        var step = rater.Process(Cdrs.Data("x", 1, start: "2026-11-02T10:00:00+08:00"));
        Assert.That(step.Reason, Is.EqualTo("unknown-plan"));
    }

    [Test]
    public void A_late_duplicate_is_late()
    {
        var rater = NewRater(out _);
        rater.Process(Cdrs.Sms("x", "2026-11-30T10:00:00+08:00"));
        rater.Process(Cdrs.Sms("y", "2026-12-02T10:00:00+08:00"));
        // x is in the memory and its cycle (November) is older than the state's (December): late wins.
        var step = rater.Process(Cdrs.Sms("x", "2026-11-30T10:00:00+08:00"));
        Assert.That(step.Reason, Is.EqualTo("late"));
    }

    [Test]
    public void A_late_CDR_without_a_rate_is_late()
    {
        var rater = NewRater(out _);
        rater.Process(Cdrs.Sms("x", "2026-12-02T10:00:00+08:00"));
        Assert.That(rater.Process(Cdrs.Data("d", 1, start: "2026-11-02T10:00:00+08:00")).Reason, Is.EqualTo("late"));
    }

    [Test]
    public void A_duplicate_without_a_rate_is_a_duplicate()
    {
        var rater = NewRater(out _);
        rater.Process(Cdrs.Sms("x"));
        Assert.That(rater.Process(Cdrs.Data("x", 1)).Reason, Is.EqualTo("duplicate"));
    }

    [Test]
    public void A_zero_rated_CDR_can_still_be_late_or_a_duplicate()
    {
        var rater = NewRater(out _);
        rater.Process(Cdrs.Sms("z", "2026-12-02T10:00:00+08:00", peer: "10086"));
        var duplicate = rater.Process(Cdrs.Sms("z", "2026-12-02T11:00:00+08:00", peer: "10086"));
        var late = rater.Process(Cdrs.Sms("z2", "2026-11-02T11:00:00+08:00", peer: "10086"));
        Assert.Multiple(() =>
        {
            Assert.That(duplicate.Reason, Is.EqualTo("duplicate"));
            Assert.That(late.Reason, Is.EqualTo("late"));
        });
    }

    [Test]
    public void Rejected_records_for_known_CDRs_carry_id_and_msisdn()
    {
        var rater = NewRater(out _);
        var step = rater.Process(Cdrs.Data("d\\u0031", 1));
        Assert.Multiple(() =>
        {
            Assert.That(step.Reason, Is.EqualTo("no-rate"));
            Assert.That((string?)step.Rejected[0]["id"], Is.EqualTo("d1"));
            Assert.That((string?)step.Rejected[0]["msisdn"], Is.EqualTo(Cdrs.Msisdn));
            Assert.That((string?)step.Rejected[0]["raw"], Is.EqualTo(Cdrs.Data("d\\u0031", 1)));
            Assert.That(step.Result, Is.EqualTo(RatingPipeline.Rating.RatingResult.Rejected));
        });
    }
}
