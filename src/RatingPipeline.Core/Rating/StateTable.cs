using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RatingPipeline.Rating;

/// <summary>
/// An engine's usage states, by msisdn key: the fixed-size structs live in chunks of <see cref="ChunkSize"/> slots
/// that never move, and a small index maps each key to its slot. Against a dictionary of the structs themselves, a
/// table that grows copies only the index (an int per subscriber, not a few hundred bytes) and keeps no spare
/// struct-sized entries: at most one partly used chunk. A slot freed by <see cref="Remove"/> is reused. Not thread-safe.
/// </summary>
internal sealed class StateTable
{
    /// <summary>Slots per chunk.</summary>
    public const int ChunkSize = 1 << ChunkShift;

    private const int ChunkShift = 8;
    private const int ChunkMask = ChunkSize - 1;

    private readonly Dictionary<ulong, int> _index = [];
    private UsageState[][] _chunks = [];
    private int _chunkCount;
    private int _used;
    private int[] _free = [];
    private int _freeCount;

    public int Count => _index.Count;

    public Dictionary<ulong, int>.KeyCollection Keys => _index.Keys;

    /// <summary>The subscriber's state, or a null reference when it has none (test with <see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>).</summary>
    public ref UsageState GetValueRefOrNullRef(ulong key)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(_index, key);
        return ref Unsafe.IsNullRef(ref slot) ? ref Unsafe.NullRef<UsageState>() : ref At(slot);
    }

    /// <summary>The subscriber's state; a new, zeroed one when it had none (<paramref name="exists"/> false).</summary>
    public ref UsageState GetValueRefOrAddDefault(ulong key, out bool exists)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_index, key, out exists);
        if (exists)
        {
            return ref At(slot);
        }

        slot = Take();
        ref var state = ref At(slot);
        state = default;
        return ref state;
    }

    public bool TryGetValue(ulong key, out UsageState state)
    {
        if (_index.TryGetValue(key, out var slot))
        {
            state = At(slot);
            return true;
        }

        state = default;
        return false;
    }

    public void Set(ulong key, in UsageState state) => GetValueRefOrAddDefault(key, out _) = state;

    public bool Remove(ulong key)
    {
        if (!_index.Remove(key, out var slot))
        {
            return false;
        }

        At(slot) = default; // lets go of its extras
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, Math.Max(16, _free.Length * 2));
        }

        _free[_freeCount++] = slot;
        return true;
    }

    /// <summary>Makes room for this many states: the index sized once, the chunk list long enough (chunks come as used).</summary>
    public void EnsureCapacity(int states)
    {
        _index.EnsureCapacity(states);
        var chunks = (states + ChunkSize - 1) / ChunkSize;
        if (chunks > _chunks.Length)
        {
            Array.Resize(ref _chunks, chunks);
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
}
