using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace RatingPipeline.Records;

/// <summary>
/// The canonical-shape scan: one pass over the bytes of a record as mediation and <c>ratingctl generate</c> write it
/// (one flat object, <c>"name":value</c> members, strings of printable ASCII without escapes, integers, null, true,
/// false, JSON whitespace between tokens). A record it reads to the end is valid UTF-8 and well-formed JSON with no
/// name twice, so the general reader would find the same members at the same places; the record format's rules then
/// run on them unchanged. Anything else — an escape, a byte outside printable ASCII, a nested value, a fraction or
/// exponent, a leading zero, a name twice, a broken token, more than a few unknown names — stops the scan at once
/// and the general reader decodes the whole record from the start, so every refusal of the JSON itself comes from
/// there.
/// </summary>
public sealed partial class CdrDecoder
{
    /// <summary>Unknown top-level names the scan keeps for the repeat check; a record with more goes to the general reader.</summary>
    private const int ScanUnknownNames = 8;

    /// <summary>The bytes a string may hold on the canonical shape: printable ASCII but the quote and the backslash.</summary>
    private static readonly SearchValues<byte> PlainStringBytes = SearchValues.Create(PlainBytes());

    /// <summary>Decodes a CDR; on failure returns the cause (never throws for bad input).</summary>
    [SkipLocalsInit]
    public InvalidCause Decode(ReadOnlySpan<byte> utf8, out Cdr cdr)
    {
        cdr = default;
        Reset();
        if (TryScanCanonical(utf8))
        {
            LastDecodeScanned = true;
            return ValidateMembers(utf8, ref cdr);
        }

        return DecodeStrict(utf8, out cdr);
    }

    /// <summary>
    /// Whether the last decode read its record with the canonical-shape scan: its strings are then printable ASCII
    /// without quote or backslash (the id needs no range check, and goes out verbatim). False after
    /// <see cref="DecodeStrict"/>.
    /// </summary>
    internal bool LastDecodeScanned { get; private set; }

    /// <summary>
    /// Reads a record of the canonical shape, noting where each known member's value is as the general reader would;
    /// false as soon as the record leaves that shape (the members noted so far are then discarded).
    /// </summary>
    [SkipLocalsInit]
    private bool TryScanCanonical(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty || utf8[0] != (byte)'{')
        {
            return false;
        }

        // (start << 32) | length of each unknown name. An inline array, not a stackalloc: a method that allocates on
        // the stack is compiled once, fully optimised but without profile data, and never recompiled.
        var unknown = default(UnknownNames);
        var unknownCount = 0;
        var seen = 0;

        // A record with no byte a plain string may not hold but the quote (no backslash, control byte or byte above
        // 0x7E anywhere) gets its quotes marked in one pass: each string then ends at the next quote, found in the marks,
        // which is where the search for the first byte a plain string may not hold would stop. Any other record searches
        // string by string.
        var quotes = default(QuoteMarks);
        var plain = QuoteMarks.TryMark(utf8, ref quotes, out var holds) && holds == QuoteMarks.Bytes.Plain;
        var i = SkipWhitespace(utf8, 1);
        if (i < utf8.Length && utf8[i] == (byte)'}')
        {
            return SkipWhitespace(utf8, i + 1) == utf8.Length;
        }

        while (true)
        {
            // "name"
            if (i >= utf8.Length || utf8[i] != (byte)'"')
            {
                return false;
            }

            var nameStart = i + 1;
            var member = KnownName(utf8[nameStart..], out var nameLength);
            if (member == FieldId.None)
            {
                nameLength = plain ? QuoteMarks.StringLength(ref quotes, nameStart) : utf8[nameStart..].IndexOfAnyExcept(PlainStringBytes);
                if (nameLength < 0 || utf8[nameStart + nameLength] != (byte)'"')
                {
                    return false;
                }
            }

            var name = utf8.Slice(nameStart, nameLength);
            i = SkipWhitespace(utf8, nameStart + nameLength + 1);
            if (i >= utf8.Length || utf8[i] != (byte)':')
            {
                return false;
            }

            if (member != FieldId.None)
            {
                var bit = 1 << (int)member;
                if ((seen & bit) != 0)
                {
                    return false;
                }

                seen |= bit;
            }
            else
            {
                // Without escapes, equal names are equal bytes.
                if (unknownCount == ScanUnknownNames)
                {
                    return false;
                }

                for (var u = 0; u < unknownCount; u++)
                {
                    if ((int)unknown[u] == nameLength && utf8.Slice((int)(unknown[u] >> 32), nameLength).SequenceEqual(name))
                    {
                        return false;
                    }
                }

                unknown[unknownCount++] = ((ulong)(uint)nameStart << 32) | (uint)nameLength;
            }

            // value
            i = SkipWhitespace(utf8, i + 1);
            if (i >= utf8.Length)
            {
                return false;
            }

            var at = i;
            JsonTokenType token;
            int length;
            var c = utf8[i];
            if (c == (byte)'"')
            {
                length = plain ? QuoteMarks.StringLength(ref quotes, i + 1) : utf8[(i + 1)..].IndexOfAnyExcept(PlainStringBytes);
                if (length < 0 || utf8[i + 1 + length] != (byte)'"')
                {
                    return false;
                }

                token = JsonTokenType.String;
                i += length + 2;
            }
            else if (c == (byte)'-' || IsDigit(c))
            {
                // -?(0|[1-9][0-9]*): what follows must end the member, so "01", "1.5" and "1e3" leave the shape.
                if (c == (byte)'-')
                {
                    if (++i >= utf8.Length || !IsDigit(utf8[i]))
                    {
                        return false;
                    }
                }

                if (utf8[i++] != (byte)'0')
                {
                    while (i < utf8.Length && IsDigit(utf8[i]))
                    {
                        i++;
                    }
                }

                token = JsonTokenType.Number;
                length = i - at;
            }
            else if (c == (byte)'n' && utf8[i..].StartsWith("null"u8))
            {
                token = JsonTokenType.Null;
                length = 4;
                i += 4;
            }
            else if (c == (byte)'t' && utf8[i..].StartsWith("true"u8))
            {
                token = JsonTokenType.True;
                length = 4;
                i += 4;
            }
            else if (c == (byte)'f' && utf8[i..].StartsWith("false"u8))
            {
                token = JsonTokenType.False;
                length = 5;
                i += 5;
            }
            else
            {
                return false;
            }

            if (member != FieldId.None)
            {
                ref var field = ref FieldRef(member);
                field.Token = token;
                field.At = at;
                field.Length = length;
                field.Escaped = false;
            }

            // , or }
            i = SkipWhitespace(utf8, i);
            if (i >= utf8.Length)
            {
                return false;
            }

            if (utf8[i] == (byte)',')
            {
                i = SkipWhitespace(utf8, i + 1);
                continue;
            }

            return utf8[i] == (byte)'}' && SkipWhitespace(utf8, i + 1) == utf8.Length;
        }
    }

    /// <summary>
    /// The member of the record format whose name, with its closing quote, starts <paramref name="rest"/>: told by
    /// its first byte (and the second for the two names starting with d), then one comparison. None for any other name.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FieldId KnownName(ReadOnlySpan<byte> rest, out int length)
    {
        length = 0;
        if (rest.Length < 3)
        {
            return FieldId.None;
        }

        // Each case compares with its own constant name, which the JIT unrolls into a few loads (one comparison with a
        // name chosen by the switch is a call to the general comparison).
        switch (rest[0])
        {
            case (byte)'i': return Known(rest, "id\""u8, FieldId.Id, out length);
            case (byte)'t': return Known(rest, "type\""u8, FieldId.Type, out length);
            case (byte)'m': return Known(rest, "msisdn\""u8, FieldId.Msisdn, out length);
            case (byte)'d' when rest[1] == (byte)'i': return Known(rest, "direction\""u8, FieldId.Direction, out length);
            case (byte)'d': return Known(rest, "durationSec\""u8, FieldId.DurationSec, out length);
            case (byte)'p': return Known(rest, "peer\""u8, FieldId.Peer, out length);
            case (byte)'s': return Known(rest, "start\""u8, FieldId.Start, out length);
            case (byte)'b': return Known(rest, "bytes\""u8, FieldId.Bytes, out length);
            case (byte)'v': return Known(rest, "visitedMcc\""u8, FieldId.VisitedMcc, out length);
            case (byte)'a': return Known(rest, "at\""u8, FieldId.At, out length);
            default: return FieldId.None;
        }
    }

    /// <summary><paramref name="member"/> when <paramref name="rest"/> starts with its <paramref name="quoted"/> name (the name's length in <paramref name="length"/>), else None.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FieldId Known(ReadOnlySpan<byte> rest, ReadOnlySpan<byte> quoted, FieldId member, out int length)
    {
        length = quoted.Length - 1;
        if (!rest.StartsWith(quoted))
        {
            length = 0;
            return FieldId.None;
        }

        return member;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDigit(byte c) => (uint)(c - '0') <= 9;

    /// <summary>The index of the first byte at or after <paramref name="i"/> that is not JSON whitespace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> utf8, int i)
    {
        while (i < utf8.Length && utf8[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    [InlineArray(ScanUnknownNames)]
    private struct UnknownNames
    {
        private ulong _first;
    }

    private static byte[] PlainBytes()
    {
        var bytes = new List<byte>();
        for (var b = 0x20; b <= 0x7E; b++)
        {
            if (b is not '"' and not '\\')
            {
                bytes.Add((byte)b);
            }
        }

        return [.. bytes];
    }
}
