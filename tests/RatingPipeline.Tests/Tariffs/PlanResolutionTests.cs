using System.Text;
using NUnit.Framework;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Tariffs;

/// <summary>
/// A profile names its plan by id; each tariff finds it by the number of that id (no look-up by name per record), so a
/// re-rate that asks the old and the new tariff in turn gets each tariff's own plan every time.
/// </summary>
public sealed class PlanResolutionTests
{
    private static readonly string SmsRate = TestTariff.Rate("sms", zone: "domestic", price: 100_000);

    [Test]
    public void A_profile_finds_its_plan_in_each_of_two_tariffs_asked_in_turn()
    {
        var old = TestTariff.Build([SmsRate]);
        var json = TestTariff.Json([SmsRate]).Replace("\"plans\":{\"p\":{", "\"plans\":{\"q-only-new\":{\"rates\":[" + SmsRate + "]},\"p\":{", StringComparison.Ordinal);
        var updated = TariffLoader.Load(Encoding.UTF8.GetBytes(json));
        var onP = Profiles.Of(old);
        var onQ = Profiles.Of(updated, msisdn: Cdrs.Other, plan: "q-only-new");

        for (var round = 0; round < 2; round++)
        {
            Assert.Multiple(() =>
            {
                Assert.That(onP.ResolvePlan(old), Is.SameAs(old.Plans["p"]));
                Assert.That(onP.ResolvePlan(updated), Is.SameAs(updated.Plans["p"]));
                Assert.That(onQ.ResolvePlan(old), Is.Null, "a plan the old tariff does not have");
                Assert.That(onQ.ResolvePlan(updated), Is.SameAs(updated.Plans["q-only-new"]));
            });
        }
    }

    [Test]
    public void A_plan_named_after_the_tariff_was_loaded_is_not_in_it()
    {
        var tariff = TestTariff.Build([SmsRate]);
        var later = Profiles.Of(TariffLoader.Load(Encoding.UTF8.GetBytes(TestTariff.Json([SmsRate]).Replace("\"plans\":{\"p\":{", "\"plans\":{\"named-later\":{", StringComparison.Ordinal))),
            plan: "named-later");

        Assert.That(later.ResolvePlan(tariff), Is.Null);
    }
}
