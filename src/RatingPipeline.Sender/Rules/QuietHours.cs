using System.Globalization;

namespace RatingPipeline.Sender.Rules;

/// <summary>
/// Local time at a fixed UTC offset (no daylight saving), and the daily quiet window in it. A window whose
/// start is after its end spans midnight (22:00–08:00); start equal to end means no quiet hours.
/// </summary>
public sealed class QuietHours
{
    private readonly TimeSpan _start;
    private readonly TimeSpan _end;

    public QuietHours(TimeSpan start, TimeSpan end, TimeSpan utcOffset)
    {
        _start = start;
        _end = end;
        UtcOffset = utcOffset;
    }

    public TimeSpan UtcOffset { get; }

    public bool Enabled => _start != _end;

    /// <summary>Parses <c>HH:MM</c> times and a <c>±HH:MM</c> offset; null and a reason for bad values.</summary>
    public static QuietHours? TryCreate(string start, string end, string utcOffset, out string error)
    {
        error = "";
        if (!TryParseTime(start, out var s))
        {
            error = $"Sender:QuietHours:Start '{start}' is not a time HH:MM";
        }
        else if (!TryParseTime(end, out var e))
        {
            error = $"Sender:QuietHours:End '{end}' is not a time HH:MM";
        }
        else if (!TryParseOffset(utcOffset, out var offset))
        {
            error = $"Sender:UtcOffset '{utcOffset}' is not an offset ±HH:MM";
        }
        else
        {
            return new QuietHours(s, e, offset);
        }

        return null;
    }

    /// <summary>Whether <paramref name="now"/> falls in the quiet window.</summary>
    public bool Contains(DateTimeOffset now)
    {
        if (!Enabled)
        {
            return false;
        }

        var t = Local(now).TimeOfDay;
        return _start < _end ? t >= _start && t < _end : t >= _start || t < _end;
    }

    /// <summary><paramref name="now"/> itself, or the end of the quiet window it falls in.</summary>
    public DateTimeOffset NextAllowed(DateTimeOffset now)
    {
        if (!Contains(now))
        {
            return now;
        }

        var local = Local(now);
        var end = local.Date + _end;
        if (end <= local.DateTime)
        {
            end = end.AddDays(1);
        }

        return new DateTimeOffset(end, UtcOffset).ToUniversalTime();
    }

    /// <summary>The local calendar day of <paramref name="now"/>.</summary>
    public DateOnly LocalDay(DateTimeOffset now) => DateOnly.FromDateTime(Local(now).DateTime);

    /// <summary>00:00 local of the day after <paramref name="now"/>'s local day.</summary>
    public DateTimeOffset NextLocalMidnight(DateTimeOffset now) =>
        new DateTimeOffset(Local(now).Date.AddDays(1), UtcOffset).ToUniversalTime();

    private DateTimeOffset Local(DateTimeOffset now) => now.ToOffset(UtcOffset);

    private static bool TryParseTime(string text, out TimeSpan time)
    {
        time = default;
        if (text.Length != 5 || text[2] != ':'
            || !int.TryParse(text.AsSpan(0, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var h) || h > 23
            || !int.TryParse(text.AsSpan(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var m) || m > 59)
        {
            return false;
        }

        time = new TimeSpan(h, m, 0);
        return true;
    }

    /// <summary>Parses a <c>±HH:MM</c> offset of at most 14 hours.</summary>
    internal static bool TryParseOffset(string text, out TimeSpan offset)
    {
        offset = default;
        if (text.Length != 6 || text[0] is not ('+' or '-') || !TryParseTime(text[1..], out var magnitude) || magnitude > TimeSpan.FromHours(14))
        {
            return false;
        }

        offset = text[0] == '-' ? -magnitude : magnitude;
        return true;
    }
}
