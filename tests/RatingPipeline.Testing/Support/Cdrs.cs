using System.Text;

namespace RatingPipeline.Tests.Support;

/// <summary>CDR records as JSON text, for subscriber <see cref="Msisdn"/> unless told otherwise.</summary>
public static class Cdrs
{
    public const string Msisdn = "8613800000001";
    public const string Other = "8613800000002";

    /// <summary>2026-11-02T10:00:00+08:00: a day into the cycle that starts on 2026-11-01 (cycleDay 1).</summary>
    public const string Start = "2026-11-02T10:00:00+08:00";

    public const string NationalPeer = "13900000000";

    public static string Voice(string id, long durationSec, string start = Start, string peer = NationalPeer,
        string direction = "mo", string? mcc = null, string msisdn = Msisdn) =>
        $"{{\"id\":\"{id}\",\"type\":\"voice\",\"msisdn\":\"{msisdn}\",\"direction\":\"{direction}\",\"peer\":\"{peer}\",\"start\":\"{start}\",\"durationSec\":{durationSec}{Mcc(mcc)}}}";

    public static string Sms(string id, string start = Start, string peer = NationalPeer, string direction = "mo",
        string? mcc = null, string msisdn = Msisdn) =>
        $"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{msisdn}\",\"direction\":\"{direction}\",\"peer\":\"{peer}\",\"start\":\"{start}\"{Mcc(mcc)}}}";

    public static string Data(string id, long bytes, string start = Start, string? mcc = null, string msisdn = Msisdn) =>
        $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{msisdn}\",\"start\":\"{start}\",\"bytes\":{bytes}{Mcc(mcc)}}}";

    public static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);

    private static string Mcc(string? mcc) => mcc is null ? "" : $",\"visitedMcc\":\"{mcc}\"";
}
