namespace RatingPipeline.Time;

/// <summary>
/// Billing cycles: a cycle starts at 00:00 local time (the tariff's fixed UTC offset, no DST) on the
/// subscriber's <c>cycleDay</c> (1–28) of each month. A cycle is identified by the day number
/// (days since 1970-01-01) of its start date, and printed as <c>yyyy-MM-dd</c>.
/// </summary>
public static class BillingCycle
{
    /// <summary>The start day of the cycle containing the instant: the latest local cycleDay 00:00 that is ≤ it.</summary>
    public static int StartDay(long utcTicks, long utcOffsetTicks, int cycleDay)
    {
        var localDay = Instant.FloorDays(utcTicks + utcOffsetTicks);
        var (year, month, day) = Instant.CivilFromDays(localDay);
        if (day < cycleDay)
        {
            month--;
            if (month == 0)
            {
                month = 12;
                year--;
            }
        }

        return (int)Instant.DaysFromCivil(year, month, cycleDay);
    }

    /// <summary>Writes <c>yyyy-MM-dd</c> for a day number; returns the bytes written (10 for years 0–9999).</summary>
    public static int Format(int dayNumber, Span<byte> destination)
    {
        var (year, month, day) = Instant.CivilFromDays(dayNumber);
        if ((uint)year > 9999)
        {
            // Outside four-digit years (only reachable with extreme offsets at the calendar's ends).
            return System.Text.Encoding.ASCII.GetBytes($"{year:D4}-{month:D2}-{day:D2}", destination);
        }

        destination[0] = (byte)('0' + (year / 1000));
        destination[1] = (byte)('0' + (year / 100 % 10));
        destination[2] = (byte)('0' + (year / 10 % 10));
        destination[3] = (byte)('0' + (year % 10));
        destination[4] = (byte)'-';
        destination[5] = (byte)('0' + (month / 10));
        destination[6] = (byte)('0' + (month % 10));
        destination[7] = (byte)'-';
        destination[8] = (byte)('0' + (day / 10));
        destination[9] = (byte)('0' + (day % 10));
        return 10;
    }

    public static string ToText(int dayNumber)
    {
        Span<byte> buffer = stackalloc byte[16];
        var n = Format(dayNumber, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer[..n]);
    }
}
