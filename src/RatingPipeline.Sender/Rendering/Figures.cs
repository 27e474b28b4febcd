using System.Globalization;

namespace RatingPipeline.Sender.Rendering;

/// <summary>
/// Figures in the units a person reads: yuan with two decimals (micros rounded half up, i.e. half away
/// from zero for negative amounts), minutes for voice seconds, messages, MB/GB (binary: 1 MB = 2^20 bytes,
/// 1 GB = 2^30 bytes, as plan allowances are written) for data. Prices are shown per minute, per message
/// and per MB whatever the rate's unit.
/// </summary>
public static class Figures
{
    public const long MicrosPerYuan = 1_000_000;
    public const long BytesPerMb = 1L << 20;
    public const long BytesPerGb = 1L << 30;

    /// <summary>An amount of money, e.g. 150000 micros → <c>0.15 yuan</c> / <c>0.15元</c>.</summary>
    public static string Money(long micros, string language) =>
        language == "en" ? $"{Yuan(micros)} yuan" : $"{Yuan(micros)}元";

    /// <summary>Micros as yuan with exactly two decimals, rounded half up: 150000 → <c>0.15</c>, 5000 → <c>0.01</c>.</summary>
    public static string Yuan(long micros) => Yuan((Int128)micros, 1);

    /// <summary>
    /// A price of <paramref name="price"/> micros per <paramref name="unit"/> units of <paramref name="type"/>,
    /// shown per minute (voice), per message (sms) or per MB (data): 2990000 per 60 s → <c>2.99 yuan/min</c>.
    /// </summary>
    public static string Price(string type, long price, long unit, string language)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(unit, 1);
        var (perDisplayUnit, en, zh) = type switch
        {
            "voice" => (60L, "yuan/min", "元/分钟"),
            "data" => (BytesPerMb, "yuan/MB", "元/MB"),
            _ => (1L, "yuan/message", "元/条"),
        };

        // Price per display unit = price × perDisplayUnit / unit, exactly, then rounded to cents once.
        var yuan = Yuan((Int128)price * perDisplayUnit, unit);
        return language == "en" ? $"{yuan} {en}" : $"{yuan}{zh}";
    }

    /// <summary>An amount of use: voice seconds as minutes, messages, data bytes as MB or GB.</summary>
    public static string Volume(string type, long amount, string language) => type switch
    {
        "voice" => language == "en" ? $"{Decimal2(amount, 60)} min" : $"{Decimal2(amount, 60)}分钟",
        "data" => amount >= BytesPerGb
            ? language == "en" ? $"{Decimal2(amount, BytesPerGb)} GB" : $"{Decimal2(amount, BytesPerGb)}GB"
            : language == "en" ? $"{Decimal2(amount, BytesPerMb)} MB" : $"{Decimal2(amount, BytesPerMb)}MB",
        _ => language == "en" ? (amount == 1 ? "1 message" : $"{amount.ToString(CultureInfo.InvariantCulture)} messages") : $"{amount.ToString(CultureInfo.InvariantCulture)}条",
    };

    /// <summary>The service a plan allowance is for, in the subscriber's language.</summary>
    public static string Service(string type, string language) => (type, language) switch
    {
        ("voice", "en") => "voice",
        ("sms", "en") => "SMS",
        ("data", "en") => "data",
        ("voice", _) => "通话",
        ("sms", _) => "短信",
        _ => "流量",
    };

    public static string NotAvailable(string language) => language == "en" ? "not available" : "暂不提供";

    /// <summary>An optional amount: money, or "none" / "无" when there is none (a plan without a monthly fee).</summary>
    public static string MoneyOrNone(long? micros, string language) =>
        micros is { } m ? Money(m, language) : language == "en" ? "none" : "无";

    /// <summary>
    /// An instant in local time at <paramref name="utcOffset"/>, to the minute (seconds and fractions dropped, so
    /// never later than the instant): <c>2026-11-11 09:00</c> / <c>2026年11月11日09:00</c>.
    /// </summary>
    public static string LocalTime(DateTimeOffset instant, TimeSpan utcOffset, string language)
    {
        var local = instant.ToOffset(utcOffset);
        return language == "en"
            ? local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)
            : local.ToString("yyyy'年'M'月'd'日'HH:mm", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A billing cycle from its first day to its last (the day before <paramref name="cycleEnd"/>, the next
    /// cycle's first day): <c>2026-11-01 to 2026-11-30</c> / <c>2026-11-01至2026-11-30</c>.
    /// </summary>
    public static string Period(string cycle, string cycleEnd, string language)
    {
        var last = DateOnly.ParseExact(cycleEnd, "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return language == "en" ? $"{cycle} to {last}" : $"{cycle}至{last}";
    }

    /// <summary>A name as shown: at most <paramref name="max"/> characters, a longer one cut with <c>...</c>.</summary>
    public static string Clip(string name, int max)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length <= max)
        {
            return name;
        }

        var cut = max - 3;
        return string.Concat(name.AsSpan(0, char.IsHighSurrogate(name[cut - 1]) ? cut - 1 : cut), "...");
    }

    /// <summary>numerator / denominator micros as yuan, two decimals, rounded half away from zero.</summary>
    private static string Yuan(Int128 microsNumerator, long denominator)
    {
        var negative = microsNumerator < 0;
        var magnitude = negative ? -microsNumerator : microsNumerator;
        // cents = round(magnitude / (denominator × 10000)), half up on the magnitude.
        var divisor = (Int128)denominator * 10_000;
        var cents = ((magnitude * 2) + divisor) / (divisor * 2);
        var whole = cents / 100;
        var fraction = (int)(cents % 100);
        var text = $"{whole.ToString(CultureInfo.InvariantCulture)}.{fraction.ToString("00", CultureInfo.InvariantCulture)}";
        return negative && cents != 0 ? "-" + text : text;
    }

    /// <summary>amount / per with at most two decimals, half up, trailing zeros dropped: 4830/60 → <c>80.5</c>.</summary>
    private static string Decimal2(long amount, long per)
    {
        var hundredths = (((Int128)amount * 200) + per) / ((Int128)per * 2);
        var whole = hundredths / 100;
        var fraction = (int)(hundredths % 100);
        var w = whole.ToString(CultureInfo.InvariantCulture);
        return fraction == 0 ? w : fraction % 10 == 0 ? $"{w}.{fraction / 10}" : $"{w}.{fraction:00}";
    }
}
