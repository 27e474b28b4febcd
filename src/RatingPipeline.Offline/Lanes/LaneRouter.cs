using System.Buffers;
using System.Runtime.CompilerServices;
using RatingPipeline.Records;

namespace RatingPipeline.Lanes;

/// <summary>
/// Decides which rating lane a line of the CDR file goes to. Subscribers are sharded by msisdn: a CDR, a location
/// record or a profile line goes to the lane that owns its msisdn; a valid clock record goes to every lane (each
/// applies it to its own subscribers); a line the engine will refuse as <c>invalid</c> touches no state, so any lane
/// can write its rejection (lane 0 does). One router serves one thread.
/// </summary>
/// <remarks>
/// The route only has to be right for the lines the engine accepts. Most lines are settled by reading their first
/// members from the left until the top-level <c>type</c> and <c>msisdn</c> have been read (both come early in a
/// mediation record). A line that leaves that flat shape first goes to a scan that finds the two without parsing
/// the record: in a line without a backslash every quote delimits a string, so the nesting depth before a member is
/// found by counting brackets outside strings. Whatever
/// that scan cannot settle — an escape anywhere, a member not where it looks, a clock or a profile line — is decoded
/// in full by the same decoder the engine uses. The scan is compiled by the JIT at its first call (see
/// <c>LanePass</c>): it runs on one thread for the whole pass.
/// </remarks>
public sealed class LaneRouter(int lanes) : ILaneRoute
{
    /// <summary>The route of a line every lane processes: a valid clock record.</summary>
    public const byte EveryLane = byte.MaxValue;

    /// <summary>At most this many lanes (a route is a byte, and <see cref="EveryLane"/> is taken).</summary>
    public const int MaxLanes = 64;

    private static readonly SearchValues<byte> Brackets = SearchValues.Create("{}[]"u8);

    /// <summary>What ends a number or literal: the next member, the object's end, whitespace.</summary>
    private static readonly SearchValues<byte> ScalarEnds = SearchValues.Create(",} \t\r\n"u8);

    private readonly CdrDecoder _decoder = new();
    private readonly int _lanes = lanes is >= 1 and <= MaxLanes
        ? lanes
        : throw new ArgumentOutOfRangeException(nameof(lanes), lanes, $"between 1 and {MaxLanes} lanes");

    /// <summary>Lines the quick scan could not settle and that were decoded in full (for the figures).</summary>
    public long Decoded { get; private set; }

    /// <summary>The lane that owns a subscriber: the same for every record and profile of its msisdn.</summary>
    public static int LaneOf(ulong msisdnKey, int lanes) =>
        lanes == 1 ? 0 : (int)((uint)((msisdnKey * 0x9E3779B97F4A7C15UL) >> 32) % (uint)lanes);

    /// <summary>The msisdn key the quick scan found in the line last routed (0: none); the lanes prefetch by it.</summary>
    public ulong LastKey { get; private set; }

    /// <summary>The lane of a non-blank line, or <see cref="EveryLane"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public byte Route(ReadOnlySpan<byte> line)
    {
        // The scan runs with one lane too: its key lets the lane prefetch the subscriber's data.
        if (TryScanSubscriberRecord(line, out var key))
        {
            LastKey = key;
            return (byte)LaneOf(key, _lanes);
        }

        LastKey = 0;
        if (_lanes == 1)
        {
            return 0;
        }

        Decoded++;
        if (_decoder.Decode(line, out var cdr) != InvalidCause.None)
        {
            return 0; // refused as invalid whatever the lane: no state is read or changed
        }

        switch (cdr.Kind)
        {
            case RecordKind.Clock:
                return EveryLane;
            case RecordKind.Profile:
                // A profile line's msisdn is kept by the decoder; one that is not a msisdn is refused by the profile
                // reader, in any lane.
                return _decoder.HasRejectedMsisdn && MsisdnKey.TryCompute(_decoder.RejectedMsisdn, out var profileKey)
                    ? (byte)LaneOf(profileKey, _lanes)
                    : (byte)0;
            default:
                return (byte)LaneOf(cdr.MsisdnKey, _lanes);
        }
    }

    /// <summary>
    /// True when the line, if the engine accepts it at all, is a CDR or location record of the msisdn with this key:
    /// its top-level <c>type</c> is a string other than clock and profile, and its top-level <c>msisdn</c> a string of
    /// 5–15 digits. False when that cannot be told without decoding.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool TryScanSubscriberRecord(ReadOnlySpan<byte> line, out ulong key)
    {
        if (TryLeadingMembers(line, needType: true, out var leadingType, out var leadingMsisdn))
        {
            key = 0;
            return !leadingType.SequenceEqual("clock"u8) && !leadingType.SequenceEqual("profile"u8) && MsisdnKey.TryCompute(leadingMsisdn, out key);
        }

        key = 0;
        if (line.Contains((byte)'\\'))
        {
            return false;
        }

        if (!TryTopLevelString(line, "\"type\""u8, out var type) || type.SequenceEqual("clock"u8) || type.SequenceEqual("profile"u8))
        {
            return false;
        }

        return TryTopLevelString(line, "\"msisdn\""u8, out var msisdn) && MsisdnKey.TryCompute(msisdn, out key);
    }

    /// <summary>
    /// The usual line, read once from the left: a flat object whose members up to its <c>type</c> and <c>msisdn</c>
    /// (both strings) are names and strings without a backslash, numbers or literals. True with the two values as soon
    /// as both are read; false where the line leaves that shape before (a nested value, an escape, another kind of
    /// value for either), and the general scan decides. The rest of the line is not read: a line the engine accepts
    /// has each name once, so what follows cannot change its type or msisdn, and a line it refuses may go anywhere.
    /// Without <paramref name="needType"/> the scan stops at the <c>msisdn</c> (a rated record's second member).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool TryLeadingMembers(ReadOnlySpan<byte> line, bool needType, out ReadOnlySpan<byte> type, out ReadOnlySpan<byte> msisdn)
    {
        type = default;
        msisdn = default;
        var wanted = needType ? 3 : 2;
        var found = 0;
        var i = SkipWhitespace(line, 0);
        if (i >= line.Length || line[i] != (byte)'{')
        {
            return false;
        }

        while (true)
        {
            i = SkipWhitespace(line, i + 1);
            if (!TryString(line, i, out var name))
            {
                return false;
            }

            i = SkipWhitespace(line, i + name.Length + 2);
            if (i >= line.Length || line[i] != (byte)':')
            {
                return false;
            }

            i = SkipWhitespace(line, i + 1);
            var member = name.SequenceEqual("type"u8) ? 1 : name.SequenceEqual("msisdn"u8) ? 2 : 0;
            if (TryString(line, i, out var value))
            {
                if (member == 1)
                {
                    type = value;
                }
                else if (member == 2)
                {
                    msisdn = value;
                }

                found |= member;
                if ((found & wanted) == wanted)
                {
                    return true;
                }

                i += value.Length + 2;
            }
            else
            {
                // A number or literal of another member; anything else (a nested value, a broken line) is not read here.
                if (member != 0 || i >= line.Length || line[i] is (byte)'"' or (byte)'{' or (byte)'[')
                {
                    return false;
                }

                var length = line[i..].IndexOfAny(ScalarEnds);
                if (length <= 0)
                {
                    return false;
                }

                i += length;
            }

            i = SkipWhitespace(line, i);
            if (i >= line.Length || line[i] != (byte)',')
            {
                return false;
            }
        }
    }

    /// <summary>The string that starts with the quote at <paramref name="at"/>, when it has no backslash before its closing quote.</summary>
    /// <remarks>
    /// A byte at a time: the strings read here are short (names, an id, a type, an msisdn), and a vectorised search
    /// called for each cost more than the loop (a quarter of the reader's samples).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryString(ReadOnlySpan<byte> line, int at, out ReadOnlySpan<byte> text)
    {
        text = default;
        if ((uint)at >= (uint)line.Length || line[at] != (byte)'"')
        {
            return false;
        }

        for (var i = at + 1; i < line.Length; i++)
        {
            var b = line[i];
            if (b == (byte)'"')
            {
                text = line[(at + 1)..i];
                return true;
            }

            if (b == (byte)'\\')
            {
                return false;
            }
        }

        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipWhitespace(ReadOnlySpan<byte> line, int i)
    {
        while (i < line.Length && line[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }

    /// <summary>
    /// The string value of the first occurrence of <paramref name="quotedName"/> when it is a member name of the
    /// top-level object (depth 1, outside any string, followed by a colon) and its value a string. The line has no
    /// backslash, so every quote delimits a string.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool TryTopLevelString(ReadOnlySpan<byte> line, ReadOnlySpan<byte> quotedName, out ReadOnlySpan<byte> value)
    {
        value = default;
        var at = line.IndexOf(quotedName);
        if (at < 0 || !AtTopLevel(line[..at]))
        {
            return false;
        }

        var rest = line[(at + quotedName.Length)..].TrimStart(" \t\r\n"u8);
        if (rest.IsEmpty || rest[0] != (byte)':')
        {
            return false;
        }

        rest = rest[1..].TrimStart(" \t\r\n"u8);
        if (rest.IsEmpty || rest[0] != (byte)'"')
        {
            return false;
        }

        var end = rest[1..].IndexOf((byte)'"');
        if (end < 0)
        {
            return false;
        }

        value = rest.Slice(1, end);
        return true;
    }

    /// <summary>Whether the position after <paramref name="prefix"/> is inside the top-level object and outside strings.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AtTopLevel(ReadOnlySpan<byte> prefix)
    {
        var open = prefix.IndexOfAnyExcept(" \t\r\n"u8);
        if (open < 0 || prefix[open] != (byte)'{')
        {
            return false;
        }

        var inside = prefix[(open + 1)..];
        if (inside.IndexOfAny(Brackets) < 0)
        {
            // The usual case: no bracket before the member, so depth 1; an even number of quotes, so outside strings.
            return (inside.Count((byte)'"') & 1) == 0;
        }

        var depth = 1;
        var inString = false;
        foreach (var b in inside)
        {
            if (b == (byte)'"')
            {
                inString = !inString;
            }
            else if (!inString)
            {
                if (b is (byte)'{' or (byte)'[')
                {
                    depth++;
                }
                else if (b is (byte)'}' or (byte)']')
                {
                    depth--;
                }
            }
        }

        return depth == 1 && !inString;
    }
}
