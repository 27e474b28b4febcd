using System.Buffers;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// Zone numbers and rate indices are 16-bit in the compiled tables. A tariff with more than 32,767 zones used to
/// load and then throw <c>IndexOutOfRangeException</c> on the first CDR roaming in a high zone (its number wrapped
/// negative); one with more than 32,767 rates in a plan silently picked a wrong rate. Such tariffs are refused at
/// load now; tariffs at the limits load and rate as written.
/// </summary>
[TestFixture]
public sealed class TariffLimitsTests
{
    private const string Msisdn = "8613800000001";

    private static string TariffJson(int zones, int rates)
    {
        var json = new StringBuilder("{\"version\":\"limits\",\"utcOffset\":\"+08:00\",\"defaultRoamingZone\":\"ROW\",\"zones\":{");
        for (var z = 0; z < zones; z++)
        {
            // Only the last zone lists an MCC (440); the others are empty.
            json.Append(z == 0 ? "" : ",").Append($"\"Z{z}\":").Append(z == zones - 1 ? "[\"440\"]" : "[]");
        }

        json.Append("},\"plans\":{\"p\":{\"rates\":[");
        for (var r = 0; r < rates; r++)
        {
            // SMS rates (at most one unit per CDR, so no price breaks the 10^15 bound); every rate but the last
            // names a zone that does not exist, so only the last one matches.
            var zone = r == rates - 1 ? "*" : "nowhere";
            json.Append(r == 0 ? "" : ",").Append($"{{\"type\":\"sms\",\"zone\":\"{zone}\",\"unit\":1,\"increment\":1,\"price\":{r}}}");
        }

        return json.Append("]}}}").ToString();
    }

    private static (RatingResult Result, string Output) RateRoamingSms(Tariff tariff)
    {
        var engine = new RatingEngine(tariff);
        engine.SetProfile(SubscriberProfile.TryParse(Encoding.UTF8.GetBytes($"{{\"msisdn\":\"{Msisdn}\",\"plan\":\"p\",\"cycleDay\":1}}"), tariff, out _)!);
        var rated = new ArrayBufferWriter<byte>();
        var reminders = new ArrayBufferWriter<byte>();
        var rejected = new ArrayBufferWriter<byte>();
        var sink = new JsonlSink(new RecordWriter(), rated, reminders, rejected, new ArrayBufferWriter<byte>());
        var cdr = $"{{\"id\":\"r1\",\"type\":\"sms\",\"msisdn\":\"{Msisdn}\",\"direction\":\"mo\",\"peer\":\"10086\",\"start\":\"2026-11-02T10:00:00+08:00\",\"visitedMcc\":\"440\"}}";
        var result = engine.Process(Encoding.UTF8.GetBytes(cdr), ref sink);
        return (result, Encoding.UTF8.GetString(rated.WrittenSpan) + Encoding.UTF8.GetString(rejected.WrittenSpan));
    }

    [Test]
    public void A_tariff_with_the_most_zones_rates_a_cdr_roaming_in_the_last_zone()
    {
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(TariffJson(TariffLoader.MaxZones, 1)));
        var (result, output) = RateRoamingSms(tariff);
        Assert.That(result, Is.EqualTo(RatingResult.Rated), output);
        Assert.That(output, Does.Contain($"\"zone\":\"Z{TariffLoader.MaxZones - 1}\""));
    }

    [Test]
    public void A_tariff_with_one_zone_too_many_is_refused()
    {
        var refusal = Assert.Throws<TariffException>(() => TariffLoader.Load(Encoding.UTF8.GetBytes(TariffJson(TariffLoader.MaxZones + 1, 1))));
        Assert.That(refusal!.Message, Does.StartWith($"zones.Z{TariffLoader.MaxZones}: "));
    }

    [Test]
    public void A_plan_with_the_most_rates_rates_by_its_last_rate()
    {
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(TariffJson(1, TariffLoader.MaxRatesPerPlan)));
        var (result, output) = RateRoamingSms(tariff);
        Assert.That(result, Is.EqualTo(RatingResult.Rated), output);

        // One SMS at the last rate: price = its index, per 1 unit.
        Assert.That(output, Does.Contain($"\"charge\":{TariffLoader.MaxRatesPerPlan - 1}"));
    }

    [Test]
    public void A_plan_with_one_rate_too_many_is_refused()
    {
        var refusal = Assert.Throws<TariffException>(() => TariffLoader.Load(Encoding.UTF8.GetBytes(TariffJson(1, TariffLoader.MaxRatesPerPlan + 1))));
        Assert.That(refusal!.Message, Does.StartWith("plans.p.rates: "));
    }
}
