using System.Text;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// SPEC §2.2: <c>plan</c> is a string naming a plan of the tariff, and a profile whose plan is not in the tariff is
/// kept (its CDRs are rejected <c>unknown-plan</c>). The empty string is such a string: no rule refuses it.
/// </summary>
[TestFixture]
public sealed class EmptyPlanNameTests
{
    [Test]
    public void A_profile_with_an_empty_plan_is_kept_and_its_CDRs_are_rejected_unknown_plan()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("sms", price: 100_000)]);
        var profile = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(Profiles.Json(plan: "")), tariff, out var error);
        Assert.That(profile, Is.Not.Null, error);

        var rater = new EngineHarness(tariff, profile!);
        var step = rater.Process(Cdrs.Sms("s1"));
        Assert.Multiple(() =>
        {
            Assert.That(step.Reason, Is.EqualTo("unknown-plan"));
            Assert.That(rater.HasState(), Is.False);
        });
    }

    [Test]
    public void A_tariff_with_a_plan_named_by_the_empty_string_rates_its_subscribers()
    {
        var json = TestTariff.Json([TestTariff.Rate("sms", price: 100_000)]).Replace("\"plans\":{\"p\":", "\"plans\":{\"\":", StringComparison.Ordinal);
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(json));
        var rater = new EngineHarness(tariff, Profiles.Of(tariff, plan: ""));
        var rated = rater.Process(Cdrs.Sms("s1")).Single;
        Assert.Multiple(() =>
        {
            Assert.That((string?)rated["plan"], Is.EqualTo(""));
            Assert.That((long?)rated["charge"], Is.EqualTo(100_000));
        });
    }

    [Test]
    public void An_offline_profile_line_with_an_empty_plan_replaces_the_profile()
    {
        var tariff = TestTariff.Build([TestTariff.Rate("sms", price: 100_000)]);
        var rater = new EngineHarness(tariff, acceptsProfileLines: true, Profiles.Of(tariff));
        var line = rater.Process("{\"type\":\"profile\"," + Profiles.Json(plan: "")[1..]);
        var step = rater.Process(Cdrs.Sms("s1"));
        Assert.Multiple(() =>
        {
            Assert.That(line.Rejected, Is.Empty, "the profile line is accepted");
            Assert.That(step.Reason, Is.EqualTo("unknown-plan"));
        });
    }
}
