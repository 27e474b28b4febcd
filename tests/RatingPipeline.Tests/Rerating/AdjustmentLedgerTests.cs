using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Rerating;

namespace RatingPipeline.Tests.Rerating;

/// <summary>What the ledger tells a re-rate about the adjustments recorded before it and added during it.</summary>
[TestFixture]
public sealed class AdjustmentLedgerTests
{
    [Test]
    public void Only_a_subscriber_with_a_re_rating_adjustment_may_hold_one_whether_recorded_or_added_in_the_run()
    {
        var recorded = new AdjustmentLedger([Rerate("8613800000001", "a1", 500_000), new GoodwillCredit("g-1", "8613800000003", -1_000_000, "outage", null)]);
        var lane = AdjustmentLedger.Over(recorded);

        Assert.That(lane.MayHoldRerateAdjustmentFor(Key("8613800000001")), Is.True);
        Assert.That(lane.MayHoldRerateAdjustmentFor(Key("8613800000002")), Is.False);
        Assert.That(lane.MayHoldRerateAdjustmentFor(Key("8613800000003")), Is.False, "a goodwill credit changes no charge");
        Assert.That(lane.LatestFor("8613800000001", "2026-11-01", "a1")?.NewCharge, Is.EqualTo(500_000));

        Assert.That(lane.Add(Rerate("8613800000002", "b7", 0)), Is.True);

        Assert.That(lane.MayHoldRerateAdjustmentFor(Key("8613800000002")), Is.True);
        Assert.That(lane.LatestFor("8613800000002", "2026-11-01", "b7")?.NewCharge, Is.EqualTo(0));
        Assert.That(recorded.MayHoldRerateAdjustmentFor(Key("8613800000002")), Is.False, "the recorded ledger is never changed by a lane");
    }

    [Test]
    public void An_adjustment_whose_msisdn_makes_no_key_leaves_every_look_up_to_the_strings()
    {
        var ledger = new AdjustmentLedger([Rerate("not-a-msisdn", "a1", 500_000)]);

        Assert.That(ledger.MayHoldRerateAdjustmentFor(Key("8613800000009")), Is.True);
        Assert.That(ledger.LatestFor("8613800000009", "2026-11-01", "a1"), Is.Null);
    }

    private static Adjustment Rerate(string msisdn, string id, long newCharge) =>
        new($"{msisdn}:2026-11-01:{id}:v1:v2", id, msisdn, "2026-11-01", 1_000_000, newCharge, newCharge - 1_000_000, "v1", "v2", null);

    private static ulong Key(string msisdn)
    {
        Assert.That(MsisdnKey.TryCompute(msisdn, out var key), Is.True);
        return key;
    }
}
