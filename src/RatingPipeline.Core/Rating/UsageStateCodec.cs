using System.Buffers.Binary;

namespace RatingPipeline.Rating;

/// <summary>
/// Compact little-endian binary form of one subscriber's <see cref="UsageState"/> for the compacted
/// <c>rater-state</c> changelog. Layout (version 1): version byte, flags byte, then fixed fields, then the
/// duplicate memory's count, next slot and its hashes (only the filled ones).
/// </summary>
public static class UsageStateCodec
{
    public const byte Version = 1;

    /// <summary>Upper bound of an encoded state.</summary>
    public const int MaxSize = 2 + (8 * 4) + 4 + (8 * 3) + (16 * 3) + (8 * 3) + 4 + 8 + 2 + (8 * IdMemory.Capacity);

    private const byte HasCycle = 1, DataCapFired = 2, HighSpendFired = 4, PrepaidTracked = 8, LowBalanceFired = 16;

    public static int Write(in UsageState state, Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)((state.HasCycle ? HasCycle : 0) | (state.DataCapFired ? DataCapFired : 0)
            | (state.HighSpendFired ? HighSpendFired : 0) | (state.PrepaidTracked ? PrepaidTracked : 0)
            | (state.LowBalanceFired ? LowBalanceFired : 0));
        var n = 2;
        Put(destination, ref n, state.OffsetTag);
        PutInt(destination, ref n, state.CycleDay);
        for (var t = 0; t < 3; t++)
        {
            Put(destination, ref n, state.Used[t]);
        }

        for (var t = 0; t < 3; t++)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(destination[n..], state.AllowanceFired[t]);
            n += 16;
        }

        Put(destination, ref n, state.CappedCharges);
        Put(destination, ref n, state.Spend);
        Put(destination, ref n, state.PrepaidAsOfTicks);
        Put(destination, ref n, state.PrepaidCharges);
        PutInt(destination, ref n, state.RoamingMcc);
        Put(destination, ref n, state.RoamingStartTicks);
        destination[n++] = state.RecentIds.Count;
        destination[n++] = state.RecentIds.Next;
        ReadOnlySpan<ulong> hashes = state.RecentIds.Hashes;
        foreach (var hash in hashes[..state.RecentIds.Count])
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[n..], hash);
            n += 8;
        }

        return n;
    }

    public static byte[] ToArray(in UsageState state)
    {
        Span<byte> buffer = stackalloc byte[MaxSize];
        return buffer[..Write(in state, buffer)].ToArray();
    }

    /// <summary>Reads a state; false for a record of another version or a truncated or inconsistent one.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out UsageState state)
    {
        state = UsageState.New();
        const int fixedSize = 2 + 8 + 4 + 24 + 48 + 8 + 8 + 8 + 8 + 4 + 8 + 2;
        if (source.Length < fixedSize || source[0] != Version)
        {
            return false;
        }

        var flags = source[1];
        state.HasCycle = (flags & HasCycle) != 0;
        state.DataCapFired = (flags & DataCapFired) != 0;
        state.HighSpendFired = (flags & HighSpendFired) != 0;
        state.PrepaidTracked = (flags & PrepaidTracked) != 0;
        state.LowBalanceFired = (flags & LowBalanceFired) != 0;
        var n = 2;
        state.OffsetTag = Get(source, ref n);
        state.CycleDay = GetInt(source, ref n);
        for (var t = 0; t < 3; t++)
        {
            state.Used[t] = Get(source, ref n);
        }

        for (var t = 0; t < 3; t++)
        {
            state.AllowanceFired[t] = BinaryPrimitives.ReadUInt128LittleEndian(source[n..]);
            n += 16;
        }

        state.CappedCharges = Get(source, ref n);
        state.Spend = Get(source, ref n);
        state.PrepaidAsOfTicks = Get(source, ref n);
        state.PrepaidCharges = Get(source, ref n);
        state.RoamingMcc = GetInt(source, ref n);
        state.RoamingStartTicks = Get(source, ref n);
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

        return true;
    }

    private static void Put(Span<byte> d, ref int n, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(d[n..], value);
        n += 8;
    }

    private static void PutInt(Span<byte> d, ref int n, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(d[n..], value);
        n += 4;
    }

    private static long Get(ReadOnlySpan<byte> s, ref int n)
    {
        var value = BinaryPrimitives.ReadInt64LittleEndian(s[n..]);
        n += 8;
        return value;
    }

    private static int GetInt(ReadOnlySpan<byte> s, ref int n)
    {
        var value = BinaryPrimitives.ReadInt32LittleEndian(s[n..]);
        n += 4;
        return value;
    }
}
