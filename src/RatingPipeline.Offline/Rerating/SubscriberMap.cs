namespace RatingPipeline.Rerating;

/// <summary>
/// Objects by msisdn key (<see cref="Records.MsisdnKey"/>: below 2^63, never the empty mark), in one open-addressed
/// array of key and object side by side, so a look-up is one cache line and the line of a key can be asked for ahead
/// (<see cref="PrefetchSlot"/>, then <see cref="CacheHints.Object"/> of <see cref="Peek"/>) while the lines before it are worked on; a dictionary's
/// buckets and entries are two. <see cref="Values"/> in the order the keys were added. Not thread-safe.
/// </summary>
internal sealed class SubscriberMap<T>
    where T : class
{
    private Entry[] _entries = new Entry[1024];
    private int _shift = 64 - 10;
    private readonly List<T> _values = [];

    /// <summary>The objects in the order their keys were added.</summary>
    public IReadOnlyList<T> Values => _values;

    public int Count => _values.Count;

    public bool TryGetValue(ulong key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value)
    {
        ref var entry = ref Find(key);
        value = entry.Value!;
        return entry.Stored != 0;
    }

    /// <summary>The object of the key, made by <paramref name="create"/> and added when there is none.</summary>
    public T GetOrAdd(ulong key, Func<T> create)
    {
        ref var entry = ref Find(key);
        if (entry.Stored != 0)
        {
            return entry.Value!;
        }

        var value = create();
        entry = new Entry { Stored = key + 1, Value = value };
        _values.Add(value);
        if (_values.Count * 2 > _entries.Length)
        {
            Grow();
        }

        return value;
    }

    public T this[ulong key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no entry for msisdn key {key}");

    /// <summary>Asks the processor for the line where the key's entry is (a prefetch: never faults, changes nothing).</summary>
    public void PrefetchSlot(ulong key)
    {
        if (key != 0)
        {
            CacheHints.At(ref _entries[Home(key)]);
        }
    }

    /// <summary>The key's object, if its entry is found, for the caller to prefetch what it needs of it (null when none).</summary>
    public T? Peek(ulong key) => key == 0 ? null : Find(key).Value;

    private int Home(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    private ref Entry Find(ulong key)
    {
        var stored = key + 1;
        var mask = _entries.Length - 1;
        for (var at = Home(key); ; at = (at + 1) & mask)
        {
            ref var entry = ref _entries[at];
            if (entry.Stored == stored || entry.Stored == 0)
            {
                return ref entry;
            }
        }
    }

    private void Grow()
    {
        var old = _entries;
        _entries = new Entry[old.Length * 2];
        _shift--;
        foreach (var entry in old)
        {
            if (entry.Stored != 0)
            {
                Find(entry.Stored - 1) = entry;
            }
        }
    }

    private struct Entry
    {
        /// <summary>The key plus one; 0 for an empty entry.</summary>
        public ulong Stored;

        public T? Value;
    }
}
