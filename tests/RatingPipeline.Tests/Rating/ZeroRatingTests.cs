using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §3 zeroRated and §4.4: zero-rated CDRs are charged nothing, count against nothing, and are never no-rate.</summary>
[TestFixture]
public sealed class ZeroRatingTests
{
    private static readonly string[] ZeroRated =
    [
        TestTariff.Zero("00447786205094", "apple-activation", "\"sms\"", "2012-05-20T00:00:00+08:00"),
        TestTariff.Zero("004475374102xx", "apple-activation", "\"sms\"", "2012-05-20T00:00:00+08:00"),
        TestTariff.Zero("0044753741039*", "apple-2026", "\"sms\"", "2026-11-10T00:00:00+08:00", "2026-12-20T00:00:00+08:00"),
        TestTariff.Zero("10086", "customer-service", "\"sms\",\"voice\""),
    ];

    // Every domestic SMS costs 1000000 and uses the allowance; voice costs 60000 a minute.
    private static readonly string[] Rates =
    [
        TestTariff.Rate("sms", zone: "domestic", price: 1_000_000, allowance: true),
        TestTariff.Rate("voice", zone: "domestic", price: 60_000, unit: 60, increment: 60, allowance: true),
    ];

    private static EngineHarness NewRater(string[]? zeroRated = null, string[]? rates = null, string plan = "")
    {
        var tariff = TestTariff.Build(rates ?? Rates, plan, zeroRated ?? ZeroRated);
        return new EngineHarness(tariff, Profiles.Of(tariff));
    }

    private static string? ZeroRatedReason(Step step) => (string?)step.Single["zeroRated"];

    [TestCase("00447786205094", "apple-activation")] // exact
    [TestCase("+447786205094", "apple-activation")] // '+' is normalised to 00 before matching
    [TestCase("00447537410217", "apple-activation")] // x matches any one digit (twice)
    [TestCase("+447537410299", "apple-activation")] // x after normalising '+'
    [TestCase("10086", "customer-service")]
    public void Matching_peers_are_zero_rated(string peer, string reason)
    {
        var step = NewRater().Process(Cdrs.Sms("s", peer: peer));
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(step), Is.EqualTo(reason));
            Assert.That((step.Billable, step.Allowance, step.Overage, step.Charge), Is.EqualTo((0L, 0L, 0L, 0L)));
        });
    }

    [TestCase("0044778620509")] // one digit short of the exact pattern
    [TestCase("004477862050944")] // one digit more than the exact pattern
    [TestCase("0044753741021")] // one digit short of 004475374102xx
    [TestCase("004475374102177")] // one digit more than 004475374102xx
    [TestCase("447786205094")] // without the international prefix
    [TestCase("1008")] // a prefix of 10086
    [TestCase("100860")] // 10086 followed by a digit (the pattern has no final *)
    [TestCase("+10086")] // normalised to 0010086
    public void Non_matching_peers_are_charged(string peer)
    {
        // Not zero-rated: sms rate, C = 1000000 (the allowance is 0 in this plan).
        var step = NewRater().Process(Cdrs.Sms("s", peer: peer));
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(step), Is.Null);
            Assert.That(step.Charge, Is.EqualTo(1_000_000));
        });
    }

    [TestCase("0044753741039", "apple-2026")] // the final * matches zero further digits
    [TestCase("00447537410391", "apple-2026")]
    [TestCase("+44753741039123", "apple-2026")]
    [TestCase("004475374103912345678901234567", "apple-2026")] // many digits
    public void A_final_star_matches_any_remaining_digits(string peer, string reason)
    {
        var step = NewRater().Process(Cdrs.Sms("s", "2026-11-15T10:00:00+08:00", peer: peer));
        Assert.That(ZeroRatedReason(step), Is.EqualTo(reason));
    }

    [Test]
    public void A_final_star_still_needs_the_digits_before_it()
    {
        // 004475374103 is one digit short of the 0044753741039 before the *.
        var step = NewRater().Process(Cdrs.Sms("s", "2026-11-15T10:00:00+08:00", peer: "004475374103"));
        Assert.That(ZeroRatedReason(step), Is.Null);
    }

    [TestCase("2026-11-09T23:59:59+08:00", false)] // one second before from
    [TestCase("2026-11-10T00:00:00+08:00", true)] // exactly from: included
    [TestCase("2026-11-09T16:00:00Z", true)] // from, written in UTC
    [TestCase("2026-11-09T15:59:59.9999999Z", false)] // 100 ns before from
    [TestCase("2026-12-19T23:59:59+08:00", true)] // one second before to
    [TestCase("2026-12-20T00:00:00+08:00", false)] // exactly to: excluded
    [TestCase("2026-12-19T16:00:00Z", false)] // to, written in UTC
    public void From_is_inclusive_and_to_is_exclusive(string start, bool zeroRated)
    {
        var step = NewRater().Process(Cdrs.Sms("s", start, peer: "0044753741039"));
        Assert.That(ZeroRatedReason(step), zeroRated ? Is.EqualTo("apple-2026") : Is.Null);
    }

    [Test]
    public void An_entry_applies_only_to_its_types()
    {
        // The Apple ports are listed for sms only: a 60 s voice call to one is charged (60/60 × 60000 → 60000).
        var step = NewRater().Process(Cdrs.Voice("v", 60, peer: "00447786205094"));
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(step), Is.Null);
            Assert.That(step.Charge, Is.EqualTo(60_000));
        });
    }

    [Test]
    public void A_voice_call_to_a_voice_entry_is_zero_rated_whatever_its_length()
    {
        var step = NewRater().Process(Cdrs.Voice("v", 3600, peer: "10086"));
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(step), Is.EqualTo("customer-service"));
            Assert.That((step.Billable, step.Charge), Is.EqualTo((0L, 0L)));
        });
    }

    [Test]
    public void When_several_entries_apply_the_first_in_list_order_is_reported()
    {
        // The wildcard entry is listed before the exact one: list order decides, not specificity.
        var wildFirst = NewRater([TestTariff.Zero("1008x", "wild"), TestTariff.Zero("10086", "exact"), TestTariff.Zero("1*", "star")]);
        var exactFirst = NewRater([TestTariff.Zero("10086", "exact"), TestTariff.Zero("1008x", "wild")]);
        var starFirst = NewRater([TestTariff.Zero("1*", "star"), TestTariff.Zero("10086", "exact")]);
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(wildFirst.Process(Cdrs.Sms("s", peer: "10086"))), Is.EqualTo("wild"));
            Assert.That(ZeroRatedReason(exactFirst.Process(Cdrs.Sms("s", peer: "10086"))), Is.EqualTo("exact"));
            Assert.That(ZeroRatedReason(starFirst.Process(Cdrs.Sms("s", peer: "10086"))), Is.EqualTo("star"));
        });
    }

    [Test]
    public void An_earlier_entry_that_does_not_apply_by_type_or_date_gives_way_to_a_later_one()
    {
        var rater = NewRater(
        [
            TestTariff.Zero("10086", "voice-only", "\"voice\""),
            TestTariff.Zero("10086", "not-yet", "\"sms\"", from: "2030-01-01T00:00:00Z"),
            TestTariff.Zero("10086", "expired", "\"sms\"", from: "2000-01-01T00:00:00Z", to: "2020-01-01T00:00:00Z"),
            TestTariff.Zero("1008x", "applies", "\"sms\""),
        ]);
        Assert.That(ZeroRatedReason(rater.Process(Cdrs.Sms("s", peer: "10086"))), Is.EqualTo("applies"));
    }

    [Test]
    public void A_zero_rated_CDR_is_never_no_rate()
    {
        // The plan has no SMS rate at all: a zero-rated SMS is rated (no rate is looked up), another SMS is no-rate.
        var rater = NewRater(rates: [TestTariff.Rate("voice", unit: 60, increment: 60)]);
        var zero = rater.Process(Cdrs.Sms("s1", peer: "10086"));
        var roamingZero = rater.Process(Cdrs.Sms("s2", peer: "10086", mcc: "262"));
        var other = rater.Process(Cdrs.Sms("s3", peer: "10087"));
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(zero), Is.EqualTo("customer-service"));
            Assert.That((string?)roamingZero.Single["zone"], Is.EqualTo("ROW"));
            Assert.That(other.Reason, Is.EqualTo("no-rate"));
        });
    }

    [Test]
    public void A_zero_rated_CDR_counts_against_nothing()
    {
        // smsCount 1 with a 100 % reminder and high-spend at 1 micro ...
        var rater = NewRater(plan: "\"allowances\":{\"smsCount\":1},\"reminderThresholds\":[100],\"highSpendThreshold\":1");
        var zero = rater.Process(Cdrs.Sms("s1", peer: "10086"));
        var state = rater.State();
        // ... the zero-rated SMS fired nothing and used nothing, so the next SMS still has its allowance: A = 1.
        var next = rater.Process(Cdrs.Sms("s2"));
        Assert.Multiple(() =>
        {
            Assert.That(zero.Reminders, Is.Empty);
            Assert.That(state.Used[(int)CdrType.Sms], Is.Zero);
            Assert.That(state.Spend, Is.Zero);
            Assert.That(state.CappedCharges, Is.Zero);
            Assert.That((next.Allowance, next.Charge), Is.EqualTo((1L, 0L)));
            Assert.That(next.Kinds, Is.EqualTo(new[] { "allowance" }));
        });
    }

    [Test]
    public void A_zero_rated_CDR_still_fires_the_roaming_reminder()
    {
        // SMS to the Apple port from Hong Kong (454, zone HMT): zero-rated, and the first roaming CDR.
        var step = NewRater().Process(Cdrs.Sms("s1", peer: "+447786205094", mcc: "454"));
        Assert.Multiple(() =>
        {
            Assert.That(ZeroRatedReason(step), Is.EqualTo("apple-activation"));
            Assert.That((string?)step.Single["zone"], Is.EqualTo("HMT"));
            Assert.That(step.Kinds, Is.EqualTo(new[] { "roaming" }));
            Assert.That((string?)step.Reminders[0]["eventId"], Is.EqualTo("8613800000001:2026-11-01:roaming:454:s1"));
        });
    }

    [Test]
    public void A_data_CDR_is_never_zero_rated()
    {
        // "*" matches every peer, but data has no peer: the data CDR is charged (1 micro per byte → 100).
        var rater = NewRater(
            [TestTariff.Zero("*", "everything", "\"sms\",\"voice\",\"data\"")],
            [TestTariff.Rate("data", price: 1, unit: 1, increment: 1), TestTariff.Rate("sms", price: 5)]);
        var data = rater.Process(Cdrs.Data("d", 100));
        var sms = rater.Process(Cdrs.Sms("s"));
        Assert.Multiple(() =>
        {
            Assert.That((ZeroRatedReason(data), data.Charge), Is.EqualTo(((string?)null, 100L)));
            Assert.That(ZeroRatedReason(sms), Is.EqualTo("everything"));
        });
    }

    [Test]
    public void A_pattern_of_digits_only_matches_the_whole_peer()
    {
        // "0086" does not match "008613900000000" (whole-peer match, not a prefix).
        var rater = NewRater([TestTariff.Zero("0086", "prefix")]);
        Assert.That(ZeroRatedReason(rater.Process(Cdrs.Sms("s", peer: "+8613900000000"))), Is.Null);
    }
}
