using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>SPEC §4.7 and §4.8 data-cap: capped charges D never pass the cap K; the reminder fires when D = K.</summary>
[TestFixture]
public sealed class DataCapTests
{
    // Domestic data is capped and costs 1 micro per byte (increment 1, unit 1), so C before the cap = bytes.
    // HMT data is not capped and costs the same.
    private static readonly string[] Rates =
    [
        TestTariff.Rate("data", zone: "domestic", price: 1, unit: 1, increment: 1, capped: true),
        TestTariff.Rate("data", zone: "HMT", price: 1, unit: 1, increment: 1),
        TestTariff.Rate("sms", price: 100_000),
    ];

    private const string CapPlan = "\"dataCapTiers\":[1000000,2000000],\"defaultDataCap\":1000000";

    [Test]
    public void Cap_reached_mid_record_clips_the_charge_to_K_minus_D_then_charges_0()
    {
        var tariff = TestTariff.Build(Rates, CapPlan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        // K = 1000000 (plan default). 600000 bytes: C = min(600000, 1000000 − 0) = 600000; D = 600000.
        var first = rater.Process(Cdrs.Data("d1", 600_000));
        // 600000 bytes: C = min(600000, 1000000 − 600000) = 400000; D = 1000000 = K → data-cap reminder.
        var second = rater.Process(Cdrs.Data("d2", 600_000, start: "2026-11-02T11:00:00+08:00"));
        // 5 bytes: C = min(5, max(0, 1000000 − 1000000)) = 0; B and O still 5; no second reminder this cycle.
        var third = rater.Process(Cdrs.Data("d3", 5, start: "2026-11-02T12:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That((first.Charge, first.Reminders.Count), Is.EqualTo((600_000L, 0)));
            Assert.That(second.Charge, Is.EqualTo(400_000));
            Assert.That(second.Reminders, Has.Count.EqualTo(1));
            var reminder = second.Reminders[0];
            Assert.That((string?)reminder["kind"], Is.EqualTo("data-cap"));
            Assert.That((long?)reminder["cap"], Is.EqualTo(1_000_000));
            Assert.That((long?)reminder["charged"], Is.EqualTo(1_000_000));
            Assert.That((string?)reminder["eventId"], Is.EqualTo("8613800000001:2026-11-01:data-cap:1000000"));
            Assert.That((string?)reminder["cdrId"], Is.EqualTo("d2"));
            Assert.That((string?)reminder["at"], Is.EqualTo("2026-11-02T11:00:00+08:00"));
            Assert.That((third.Billable, third.Overage, third.Charge), Is.EqualTo((5L, 5L, 0L)));
            Assert.That(third.Reminders, Is.Empty);
            Assert.That(rater.State().CappedCharges, Is.EqualTo(1_000_000));
        });
    }

    [Test]
    public void Data_cap_reminder_fires_when_D_reaches_K_without_clipping()
    {
        var tariff = TestTariff.Build(Rates, CapPlan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Data("d1", 600_000));
        // 400000 bytes: C = min(400000, 400000) = 400000 — not clipped — and D = 1000000 = K: the reminder fires.
        var step = rater.Process(Cdrs.Data("d2", 400_000));
        Assert.Multiple(() =>
        {
            Assert.That(step.Charge, Is.EqualTo(400_000));
            Assert.That(step.Kinds, Is.EqualTo(new[] { "data-cap" }));
        });
    }

    [Test]
    public void The_subscribers_chosen_cap_overrides_the_plan_default()
    {
        var tariff = TestTariff.Build(Rates, CapPlan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, "\"dataCap\":2000000"));
        // K = 2000000: 1500000 bytes → C = 1500000 (the plan default 1000000 would have clipped it);
        // 600000 bytes → C = min(600000, 2000000 − 1500000) = 500000, D = K.
        var first = rater.Process(Cdrs.Data("d1", 1_500_000));
        var second = rater.Process(Cdrs.Data("d2", 600_000));
        Assert.Multiple(() =>
        {
            Assert.That(first.Charge, Is.EqualTo(1_500_000));
            Assert.That(first.Reminders, Is.Empty);
            Assert.That(second.Charge, Is.EqualTo(500_000));
            Assert.That((long?)second.Reminders.Single()["cap"], Is.EqualTo(2_000_000));
            Assert.That((string?)second.Reminders.Single()["eventId"], Is.EqualTo("8613800000001:2026-11-01:data-cap:2000000"));
        });
    }

    [Test]
    public void Without_a_cap_capped_data_is_charged_in_full_and_never_reminded()
    {
        // No defaultDataCap and no profile dataCap: no cap, C = 5000000.
        var tariff = TestTariff.Build(Rates, "\"dataCapTiers\":[1000000]");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Data("d1", 5_000_000));
        Assert.Multiple(() =>
        {
            Assert.That(step.Charge, Is.EqualTo(5_000_000));
            Assert.That(step.Reminders, Is.Empty);
        });
    }

    [Test]
    public void Uncapped_charges_do_not_count_towards_the_cap()
    {
        var tariff = TestTariff.Build(Rates, CapPlan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        // Roaming data (HMT, not capped): C = 2000000, D stays 0. SMS: C = 100000, D stays 0.
        var roaming = rater.Process(Cdrs.Data("d1", 2_000_000, mcc: "454"));
        rater.Process(Cdrs.Sms("s1"));
        // Domestic 1000000 bytes: C = min(1000000, 1000000 − 0) = 1000000; D = K → reminder.
        var domestic = rater.Process(Cdrs.Data("d2", 1_000_000));
        Assert.Multiple(() =>
        {
            Assert.That(roaming.Charge, Is.EqualTo(2_000_000));
            Assert.That(domestic.Charge, Is.EqualTo(1_000_000));
            Assert.That(domestic.Kinds, Does.Contain("data-cap"));
        });
    }

    [Test]
    public void A_new_cycle_resets_D_and_re_arms_the_data_cap_reminder()
    {
        var tariff = TestTariff.Build(Rates, CapPlan);
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        rater.Process(Cdrs.Data("d1", 1_000_000));
        // December cycle: D = 0 again, so 1000000 bytes are charged in full and D = K fires again, with the new cycle in the id.
        var step = rater.Process(Cdrs.Data("d2", 1_000_000, start: "2026-12-02T10:00:00+08:00"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Charge, Is.EqualTo(1_000_000));
            Assert.That((string?)step.Reminders.Single()["eventId"], Is.EqualTo("8613800000001:2026-12-01:data-cap:1000000"));
        });
    }

    [Test]
    public void Capped_charges_count_towards_spend()
    {
        // S += C after clipping: 1500000 bytes → C = 1000000 (clipped), S = 1000000 ≥ H = 1000000 → high-spend with spend 1000000.
        var tariff = TestTariff.Build(Rates, CapPlan + ",\"highSpendThreshold\":1000000");
        var rater = new EngineHarness(tariff, Profiles.Of(tariff));
        var step = rater.Process(Cdrs.Data("d1", 1_500_000));
        Assert.Multiple(() =>
        {
            Assert.That(step.Kinds, Is.EqualTo(new[] { "data-cap", "high-spend" }));
            Assert.That((long?)step.Reminders[1]["spend"], Is.EqualTo(1_000_000));
            Assert.That(rater.State().Spend, Is.EqualTo(1_000_000));
        });
    }
}
