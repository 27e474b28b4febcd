using System.Buffers;
using System.Runtime.CompilerServices;
using RatingPipeline.Records;

namespace RatingPipeline.Rerating;

/// <summary>
/// Reads a rated record laid out exactly as the product writes it (<c>RecordWriter</c>: the members in their order, no
/// spaces, no escapes, integers in their shortest form) without the JSON reader: each member name is a fixed run of
/// bytes, each value a plain string, an integer or <c>null</c>. Anything else — another order, spacing, an escape, a
/// control character, a number with a fraction, an exponent, a leading zero or 19 digits, a fee record (its zone is
/// null), text after the object — is not this layout, and the caller reads the line with the JSON reader, which
/// decides. What it reads is what the JSON reader reads from the same line (the tests compare the two).
/// </summary>
internal static class CanonicalRatedLine
{
    /// <summary>A backslash (an escape) or a control character: neither is anywhere in a line of the product's layout.</summary>
    private static readonly SearchValues<byte> NotPlain = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'\\']);

    /// <summary>True and the members in <paramref name="line"/> for a line in the product's layout; false otherwise (<paramref name="line"/> then holds parts).</summary>
    // A hot method, optimised at its first call (bench/README: "Hot methods optimised at once").
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryRead(ReadOnlySpan<byte> utf8, ref RatedLine line)
    {
        // One pass over the line instead of two per string: outside the strings neither can be part of the layout either.
        // A line of usual length gets its quotes marked in the same pass, and each string's end is read from the marks.
        var marks = default(QuoteMarks);
        var marked = QuoteMarks.TryMark(utf8, ref marks, out var holds);
        if (marked ? (holds & QuoteMarks.Bytes.EscapeOrControl) != 0 : utf8.ContainsAny(NotPlain))
        {
            return false;
        }

        var at = 0;
        return Name(utf8, ref at, "{\"id\":"u8) && String(utf8, ref at, ref marks, marked, out line.Id)
            && Name(utf8, ref at, ",\"msisdn\":"u8) && String(utf8, ref at, ref marks, marked, out line.Msisdn)
            && Name(utf8, ref at, ",\"type\":"u8) && String(utf8, ref at, ref marks, marked, out line.Type)
            && Name(utf8, ref at, ",\"start\":"u8) && String(utf8, ref at, ref marks, marked, out line.Start)
            && Name(utf8, ref at, ",\"cycle\":"u8) && String(utf8, ref at, ref marks, marked, out line.Cycle)
            && Name(utf8, ref at, ",\"plan\":"u8) && String(utf8, ref at, ref marks, marked, out line.Plan)
            && Name(utf8, ref at, ",\"tariffVersion\":"u8) && String(utf8, ref at, ref marks, marked, out line.TariffVersion)
            && Name(utf8, ref at, ",\"zone\":"u8) && String(utf8, ref at, ref marks, marked, out line.Zone)
            && Name(utf8, ref at, ",\"billableUnits\":"u8) && Integer(utf8, ref at, out line.BillableUnits)
            && Name(utf8, ref at, ",\"allowanceUnits\":"u8) && Integer(utf8, ref at, out line.AllowanceUnits)
            && Name(utf8, ref at, ",\"overageUnits\":"u8) && Integer(utf8, ref at, out line.OverageUnits)
            && Name(utf8, ref at, ",\"charge\":"u8) && Integer(utf8, ref at, out line.Charge)
            && Name(utf8, ref at, ",\"zeroRated\":"u8) && StringOrNull(utf8, ref at, ref marks, marked, out line.ZeroRated)
            && Name(utf8, ref at, ",\"direction\":"u8) && StringOrNull(utf8, ref at, ref marks, marked, out line.Direction)
            && Name(utf8, ref at, ",\"peer\":"u8) && StringOrNull(utf8, ref at, ref marks, marked, out line.Peer)
            && Name(utf8, ref at, ",\"durationSec\":"u8) && IntegerOrNull(utf8, ref at, out _, out _)
            && Name(utf8, ref at, ",\"bytes\":"u8) && IntegerOrNull(utf8, ref at, out _, out _)
            && Name(utf8, ref at, ",\"visitedMcc\":"u8) && StringOrNull(utf8, ref at, ref marks, marked, out _)
            && Name(utf8, ref at, ",\"usedAfter\":"u8) && IntegerOrNull(utf8, ref at, out line.UsedAfter, out line.HasUsedAfter)
            && Name(utf8, ref at, ",\"cappedAfter\":"u8) && IntegerOrNull(utf8, ref at, out line.CappedAfter, out line.HasCappedAfter)
            && Name(utf8, ref at, ",\"spendAfter\":"u8) && IntegerOrNull(utf8, ref at, out line.SpendAfter, out line.HasSpendAfter)
            && at == utf8.Length - 1 && utf8[at] == (byte)'}';
    }

    // Inlined so that each call compares with its constant name, which the JIT unrolls into a few loads (a call to the
    // general comparison per member otherwise).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Name(ReadOnlySpan<byte> utf8, scoped ref int at, ReadOnlySpan<byte> name)
    {
        if (!utf8[at..].StartsWith(name))
        {
            return false;
        }

        at += name.Length;
        return true;
    }

    /// <summary>
    /// A string (the line is valid UTF-8, the reader's caller made it so, and holds no escape or control character,
    /// <see cref="TryRead"/> made sure: the next quote ends it, found in the line's <paramref name="marks"/> when it has
    /// them).
    /// </summary>
    private static bool String(ReadOnlySpan<byte> utf8, scoped ref int at, scoped ref QuoteMarks marks, bool marked, out RatedText text)
    {
        text = default;
        if (at >= utf8.Length || utf8[at] != (byte)'"')
        {
            return false;
        }

        var rest = utf8[(at + 1)..];
        var end = marked ? QuoteMarks.StringLength(ref marks, at + 1) : rest.IndexOf((byte)'"');
        if (end < 0)
        {
            return false;
        }

        text = new RatedText { Utf8 = rest[..end], IsPresent = true };
        at += end + 2;
        return true;
    }

    private static bool StringOrNull(ReadOnlySpan<byte> utf8, scoped ref int at, scoped ref QuoteMarks marks, bool marked, out RatedText text)
    {
        if (Null(utf8, ref at))
        {
            text = default;
            return true;
        }

        return String(utf8, ref at, ref marks, marked, out text);
    }

    /// <summary>An integer in its shortest form: <c>-?(0|[1-9][0-9]*)</c>, at most 18 digits (so it fits without checks).</summary>
    private static bool Integer(ReadOnlySpan<byte> utf8, scoped ref int at, out long value)
    {
        value = 0;
        var i = at;
        var negative = i < utf8.Length && utf8[i] == (byte)'-';
        if (negative)
        {
            i++;
        }

        var first = i;
        while (i < utf8.Length && (uint)(utf8[i] - '0') <= 9)
        {
            value = value * 10 + (utf8[i] - '0');
            i++;
        }

        var digits = i - first;
        if (digits == 0 || digits > 18 || (digits > 1 && utf8[first] == (byte)'0')
            || (i < utf8.Length && utf8[i] is (byte)'.' or (byte)'e' or (byte)'E'))
        {
            return false;
        }

        if (negative)
        {
            value = -value;
        }

        at = i;
        return true;
    }

    private static bool IntegerOrNull(ReadOnlySpan<byte> utf8, scoped ref int at, out long value, out bool present)
    {
        if (Null(utf8, ref at))
        {
            value = 0;
            present = false;
            return true;
        }

        present = Integer(utf8, ref at, out value);
        return present;
    }

    private static bool Null(ReadOnlySpan<byte> utf8, scoped ref int at)
    {
        if (!utf8[at..].StartsWith("null"u8))
        {
            return false;
        }

        at += 4;
        return true;
    }
}
