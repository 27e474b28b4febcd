using System.Text;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Fuzz;

/// <summary>
/// A fixed set of CDRs (every type and direction, home and roaming, national, international and Apple-port
/// peers, zero and maximal sizes) rated for one msisdn, to drive a tariff or profile that loaded through the engine.
/// </summary>
internal static class Probes
{
    private static readonly string[] Templates =
    [
        """{"id":"p1-#","type":"voice","msisdn":"@","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00","durationSec":61}""",
        """{"id":"p2-#","type":"voice","msisdn":"@","direction":"mt","peer":"+447700900123","start":"2026-11-02T11:00:00+08:00","durationSec":86400,"visitedMcc":"454"}""",
        """{"id":"p3-#","type":"voice","msisdn":"@","direction":"mo","peer":"0086139","start":"2026-11-02T12:00:00+08:00","durationSec":0,"visitedMcc":"000"}""",
        """{"id":"p4-#","type":"sms","msisdn":"@","direction":"mo","peer":"+447786205094","start":"2026-11-02T13:00:00+08:00"}""",
        """{"id":"p5-#","type":"sms","msisdn":"@","direction":"mo","peer":"00447537410217","start":"2026-11-02T14:00:00+08:00","visitedMcc":"440"}""",
        """{"id":"p6-#","type":"sms","msisdn":"@","direction":"mt","peer":"0","start":"2026-11-02T15:00:00+08:00","visitedMcc":"460"}""",
        """{"id":"p7-#","type":"data","msisdn":"@","start":"2026-11-02T16:00:00+08:00","bytes":1000000000000}""",
        """{"id":"p8-#","type":"data","msisdn":"@","start":"2026-11-02T17:00:00+08:00","bytes":1,"visitedMcc":"999"}""",
        """{"id":"p9-#","type":"voice","msisdn":"@","direction":"mo","peer":"99999999999999999999999999999999","start":"2026-12-31T23:59:59.9999999+08:00","durationSec":86400,"visitedMcc":"310"}""",
        """{"id":"p10-#","type":"sms","msisdn":"@","direction":"mo","peer":"+00000000000000000000000000000000","start":"2027-01-01T00:00:00Z"}""",
    ];

    private static long _serial;

    /// <summary>Rates every probe for <paramref name="profile"/> through <paramref name="engine"/>; returns how many were rated.</summary>
    public static int Rate(RatingEngine engine, SubscriberProfile profile, OutputChecks checks)
    {
        var rated = 0;
        foreach (var template in Templates)
        {
            var line = Encoding.UTF8.GetBytes(template
                .Replace("@", profile.Msisdn, StringComparison.Ordinal)
                .Replace("#", (++_serial).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
            checks.Begin(line);
            var sink = new CheckingSink(checks);
            var result = engine.Process(line, ref sink);
            checks.CheckOutcome(result);
            if (result == RatingResult.Rated)
            {
                rated++;
            }
        }

        engine.RemoveState(profile.MsisdnKey);
        return rated;
    }

    /// <summary>A minimal profile on <paramref name="plan"/> (the msisdn is numbered by <paramref name="index"/>).</summary>
    public static SubscriberProfile ProfileOn(string plan, int index)
    {
        var msisdn = $"86139{index:D8}";
        Records.MsisdnKey.TryCompute(msisdn, out var key);
        return new SubscriberProfile { Msisdn = msisdn, MsisdnKey = key, Plan = plan, CycleDay = 1 + (index % 28) };
    }

    /// <summary>Every probe's normalised peer, for matching a tariff's zero-rating table directly.</summary>
    public static readonly string[] Peers =
        ["13900000000", "00447700900123", "0086139", "00447786205094", "00447537410217", "0", "99999999999999999999999999999999", "0000000000000000000000000000000000"];
}
