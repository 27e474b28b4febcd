using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RatingPipeline.Records;

/// <summary>
/// The quotes of one record, found in one vector pass: bit <c>i % 64</c> of word <c>i / 64</c> is set when byte i is
/// a quote. In a record without a backslash every string ends at the next quote after its opening one, so a reader
/// of flat records can take each string's end from the marks instead of searching the bytes once per string. The pass
/// also tells which bytes the record holds that a plain string may not (<see cref="Bytes"/>). Records up to
/// <see cref="MaxLength"/> bytes; an inline array, so it lives in its reader's frame.
/// </summary>
[InlineArray(Words)]
internal struct QuoteMarks
{
    /// <summary>The longest record that can be marked.</summary>
    public const int MaxLength = Words * 64;

    private const int Words = 8;

    private ulong _first;

    /// <summary>What a marked record holds besides plain printable ASCII and quotes.</summary>
    [Flags]
    public enum Bytes
    {
        /// <summary>Only printable ASCII: every byte but the quote is one a plain string may hold.</summary>
        Plain = 0,

        /// <summary>A backslash or a byte below 0x20: an escape, or a control byte (JSON whitespace among them).</summary>
        EscapeOrControl = 1,

        /// <summary>A byte above 0x7E: DEL or part of a character outside ASCII.</summary>
        AboveAscii = 2,
    }

    /// <summary>
    /// Marks every quote of <paramref name="utf8"/> into <paramref name="marks"/> (which must be all zero) and says what
    /// else it holds; false (marks incomplete) for a record shorter than a vector or longer than <see cref="MaxLength"/>,
    /// or where vectors are not accelerated: the caller then searches as before.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryMark(ReadOnlySpan<byte> utf8, ref QuoteMarks marks, out Bytes holds)
    {
        holds = Bytes.Plain;
        var length = utf8.Length;
        if (!Vector128.IsHardwareAccelerated || length < Vector128<byte>.Count || length > MaxLength)
        {
            return false;
        }

        ref var first = ref MemoryMarshal.GetReference(utf8);
        var escapeOrControl = Vector128<byte>.Zero;
        var aboveAscii = Vector128<byte>.Zero;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // 32 bytes a step where the machine has them (i stays a multiple of 32, so each step's marks fit one word).
            var escapeOrControl256 = Vector256<byte>.Zero;
            var aboveAscii256 = Vector256<byte>.Zero;
            for (; i + Vector256<byte>.Count <= length; i += Vector256<byte>.Count)
            {
                var bytes = Vector256.LoadUnsafe(ref first, (nuint)i);
                escapeOrControl256 |= Vector256.Equals(bytes, Vector256.Create((byte)'\\')) | Vector256.LessThan(bytes, Vector256.Create((byte)0x20));
                aboveAscii256 |= Vector256.GreaterThan(bytes, Vector256.Create((byte)0x7E));
                marks[i >> 6] |= (ulong)Vector256.Equals(bytes, Vector256.Create((byte)'"')).ExtractMostSignificantBits() << (i & 63);
            }

            escapeOrControl = escapeOrControl256.GetLower() | escapeOrControl256.GetUpper();
            aboveAscii = aboveAscii256.GetLower() | aboveAscii256.GetUpper();
        }

        for (; i + Vector128<byte>.Count <= length; i += Vector128<byte>.Count)
        {
            var bytes = Vector128.LoadUnsafe(ref first, (nuint)i);
            escapeOrControl |= EscapeOrControl(bytes);
            aboveAscii |= Vector128.GreaterThan(bytes, Vector128.Create((byte)0x7E));
            marks[i >> 6] |= (ulong)Vector128.Equals(bytes, Vector128.Create((byte)'"')).ExtractMostSignificantBits() << (i & 63);
        }

        if (i < length)
        {
            // The last vector ends at the record's end; its first bytes were marked already (i is a multiple of 16, so
            // the new marks stay in one word).
            var from = length - Vector128<byte>.Count;
            var bytes = Vector128.LoadUnsafe(ref first, (nuint)from);
            escapeOrControl |= EscapeOrControl(bytes);
            aboveAscii |= Vector128.GreaterThan(bytes, Vector128.Create((byte)0x7E));
            var quotes = Vector128.Equals(bytes, Vector128.Create((byte)'"')).ExtractMostSignificantBits() >> (i - from);
            marks[i >> 6] |= (ulong)quotes << (i & 63);
        }

        holds = (escapeOrControl == Vector128<byte>.Zero ? Bytes.Plain : Bytes.EscapeOrControl)
            | (aboveAscii == Vector128<byte>.Zero ? Bytes.Plain : Bytes.AboveAscii);
        return true;
    }

    /// <summary>The index of the first quote at or after <paramref name="at"/>, or -1 when none follows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NextQuote(ref QuoteMarks marks, int at)
    {
        if ((uint)at >= MaxLength)
        {
            return -1;
        }

        var word = at >> 6;
        var bits = marks[word] & (ulong.MaxValue << (at & 63));
        while (bits == 0)
        {
            if (++word >= Words)
            {
                return -1;
            }

            bits = marks[word];
        }

        return (word << 6) + BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>
    /// The length of the string whose first byte is at <paramref name="at"/> (just after its opening quote) up to the next
    /// quote, or -1 when none follows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int StringLength(ref QuoteMarks marks, int at) => NextQuote(ref marks, at) is >= 0 and var end ? end - at : -1;

    /// <summary>All ones in each byte that is a backslash or below 0x20.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> EscapeOrControl(Vector128<byte> bytes) =>
        Vector128.Equals(bytes, Vector128.Create((byte)'\\')) | Vector128.LessThan(bytes, Vector128.Create((byte)0x20));
}
