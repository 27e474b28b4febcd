using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.Properties;

/// <summary>The generated plan: allowances, increments, prices and caps.</summary>
public sealed record PlanParams(
    long VoiceAllowance, long SmsAllowance, long DataAllowance,
    long VoiceFirst, long VoiceIncrement, long VoiceUnit, long VoicePrice,
    long SmsPrice, long DataIncrement, long DataUnit, long DataPrice,
    long Cap1, long Cap2, bool DefaultCap, long HighSpend, long LowBalance, long Balance);

/// <summary>One generated CDR: whose, what, when (hours after the previous one) and how.</summary>
public sealed record CdrOp(int Subscriber, int Kind, int HoursStep, int Duration, long Bytes, int Peer, int Mcc, int IdChoice);

/// <summary>A generated case: a plan and a stream of CDRs against it.</summary>
public sealed record StreamCase(PlanParams Plan, CdrOp[] Ops)
{
    public override string ToString() => $"{Plan} with {Ops.Length} CDRs: {string.Join("; ", Ops.Select(o => o.ToString()))}";
}

/// <summary>
/// Generated CDR streams for property tests: three subscribers (postpaid on the plan's default cap, postpaid with
/// the higher cap tier, prepaid), an unknown one and one on a plan the tariff lacks; voice, SMS and data at home and abroad, zero-rated peers,
/// duplicates, late records, invalid and malformed records.
/// </summary>
public static class CdrStreams
{
    /// <summary>Subscribers 0–2 have profiles on plan p, 3 has no profile, 4 a plan the tariff lacks.</summary>
    public static readonly string[] Msisdns = ["8613800000001", "8613800000002", "8613800000003", "8613899999999", "8613800000004"];

    private static readonly string[] Peers = ["13900000000", "+4420700000", "00447786205094", "10086", "+8613900000000", "0044753741029"];
    private static readonly string?[] Mccs = [null, null, null, "460", "454", "455", "440", "262"];

    /// <summary>2026-11-01T00:00:00+08:00.</summary>
    private static readonly long Origin = (Instant.DaysFromCivil(2026, 10, 31) * Instant.TicksPerDay) + (16 * Instant.TicksPerHour);

    public static Gen<PlanParams> Plans =>
        from voiceAllowance in Gen.Elements(0L, 60L, 600L, 6000L)
        from smsAllowance in Gen.Elements(0L, 1L, 5L)
        from dataAllowance in Gen.Elements(0L, 4096L, 1_000_000L)
        from voiceFirst in Gen.Elements(1L, 6L, 30L, 60L)
        from voiceIncrement in Gen.Elements(1L, 6L, 60L)
        from voiceUnit in Gen.Elements(1L, 60L, 1000L)
        from voicePrice in Gen.Choose(0, 1_000_000)
        from smsPrice in Gen.Choose(0, 1_000_000)
        from dataIncrement in Gen.Elements(1L, 1024L, 10_240L)
        from dataUnit in Gen.Elements(1024L, 1_048_576L)
        from dataPrice in Gen.Choose(0, 1_000)
        from cap1 in Gen.Choose(0, 2_000_000)
        from cap2 in Gen.Choose(0, 5_000_000)
        from defaultCap in Gen.Elements(true, false)
        from highSpend in Gen.Choose(0, 20_000_000)
        from lowBalance in Gen.Choose(0, 5_000_000)
        from balance in Gen.Choose(-1_000_000, 10_000_000)
        select new PlanParams(voiceAllowance, smsAllowance, dataAllowance, voiceFirst, voiceIncrement, voiceUnit, voicePrice,
            smsPrice, dataIncrement, dataUnit, dataPrice, cap1, Math.Max(cap1, cap2) + 1, defaultCap, highSpend, lowBalance, balance);

    // Kinds: 0-3 voice, 4-6 sms, 7-9 data, 10 late voice, 11 invalid (fraction), 12 malformed (truncated), 13 a new profile.
    public static Gen<CdrOp> Ops =>
        from subscriber in Gen.Frequency((10, Gen.Constant(0)), (10, Gen.Constant(1)), (10, Gen.Constant(2)), (1, Gen.Constant(3)), (1, Gen.Constant(4)))
        from kind in Gen.Frequency((13, Gen.Choose(0, 12)), (1, Gen.Constant(13)))
        from hours in Gen.Frequency((6, Gen.Choose(0, 3)), (3, Gen.Choose(4, 48)), (1, Gen.Choose(200, 800)))
        from duration in Gen.Frequency((1, Gen.Constant(0)), (8, Gen.Choose(1, 900)), (1, Gen.Choose(900, 86_400)))
        from bytes in Gen.Frequency((1, Gen.Constant(0)), (5, Gen.Choose(1, 100_000)), (4, Gen.Choose(100_000, 2_000_000_000)))
        from peer in Gen.Choose(0, Peers.Length - 1)
        from mcc in Gen.Choose(0, Mccs.Length - 1)
        from idChoice in Gen.Frequency((8, Gen.Constant(-1)), (2, Gen.Choose(0, 40)))
        select new CdrOp(subscriber, kind, hours, duration, bytes, peer, mcc, idChoice);

    public static Gen<StreamCase> CaseGen =>
        from plan in Plans
        from count in Gen.Choose(1, 150)
        from ops in Gen.ArrayOf(Ops, count)
        select new StreamCase(plan, ops);

    public static Arbitrary<StreamCase> Cases => CaseGen.ToArbitrary();

    public static string TariffJsonOf(PlanParams p)
    {
        var caps = $"\"dataCapTiers\":[{p.Cap1},{p.Cap2}]{(p.DefaultCap ? $",\"defaultDataCap\":{p.Cap1}" : "")}";
        return TestTariff.Json(
            [
                TestTariff.Rate("voice", zone: "domestic", direction: "mo", dest: "national", price: p.VoicePrice, unit: p.VoiceUnit,
                    increment: p.VoiceIncrement, first: p.VoiceFirst, allowance: true),
                TestTariff.Rate("voice", zone: "domestic", price: p.VoicePrice / 2, unit: p.VoiceUnit, increment: p.VoiceIncrement),
                TestTariff.Rate("sms", zone: "domestic", direction: "mo", price: p.SmsPrice, allowance: true),
                TestTariff.Rate("sms", zone: "*", direction: "mt", price: 0),
                TestTariff.Rate("data", zone: "domestic", price: p.DataPrice, unit: p.DataUnit, increment: p.DataIncrement,
                    allowance: true, capped: true),
                TestTariff.Rate("data", zone: "HMT", price: p.DataPrice * 10, unit: p.DataUnit, increment: p.DataIncrement),
                TestTariff.Rate("sms", zone: "*", direction: "mo", price: p.SmsPrice * 3),
                TestTariff.Rate("voice", zone: "HMT", price: p.VoicePrice * 5, unit: 60, increment: 60),
            ],
            $"\"allowances\":{{\"voiceSec\":{p.VoiceAllowance},\"smsCount\":{p.SmsAllowance},\"dataBytes\":{p.DataAllowance}}},"
            + $"\"reminderThresholds\":[50,80,100],\"highSpendThreshold\":{p.HighSpend},\"lowBalanceThreshold\":{p.LowBalance},{caps}",
            [
                TestTariff.Zero("00447786205094", "apple-activation", "\"sms\""),
                TestTariff.Zero("004475374102xx", "apple-activation", "\"sms\""),
                TestTariff.Zero("10086", "customer-service", "\"sms\",\"voice\""),
            ]);
    }

    public static Tariff TariffOf(PlanParams p) => TariffLoader.Load(System.Text.Encoding.UTF8.GetBytes(TariffJsonOf(p)));

    /// <summary>The profiles: default cap, the higher tier, prepaid; none for 3; an unknown plan for 4.</summary>
    public static string[] ProfileJsonsOf(PlanParams p) =>
    [
        Profiles.Json(msisdn: Msisdns[0]),
        Profiles.Json($"\"dataCap\":{p.Cap2}", msisdn: Msisdns[1], cycleDay: 15),
        Profiles.Json($"\"prepaid\":true,\"balance\":{p.Balance},\"balanceAsOf\":\"2026-11-03T00:00:00+08:00\",\"highSpendThreshold\":{p.HighSpend / 2}",
            msisdn: Msisdns[2], cycleDay: 28),
        Profiles.Json(msisdn: Msisdns[4], plan: "gone"),
    ];

    public static SubscriberProfile[] ProfilesOf(PlanParams p, Tariff tariff) => [.. ProfileJsonsOf(p).Select(j => Profiles.Parse(tariff, j))];

    /// <summary>A later profile for one of subscribers 0–2 (same plan and cap): a new high-spend threshold, or a top-up.</summary>
    private static string ProfileChange(PlanParams p, CdrOp op, long now) => (op.Subscriber % 3) switch
    {
        0 => Profiles.Json($"\"highSpendThreshold\":{op.Bytes % 20_000_000}", msisdn: Msisdns[0]),
        1 => Profiles.Json($"\"dataCap\":{p.Cap2},\"language\":\"en\"", msisdn: Msisdns[1], cycleDay: 15),
        _ => Profiles.Json($"\"prepaid\":true,\"balance\":{op.Bytes % 10_000_000},\"balanceAsOf\":\"{Format(now - (op.Duration * Instant.TicksPerSecond))}\"",
            msisdn: Msisdns[2], cycleDay: 28),
    };

    /// <summary>Lines of a rendered stream that carry a new profile instead of a CDR start with this.</summary>
    public const string ProfileLine = "#profile ";

    /// <summary>Feeds one rendered line to a rater: a CDR is processed (its step returned), a profile is set (null).</summary>
    public static Step? Feed(EngineHarness rater, string line)
    {
        if (line.StartsWith(ProfileLine, StringComparison.Ordinal))
        {
            rater.Engine.SetProfile(Profiles.Parse(rater.Engine.Tariff, line[ProfileLine.Length..]));
            return null;
        }

        return rater.Process(line);
    }

    /// <summary>The cap K of subscriber <paramref name="subscriber"/>, or null when there is none.</summary>
    public static long? CapOf(PlanParams p, int subscriber) => subscriber == 1 ? p.Cap2 : p.DefaultCap ? p.Cap1 : null;

    /// <summary>The stream as CDR records (JSON lines without line ends) and new profiles (see <see cref="ProfileLine"/>).</summary>
    public static List<string> Render(StreamCase c)
    {
        var ops = c.Ops;
        var lines = new List<string>(ops.Length);
        var ids = new List<string>();
        var now = Origin;
        for (var i = 0; i < ops.Length; i++)
        {
            var op = ops[i];
            now += op.HoursStep * Instant.TicksPerHour + (i * Instant.TicksPerSecond % (7 * Instant.TicksPerSecond));
            var id = op.IdChoice >= 0 && ids.Count > 0 ? ids[ids.Count - 1 - (op.IdChoice % ids.Count)] : $"c{i}";
            ids.Add(id);
            var msisdn = Msisdns[op.Subscriber];
            var mcc = Mccs[op.Mcc];
            var peer = Peers[op.Peer];
            var direction = op.Duration % 3 == 0 ? "mt" : "mo";
            var start = Format(now);
            if (op.Kind == 13)
            {
                lines.Add(ProfileLine + ProfileChange(c.Plan, op, now));
                continue;
            }

            lines.Add(op.Kind switch
            {
                <= 3 => Cdrs.Voice(id, op.Duration, start, peer, direction, mcc, msisdn),
                <= 6 => Cdrs.Sms(id, start, peer, direction, mcc, msisdn),
                <= 9 => Cdrs.Data(id, op.Bytes, start, mcc, msisdn),
                10 => Cdrs.Voice(id, op.Duration, Format(now - (40 * Instant.TicksPerDay)), peer, direction, mcc, msisdn),
                11 => Cdrs.Voice(id, op.Duration, start, peer, direction, mcc, msisdn).Replace($"\"durationSec\":{op.Duration}", "\"durationSec\":1.5", StringComparison.Ordinal),
                _ => Cdrs.Sms(id, start, peer, direction, mcc, msisdn)[..^3],
            });
        }

        return lines;
    }

    /// <summary>An instant as local time +08:00, or in UTC for every third second (the same instant either way).</summary>
    public static string Format(long utcTicks)
    {
        var utc = new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(utcTicks);
        return utc.Second % 3 == 0
            ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : utc.AddHours(8).ToString("yyyy-MM-dd'T'HH:mm:ss'+08:00'", CultureInfo.InvariantCulture);
    }
}
