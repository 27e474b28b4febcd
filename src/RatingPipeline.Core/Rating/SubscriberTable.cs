using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// last chunk's, and reuses a slot freed by <see cref="RemoveState"/>. Not thread-safe.
/// </remarks>
internal sealed class SubscriberTable
{
    /// <summary>State slots per chunk.</summary>
    public const int ChunkSize = 1 << ChunkShift;

    private const int ChunkShift = 8;
    private const int ChunkMask = ChunkSize - 1;

    private readonly Dictionary<ulong, Entry> _index = [];
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
    public ref Entry Find(ulong key) => ref CollectionsMarshal.GetValueRefOrNullRef(_index, key);

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

    /// <summary>The keys of the subscribers with a state.</summary>
    public IEnumerable<ulong> StateKeys
    {
        get
        {
            foreach (var (key, entry) in _index)
            {
                if (entry.StateSlot >= 0)
                {
                    yield return key;
                }
            }
        }
    }

    /// <summary>The profiles held.</summary>
    public IEnumerable<SubscriberProfile> Profiles
    {
        get
        {
            foreach (var entry in _index.Values)
            {
                if (entry.Profile is { } profile)
                {
                    yield return profile;
                }
            }
        }
    }

    /// <summary>Makes room for this many subscribers and states: the index sized once, the chunk list long enough (chunks come as used).</summary>
    public void EnsureCapacity(int subscribers, int states)
    {
        _index.EnsureCapacity(Math.Max(subscribers, states));
        var chunks = (states + ChunkSize - 1) / ChunkSize;
        if (chunks > _chunks.Length)
        {
            Array.Resize(ref _chunks, chunks);
        }
    }

    private ref Entry Add(ulong key)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_index, key, out var exists);
        if (!exists)
        {
            entry.StateSlot = -1;
        }

        return ref entry;
    }

    private void DropIfEmpty(ulong key, in Entry entry)
    {
        if (entry.Profile is null && entry.StateSlot < 0)
        {
            _index.Remove(key);
        }
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

    /// <summary>A subscriber: its profile (null: none), its clock group (meaningful with a profile), its state's slot (-1: none).</summary>
    internal struct Entry
    {
        public SubscriberProfile? Profile;
        public int ClockGroup;
        public int StateSlot;
    }
}
