namespace RatingPipeline.Time;

/// <summary>
/// Instants as written in records: <c>YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)</c>, 1–7 fraction digits,
/// a real (proleptic Gregorian) calendar date, hour 00–23, minutes and seconds 00–59, offset hours 00–23.
/// Parsed to UTC ticks (100 ns) since 1970-01-01T00:00:00Z with integer arithmetic only.
/// </summary>
public static class Instant
{
    public const long TicksPerSecond = 10_000_000;
    public const long TicksPerMinute = 60 * TicksPerSecond;
    public const long TicksPerHour = 60 * TicksPerMinute;
    public const long TicksPerDay = 24 * TicksPerHour;

    /// <summary>Parses an instant; false for anything that does not match the format exactly.</summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out long utcTicks)
    {
        utcTicks = 0;
        // Shortest: 2026-11-03T09:15:00Z (20); longest: ...SS.FFFFFFF+HH:MM (33).
        if (s.Length < 20 || s.Length > 33)
        {
            return false;
        }

        if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        {
            return false;
        }

        if (!TwoDigits(s, 5, out var month) || !TwoDigits(s, 8, out var day) || !TwoDigits(s, 11, out var hour)
            || !TwoDigits(s, 14, out var minute) || !TwoDigits(s, 17, out var second)
            || !TwoDigits(s, 0, out var yearHi) || !TwoDigits(s, 2, out var yearLo))
        {
            return false;
        }

        var year = (yearHi * 100) + yearLo;
        if (month is < 1 or > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var i = 19;
        long fraction = 0;
        if (s[i] == '.')
        {
            i++;
            var digits = 0;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (++digits > 7)
                {
                    return false;
                }

                fraction = (fraction * 10) + (s[i] - '0');
                i++;
            }

            if (digits == 0)
            {
                return false;
            }

            for (var k = digits; k < 7; k++)
            {
                fraction *= 10;
            }
        }

        if (!TryParseOffset(s[i..], out var offsetTicks))
        {
            return false;
        }

        var local = (DaysFromCivil(year, month, day) * TicksPerDay) + (hour * TicksPerHour) + (minute * TicksPerMinute)
            + (second * TicksPerSecond) + fraction;
        utcTicks = local - offsetTicks;
        return true;
    }

    /// <summary>Parses <c>Z</c>, <c>+HH:MM</c> or <c>-HH:MM</c> (hours 00–23, minutes 00–59) into ticks east of UTC.</summary>
    public static bool TryParseOffset(ReadOnlySpan<byte> s, out long offsetTicks)
    {
        offsetTicks = 0;
        if (s.Length == 1)
        {
            return s[0] == 'Z';
        }

        if (s.Length != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':'
            || !TwoDigits(s, 1, out var h) || !TwoDigits(s, 4, out var m) || h > 23 || m > 59)
        {
            return false;
        }

        offsetTicks = (h * TicksPerHour) + (m * TicksPerMinute);
        if (s[0] == '-')
        {
            offsetTicks = -offsetTicks;
        }

        return true;
    }

    public static bool TryParse(string s, out long utcTicks)
    {
        Span<byte> buffer = stackalloc byte[40];
        if (s.Length > buffer.Length)
        {
            utcTicks = 0;
            return false;
        }

        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] > 0x7E)
            {
                utcTicks = 0;
                return false;
            }

            buffer[i] = (byte)s[i];
        }

        return TryParse(buffer[..s.Length], out utcTicks);
    }

    /// <summary>
    /// Writes an instant as written moved on by whole hours: its date and time (in its own offset) plus
    /// <paramref name="hours"/>, with the same fraction digits and the same <c>Z</c> or offset text
    /// (<c>2026-11-30T23:30:00.50Z</c> + 24 h → <c>2026-12-01T23:30:00.50Z</c>). The text must be a valid instant.
    /// Returns the bytes written (at most 34).
    /// </summary>
    public static int WriteShifted(ReadOnlySpan<byte> written, long hours, Span<byte> destination)
    {
        var year = Digits(written, 0, 4);
        var month = Digits(written, 5, 2);
        var day = Digits(written, 8, 2);
        var hour = Digits(written, 11, 2) + hours;
        var days = DaysFromCivil(year, month, day) + (hour / 24);
        var (y, m, d) = CivilFromDays(days);
        var n = WriteDate(y, m, d, destination);
        destination[n++] = (byte)'T';
        var h = (int)(hour % 24);
        destination[n++] = (byte)('0' + (h / 10));
        destination[n++] = (byte)('0' + (h % 10));
        var rest = written[13..]; // ":MM:SS[.F](Z|±HH:MM)" as written
        rest.CopyTo(destination[n..]);
        return n + rest.Length;
    }

    /// <summary>Writes 00:00 local of a day in a fixed offset as written: <c>2026-12-01T00:00:00+08:00</c>.</summary>
    public static int WriteLocalMidnight(long dayNumber, ReadOnlySpan<byte> offsetText, Span<byte> destination)
    {
        var (y, m, d) = CivilFromDays(dayNumber);
        var n = WriteDate(y, m, d, destination);
        "T00:00:00"u8.CopyTo(destination[n..]);
        n += 9;
        offsetText.CopyTo(destination[n..]);
        return n + offsetText.Length;
    }

    /// <summary>Writes <c>yyyy-MM-dd</c> (more year digits only past 9999); returns the bytes written.</summary>
    public static int WriteDate(int year, int month, int day, Span<byte> destination)
    {
        var n = 0;
        if ((uint)year > 9999)
        {
            n = System.Text.Encoding.ASCII.GetBytes(year.ToString("D4", System.Globalization.CultureInfo.InvariantCulture), destination);
        }
        else
        {
            destination[0] = (byte)('0' + (year / 1000));
            destination[1] = (byte)('0' + (year / 100 % 10));
            destination[2] = (byte)('0' + (year / 10 % 10));
            destination[3] = (byte)('0' + (year % 10));
            n = 4;
        }

        destination[n++] = (byte)'-';
        destination[n++] = (byte)('0' + (month / 10));
        destination[n++] = (byte)('0' + (month % 10));
        destination[n++] = (byte)'-';
        destination[n++] = (byte)('0' + (day / 10));
        destination[n++] = (byte)('0' + (day % 10));
        return n;
    }

    private static int Digits(ReadOnlySpan<byte> s, int at, int count)
    {
        var value = 0;
        for (var i = 0; i < count; i++)
        {
            value = (value * 10) + (s[at + i] - '0');
        }

        return value;
    }

    public static int DaysInMonth(int year, int month) => month switch
    {
        2 => IsLeap(year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    public static bool IsLeap(int year) => (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    /// <summary>
    /// Days since 1970-01-01 of a proleptic Gregorian date. Dates of the years <see cref="TableFirstYear"/> to
    /// <see cref="TableLastYear"/> come from a table of month starts (one load); others from H. Hinnant's
    /// days_from_civil, which the table is built with.
    /// </summary>
    public static long DaysFromCivil(int year, int month, int day)
    {
        var index = ((year - TableFirstYear) * 12) + month - 1;
        return (uint)(year - TableFirstYear) < TableYears && (uint)(month - 1) < 12
            ? MonthStarts[index] + day - 1
            : DaysFromCivilComputed(year, month, day);
    }

    /// <summary>
    /// The civil date of a day number since 1970-01-01. Within the table's years the month is found from its average
    /// length (146,097 days are 4,800 months) and corrected against the table's month starts (a month's start is
    /// never more than a few days from that estimate); outside them H. Hinnant's civil_from_days.
    /// </summary>
    public static (int Year, int Month, int Day) CivilFromDays(long days)
    {
        var offset = days - TableFirstDay;
        if ((ulong)offset >= TableDays)
        {
            return CivilFromDaysComputed(days);
        }

        var index = (int)(offset * 4800 / 146097);
        var starts = MonthStarts;
        while (starts[index] > days)
        {
            index--;
        }

        while (starts[index + 1] <= days)
        {
            index++;
        }

        var years = (uint)index / 12;
        return ((int)years + TableFirstYear, index - (int)(years * 12) + 1, (int)(days - starts[index]) + 1);
    }

    /// <summary>H. Hinnant's days_from_civil: days since 1970-01-01 of a proleptic Gregorian date, any year.</summary>
    internal static long DaysFromCivilComputed(int year, int month, int day)
    {
        long y = month <= 2 ? year - 1 : year;
        var era = (y >= 0 ? y : y - 399) / 400;
        var yoe = y - (era * 400);
        var mp = (month + 9) % 12;
        var doy = ((153 * mp) + 2) / 5 + day - 1;
        var doe = (yoe * 365) + (yoe / 4) - (yoe / 100) + doy;
        return (era * 146097) + doe - 719468;
    }

    /// <summary>H. Hinnant's civil_from_days: the civil date of a day number since 1970-01-01, any day.</summary>
    internal static (int Year, int Month, int Day) CivilFromDaysComputed(long days)
    {
        days += 719468;
        var era = (days >= 0 ? days : days - 146096) / 146097;
        var doe = days - (era * 146097);
        var yoe = (doe - (doe / 1460) + (doe / 36524) - (doe / 146096)) / 365;
        var y = yoe + (era * 400);
        var doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
        var mp = ((5 * doy) + 2) / 153;
        var d = (int)(doy - (((153 * mp) + 2) / 5) + 1);
        var m = (int)(mp < 10 ? mp + 3 : mp - 9);
        return ((int)(m <= 2 ? y + 1 : y), m, d);
    }

    /// <summary>The first year of the month-start table (a whole 400-year Gregorian cycle from here).</summary>
    internal const int TableFirstYear = 1900;

    internal const int TableYears = 400;

    internal const int TableLastYear = TableFirstYear + TableYears - 1;

    /// <summary>The day number of 1900-01-01 and the days the table spans (one 400-year cycle).</summary>
    private static readonly long TableFirstDay = DaysFromCivilComputed(TableFirstYear, 1, 1);

    private const long TableDays = 146097;

    /// <summary>Day numbers of the first day of each month from January 1900, plus the month after the last.</summary>
    private static readonly int[] MonthStarts = BuildMonthStarts();

    private static int[] BuildMonthStarts()
    {
        var starts = new int[(TableYears * 12) + 1];
        for (var i = 0; i < starts.Length; i++)
        {
            starts[i] = (int)DaysFromCivilComputed(TableFirstYear + (i / 12), (i % 12) + 1, 1);
        }

        return starts;
    }

    /// <summary>Floor division of ticks into whole days (also for instants before 1970).</summary>
    public static long FloorDays(long ticks) => ticks >= 0 ? ticks / TicksPerDay : ((ticks + 1) / TicksPerDay) - 1;

    private static bool TwoDigits(ReadOnlySpan<byte> s, int at, out int value)
    {
        var a = (uint)(s[at] - '0');
        var b = (uint)(s[at + 1] - '0');
        value = (int)((a * 10) + b);
        return a <= 9 && b <= 9;
    }
}
