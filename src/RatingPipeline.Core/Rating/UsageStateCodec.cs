using System.Buffers.Binary;
using System.Runtime.InteropServices;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Rating;

/// <summary>
/// Compact binary form of one subscriber's <see cref="UsageState"/> for the compacted <c>rater-state</c> changelog.
/// Version 2 (written): a version byte, a flags varint saying which optional parts follow, then signed LEB128
/// varints for the numbers (instants as deltas where that is shorter), names (plan, service ids, tariff version)
/// as length-prefixed UTF-8, the cycle's counters and fee list, the open previous cycle when there is one, and the
/// duplicate memory's filled hashes (8 bytes each). Version 1 (the fixed little-endian layout written before
/// SPEC §7) still loads: its state gets no clock mark, no plan (adopted from the profile without a notice), and
/// an empty fee list.
/// </summary>
public static class UsageStateCodec
{
    public const byte Version = 2;

    private const byte Version1 = 1;

    /// <summary>Upper bound of an encoded state without names: the fixed parts, two cycles' counters, the id memory.</summary>
    private const int FixedBound = 2 + (10 * 12) + (2 * CountersBound) + 10 + (8 * IdMemory.Capacity);

    private const int CountersBound = (10 * 14) + 1 + (3 * 20);

    [Flags]
    private enum Parts : uint
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

    /// <summary>An upper bound of the encoded size of this state.</summary>
    public static int MaxSize(in UsageState state)
    {
        var size = FixedBound + NameBound(NameTable.Plans, state.PlanId);
        foreach (var fee in state.Fees)
        {
            size += FeeBound(fee);
        }

        if (state.Previous is { } previous)
        {
            size += NameBound(NameTable.Plans, previous.PlanId) + NameBound(NameTable.TariffVersions, previous.TariffVersionId);
            foreach (var fee in CollectionsMarshal.AsSpan(previous.Fees))
            {
                size += FeeBound(fee);
            }
        }

        return size;
    }

    public static int Write(in UsageState state, Span<byte> destination)
    {
        var fees = state.Fees;
        var previous = state.Previous;
        var parts = (state.PrepaidTracked ? Parts.PrepaidTracked : 0) | (state.LowBalanceFired ? Parts.LowBalanceFired : 0)
            | (state.Mark != UsageState.NoMark ? Parts.Mark : 0) | (state.RoamingMcc >= 0 ? Parts.Roaming : 0)
            | (state.PlanEndsNoticed != 0 ? Parts.PlanEndsNoticed : 0) | (previous is not null ? Parts.Previous : 0)
            | (fees.Length > 0 ? Parts.Fees : 0) | (state.HasCycle ? 0 : Parts.NoCycle);
        var w = new Writer(destination);
        w.Byte(Version);
        w.Unsigned((uint)parts);
        w.Signed(state.OffsetTag);
        w.Signed(state.CycleDay);
        w.Name(NameTable.Plans, state.PlanId);
        w.Signed(state.StreamTime);
        if (state.Mark != UsageState.NoMark)
        {
            w.Signed(state.Mark - state.StreamTime);
        }

        w.Counters(in state.Counters);
        if (state.PrepaidTracked)
        {
            w.Signed(state.PrepaidAsOfTicks);
            w.Signed(state.PrepaidCharges);
        }

        if (state.RoamingMcc >= 0)
        {
            w.Signed(state.RoamingMcc);
            w.Signed(state.RoamingStartTicks - state.StreamTime);
        }

        if (state.PlanEndsNoticed != 0)
        {
            w.Fixed64(state.PlanEndsNoticed);
        }

        if (fees.Length > 0)
        {
            w.Fees(fees);
        }

        if (previous is not null)
        {
            w.Signed(previous.Cycle);
            w.Signed(previous.CloseTicks - state.StreamTime);
            w.Signed(previous.CycleEnd - previous.Cycle);
            w.Name(NameTable.Plans, previous.PlanId);
            w.Name(NameTable.TariffVersions, previous.TariffVersionId);
            w.Signed(previous.Minimum);
            w.Counters(in previous.Counters);
            w.Fees(CollectionsMarshal.AsSpan(previous.Fees));
        }

        // The duplicate memory, oldest first, so no ring position needs storing.
        var ids = state.RecentIds;
        w.Byte(ids.Count);
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

        if (source[0] == Version1)
        {
            return TryReadVersion1(source, ref state);
        }

        if (source[0] != Version)
        {
            return false;
        }

        var r = new Reader(source[1..]);
        var parts = (Parts)r.Unsigned();
        state.HasCycle = (parts & Parts.NoCycle) == 0;
        state.OffsetTag = r.Signed();
        state.CycleDay = (int)r.Signed();
        state.PlanId = r.Name(NameTable.Plans);
        state.StreamTime = r.Signed();
        if ((parts & Parts.Mark) != 0)
        {
            state.Mark = state.StreamTime + r.Signed();
        }

        r.Counters(ref state.Counters);
        state.PrepaidTracked = (parts & Parts.PrepaidTracked) != 0;
        state.LowBalanceFired = (parts & Parts.LowBalanceFired) != 0;
        if (state.PrepaidTracked)
        {
            state.PrepaidAsOfTicks = r.Signed();
            state.PrepaidCharges = r.Signed();
        }

        if ((parts & Parts.Roaming) != 0)
        {
            state.RoamingMcc = (int)r.Signed();
            state.RoamingStartTicks = state.StreamTime + r.Signed();
        }

        if ((parts & Parts.PlanEndsNoticed) != 0)
        {
            state.PlanEndsNoticed = r.Fixed64();
        }

        if ((parts & Parts.Fees) != 0)
        {
            r.Fees(state.EnsureExtras().Fees);
        }

        if ((parts & Parts.Previous) != 0)
        {
            var previous = state.EnsureExtras().Previous = new PreviousCycle { IsOpen = true };
            previous.Cycle = (int)r.Signed();
            previous.CloseTicks = state.StreamTime + r.Signed();
            previous.CycleEnd = previous.Cycle + (int)r.Signed();
            previous.PlanId = r.Name(NameTable.Plans);
            previous.TariffVersionId = r.Name(NameTable.TariffVersions);
            previous.Minimum = r.Signed();
            r.Counters(ref previous.Counters);
            r.Fees(previous.Fees);
        }

        var count = r.Byte();
        if (count > IdMemory.Capacity)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            state.RecentIds.Add(r.Fixed64());
        }

        return r.Ok && r.AtEnd && (uint)parts < 256;
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

        public void Counters(in CycleCounters c)
        {
            Byte((byte)((c.DataCapFired ? 1 : 0) | (c.HighSpendFired ? 2 : 0)
                | (c.AllowanceFired[0] != 0 ? 4 : 0) | (c.AllowanceFired[1] != 0 ? 8 : 0) | (c.AllowanceFired[2] != 0 ? 16 : 0)));
            for (var t = 0; t < 3; t++)
            {
                Signed(c.Used[t]);
                Signed(c.Count[t]);
                Signed(c.Units[t]);
                Signed(c.Charges[t]);
            }

            Signed(c.Capped);
            Signed(c.Spend);
            for (var t = 0; t < 3; t++)
            {
                if (c.AllowanceFired[t] != 0)
                {
                    Unsigned((ulong)c.AllowanceFired[t]);
                    Unsigned((ulong)(c.AllowanceFired[t] >> 64));
                }
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

                Signed(fee.Amount);
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

        public void Counters(ref CycleCounters c)
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

        public void Fees(List<FeeEntry> fees)
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
    }
}
