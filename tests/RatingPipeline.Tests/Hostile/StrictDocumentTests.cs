using System.Text;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// Tariffs and profiles: whatever the bytes, the loader returns a tariff or throws <see cref="TariffException"/>,
/// and the profile parser returns a profile or an error. Found by the tariff and profile fuzz targets: nesting
/// of 65–256 levels passed the strict check and then broke the document reader (default depth 64), and a string
/// escape that is not valid Unicode (a lone surrogate) let <c>InvalidOperationException</c> out.
/// </summary>
[TestFixture]
public sealed class StrictDocumentTests
{
    private static readonly string Tariff = Encoding.UTF8.GetString(SyntheticData.DemoTariff());

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    private static string WithUnknownMember(string json, string value) => "{\"extra\":" + value + "," + json.TrimStart()[1..];

    [TestCase(64)]
    [TestCase(100)]
    [TestCase(255)] // the member's array is one level inside the tariff object: 256 in all
    public void A_tariff_with_deep_nesting_in_an_unknown_member_loads(int depth)
    {
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(WithUnknownMember(Tariff, Nested(depth))));
        Assert.That(tariff.Plans, Is.Not.Empty);
    }

    [Test]
    public void A_tariff_nested_one_level_too_deep_is_refused()
    {
        // 256 levels of arrays inside the tariff object: 257 in all.
        var json = WithUnknownMember(Tariff, Nested(256));
        var refusal = Assert.Throws<TariffException>(() => TariffLoader.Load(Encoding.UTF8.GetBytes(json)));
        Assert.That(refusal!.Message, Does.StartWith("$: ").And.Contain("depth"));
    }

    [TestCase("\"\\ud800\"")] // a lone high surrogate in an unknown member's value
    [TestCase("\"\\udc00x\"")] // a lone low surrogate
    [TestCase("[\"\\ud800\\u0041\"]")] // a high surrogate followed by a non-surrogate escape, inside an array
    public void A_tariff_with_an_undecodable_escape_in_an_unknown_member_is_refused(string value)
    {
        var refusal = Assert.Throws<TariffException>(() => TariffLoader.Load(Encoding.UTF8.GetBytes(WithUnknownMember(Tariff, value))));
        Assert.That(refusal!.Message, Does.StartWith("$: ").And.Contain("not valid Unicode"));
    }

    [TestCase("\"\\ud800\"")] // a lone high surrogate as the version string
    [TestCase("\"v\\udfff\"")] // a lone low surrogate
    public void A_tariff_version_with_an_undecodable_escape_is_refused(string version)
    {
        var json = Tariff.Replace("\"version\": \"2026-11-01.1\"", "\"version\": " + version, StringComparison.Ordinal);
        Assert.That(json, Does.Contain(version), "the demo tariff's version is where the test expects it");
        Assert.Throws<TariffException>(() => TariffLoader.Load(Encoding.UTF8.GetBytes(json)));
    }

    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"\\ud800\",\"cycleDay\":1}")] // a lone surrogate as the plan
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"basic-58\",\"cycleDay\":1,\"email\":\"a\\udc00@b\"}")] // in the e-mail address
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"basic-58\",\"cycleDay\":1,\"x\":[\"\\ud83d\"]}")] // half an emoji in an unknown member
    public void A_profile_with_an_undecodable_escape_is_refused_with_an_error(string json)
    {
        var profile = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), null, out var error);
        Assert.That(profile, Is.Null);
        Assert.That(error, Does.Contain("not valid Unicode"));
    }

    [TestCase(100, true)]
    [TestCase(255, true)] // 256 levels with the profile object
    [TestCase(256, false)] // one too many
    public void A_profile_with_deep_nesting_in_an_unknown_member_is_judged_by_the_depth_bound(int depth, bool accepted)
    {
        var json = "{\"msisdn\":\"8613800000001\",\"plan\":\"basic-58\",\"cycleDay\":1,\"x\":" + Nested(depth) + "}";
        var profile = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), null, out var error);
        Assert.That(profile is not null, Is.EqualTo(accepted), error);
    }
}
