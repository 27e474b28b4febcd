using System.Globalization;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Reference;

/// <summary>
/// An instant of SPEC §2.3 — <c>YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)</c>, 1–7 fraction digits, a real calendar date
/// (read as a Gregorian date of the years 0001–9999), hour 00–23, minutes and seconds 00–59, offset hours 00–23 (offset
/// minutes 00–59) — as UTC ticks, keeping the text as written (outputs repeat it, §2.3; due(s) is written from it, §7.5).
/// Offsets up to 23:59 are beyond <see cref="DateTimeOffset"/>, so the arithmetic is done on ticks.
/// </summary>
public sealed partial record RefInstant(string Text, long UtcTicks, DateTime WrittenLocal, string Fraction, string OffsetText)
{
    public const long TicksPerHour = TimeSpan.TicksPerHour;

    public static RefInstant? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        var m = Shape().Match(text);
        if (!m.Success)
        {
            return null;
        }

        int N(int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        int year = N(1), month = N(2), day = N(3), hour = N(4), minute = N(5), second = N(6);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return null;
        }

        var fraction = m.Groups[7].Value; // "" or ".F…"
        var offsetText = m.Groups[8].Value;
        long offsetTicks = 0;
        if (offsetText != "Z")
        {
            var oh = int.Parse(offsetText.AsSpan(1, 2), CultureInfo.InvariantCulture);
            var om = int.Parse(offsetText.AsSpan(4, 2), CultureInfo.InvariantCulture);
            if (oh > 23 || om > 59)
            {
                return null;
            }

            offsetTicks = ((oh * 60L) + om) * TimeSpan.TicksPerMinute * (offsetText[0] == '-' ? -1 : 1);
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified);
        long fractionTicks = 0;
        if (fraction.Length > 0)
        {
            fractionTicks = long.Parse(fraction[1..].PadRight(7, '0'), CultureInfo.InvariantCulture);
        }

        return new RefInstant(text, local.Ticks + fractionTicks - offsetTicks, local, fraction, offsetText);
    }

    /// <summary>
    /// This instant moved on by whole hours, written as this one is: its date and time as written (in its own
    /// offset) plus the hours, with the same fraction digits and the same <c>Z</c> or offset text (SPEC §7.5, due(s)).
    /// </summary>
    public RefInstant PlusHoursAsWritten(int hours)
    {
        var local = WrittenLocal.AddHours(hours);
        var text = local.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + Fraction + OffsetText;
        return Parse(text) ?? throw new InvalidOperationException($"{Text} + {hours} h is no instant");
    }

    /// <summary>An offset as the tariff writes it (<c>+08:00</c>, <c>-05:00</c>, <c>Z</c>), in ticks; null when malformed.</summary>
    public static long? OffsetTicks(string? text)
    {
        if (text == "Z")
        {
            return 0;
        }

        if (text is null || !OffsetShape().IsMatch(text))
        {
            return null;
        }

        var oh = int.Parse(text.AsSpan(1, 2), CultureInfo.InvariantCulture);
        var om = int.Parse(text.AsSpan(4, 2), CultureInfo.InvariantCulture);
        return oh > 23 || om > 59 ? null : ((oh * 60L) + om) * TimeSpan.TicksPerMinute * (text[0] == '-' ? -1 : 1);
    }

    [GeneratedRegex(@"\A([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,7})?(Z|[+-][0-9]{2}:[0-9]{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex Shape();

    [GeneratedRegex(@"\A[+-][0-9]{2}:[0-9]{2}\z", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetShape();
}
