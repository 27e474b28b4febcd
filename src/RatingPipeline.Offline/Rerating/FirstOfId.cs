namespace RatingPipeline.Rerating;

/// <summary>
/// The first old record of each (msisdn key, cycle, id hash), for finding ids the old run rated twice in one cycle: one
/// open-addressed array of a 64-bit mix of the three and the record's index, so taking a record in is one cache line
/// (a dictionary keyed by the triple reads its buckets and its entries, 40 bytes each). Two triples with one mix are told
/// apart by the records themselves. Not thread-safe.
/// </summary>
internal sealed class FirstOfId(OldRecords records)
{
    private Entry[] _entries = new Entry[1024];
    private int _shift = 64 - 10;
    private int _count;

    /// <summary>
    /// Makes room for about <paramref name="records"/> records at once: growing step by step moves every entry to a
    /// new random place at each doubling, as many cache misses again as the inserts themselves.
    /// </summary>
    public void EnsureCapacity(int records)
    {
        var length = _entries.Length;
        var shift = _shift;
        while ((long)records * 2 > length && length < 1 << 30)
        {
            length *= 2;
            shift--;
        }

        if (length == _entries.Length)
        {
            return;
        }

        var old = _entries;
        _entries = new Entry[length];
        _shift = shift;
        Reinsert(old);
    }

    /// <summary>
    /// Takes in the record: true when it is the first with its triple; false and the first one's index when an earlier
    /// record has the same triple.
    /// </summary>
    public bool TryAdd(int index, out int first)
    {
        ref var record = ref records[index];
        var mix = Mix(record.MsisdnKey, record.Cycle, record.IdHash);
        var mask = _entries.Length - 1;
        for (var at = (int)(mix >> _shift); ; at = (at + 1) & mask)
        {
            ref var entry = ref _entries[at];
            if (entry.IndexPlusOne == 0)
            {
                entry = new Entry { Mix = mix, IndexPlusOne = index + 1 };
                if (++_count * 2 > _entries.Length)
                {
                    Grow();
                }

                first = -1;
                return true;
            }

            if (entry.Mix == mix)
            {
                ref var earlier = ref records[entry.IndexPlusOne - 1];
                if (earlier.MsisdnKey == record.MsisdnKey && earlier.Cycle == record.Cycle && earlier.IdHash == record.IdHash)
                {
                    first = entry.IndexPlusOne - 1;
                    return false;
                }
            }
        }
    }

    /// <summary>A 64-bit mix of the triple whose top bits place it (multiply and fold, as the msisdn routing does).</summary>
    private static ulong Mix(ulong msisdnKey, int cycle, ulong idHash)
    {
        var h = (idHash ^ (msisdnKey * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)cycle * 0xC2B2AE3D27D4EB4FUL)) * 0xD6E8FEB86659FD93UL;
        return h ^ (h >> 32);
    }

    private void Grow()
    {
        var old = _entries;
        _entries = new Entry[old.Length * 2];
        _shift--;
        Reinsert(old);
    }

    /// <summary>Puts the entries of <paramref name="old"/> into the (larger) table in hand.</summary>
    private void Reinsert(Entry[] old)
    {
        var mask = _entries.Length - 1;
        foreach (var entry in old)
        {
            if (entry.IndexPlusOne == 0)
            {
                continue;
            }

            var at = (int)(entry.Mix >> _shift);
            while (_entries[at].IndexPlusOne != 0)
            {
                at = (at + 1) & mask;
            }

            _entries[at] = entry;
        }
    }

    private struct Entry
    {
        public ulong Mix;

        /// <summary>The record's index plus one; 0 for an empty entry.</summary>
        public int IndexPlusOne;
    }
}
