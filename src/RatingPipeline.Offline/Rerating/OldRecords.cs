using System.Buffers;
using System.IO.Hashing;
using RatingPipeline.Records;
using RatingPipeline.Time;

namespace RatingPipeline.Rerating;

/// <summary>
/// The rated records of the old run as one re-rater holds them: a struct each, in one array, with what the re-rate
/// compares and takes up (keys, times, charges, running totals); ids and peers as UTF-8 in a byte arena, and the strings
/// that repeat (cycle, plan, tariff version, zone, direction) as numbers into one table. Nothing is allocated per
/// record; a record's strings are made only when it is reported. Not thread-safe.
/// </summary>
internal sealed class OldRecords
{
    /// <summary>Bytes per arena chunk (a longer id or peer gets a chunk of its own).</summary>
    private const int ChunkBytes = 1 << 20;

    private readonly List<byte[]> _chunks = [];
    private readonly List<string> _texts = [];
    private readonly Dictionary<string, int> _textIndex = new(StringComparer.Ordinal);

    /// <summary>Texts read unescaped, by the hash of their UTF-8 bytes (the first text of a hash keeps the place).</summary>
    private readonly Dictionary<ulong, (byte[] Utf8, int Index)> _textsByUtf8 = [];
    private readonly List<int> _textDays = [];

    /// <summary>Ids whose text is not what their UTF-8 bytes decode to (an escape the reader turned into a lone surrogate).</summary>
    private readonly Dictionary<int, string> _idTexts = [];

    private OldRecord[] _records = new OldRecord[256];
    private byte[] _chunk = [];
    private int _chunkIndex = -1;
    private int _used;

    public int Count { get; private set; }

    public ref OldRecord this[int index] => ref _records[index];

    /// <summary>Makes room for about <paramref name="records"/> records at once (each doubling copies every record).</summary>
    public void EnsureCapacity(int records)
    {
        if (records > _records.Length)
        {
            Array.Resize(ref _records, records);
        }
    }

    /// <summary>Adds a rated CDR record (not a fee); returns its index.</summary>
    public int Add(ref RatedLine line, long order)
    {
        if (Count == _records.Length)
        {
            Array.Resize(ref _records, _records.Length * 2);
        }

        var index = Count++;
        ref var record = ref _records[index];
        record = default;
        var id = line.Id.Utf8;
        record.MsisdnKey = line.MsisdnKey;
        record.Key = LineKey(id, line.CdrType, line.Start.Utf8);
        record.IdHash = XxHash3.HashToUInt64(id);
        record.StartTicks = line.StartTicks;
        record.Charge = line.Charge;
        record.AllowanceUnits = line.AllowanceUnits;
        record.Used = line.UsedAfter;
        record.Capped = line.CappedAfter;
        record.Spend = line.SpendAfter;
        record.Order = order;
        (record.IdAt, record.IdLength) = Store(id);
        (record.PeerAt, record.PeerLength) = line.Peer.IsPresent ? Store(line.Peer.Utf8) : (-1L, 0);
        record.Cycle = TextOf(in line.Cycle);
        record.Plan = TextOf(in line.Plan);
        record.Version = TextOf(in line.TariffVersion);
        record.Zone = line.Zone.IsPresent ? TextOf(in line.Zone) : TextOf("");
        record.Direction = line.Direction.IsPresent ? TextOf(in line.Direction) : -1;
        record.CdrType = line.CdrType;
        record.Flags = (line.HasUsedAfter ? OldFlags.HasUsed : 0) | (line.HasCappedAfter ? OldFlags.HasCapped : 0)
            | (line.HasSpendAfter ? OldFlags.HasSpend : 0) | (System.Text.Ascii.IsValid(id) ? 0 : OldFlags.NonAsciiId);
        if (line.Id.Text is { } text && text != System.Text.Encoding.UTF8.GetString(id))
        {
            _idTexts[index] = text;
        }

        return index;
    }

    /// <summary>The id's UTF-8 bytes.</summary>
    public ReadOnlySpan<byte> IdBytes(int index) => Bytes(_records[index].IdAt, _records[index].IdLength);

    /// <summary>The id, exactly as the rated file gives it.</summary>
    public string Id(int index) =>
        _idTexts.TryGetValue(index, out var text) ? text : System.Text.Encoding.UTF8.GetString(IdBytes(index));

    public string Msisdn(int index) => MsisdnKey.ToText(_records[index].MsisdnKey);

    /// <summary>The peer, or null when the record has none.</summary>
    public string? Peer(int index) =>
        _records[index].PeerAt < 0 ? null : System.Text.Encoding.UTF8.GetString(Bytes(_records[index].PeerAt, _records[index].PeerLength));

    /// <summary>A string of the table (cycle, plan, tariff version, zone, direction).</summary>
    public string Text(int text) => _texts[text];

    /// <summary>The day number of a cycle text, or <see cref="int.MinValue"/> when it is no date.</summary>
    public int CycleDay(int text) => _textDays[text];

    /// <summary>The number of a text in the table (added when new).</summary>
    public int TextOf(in RatedText text)
    {
        if (text.Text is { } escaped)
        {
            return TextOf(escaped);
        }

        // An unescaped text is found by its UTF-8 bytes (a hash, then the bytes compared): no characters decoded per record.
        var hash = XxHash3.HashToUInt64(text.Utf8);
        if (_textsByUtf8.TryGetValue(hash, out var known) && known.Utf8.AsSpan().SequenceEqual(text.Utf8))
        {
            return known.Index;
        }

        var index = TextOf(text.ToText());
        _textsByUtf8.TryAdd(hash, (text.Utf8.ToArray(), index));
        return index;
    }

    public int TextOf(string text)
    {
        if (_textIndex.TryGetValue(text, out var found))
        {
            return found;
        }

        _texts.Add(text);
        _textDays.Add(TryCycle(text, out var day) ? day : int.MinValue);
        return _textIndex[text] = _texts.Count - 1;
    }

    /// <summary>
    /// What ties a CDR line to a rated record: its id, type and start (as received), so a different CDR sent under an id
    /// already used is not taken for the rated one.
    /// </summary>
    public static ulong LineKey(ReadOnlySpan<byte> id, CdrType type, ReadOnlySpan<byte> start)
    {
        // One pass over the three parts laid side by side (the same value as appending them to an XxHash3 in turn),
        // on the stack for ids and starts of usual length: no hasher object per line.
        const int StackBytes = 256;
        var length = id.Length + 2 + start.Length;
        byte[]? rented = null;
        var bytes = length <= StackBytes ? stackalloc byte[StackBytes] : (rented = ArrayPool<byte>.Shared.Rent(length));
        id.CopyTo(bytes);
        bytes[id.Length] = 0;
        bytes[id.Length + 1] = (byte)type;
        start.CopyTo(bytes[(id.Length + 2)..]);
        var key = XxHash3.HashToUInt64(bytes[..length]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return key;
    }

    /// <summary>The day number of a cycle name (<c>yyyy-MM-dd</c>); false when it is none.</summary>
    public static bool TryCycle(string text, out int dayNumber)
    {
        dayNumber = 0;
        if (!Instant.TryParse(text + "T00:00:00Z", out var ticks))
        {
            return false;
        }

        dayNumber = (int)(ticks / Instant.TicksPerDay);
        return true;
    }

    private ReadOnlySpan<byte> Bytes(long at, int length) => _chunks[(int)(at >> 32)].AsSpan((int)at, length);

    private (long At, int Length) Store(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > ChunkBytes)
        {
            _chunks.Add(bytes.ToArray());
            return ((long)(_chunks.Count - 1) << 32, bytes.Length);
        }

        if (_chunk.Length - _used < bytes.Length)
        {
            _chunk = new byte[ChunkBytes];
            _chunks.Add(_chunk);
            _chunkIndex = _chunks.Count - 1;
            _used = 0;
        }

        var at = ((long)_chunkIndex << 32) | (uint)_used;
        bytes.CopyTo(_chunk.AsSpan(_used));
        _used += bytes.Length;
        return (at, bytes.Length);
    }
}

[Flags]
internal enum OldFlags : byte
{
    None = 0,
    HasUsed = 1,
    HasCapped = 2,
    HasSpend = 4,

    /// <summary>A CDR line of the replay was this record's.</summary>
    Done = 8,

    /// <summary>The old run rated its id more than once for the subscriber in its cycle.</summary>
    Ambiguous = 16,

    /// <summary>It comes before its subscriber's part of the CDR stream (taken as rated).</summary>
    BeforeStream = 32,

    /// <summary>Its id is not all ASCII: no CDR line is taken for it.</summary>
    NonAsciiId = 64,
}

/// <summary>One rated CDR record of the old run (see <see cref="OldRecords"/>).</summary>
internal struct OldRecord
{
    public ulong MsisdnKey;

    /// <summary>The key of its CDR line (<see cref="OldRecords.LineKey"/>).</summary>
    public ulong Key;

    /// <summary>The hash of its id, as the engine's duplicate memory holds ids.</summary>
    public ulong IdHash;

    /// <summary>
    /// The index of its subscriber's next record (-1: none), set as the next is taken in: the single pass of a re-rate
    /// moves on to it from this record, which it has read anyway, without a look into the subscriber's list. Next to the
    /// key, the hash and the flags, in the record's first 32 bytes, which the pass reads of a record it matches.
    /// </summary>
    public int NextOfSubscriber;

    public CdrType CdrType;
    public OldFlags Flags;

    public long StartTicks;
    public long Charge;
    public long AllowanceUnits;
    public long Used;
    public long Capped;
    public long Spend;

    /// <summary>Its place in the old run's output (its line in the rated file).</summary>
    public long Order;

    public long IdAt;
    public long PeerAt;
    public int IdLength;
    public int PeerLength;

    /// <summary>Numbers of its texts in the table; <see cref="Direction"/> -1 when it has none.</summary>
    public int Cycle;
    public int Plan;
    public int Version;
    public int Zone;
    public int Direction;

    /// <summary>
    /// The index of its subscriber's latest earlier record of the same cycle that has a cappedAfter (-1: none), set as
    /// the record is taken in: its D before this record (<c>Rerater.CappedBefore</c>) without a walk back over the
    /// subscriber's records.
    /// </summary>
    public int PreviousCapped;

    public readonly long? UsedAfter => (Flags & OldFlags.HasUsed) != 0 ? Used : null;

    public readonly long? CappedAfter => (Flags & OldFlags.HasCapped) != 0 ? Capped : null;

    public readonly long? SpendAfter => (Flags & OldFlags.HasSpend) != 0 ? Spend : null;

    public readonly bool Is(OldFlags flag) => (Flags & flag) != 0;

    public void Set(OldFlags flag, bool on) => Flags = on ? Flags | flag : Flags & ~flag;
}
