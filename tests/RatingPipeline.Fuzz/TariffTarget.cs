using System.Text;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Fuzz;

/// <summary>
/// Tariff loader. For every input: <see cref="TariffLoader.Load"/> returns a tariff or throws
/// <see cref="TariffException"/> with a message (never another exception type); a tariff that loads rates the
/// probe CDRs on its first plans through the engine under the CDR invariants (charges within 10^15), and its
/// zero-rating table matches any peer without throwing.
/// </summary>
public sealed class TariffTarget : FuzzTarget
{
    private const int PlansProbed = 4;

    private readonly OutputChecks _checks = new();

    public override string Name => "tariff";

    public override IReadOnlyList<byte[]> Seeds { get; } =
    [
        SyntheticData.DemoTariff(),
        Encoding.UTF8.GetBytes("""{"version":"v","utcOffset":"Z","defaultRoamingZone":"R","plans":{"p":{"rates":[{"unit":1,"increment":1,"price":0}]}}}"""),
        Encoding.UTF8.GetBytes("""
            {"version":"2","currency":null,"utcOffset":"-23:59","homeMcc":["460","460"],"zones":{"A":["001","999"],"B":["001"]},"defaultRoamingZone":"A",
             "zeroRated":[{"pattern":"x*","types":[],"from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59.9999999Z","reason":"r"},
                          {"pattern":"0044xx","types":["sms","voice"],"from":"2012-05-20T00:00:00+08:00","reason":"s"}],
             "plans":{"q":{"allowances":{"voiceSec":9223372036854775807,"smsCount":0,"dataBytes":null},"reminderThresholds":[0,127,127,100],
                           "highSpendThreshold":0,"lowBalanceThreshold":9223372036854775807,"dataCapTiers":[0,1],"defaultDataCap":0,
                           "rates":[{"type":"data","capped":true,"useAllowance":true,"unit":1000000,"increment":1,"price":1000000},
                                    {"type":"voice","zone":"A","direction":"mt","dest":"intl","firstIncrement":86400,"increment":9223372036854775807,"unit":86400,"price":1000000000},
                                    {"type":"*","zone":"nowhere","direction":"*","dest":"*","unit":1,"increment":1,"price":1}]}}}
            """),
    ];

    public override IReadOnlyList<byte[]> Dictionary { get; } = Tokens.Of(Tokens.Json, Tokens.Tariff);

    public override string Run(ReadOnlySpan<byte> input)
    {
        Tariff tariff;
        try
        {
            tariff = TariffLoader.Load(input);
        }
        catch (TariffException e)
        {
            Check(e.Message.Contains(": ", StringComparison.Ordinal), $"tariff refused without a path: \"{e.Message}\"");
            return Label("refused", e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
        }

        Check(tariff.Plans.Count > 0 && tariff.Version.Length > 0 && tariff.ZoneIds.Count > 1, "a loaded tariff lacks plans, version or a roaming zone");
        foreach (var peer in Probes.Peers)
        {
            var rule = tariff.ZeroRating.Match(Encoding.ASCII.GetBytes(peer), CdrType.Sms, 0, Tariff.Domestic);
            Check(rule >= -1 && rule < tariff.ZeroRating.Rules.Count, $"zero-rating match returned {rule}");
        }

        var engine = new RatingEngine(tariff);
        var index = 0;
        var rated = 0;
        foreach (var plan in tariff.Plans.Keys.Take(PlansProbed))
        {
            var profile = Probes.ProfileOn(plan, index++);
            engine.SetProfile(profile);
            rated += Probes.Rate(engine, profile, _checks);
        }

        return rated > 0 ? "loaded, rates" : "loaded, no rate";
    }
}
