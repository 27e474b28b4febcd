using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.3: an id among the subscriber's last 32 accepted CDR ids is a duplicate.</summary>
[TestFixture]
public sealed class DuplicateTests
{
    private static EngineHarness NewRater()
    {
        var tariff = TestTariff.Build(
            [TestTariff.Rate("sms", zone: "domestic", price: 100_000), TestTariff.Rate("voice", zone: "domestic", unit: 60, increment: 60)],
            zeroRated: [TestTariff.Zero("10086", "customer-service")]);
        return new EngineHarness(tariff, Profiles.Of(tariff), Profiles.Of(tariff, msisdn: Cdrs.Other));
    }

    private static string At(int minute) => $"2026-11-02T{10 + (minute / 60):D2}:{minute % 60:D2}:00+08:00";

    [Test]
    public void The_same_id_again_is_a_duplicate()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("x1"));
        var again = rater.Process(Cdrs.Sms("x1", start: "2026-11-03T10:00:00+08:00"));
        Assert.That(again.Reason, Is.EqualTo("duplicate"));
    }

    [Test]
    public void An_id_accepted_32_accepted_CDRs_ago_is_still_remembered()
    {
        var rater = NewRater();
        // d0 then d1..d31: the last 32 accepted ids are d0..d31, so d0 is a duplicate.
        for (var i = 0; i < 32; i++)
        {
            Assert.That(rater.Process(Cdrs.Sms($"d{i}", At(i))).Rated, Has.Count.EqualTo(1));
        }

        Assert.That(rater.Process(Cdrs.Sms("d0", At(40))).Reason, Is.EqualTo("duplicate"));
    }

    [Test]
    public void The_33rd_id_back_falls_out_of_the_duplicate_memory()
    {
        var rater = NewRater();
        // d0 then d1..d32 (33 accepted): the last 32 are d1..d32, so d0 was accepted 33 accepted CDRs ago and is accepted again.
        for (var i = 0; i < 33; i++)
        {
            rater.Process(Cdrs.Sms($"d{i}", At(i)));
        }

        var again = rater.Process(Cdrs.Sms("d0", At(40)));
        // d0 has joined the memory again (d2..d32, d0), d1 fell out, d32 is still in.
        var d1 = rater.Process(Cdrs.Sms("d1", At(41)));
        var d32 = rater.Process(Cdrs.Sms("d32", At(42)));
        Assert.Multiple(() =>
        {
            Assert.That((string?)again.Single["id"], Is.EqualTo("d0"));
            Assert.That((string?)d1.Single["id"], Is.EqualTo("d1"));
            Assert.That(d32.Reason, Is.EqualTo("duplicate"));
        });
    }

    [Test]
    public void Rejected_CDRs_do_not_enter_the_duplicate_memory()
    {
        var rater = NewRater();
        // Data has no rate: r1 is rejected no-rate and not remembered, so an SMS with id r1 is accepted.
        var noRate = rater.Process(Cdrs.Data("r1", 1));
        var sms = rater.Process(Cdrs.Sms("r1"));
        Assert.Multiple(() =>
        {
            Assert.That(noRate.Reason, Is.EqualTo("no-rate"));
            Assert.That((string?)sms.Single["id"], Is.EqualTo("r1"));
        });
    }

    [Test]
    public void A_rejected_duplicate_does_not_push_an_id_out_of_the_memory()
    {
        var rater = NewRater();
        for (var i = 0; i < 32; i++)
        {
            rater.Process(Cdrs.Sms($"d{i}", At(i)));
        }

        // d5 again is rejected and not added: the memory is still d0..d31 ...
        Assert.That(rater.Process(Cdrs.Sms("d5", At(33))).Reason, Is.EqualTo("duplicate"));
        // ... so d0 is still a duplicate (had the rejected d5 been added, d0 would have fallen out).
        Assert.That(rater.Process(Cdrs.Sms("d0", At(34))).Reason, Is.EqualTo("duplicate"));
    }

    [Test]
    public void A_late_CDR_does_not_enter_the_duplicate_memory()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("a", "2026-12-02T10:00:00+08:00"));
        var late = rater.Process(Cdrs.Sms("b", "2026-11-02T10:00:00+08:00"));
        var current = rater.Process(Cdrs.Sms("b", "2026-12-03T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(late.Reason, Is.EqualTo("late"));
            Assert.That((string?)current.Single["id"], Is.EqualTo("b"));
        });
    }

    [Test]
    public void The_duplicate_memory_spans_cycles()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("x", "2026-11-30T10:00:00+08:00"));
        rater.Process(Cdrs.Sms("y", "2026-12-02T10:00:00+08:00"));
        // December: the cycle moved on, but x (accepted in November) is still one of the last 32 ids.
        Assert.That(rater.Process(Cdrs.Sms("x", "2026-12-03T10:00:00+08:00")).Reason, Is.EqualTo("duplicate"));
    }

    [Test]
    public void Zero_rated_CDRs_are_accepted_and_remembered()
    {
        var rater = NewRater();
        var first = rater.Process(Cdrs.Sms("z", peer: "10086"));
        var again = rater.Process(Cdrs.Sms("z", peer: "10086"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)first.Single["zeroRated"], Is.EqualTo("customer-service"));
            Assert.That(again.Reason, Is.EqualTo("duplicate"));
        });
    }

    [Test]
    public void The_memory_is_per_subscriber()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("x"));
        var other = rater.Process(Cdrs.Sms("x", msisdn: Cdrs.Other));
        Assert.That((string?)other.Single["msisdn"], Is.EqualTo(Cdrs.Other));
    }

    [Test]
    public void Ids_are_compared_exactly()
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("Id-1"));
        // Case and a trailing space make different ids; an escaped spelling of the same id is the same id.
        var upper = rater.Process(Cdrs.Sms("ID-1"));
        var spaced = rater.Process(Cdrs.Sms("Id-1 "));
        var escaped = rater.Process(Cdrs.Sms("\\u0049d-1"));
        Assert.Multiple(() =>
        {
            Assert.That(upper.Rated, Has.Count.EqualTo(1));
            Assert.That(spaced.Rated, Has.Count.EqualTo(1));
            Assert.That(escaped.Reason, Is.EqualTo("duplicate"));
        });
    }
}
