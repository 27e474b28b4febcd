namespace RatingPipeline.Records;

/// <summary>
/// A decoded, valid CDR. String fields are spans into the message bytes or into the decoder's scratch
/// buffer, so a <see cref="Cdr"/> lives only until the decoder's next call.
/// </summary>
public ref struct Cdr
{
    /// <summary>What the record is: a CDR, a location record, a clock record or an offline profile line.</summary>
    public RecordKind Kind;

    /// <summary>Unescaped id: 1–64 printable ASCII bytes.</summary>
    public ReadOnlySpan<byte> Id;

    /// <summary>Served subscriber, 5–15 ASCII digits.</summary>
    public ReadOnlySpan<byte> Msisdn;

    /// <summary>The msisdn as a 64-bit key: length × 10^15 + value (so "0123" and "123" differ).</summary>
    public ulong MsisdnKey;

    /// <summary>Normalised peer (a leading '+' replaced by "00"); empty for data.</summary>
    public ReadOnlySpan<byte> Peer;

    /// <summary>The <c>start</c> string as received (unescaped).</summary>
    public ReadOnlySpan<byte> Start;

    public long StartTicks;
    public CdrType Type;
    public Direction Direction;
    public long DurationSec;
    public long Bytes;

    /// <summary>Visited network's MCC 0–999, or -1 when absent (home network).</summary>
    public int VisitedMcc;
}

/// <summary>What a record of the CDR stream is, by its top-level <c>type</c> (SPEC §7.1).</summary>
public enum RecordKind : byte
{
    Cdr = 0,

    /// <summary>A network registration: id, msisdn, start and visitedMcc; charges nothing (§7.12).</summary>
    Location = 1,

    /// <summary><c>{"type":"clock","at":…}</c>: drives cycle closing, fees and notices; <c>Start</c> holds <c>at</c>.</summary>
    Clock = 2,

    /// <summary>An offline profile line: its members form a profile (§7.1).</summary>
    Profile = 3,
}

/// <summary>Msisdn keys: the digits and their count packed into 64 bits without collisions.</summary>
public static class MsisdnKey
{
    private const ulong LengthFactor = 1_000_000_000_000_000; // 10^15 > any 15-digit value

    /// <summary>Key of 5–15 ASCII digits; false when the text is not such a msisdn.</summary>
    public static bool TryCompute(ReadOnlySpan<byte> digits, out ulong key)
    {
        key = 0;
        if (digits.Length is < 5 or > 15)
        {
            return false;
        }

        ulong value = 0;
        foreach (var b in digits)
        {
            var d = (uint)(b - '0');
            if (d > 9)
            {
                return false;
            }

            value = (value * 10) + d;
        }

        key = ((ulong)digits.Length * LengthFactor) + value;
        return true;
    }

    public static bool TryCompute(string digits, out ulong key)
    {
        Span<byte> buffer = stackalloc byte[16];
        if (digits.Length > 15)
        {
            key = 0;
            return false;
        }

        for (var i = 0; i < digits.Length; i++)
        {
            buffer[i] = digits[i] < 128 ? (byte)digits[i] : (byte)0;
        }

        return TryCompute(buffer[..digits.Length], out key);
    }

    /// <summary>Writes the msisdn digits of a key; returns the count.</summary>
    public static int Format(ulong key, Span<byte> destination)
    {
        var length = (int)(key / LengthFactor);
        var value = key % LengthFactor;
        for (var i = length - 1; i >= 0; i--)
        {
            destination[i] = (byte)('0' + (value % 10));
            value /= 10;
        }

        return length;
    }

    /// <summary>
    /// A number whose order is the msisdns' order as text (byte by byte, a prefix first): each digit d as the nibble
    /// d + 1, left-aligned over 15 nibbles, so "139" &lt; "1390" &lt; "14".
    /// </summary>
    public static ulong OrderKey(ulong key)
    {
        var length = (int)(key / LengthFactor);
        var value = key % LengthFactor;
        ulong order = 0;
        for (var i = length - 1; i >= 0; i--)
        {
            order |= ((value % 10) + 1) << (4 * (14 - i));
            value /= 10;
        }

        return order;
    }

    public static string ToText(ulong key)
    {
        Span<byte> buffer = stackalloc byte[16];
        return System.Text.Encoding.ASCII.GetString(buffer[..Format(key, buffer)]);
    }
}
