using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RatingPipeline.Subscribers;
using RatingPipeline.Time;

namespace RatingPipeline.Rating;

/// <summary>
/// Compact binary form of one subscriber's <see cref="UsageState"/> for the compacted <c>rater-state</c> changelog.
/// Version 3 (written) writes only what is set, every number a LEB128 varint (signed ones zigzag):
/// <list type="bullet">
/// <item>the version byte; a header: the number of remembered ids (bits 0-5), then which optional parts follow
/// (bit 6 clock mark, 7 prepaid, 8 roaming notice, 9 fees, 10 open previous cycle, 11 low balance fired,
/// 12 <c>planEndsAt</c> noticed, 13 instants in ticks, 14 no cycle, 15 no plan);</item>
/// <item>the offset tag plus one; the stream time from 2026-01-01 00:00 UTC; the cycle day as the days before the
/// stream time's day; the plan as length-prefixed UTF-8 (plan numbers are this process's interning order, not
/// durable, so names are written as text);</item>
/// <item>the other instants as distances — the clock mark, the roaming start and the previous cycle's close from the
/// stream time, the prepaid balance's as-of from the cycle day's 00:00 UTC — all in whole seconds unless one instant
/// has a fraction of a second (then all in ticks);</item>
/// <item>the fee list, then the cycle's counters: a mask of the members that are not zero, then those alone (per type:
/// used units, count, billable units beyond the used ones, charges; the spend beyond the charges and fees; the fired
/// allowance thresholds as their count and the gaps between them, then any fired outside 0–127 as their count and a
/// type byte and zigzag varint each; the capped charges). Amounts carry a 3-bit scale
/// below the zigzag: the largest of ×6, ×60, ×1,000, ×1,024, ×3,600, ×1,000,000, ×1,048,576 that divides them, so
/// round sums (micros of whole cents, bytes of whole KiB, seconds of whole minutes) take a byte or two less;</item>
/// <item>the open previous cycle (its day from the cycle day, its close, its length, plan, tariff version, minimum,
/// fee list and counters in the same form);</item>
/// <item>the duplicate memory, oldest first, each 64-bit hash exact (8 bytes).</item>
/// </list>
/// Version 2 (varints, but every counter written, absolute instants, a separate id count) and version 1 (the fixed
/// little-endian layout written before SPEC §7) still load; a version 1 state gets no clock mark, no plan (adopted
/// from the profile without a notice), and an empty fee list.
/// </summary>
public static class UsageStateCodec
{
    public const byte Version = 3;

    private const byte Version1 = 1;

    private const byte Version2 = 2;

    /// <summary>The instant the stream time is written relative to: 2026-01-01 00:00 UTC (days since 1970-01-01).</summary>
    private const long ReferenceDay = 20_454;

    private const long ReferenceTicks = ReferenceDay * Instant.TicksPerDay;

    private const long TicksPerSecond = TimeSpan.TicksPerSecond;

    /// <summary>Upper bound of an encoded state without names and fees: the fixed parts, two cycles' counters, the id memory.</summary>
    private const int FixedBound = 3 + (16 * 10) + 8 + (2 * CountersBound) + 10 + 1 + (8 * IdMemory.Capacity);

    /// <summary>The mask, 14 numbers of up to 10 bytes, three threshold lists of up to 128 one-byte gaps and their counts.</summary>
    private const int CountersBound = 3 + (14 * 10) + (3 * 129);

    /// <summary>The optional parts of a version 3 record, most common first (bits 6 and up of its header).</summary>
    [Flags]
    private enum Parts : uint
    {
        None = 0,
        Mark = 1,
        PrepaidTracked = 2,
        Roaming = 4,
        Fees = 8,
        Previous = 16,
        LowBalanceFired = 32,
        PlanEndsNoticed = 64,
        Ticks = 128,
        NoCycle = 256,
        NoPlan = 512,
        All = 1023,
    }

    [Flags]
    private enum Version2Parts : uint
    {
        None = 0,
        PrepaidTracked = 1,
        LowBalanceFired = 2,
        Mark = 4,
        Roaming = 8,
        PlanEndsNoticed = 16,
        Previous = 32,
        Fees = 64,
        NoCycle = 128,
    }

    /// <summary>The members of a cycle's counters a version 3 record holds (bit 4t+k for type t's k-th sum).</summary>
    [Flags]
    private enum Members : uint
    {
        None = 0,
        SpendBeyondSums = 1 << 12,
        AllowanceFired0 = 1 << 13,
        Capped = 1 << 16,
        DataCapFired = 1 << 17,
        HighSpendFired = 1 << 18,
        AllowanceFiredBeyond = 1 << 19,
        All = (1 << 20) - 1,
    }

    /// <summary>An upper bound of the encoded size of this state.</summary>
    public static int MaxSize(in UsageState state)
    {
        var size = FixedBound + NameBound(NameTable.Plans, state.PlanId) + 10 + BeyondBound(in state.Counters);
        foreach (var fee in state.Fees)
        {
            size += FeeBound(fee);
        }

        if (state.Previous is { } previous)
        {
            size += NameBound(NameTable.Plans, previous.PlanId) + NameBound(NameTable.TariffVersions, previous.TariffVersionId) + 10
                + BeyondBound(in previous.Counters);
            foreach (var fee in CollectionsMarshal.AsSpan(previous.Fees))
            {
                size += FeeBound(fee);
            }
        }

        return size;
    }

    /// <summary>The fired thresholds outside 0–127: their count, then a type byte and a 64-bit varint each.</summary>
    private static int BeyondBound(in CycleCounters counters) =>
        counters.AllowanceFiredBeyond is { } beyond ? 10 + (beyond.Length * 11) : 0;

    public static int Write(in UsageState state, Span<byte> destination)
    {
        var fees = state.Fees;
        var previous = state.Previous;
        var hasMark = state.Mark != UsageState.NoMark;
        var hasRoaming = state.RoamingMcc >= 0;

        // Instants as distances; in whole seconds when every one of them is.
        var cycleStart = unchecked(state.CycleDay * Instant.TicksPerDay);
        var stream = unchecked(state.StreamTime - ReferenceTicks);
        var mark = hasMark ? unchecked(state.Mark - state.StreamTime) : 0;
        var prepaid = state.PrepaidTracked ? unchecked(state.PrepaidAsOfTicks - cycleStart) : 0;
        var roaming = hasRoaming ? unchecked(state.RoamingStartTicks - state.StreamTime) : 0;
        var close = previous is not null ? unchecked(previous.CloseTicks - state.StreamTime) : 0;
        var ticks = stream % TicksPerSecond != 0 || mark % TicksPerSecond != 0 || prepaid % TicksPerSecond != 0
            || roaming % TicksPerSecond != 0 || close % TicksPerSecond != 0;
        var unit = ticks ? 1 : TicksPerSecond;

        var parts = (state.PlanId < 0 ? Parts.NoPlan : 0) | (state.PrepaidTracked ? Parts.PrepaidTracked : 0)
            | (hasRoaming ? Parts.Roaming : 0) | (hasMark ? Parts.Mark : 0) | (fees.Length > 0 ? Parts.Fees : 0)
            | (previous is not null ? Parts.Previous : 0) | (state.LowBalanceFired ? Parts.LowBalanceFired : 0)
            | (state.PlanEndsNoticed != 0 ? Parts.PlanEndsNoticed : 0) | (ticks ? Parts.Ticks : 0)
            | (state.HasCycle ? 0 : Parts.NoCycle);
        var w = new Writer(destination);
        w.Byte(Version);
        var ids = state.RecentIds;
        w.Unsigned(ids.Count | ((uint)parts << 6));
        w.Unsigned(unchecked((ulong)(state.OffsetTag + 1)));
        w.Signed(stream / unit);
        w.Signed((stream / Instant.TicksPerDay) + ReferenceDay - state.CycleDay);
        if (state.PlanId >= 0)
        {
            w.Name(NameTable.Plans, state.PlanId);
        }

        if (hasMark)
        {
            w.Signed(mark / unit);
        }

        if (state.PrepaidTracked)
        {
            w.Signed(prepaid / unit);
            w.Amount(state.PrepaidCharges);
        }

        if (hasRoaming)
        {
            w.Unsigned((uint)state.RoamingMcc);
            w.Signed(roaming / unit);
        }

        if (state.PlanEndsNoticed != 0)
        {
            w.Fixed64(state.PlanEndsNoticed);
        }

        if (fees.Length > 0)
        {
            w.Fees(fees);
        }

        w.Counters(in state.Counters, fees);
        if (previous is not null)
        {
            var previousFees = CollectionsMarshal.AsSpan(previous.Fees);
            w.Signed((long)previous.Cycle - state.CycleDay);
            w.Signed(close / unit);
            w.Signed((long)previous.CycleEnd - previous.Cycle);
            w.Name(NameTable.Plans, previous.PlanId);
            w.Name(NameTable.TariffVersions, previous.TariffVersionId);
            w.Amount(previous.Minimum);
            w.Fees(previousFees);
            w.Counters(in previous.Counters, previousFees);
        }

        // The duplicate memory, oldest first, so no ring position needs storing; the hashes stay exact.
        ReadOnlySpan<ulong> hashes = ids.Hashes;
        var oldest = ids.Count < IdMemory.Capacity ? 0 : ids.Next;
        for (var i = 0; i < ids.Count; i++)
        {
            w.Fixed64(hashes[(oldest + i) % IdMemory.Capacity]);
        }

        return w.Position;
    }

    public static byte[] ToArray(in UsageState state)
    {
        var buffer = new byte[MaxSize(in state)];
        return buffer.AsSpan(0, Write(in state, buffer)).ToArray();
    }

    /// <summary>Reads a state; false for a record of an unknown version or a truncated or inconsistent one.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out UsageState state)
    {
        state = UsageState.New();
        if (source.Length == 0)
        {
            return false;
        }

        return source[0] switch
        {
            Version => TryReadVersion3(source, ref state),
            Version2 => TryReadVersion2(source, ref state),
            Version1 => TryReadVersion1(source, ref state),
            _ => false,
        };
    }

    private static bool TryReadVersion3(ReadOnlySpan<byte> source, ref UsageState state)
    {
        var r = new Reader(source[1..]);
        var header = r.Unsigned();
        var ids = (int)(header & 63);
        var parts = (Parts)(header >> 6);
        if ((parts & ~Parts.All) != 0 || ids > IdMemory.Capacity)
        {
            return false;
        }

        var unit = (parts & Parts.Ticks) != 0 ? 1 : TicksPerSecond;
        state.HasCycle = (parts & Parts.NoCycle) == 0;
        state.OffsetTag = unchecked((long)r.Unsigned() - 1);
        var stream = unchecked(r.Signed() * unit);
        state.StreamTime = unchecked(ReferenceTicks + stream);
        state.CycleDay = (int)((stream / Instant.TicksPerDay) + ReferenceDay - r.Signed());
        if ((parts & Parts.NoPlan) == 0)
        {
            state.PlanId = r.Name(NameTable.Plans);
        }

        var cycleStart = unchecked(state.CycleDay * Instant.TicksPerDay);
        if ((parts & Parts.Mark) != 0)
        {
            state.Mark = unchecked(state.StreamTime + (r.Signed() * unit));
        }

        state.PrepaidTracked = (parts & Parts.PrepaidTracked) != 0;
        state.LowBalanceFired = (parts & Parts.LowBalanceFired) != 0;
        if (state.PrepaidTracked)
        {
            state.PrepaidAsOfTicks = unchecked(cycleStart + (r.Signed() * unit));
            state.PrepaidCharges = r.Amount();
        }

        if ((parts & Parts.Roaming) != 0)
        {
            state.RoamingMcc = (int)Math.Min(r.Unsigned(), int.MaxValue);
            state.RoamingStartTicks = unchecked(state.StreamTime + (r.Signed() * unit));
        }

        if ((parts & Parts.PlanEndsNoticed) != 0)
        {
            state.PlanEndsNoticed = r.Fixed64();
        }

        if ((parts & Parts.Fees) != 0)
        {
            r.Fees(state.EnsureExtras().Fees);
        }

        r.Counters(ref state.Counters, state.Fees);
        if ((parts & Parts.Previous) != 0)
        {
            var previous = state.EnsureExtras().Previous = new PreviousCycle { IsOpen = true };
            previous.Cycle = (int)(state.CycleDay + r.Signed());
            previous.CloseTicks = unchecked(state.StreamTime + (r.Signed() * unit));
            previous.CycleEnd = (int)(previous.Cycle + r.Signed());
            previous.PlanId = r.Name(NameTable.Plans);
            previous.TariffVersionId = r.Name(NameTable.TariffVersions);
            previous.Minimum = r.Amount();
            r.Fees(previous.Fees);
            r.Counters(ref previous.Counters, CollectionsMarshal.AsSpan(previous.Fees));
        }

        r.Ids(ref state.RecentIds, ids);
        return r.Ok && r.AtEnd;
    }

    /// <summary>Version 2: every counter written, instants absolute or from the stream time, names length-prefixed.</summary>
    private static bool TryReadVersion2(ReadOnlySpan<byte> source, ref UsageState state)
    {
        var r = new Reader(source[1..]);
        var parts = (Version2Parts)r.Unsigned();
        state.HasCycle = (parts & Version2Parts.NoCycle) == 0;
        state.OffsetTag = r.Signed();
        state.CycleDay = (int)r.Signed();
        state.PlanId = r.Name(NameTable.Plans);
        state.StreamTime = r.Signed();
        if ((parts & Version2Parts.Mark) != 0)
        {
            state.Mark = state.StreamTime + r.Signed();
        }

        r.Version2Counters(ref state.Counters);
        state.PrepaidTracked = (parts & Version2Parts.PrepaidTracked) != 0;
        state.LowBalanceFired = (parts & Version2Parts.LowBalanceFired) != 0;
        if (state.PrepaidTracked)
        {
            state.PrepaidAsOfTicks = r.Signed();
            state.PrepaidCharges = r.Signed();
        }

        if ((parts & Version2Parts.Roaming) != 0)
        {
            state.RoamingMcc = (int)r.Signed();
            state.RoamingStartTicks = state.StreamTime + r.Signed();
        }

        if ((parts & Version2Parts.PlanEndsNoticed) != 0)
        {
            state.PlanEndsNoticed = r.Fixed64();
        }

        if ((parts & Version2Parts.Fees) != 0)
        {
            r.Version2Fees(state.EnsureExtras().Fees);
        }

        if ((parts & Version2Parts.Previous) != 0)
        {
            var previous = state.EnsureExtras().Previous = new PreviousCycle { IsOpen = true };
            previous.Cycle = (int)r.Signed();
            previous.CloseTicks = state.StreamTime + r.Signed();
            previous.CycleEnd = previous.Cycle + (int)r.Signed();
            previous.PlanId = r.Name(NameTable.Plans);
            previous.TariffVersionId = r.Name(NameTable.TariffVersions);
            previous.Minimum = r.Signed();
            r.Version2Counters(ref previous.Counters);
            r.Version2Fees(previous.Fees);
        }

        return r.Ids(ref state.RecentIds) && r.Ok && r.AtEnd && (uint)parts < 256;
    }

    /// <summary>The fixed little-endian layout of version 1.</summary>
    private static bool TryReadVersion1(ReadOnlySpan<byte> source, ref UsageState state)
    {
        const int fixedSize = 2 + 8 + 4 + 24 + 48 + 8 + 8 + 8 + 8 + 4 + 8 + 2;
        if (source.Length < fixedSize)
        {
            return false;
        }

        var flags = source[1];
        state.HasCycle = (flags & 1) != 0;
        state.Counters.DataCapFired = (flags & 2) != 0;
        state.Counters.HighSpendFired = (flags & 4) != 0;
        state.PrepaidTracked = (flags & 8) != 0;
        state.LowBalanceFired = (flags & 16) != 0;
        var n = 2;
        state.OffsetTag = Get64(source, ref n);
        state.CycleDay = BinaryPrimitives.ReadInt32LittleEndian(source[n..]);
        n += 4;
        for (var t = 0; t < 3; t++)
        {
            state.Counters.Used[t] = Get64(source, ref n);
        }

        for (var t = 0; t < 3; t++)
        {
            state.Counters.AllowanceFired[t] = BinaryPrimitives.ReadUInt128LittleEndian(source[n..]);
            n += 16;
        }

        state.Counters.Capped = Get64(source, ref n);
        state.Counters.Spend = Get64(source, ref n);
        state.PrepaidAsOfTicks = Get64(source, ref n);
        state.PrepaidCharges = Get64(source, ref n);
        state.RoamingMcc = BinaryPrimitives.ReadInt32LittleEndian(source[n..]);
        n += 4;
        state.RoamingStartTicks = Get64(source, ref n);
        var count = source[n++];
        var next = source[n++];
        if (count > IdMemory.Capacity || next >= IdMemory.Capacity || source.Length != n + (8 * count))
        {
            return false;
        }

        state.RecentIds.Count = count;
        state.RecentIds.Next = next;
        for (var i = 0; i < count; i++)
        {
            state.RecentIds.Hashes[i] = BinaryPrimitives.ReadUInt64LittleEndian(source[n..]);
            n += 8;
        }

        // Before SPEC §7 a state had no stream time: its cycle's start is the best lower bound.
        state.StreamTime = long.MinValue;
        return true;
    }

    private static long Get64(ReadOnlySpan<byte> s, ref int n)
    {
        var value = BinaryPrimitives.ReadInt64LittleEndian(s[n..]);
        n += 8;
        return value;
    }

    private static int NameBound(NameTable names, int id) => 5 + (id < 0 ? 0 : names.Utf8(id).Length);

    private static int FeeBound(FeeEntry fee) => 1 + 10 + NameBound(NameTable.Services, fee.ServiceId);

    private static readonly long[] Scales = [1, 6, 60, 1_000, 1_024, 3_600, 1_000_000, 1_048_576];

    private ref struct Writer(Span<byte> destination)
    {
        private readonly Span<byte> _d = destination;

        public int Position { get; private set; }

        public void Byte(byte value) => _d[Position++] = value;

        public void Unsigned(ulong value)
        {
            while (value >= 0x80)
            {
                _d[Position++] = (byte)(value | 0x80);
                value >>= 7;
            }

            _d[Position++] = (byte)value;
        }

        /// <summary>Zigzag: small magnitudes of either sign take few bytes.</summary>
        public void Signed(long value) => Unsigned((ulong)((value << 1) ^ (value >> 63)));

        public void Fixed64(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_d[Position..], value);
            Position += 8;
        }

        public void Name(NameTable names, int id)
        {
            var text = id < 0 ? default : names.Utf8(id);
            Unsigned((uint)text.Length);
            text.CopyTo(_d[Position..]);
            Position += text.Length;
        }

        /// <summary>
        /// An amount: the largest of the units of <see cref="Scales"/> that divides it as a 3-bit scale below the zigzag
        /// of the quotient, so round sums (micros of whole cents, bytes of whole KiB, seconds of whole minutes) take a
        /// byte or two less.
        /// </summary>
        public void Amount(long value)
        {
            var scale = value == 0 ? 0 : value % 1_048_576 == 0 ? 7 : value % 1_000_000 == 0 ? 6 : value % 3_600 == 0 ? 5
                : value % 1_024 == 0 ? 4 : value % 1_000 == 0 ? 3 : value % 60 == 0 ? 2 : value % 6 == 0 ? 1 : 0;
            var rest = value / Scales[scale];
            var zigzag = (ulong)((rest << 1) ^ (rest >> 63));
            if (zigzag < (1UL << 61))
            {
                Unsigned((zigzag << 3) | (uint)scale);
                return;
            }

            // 67 bits: seven bits a byte as in Unsigned, from a 128-bit value.
            var wide = ((UInt128)zigzag << 3) | (uint)scale;
            while (wide >= 0x80)
            {
                _d[Position++] = (byte)((byte)wide | 0x80);
                wide >>= 7;
            }

            _d[Position++] = (byte)wide;
        }

        public void Counters(in CycleCounters c, ReadOnlySpan<FeeEntry> fees)
        {
            var members = Members.None;
            var sums = 0L;
            for (var t = 0; t < 3; t++)
            {
                sums = unchecked(sums + c.Charges[t]);
                members |= (Members)(((c.Used[t] != 0 ? 1u : 0) | (c.Count[t] != 0 ? 2u : 0)
                    | (c.Units[t] != c.Used[t] ? 4u : 0) | (c.Charges[t] != 0 ? 8u : 0)) << (4 * t));
                members |= c.AllowanceFired[t] != 0 ? (Members)((uint)Members.AllowanceFired0 << t) : 0;
            }

            foreach (var fee in fees)
            {
                sums = unchecked(sums + fee.Amount);
            }

            var beyond = unchecked(c.Spend - sums);
            var firedBeyond = c.AllowanceFiredBeyond is { Length: > 0 } fired ? fired : null;
            members |= (beyond != 0 ? Members.SpendBeyondSums : 0) | (c.Capped != 0 ? Members.Capped : 0)
                | (c.DataCapFired ? Members.DataCapFired : 0) | (c.HighSpendFired ? Members.HighSpendFired : 0)
                | (firedBeyond is not null ? Members.AllowanceFiredBeyond : 0);
            Unsigned((uint)members);
            for (var t = 0; t < 3; t++)
            {
                var m = (uint)members >> (4 * t);
                if ((m & 1) != 0)
                {
                    Amount(c.Used[t]);
                }

                if ((m & 2) != 0)
                {
                    Signed(c.Count[t]);
                }

                if ((m & 4) != 0)
                {
                    Amount(unchecked(c.Units[t] - c.Used[t]));
                }

                if ((m & 8) != 0)
                {
                    Amount(c.Charges[t]);
                }
            }

            if (beyond != 0)
            {
                Amount(beyond);
            }

            for (var t = 0; t < 3; t++)
            {
                if (c.AllowanceFired[t] != 0)
                {
                    Thresholds(c.AllowanceFired[t]);
                }
            }

            if (firedBeyond is not null)
            {
                Unsigned((uint)firedBeyond.Length);
                foreach (var f in firedBeyond)
                {
                    Byte((byte)f.Type);
                    Signed(f.Threshold);
                }
            }

            if (c.Capped != 0)
            {
                Amount(c.Capped);
            }
        }

        /// <summary>The set bits of a threshold mask: their count, then each one's distance from the one before.</summary>
        private void Thresholds(UInt128 fired)
        {
            Byte((byte)UInt128.PopCount(fired));
            var next = 0;
            while (fired != 0)
            {
                var bit = (int)UInt128.TrailingZeroCount(fired);
                Byte((byte)(bit - next));
                next = bit + 1;
                fired &= fired - 1;
            }
        }

        public void Fees(ReadOnlySpan<FeeEntry> fees)
        {
            Unsigned((uint)fees.Length);
            foreach (var fee in fees)
            {
                Byte((byte)fee.Kind);
                if (fee.Kind == FeeKind.Service)
                {
                    Name(NameTable.Services, fee.ServiceId);
                }

                Amount(fee.Amount);
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> source)
    {
        private readonly ReadOnlySpan<byte> _s = source;
        private int _n;

        /// <summary>False once a read ran past the end or met a malformed value.</summary>
        public bool Ok { get; private set; } = true;

        public readonly bool AtEnd => _n == _s.Length;

        public byte Byte()
        {
            if (_n >= _s.Length)
            {
                Ok = false;
                return 0;
            }

            return _s[_n++];
        }

        public ulong Unsigned()
        {
            ulong value = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            Ok = false;
            return 0;
        }

        public long Signed()
        {
            var value = Unsigned();
            return (long)(value >> 1) ^ -(long)(value & 1);
        }

        public ulong Fixed64()
        {
            if (_n + 8 > _s.Length)
            {
                Ok = false;
                _n = _s.Length;
                return 0;
            }

            var value = BinaryPrimitives.ReadUInt64LittleEndian(_s[_n..]);
            _n += 8;
            return value;
        }

        public int Name(NameTable names)
        {
            var length = (int)Math.Min(Unsigned(), int.MaxValue);
            if (length > _s.Length - _n)
            {
                Ok = false;
                _n = _s.Length;
                return UsageState.UnknownPlan;
            }

            if (length == 0)
            {
                return UsageState.UnknownPlan;
            }

            var id = names.Intern(System.Text.Encoding.UTF8.GetString(_s.Slice(_n, length)));
            _n += length;
            return id;
        }

        public void Version2Counters(ref CycleCounters c)
        {
            var flags = Byte();
            c.DataCapFired = (flags & 1) != 0;
            c.HighSpendFired = (flags & 2) != 0;
            for (var t = 0; t < 3; t++)
            {
                c.Used[t] = Signed();
                c.Count[t] = Signed();
                c.Units[t] = Signed();
                c.Charges[t] = Signed();
            }

            c.Capped = Signed();
            c.Spend = Signed();
            for (var t = 0; t < 3; t++)
            {
                if ((flags & (4 << t)) != 0)
                {
                    var low = Unsigned();
                    var high = Unsigned();
                    c.AllowanceFired[t] = new UInt128(high, low);
                }
            }
        }

        public void Version2Fees(List<FeeEntry> fees)
        {
            fees.Clear();
            var count = Unsigned();
            for (ulong i = 0; i < count && Ok; i++)
            {
                var kind = (FeeKind)Byte();
                var service = kind == FeeKind.Service ? Name(NameTable.Services) : -1;
                fees.Add(new FeeEntry(kind, service, Signed()));
            }
        }

        public void Fees(List<FeeEntry> fees)
        {
            fees.Clear();
            var count = Unsigned();
            for (ulong i = 0; i < count && Ok; i++)
            {
                var kind = (FeeKind)Byte();
                if (kind > FeeKind.Service)
                {
                    Ok = false;
                    return;
                }

                var service = kind == FeeKind.Service ? Name(NameTable.Services) : -1;
                fees.Add(new FeeEntry(kind, service, Amount()));
            }
        }

        public long Amount()
        {
            UInt128 wide = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                var b = Byte();
                wide |= (UInt128)(b & 0x7Fu) << shift;
                if ((b & 0x80) == 0)
                {
                    if (wide >> 67 != 0)
                    {
                        break;
                    }

                    var zigzag = (ulong)(wide >> 3);
                    var rest = (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
                    return unchecked(rest * Scales[(int)(wide & 7)]);
                }
            }

            Ok = false;
            return 0;
        }

        public void Counters(ref CycleCounters c, ReadOnlySpan<FeeEntry> fees)
        {
            var members = (Members)Unsigned();
            if ((members & ~Members.All) != 0)
            {
                Ok = false;
                return;
            }

            var sums = 0L;
            for (var t = 0; t < 3; t++)
            {
                var m = (uint)members >> (4 * t);
                c.Used[t] = (m & 1) != 0 ? Amount() : 0;
                c.Count[t] = (m & 2) != 0 ? Signed() : 0;
                c.Units[t] = unchecked(c.Used[t] + ((m & 4) != 0 ? Amount() : 0));
                c.Charges[t] = (m & 8) != 0 ? Amount() : 0;
                sums = unchecked(sums + c.Charges[t]);
            }

            foreach (var fee in fees)
            {
                sums = unchecked(sums + fee.Amount);
            }

            c.Spend = unchecked(sums + ((members & Members.SpendBeyondSums) != 0 ? Amount() : 0));
            for (var t = 0; t < 3; t++)
            {
                c.AllowanceFired[t] = (members & (Members)((uint)Members.AllowanceFired0 << t)) != 0 ? Thresholds() : 0;
            }

            c.AllowanceFiredBeyond = (members & Members.AllowanceFiredBeyond) != 0 ? ThresholdsBeyond() : null;

            c.Capped = (members & Members.Capped) != 0 ? Amount() : 0;
            c.DataCapFired = (members & Members.DataCapFired) != 0;
            c.HighSpendFired = (members & Members.HighSpendFired) != 0;
        }

        /// <summary>The fired thresholds outside 0–127 (at least one, each a type and a threshold outside 0–127).</summary>
        private FiredThreshold[]? ThresholdsBeyond()
        {
            var count = Unsigned();
            if (count == 0 || count > (ulong)(_s.Length - _n) / 2)
            {
                Ok = false;
                return null;
            }

            var fired = new FiredThreshold[count];
            for (var i = 0; i < fired.Length && Ok; i++)
            {
                var type = Byte();
                var threshold = Signed();
                if (type > (byte)Records.CdrType.Data || (ulong)threshold < 128)
                {
                    Ok = false;
                    return null;
                }

                fired[i] = new FiredThreshold((Records.CdrType)type, threshold);
            }

            return Ok ? fired : null;
        }

        private UInt128 Thresholds()
        {
            var count = Byte();
            UInt128 fired = 0;
            var next = 0;
            for (var i = 0; i < count; i++)
            {
                next += Byte();
                if (next >= 128)
                {
                    Ok = false;
                    return 0;
                }

                fired |= UInt128.One << next;
                next++;
            }

            if (count == 0)
            {
                Ok = false;
            }

            return fired;
        }

        /// <summary>The duplicate memory after its count byte, oldest first; false for more ids than it holds.</summary>
        public bool Ids(ref IdMemory ids)
        {
            var count = Byte();
            if (count > IdMemory.Capacity)
            {
                return false;
            }

            Ids(ref ids, count);
            return true;
        }

        /// <summary>The duplicate memory's hashes, oldest first.</summary>
        public void Ids(ref IdMemory ids, int count)
        {
            for (var i = 0; i < count; i++)
            {
                ids.Add(Fixed64());
            }
        }
    }
}
