using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Rating;

/// <summary>
/// An engine's subscribers by msisdn key: one index whose entry holds the subscriber's profile, its clock group and the
/// slot of its usage state, so a record finds all three with one hash look-up (the index, a profile dictionary and a
/// state dictionary would be three look-ups and three cache misses per record on a large table). A subscriber may have
/// a profile and no state yet (no accepted record), or a state and no profile (restored before its profile arrived, or
/// kept after its profile was deleted); the entry goes when it has neither.
/// </summary>
/// <remarks>
/// The fixed-size states live in chunks of <see cref="ChunkSize"/> slots that never move: a table that grows copies
/// only the index (16 bytes of value per subscriber, not a few hundred), keeps no spare struct-sized entries but the
/// last chunk's, and reuses a slot freed by <see cref="RemoveState"/>. The index is an open-addressing table (linear
/// probing, at most three quarters full, backward-shift deletion) rather than a <see cref="Dictionary{TKey, TValue}"/>
/// so that <see cref="Prefetch"/> can ask the processor for a subscriber's index entry, profile and state a record or
/// two before they are needed: on a table much larger than the cache those misses, not the rating, are most of a
/// record's cost. Not thread-safe.
/// </remarks>
internal sealed class SubscriberTable
{
    /// <summary>State slots per chunk.</summary>
    public const int ChunkSize = 1 << ChunkShift;

    private const int ChunkShift = 8;
    private const int ChunkMask = ChunkSize - 1;

    /// <summary>Bytes of a profile object asked for ahead of its record (its fields; the header and a little more).</summary>
    private const int ProfileBytes = 256;

    /// <summary>The index: <see cref="Entry.Stored"/> = key + 1, 0 for an empty place.</summary>
    private Entry[] _index = new Entry[16];
    private int _shift = 64 - 4;
    private int _count;
    private UsageState[][] _chunks = [];
    private int _chunkCount;
    private int _used;
    private int[] _free = [];
    private int _freeCount;

    /// <summary>Subscribers with a profile.</summary>
    public int ProfileCount { get; private set; }

    /// <summary>Subscribers with a usage state.</summary>
    public int StateCount { get; private set; }

    /// <summary>The subscriber's entry, or a null reference (test with <see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>); valid until the next entry is added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Entry Find(ulong key)
    {
        var stored = key + 1;
        var mask = _index.Length - 1;
        ref var first = ref MemoryMarshal.GetArrayDataReference(_index);
        for (var at = Home(key); ; at = (at + 1) & mask)
        {
            ref var entry = ref Unsafe.Add(ref first, at);
            if (entry.Stored == stored)
            {
                return ref entry;
            }

            if (entry.Stored == 0)
            {
                return ref Unsafe.NullRef<Entry>();
            }
        }
    }

    /// <summary>
    /// Hints that records of these subscribers come one, two and three records from now (a key of 0: not known). The
    /// processor is asked, step by step as each step's data has arrived, for the index place of the subscriber three
    /// ahead, the profile and state of the one two ahead (its index entry came a record ago), and the extras and open
    /// previous cycle of the one next (its state came a record ago). Changes nothing; a no-op where the runtime exposes
    /// no prefetch instruction.
    /// </summary>
    public unsafe void Prefetch(ulong oneAhead, ulong twoAhead, ulong threeAhead)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        if (threeAhead != 0)
        {
            PrefetchPlace(threeAhead);
        }

        if (twoAhead != 0)
        {
            ref var entry = ref Find(twoAhead);
            if (!Unsafe.IsNullRef(ref entry))
            {
                if (entry.Profile is { } profile)
                {
                    var address = (byte*)Unsafe.As<SubscriberProfile, nint>(ref profile);
                    for (var offset = 0; offset < ProfileBytes; offset += 64)
                    {
                        Sse.Prefetch0(address + offset);
                    }
                }

                if (entry.StateSlot >= 0)
                {
                    var state = (byte*)Unsafe.AsPointer(ref At(entry.StateSlot));
                    for (var offset = 0; offset < Unsafe.SizeOf<UsageState>(); offset += 64)
                    {
                        Sse.Prefetch0(state + offset);
                    }
                }
            }
        }

        if (oneAhead != 0)
        {
            ref var entry = ref Find(oneAhead);
            if (!Unsafe.IsNullRef(ref entry) && entry.StateSlot >= 0 && At(entry.StateSlot).Extras is { } extras)
            {
                Sse.Prefetch0((void*)Unsafe.As<StateExtras, nint>(ref extras));
                if (extras.Previous is { } previous)
                {
                    var address = (byte*)Unsafe.As<PreviousCycle, nint>(ref previous);
                    for (var offset = 0; offset < 256; offset += 64)
                    {
                        Sse.Prefetch0(address + offset);
                    }
                }
            }
        }
    }

    /// <summary>The entry's state, or a null reference when it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref UsageState StateOf(ref readonly Entry entry) => ref entry.StateSlot < 0 ? ref Unsafe.NullRef<UsageState>() : ref At(entry.StateSlot);

    /// <summary>The subscriber's state, or a null reference when it has none.</summary>
    public ref UsageState GetStateOrNullRef(ulong key)
    {
        ref var entry = ref Find(key);
        return ref Unsafe.IsNullRef(ref entry) ? ref Unsafe.NullRef<UsageState>() : ref StateOf(in entry);
    }

    /// <summary>The subscriber's profile, or null.</summary>
    public SubscriberProfile? ProfileOf(ulong key)
    {
        ref var entry = ref Find(key);
        return Unsafe.IsNullRef(ref entry) ? null : entry.Profile;
    }

    /// <summary>A new, zeroed state for the entry, which must have none.</summary>
    public ref UsageState AddState(ref Entry entry)
    {
        entry.StateSlot = Take();
        StateCount++;
        ref var state = ref At(entry.StateSlot);
        state = default;
        return ref state;
    }

    /// <summary>The subscriber's state; a new, zeroed one when it had none (<paramref name="exists"/> false).</summary>
    public ref UsageState GetOrAddState(ulong key, out bool exists)
    {
        ref var entry = ref Add(key);
        exists = entry.StateSlot >= 0;
        return ref exists ? ref At(entry.StateSlot) : ref AddState(ref entry);
    }

    public void SetState(ulong key, in UsageState state) => GetOrAddState(key, out _) = state;

    public bool RemoveState(ulong key)
    {
        ref var entry = ref Find(key);
        if (Unsafe.IsNullRef(ref entry) || entry.StateSlot < 0)
        {
            return false;
        }

        At(entry.StateSlot) = default; // lets go of its extras
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, Math.Max(16, _free.Length * 2));
        }

        _free[_freeCount++] = entry.StateSlot;
        entry.StateSlot = -1;
        StateCount--;
        DropIfEmpty(key, in entry);
        return true;
    }

    /// <summary>Sets the subscriber's profile; returns its entry (the previous profile, if any, is replaced).</summary>
    public ref Entry SetProfile(ulong key, SubscriberProfile profile, out bool known)
    {
        ref var entry = ref Add(key);
        known = entry.Profile is not null;
        if (!known)
        {
            ProfileCount++;
        }

        entry.Profile = profile;
        return ref entry;
    }

    /// <summary>Removes the subscriber's profile; false when it had none. Its clock group is returned.</summary>
    public bool RemoveProfile(ulong key, out int clockGroup)
    {
        ref var entry = ref Find(key);
        clockGroup = 0;
        if (Unsafe.IsNullRef(ref entry) || entry.Profile is null)
        {
            return false;
        }

        clockGroup = entry.ClockGroup;
        entry.Profile = null;
        entry.ClockGroup = 0;
        ProfileCount--;
        DropIfEmpty(key, in entry);
        return true;
    }

    /// <summary>The keys of the subscribers with a state, in no particular order (not to be used while the table changes).</summary>
    public IEnumerable<ulong> StateKeys
    {
        get
        {
            var index = _index;
            for (var at = 0; at < index.Length; at++)
            {
                if (index[at].Stored != 0 && index[at].StateSlot >= 0)
                {
                    yield return index[at].Stored - 1;
                }
            }
        }
    }

    /// <summary>The profiles held, in no particular order (not to be used while the table changes).</summary>
    public IEnumerable<SubscriberProfile> Profiles
    {
        get
        {
            var index = _index;
            for (var at = 0; at < index.Length; at++)
            {
                if (index[at].Profile is { } profile)
                {
                    yield return profile;
                }
            }
        }
    }

    /// <summary>The keys of the subscribers whose profile belongs to clock group <paramref name="group"/>, in no particular order.</summary>
    public ulong[] KeysOfGroup(int group)
    {
        var keys = new List<ulong>();
        foreach (var entry in _index)
        {
            if (entry.Profile is not null && entry.ClockGroup == group)
            {
                keys.Add(entry.Stored - 1);
            }
        }

        return [.. keys];
    }

    /// <summary>
    /// Asks the processor for the index place where <paramref name="key"/> is, or would be put (its home): for a run of
    /// inserts or look-ups known in advance. Changes nothing; a no-op without a prefetch instruction.
    /// </summary>
    public unsafe void PrefetchPlace(ulong key)
    {
        if (Sse.IsSupported)
        {
            // An address the collector may have moved the array away from is harmless: a prefetch never faults.
            Sse.Prefetch0(Unsafe.AsPointer(ref _index[Home(key)]));
        }
    }

    /// <summary>Makes room for this many subscribers and states: the index sized once, the chunk list long enough (chunks come as used).</summary>
    public void EnsureCapacity(int subscribers, int states)
    {
        Grow(Math.Max(subscribers, states));
        var chunks = (states + ChunkSize - 1) / ChunkSize;
        if (chunks > _chunks.Length)
        {
            Array.Resize(ref _chunks, chunks);
        }
    }

    /// <summary>The subscriber's entry, a new one (no profile, no state) when it had none; may move every entry.</summary>
    private ref Entry Add(ulong key)
    {
        ref var found = ref Find(key);
        if (!Unsafe.IsNullRef(ref found))
        {
            return ref found;
        }

        Grow(_count + 1);
        var mask = _index.Length - 1;
        var at = Home(key);
        while (_index[at].Stored != 0)
        {
            at = (at + 1) & mask;
        }

        _count++;
        ref var entry = ref _index[at];
        entry = new Entry { Stored = key + 1, StateSlot = -1 };
        return ref entry;
    }

    private void DropIfEmpty(ulong key, in Entry entry)
    {
        if (entry.Profile is not null || entry.StateSlot >= 0)
        {
            return;
        }

        // Backward-shift deletion: every later entry of the run that may move into the hole does, so a look-up never
        // meets a hole before its key.
        var mask = _index.Length - 1;
        var hole = Home(key);
        while (_index[hole].Stored != key + 1)
        {
            hole = (hole + 1) & mask;
        }

        for (var next = (hole + 1) & mask; _index[next].Stored != 0; next = (next + 1) & mask)
        {
            var home = Home(_index[next].Stored - 1);
            var stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
            if (!stays)
            {
                _index[hole] = _index[next];
                hole = next;
            }
        }

        _index[hole] = default;
        _count--;
    }

    /// <summary>Makes the index large enough for <paramref name="count"/> entries at most three quarters full.</summary>
    private void Grow(int count)
    {
        var length = _index.Length;
        while ((long)count * 4 > (long)length * 3)
        {
            length *= 2;
        }

        if (length == _index.Length)
        {
            return;
        }

        var old = _index;
        _index = new Entry[length];
        _shift = 64 - BitOperations.Log2((uint)length);
        var mask = length - 1;
        foreach (var entry in old)
        {
            if (entry.Stored == 0)
            {
                continue;
            }

            var at = Home(entry.Stored - 1);
            while (_index[at].Stored != 0)
            {
                at = (at + 1) & mask;
            }

            _index[at] = entry;
        }
    }

    /// <summary>Where a key's probe starts: the top bits of a mixed key (msisdns are dense runs of numbers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong key)
    {
        var mixed = (key ^ (key >> 33)) * 0xFF51AFD7ED558CCDUL;
        return (int)((mixed ^ (mixed >> 29)) >> _shift);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref UsageState At(int slot) => ref _chunks[slot >> ChunkShift][slot & ChunkMask];

    private int Take()
    {
        if (_freeCount > 0)
        {
            return _free[--_freeCount];
        }

        var slot = _used++;
        if ((slot >> ChunkShift) == _chunkCount)
        {
            if (_chunkCount == _chunks.Length)
            {
                Array.Resize(ref _chunks, Math.Max(4, _chunks.Length * 2));
            }

            _chunks[_chunkCount++] = new UsageState[ChunkSize];
        }

        return slot;
    }

    /// <summary>A subscriber: its key + 1 (0: an empty place), its profile (null: none), its clock group (meaningful with a profile), its state's slot (-1: none).</summary>
    internal struct Entry
    {
        public ulong Stored;
        public SubscriberProfile? Profile;
        public int ClockGroup;
        public int StateSlot;
    }
}
