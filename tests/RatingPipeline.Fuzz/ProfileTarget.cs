using System.Buffers;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Fuzz;

/// <summary>
/// Subscriber profile parser. For every input: <see cref="SubscriberProfile.TryParse"/> returns a profile or
/// null with an error text (no exception escapes), with and without a tariff alike (only the tariff's
/// <c>dataCap</c> tiers may tell them apart); a parsed profile keeps the rules (cycle day 1–28, prepaid with
/// balance and instant, known language and channels) and rates the probe CDRs through the engine.
/// </summary>
public sealed class ProfileTarget : FuzzTarget
{
    private readonly Tariff _tariff = TariffLoader.Load(SyntheticData.DemoTariff());
    private readonly OutputChecks _checks = new();
    private readonly RatingEngine _engine;

    public ProfileTarget()
    {
        _engine = new RatingEngine(_tariff);
        var data = new SyntheticData(seed: 5, subscribers: 64);
        var buffer = new ArrayBufferWriter<byte>();
        var seeds = new List<byte[]>();
        for (var i = 0; i < 64; i++)
        {
            buffer.Clear();
            data.WriteProfile(i, buffer);
            seeds.Add(buffer.WrittenSpan.ToArray());
        }

        seeds.Add("""{"msisdn":"12345","plan":"no-such-plan","cycleDay":28,"prepaid":false,"balance":null,"channels":["voice","voice","email"],"email":""}"""u8.ToArray());
        seeds.Add("""{"msisdn":"123456789012345","plan":"basic-58","cycleDay":1,"prepaid":true,"balance":-9223372036854775808,"balanceAsOf":"2026-11-01T00:00:00.5-23:59","dataCap":200000000,"highSpendThreshold":0}"""u8.ToArray());
        Seeds = seeds;
    }

    public override string Name => "profile";

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override IReadOnlyList<byte[]> Dictionary { get; } = Tokens.Of(Tokens.Json, Tokens.Profile);

    public override string Run(ReadOnlySpan<byte> input)
    {
        var profile = SubscriberProfile.TryParse(input, _tariff, out var error);
        var untied = SubscriberProfile.TryParse(input, null, out var untiedError);
        if (profile is null)
        {
            Check(!string.IsNullOrWhiteSpace(error), "profile refused without an error text");
            Check((untied is null && untiedError == error) || error.Contains("dataCap", StringComparison.Ordinal),
                $"with the tariff: \"{error}\"; without: {(untied is null ? $"\"{untiedError}\"" : "accepted")}");
            return Label("error", error);
        }

        Check(untied is not null, $"accepted with the tariff, refused without: \"{untiedError}\"");
        Check(error.Length == 0, $"accepted with an error text \"{error}\"");
        Check(Records.MsisdnKey.TryCompute(profile.Msisdn, out var key) && key == profile.MsisdnKey, "msisdn key does not match the msisdn");
        Check(profile.CycleDay is >= 1 and <= 28, $"cycleDay {profile.CycleDay}");
        Check(profile.Plan.Length > 0, "empty plan");
        Check(!profile.Prepaid || profile.BalanceAsOf is not null, "prepaid without balanceAsOf");
        Check(profile.Language is "zh" or "en", $"language {profile.Language}");
        Check(profile.Channels.Count > 0 && profile.Channels.Distinct().Count() == profile.Channels.Count
            && profile.Channels.All(c => c is "sms" or "email" or "voice"), "channels");
        _engine.SetProfile(profile);
        var rated = Probes.Rate(_engine, profile, _checks);
        _engine.RemoveProfile(profile.MsisdnKey);
        return rated > 0 ? "ok, rates" : "ok, no rate";
    }
}
