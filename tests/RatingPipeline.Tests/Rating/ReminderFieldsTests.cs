using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §5: reminder members by kind, and the deterministic eventId of each kind.</summary>
[TestFixture]
public sealed class ReminderFieldsTests
{
    private static readonly string[] Common = ["eventId", "msisdn", "kind", "cycle", "cdrId", "at"];

    [Test]
    public void Every_kind_has_its_members_and_event_id()
    {
        var tariff = TestTariff.Build(
            [
                TestTariff.Rate("sms", zone: "domestic", price: 400_000, allowance: true),
                TestTariff.Rate("data", zone: "domestic", price: 1, unit: 1, increment: 1, capped: true),
                TestTariff.Rate("sms", zone: "*", direction: "mo", price: 1_000_000),
            ],
            "\"allowances\":{\"smsCount\":1},\"reminderThresholds\":[100],\"highSpendThreshold\":1000000,"
            + "\"lowBalanceThreshold\":500000,\"dataCapTiers\":[1000000],\"defaultDataCap\":1000000");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, "\"prepaid\":true,\"balance\":2000000,\"balanceAsOf\":\"2026-11-01T00:00:00Z\""));

        // s1: A = 1 of smsCount 1 → allowance 100 %; C = 0 so low-balance is not evaluated.
        var s1 = rater.Process(Cdrs.Sms("s1"));
        // d1: C = 1000000 = K → data-cap; S = 1000000 ≥ H → high-spend; remaining 2000000 − 1000000 = 1000000 ≥ L.
        var d1 = rater.Process(Cdrs.Data("d1", 1_000_000));
        // s2 from 454: C = 1000000; remaining 0 < 500000 → low-balance; first roaming CDR → roaming.
        var s2 = rater.Process(Cdrs.Sms("s2", mcc: "454"));

        var all = s1.Reminders.Concat(d1.Reminders).Concat(s2.Reminders).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(all.Select(r => (string?)r["kind"]),
                Is.EqualTo(new[] { "allowance", "data-cap", "high-spend", "low-balance", "roaming" }));
            Assert.That(all.Select(r => (string?)r["eventId"]), Is.EqualTo(new[]
            {
                "8613800000001:2026-11-01:allowance:sms:100",
                "8613800000001:2026-11-01:data-cap:1000000",
                "8613800000001:2026-11-01:high-spend:1000000",
                "8613800000001:2026-11-01:low-balance:2026-11-01T00:00:00Z",
                "8613800000001:2026-11-01:roaming:454:s2",
            }));
            string[][] members =
            [
                ["type", "threshold", "used", "allowance", "overagePrice", "overageUnit"],
                ["cap", "charged"],
                ["threshold", "spend"],
                ["threshold", "remaining"],
                ["mcc", "zone", "rates"],
            ];
            for (var i = 0; i < Math.Min(all.Count, members.Length); i++)
            {
                Assert.That(all[i].Select(p => p.Key), Is.EquivalentTo(Common.Concat(members[i])), (string?)all[i]["kind"]);
            }
        });
    }
}
