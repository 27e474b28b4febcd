using NUnit.Framework;
using RatingPipeline.Rater;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// On Kafka a CDR must be keyed by its own msisdn: only then are all of a subscriber's records on one partition, in
/// order, and its state's offset tag comparable with the offsets of its records. A record keyed otherwise is refused
/// <c>invalid</c> with a reason, rather than rated from another partition, where it could be skipped as applied or make
/// its subscriber's next records look applied.
/// </summary>
[TestFixture]
public sealed class RecordKeyTests
{
    private static readonly ulong Own = Key(Cdrs.Msisdn);

    private static ulong Key(string msisdn)
    {
        Assert.That(MsisdnKey.TryCompute(msisdn, out var key), Is.True);
        return key;
    }

    private static EngineHarness NewRater()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("sms", zone: "domestic", price: 100_000)]);
        return new EngineHarness(tariff, Profiles.Of(tariff), Profiles.Of(tariff, msisdn: Cdrs.Other));
    }

    [Test]
    public void A_CDR_keyed_by_its_own_msisdn_or_without_a_key_is_rated()
    {
        var rater = NewRater();
        Assert.Multiple(() =>
        {
            Assert.That(rater.Process(Cdrs.Sms("s1"), offset: 0, keyMsisdn: Own).Single["id"]!.GetValue<string>(), Is.EqualTo("s1"));
            Assert.That(rater.Process(Cdrs.Sms("s2"), offset: 1, keyMsisdn: 0).Single["id"]!.GetValue<string>(), Is.EqualTo("s2"));
        });
    }

    [TestCase(false, "another msisdn")]
    [TestCase(true, "no msisdn")]
    public void A_CDR_keyed_otherwise_is_refused_invalid_and_changes_no_state(bool keyIsNoMsisdn, string detail)
    {
        var rater = NewRater();
        rater.Process(Cdrs.Sms("s1"), offset: 0, keyMsisdn: Own);
        var before = rater.State();
        var step = rater.Process(Cdrs.Sms("s2"), offset: 1, keyMsisdn: keyIsNoMsisdn ? RatingEngine.KeyNotMsisdn : Key(Cdrs.Other));
        Assert.Multiple(() =>
        {
            Assert.That(step.Result, Is.EqualTo(RatingResult.Rejected));
            Assert.That(step.Reason, Is.EqualTo("invalid"));
            Assert.That((string?)step.Rejected[0]["detail"], Does.Contain(detail).And.Contain("keyed by the record's msisdn"));
            Assert.That((string?)step.Rejected[0]["id"], Is.EqualTo("s2"), "the refused record keeps its id");
            Assert.That(rater.State().OffsetTag, Is.EqualTo(before.OffsetTag), "offset tag");
            Assert.That(rater.State().Counters.Spend, Is.EqualTo(before.Counters.Spend), "spend");
            Assert.That(rater.HasState(Cdrs.Other), Is.False, "no state for the key's subscriber");
        });
    }

    [Test]
    public void A_mis_keyed_record_from_further_on_another_partition_does_not_make_the_next_records_look_applied()
    {
        // The subscriber's records are on one partition at offsets 10, 11; a copy keyed otherwise sits on another
        // partition at offset 50. Tagged with 50, the state would skip 11 as applied.
        var rater = NewRater();
        rater.Process(Cdrs.Sms("s1", start: "2026-11-02T10:00:00+08:00"), offset: 10, keyMsisdn: Own);
        var stray = rater.Process(Cdrs.Sms("s9", start: "2026-11-02T10:30:00+08:00"), offset: 50, keyMsisdn: RatingEngine.KeyNotMsisdn);
        var next = rater.Process(Cdrs.Sms("s2", start: "2026-11-02T11:00:00+08:00"), offset: 11, keyMsisdn: Own);
        Assert.Multiple(() =>
        {
            Assert.That(stray.Reason, Is.EqualTo("invalid"));
            Assert.That(next.Result, Is.EqualTo(RatingResult.Rated));
            Assert.That(rater.State().OffsetTag, Is.EqualTo(11));
        });
    }

    [Test]
    public void A_lane_reads_the_msisdn_of_a_record_key()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RatingLane.KeyMsisdn(null), Is.Zero, "no key");
            Assert.That(RatingLane.KeyMsisdn([]), Is.Zero, "an empty key counts as none");
            Assert.That(RatingLane.KeyMsisdn("8613800000001"u8.ToArray()), Is.EqualTo(Own));
            Assert.That(RatingLane.KeyMsisdn("unparsed"u8.ToArray()), Is.EqualTo(RatingEngine.KeyNotMsisdn));
            Assert.That(RatingLane.KeyMsisdn("+8613800000001"u8.ToArray()), Is.EqualTo(RatingEngine.KeyNotMsisdn), "a key is the msisdn as the record writes it");
        });
    }
}
