using System.Text;

namespace RatingPipeline.Fuzz;

/// <summary>Dictionary tokens shared by the targets: JSON syntax, edge numbers, awkward strings.</summary>
internal static class Tokens
{
    public static readonly string[] Json =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "false", "{}", "[]", "\"\"", ",\"u\":1",
        "0", "-0", "1", "-1", "5.0", "1e3", "1E+3", "0.0", "-0.0", "1.", ".5", "01", "+1", "0x10",
        "NaN", "Infinity", "-Infinity", "//", "/*", "*/", "'", "\t", "\r\n", "\n", "\u00a0", "\ufeff",
        "86400", "86401", "1000000000000", "1000000000001", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "18446744073709551616", "1e400", "1e-400",
        "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud83d\\ude00\"", "\"\\ud800\\u0041\"", "\\u", "\\u12", "\\x41",
        "\\/", "\\\"", "\\\\", "\\b\\f\\n\\r\\t", "\"\\u0069d\"",
        "\"2026-11-03T09:15:00+08:00\"", "\"2026-11-03T09:15:00Z\"", "\"2024-02-29T00:00:00.1234567Z\"",
        "\"2023-02-29T00:00:00Z\"", "\"2026-11-03T24:00:00Z\"", "\"2026-11-03T09:15:60Z\"", "\"2026-11-03T09:15:00+24:00\"",
        "\"2026-11-03t09:15:00z\"", "\"0001-01-01T00:00:00Z\"", "\"9999-12-31T23:59:59.9999999-23:59\"", "\"0000-01-01T00:00:00Z\"",
    ];

    public static readonly string[] Cdr =
    [
        "\"id\"", "\"type\"", "\"msisdn\"", "\"direction\"", "\"peer\"", "\"start\"", "\"durationSec\"", "\"bytes\"",
        "\"visitedMcc\"", "\"voice\"", "\"sms\"", "\"data\"", "\"mo\"", "\"mt\"", "\"460\"", "\"454\"", "\"440\"", "\"999\"",
        "\"000\"", "\"+\"", "\"+8613900000000\"", "\"00447786205094\"", "\"+447537410299\"", "\"0086\"", "\"10086\"",
        "\"8613800000001\"", "\"8613800000002\"", "\"12345\"", "\"1234567890123456\"",
        "\"012345678901234567890123456789012\"", "\"a\"", "\" \"", "\"~\"", "\"\\u007f\"",
    ];

    public static readonly string[] Tariff =
    [
        "\"version\"", "\"currency\"", "\"utcOffset\"", "\"homeMcc\"", "\"zones\"", "\"defaultRoamingZone\"", "\"zeroRated\"",
        "\"pattern\"", "\"types\"", "\"from\"", "\"to\"", "\"reason\"", "\"plans\"", "\"allowances\"", "\"voiceSec\"",
        "\"smsCount\"", "\"dataBytes\"", "\"reminderThresholds\"", "\"highSpendThreshold\"", "\"lowBalanceThreshold\"",
        "\"dataCapTiers\"", "\"defaultDataCap\"", "\"rates\"", "\"type\"", "\"zone\"", "\"direction\"", "\"dest\"",
        "\"useAllowance\"", "\"capped\"", "\"firstIncrement\"", "\"increment\"", "\"unit\"", "\"price\"",
        "\"domestic\"", "\"*\"", "\"national\"", "\"intl\"", "\"ROW\"", "\"HMT\"", "\"x\"", "\"xx*\"", "\"*\"", "\"0*\"",
        "\"+08:00\"", "\"-23:59\"", "\"Z\"", "\"+24:00\"", "1000000000", "1000000001", "127", "128",
    ];

    public static readonly string[] Profile =
    [
        "\"msisdn\"", "\"plan\"", "\"cycleDay\"", "\"prepaid\"", "\"balance\"", "\"balanceAsOf\"", "\"highSpendThreshold\"",
        "\"dataCap\"", "\"language\"", "\"reminders\"", "\"channels\"", "\"email\"", "\"zh\"", "\"en\"", "\"on\"", "\"off\"",
        "\"sms\"", "\"voice\"", "\"basic-58\"", "\"mini-18\"", "28", "29", "50000000", "\"a@b.c\"",
    ];

    public static IReadOnlyList<byte[]> Of(params string[][] lists) =>
        [.. lists.SelectMany(l => l).Select(Encoding.UTF8.GetBytes)];
}
