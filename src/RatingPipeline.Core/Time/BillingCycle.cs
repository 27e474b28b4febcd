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

    /// <summary>
    /// The end of cycle <paramref name="cycleDayNumber"/> (its exclusive end, the next cycle's start): the first date
    /// after it whose day of the month is <paramref name="cycleDay"/> (SPEC §7.4).
    /// </summary>
    public static int EndDay(int cycleDayNumber, int cycleDay)
    {
        var (year, month, day) = Instant.CivilFromDays(cycleDayNumber);
        if (day >= cycleDay)
        {
            month++;
            if (month == 13)
            {
                month = 1;
                year++;
            }
        }

        return (int)Instant.DaysFromCivil(year, month, cycleDay);
    }

    /// <summary>00:00 local of a day, as UTC ticks.</summary>
    public static long StartTicks(int dayNumber, long utcOffsetTicks) => (dayNumber * Instant.TicksPerDay) - utcOffsetTicks;

    /// <summary>Writes <c>yyyy-MM-dd</c> for a day number; returns the bytes written (10 for years 0–9999).</summary>
    public static int Format(int dayNumber, Span<byte> destination)
    {
        var (year, month, day) = Instant.CivilFromDays(dayNumber);
        return Instant.WriteDate(year, month, day, destination);
    }

    public static string ToText(int dayNumber)
    {
        Span<byte> buffer = stackalloc byte[16];
        var n = Format(dayNumber, buffer);
        return System.Text.Encoding.ASCII.GetString(buffer[..n]);
    }
}
