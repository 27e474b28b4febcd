using System.Text;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Support;

public static class Profiles
{
    /// <summary>A profile as JSON: plan <c>p</c>, cycle day 1 unless told otherwise, and the given further members.</summary>
    public static string Json(string extra = "", string msisdn = Cdrs.Msisdn, string plan = "p", int cycleDay = 1) =>
        $"{{\"msisdn\":\"{msisdn}\",\"plan\":\"{plan}\",\"cycleDay\":{cycleDay}{(extra.Length > 0 ? "," + extra : "")}}}";

    /// <summary>A profile of plan <c>p</c> with cycle day 1 and the given further members.</summary>
    public static SubscriberProfile Of(Tariff tariff, string extra = "", string msisdn = Cdrs.Msisdn, string plan = "p",
        int cycleDay = 1) => Parse(tariff, Json(extra, msisdn, plan, cycleDay));

    public static SubscriberProfile Parse(Tariff tariff, string json)
    {
        var profile = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), tariff, out var error);
        Assert.That(profile, Is.Not.Null, $"test profile refused: {error}");
        return profile!;
    }
}
