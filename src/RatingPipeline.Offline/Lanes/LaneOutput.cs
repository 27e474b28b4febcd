using System.Buffers;
using RatingPipeline.IO;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;

namespace RatingPipeline.Lanes;

/// <summary>A growable byte buffer written by one lane, read by the merger once the lane is done with its block.</summary>
internal sealed class LaneBuffer(int capacity) : IBufferWriter<byte>
{
    private byte[] _buffer = new byte[capacity];

    public int Count { get; private set; }

    public ReadOnlyMemory<byte> WrittenMemory(int from, int to) => _buffer.AsMemory(from, to - from);

    public void Reset() => Count = 0;

    public void Advance(int count) => Count += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(Count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(Count);
    }

    private void Ensure(int sizeHint)
    {
        var need = Math.Max(sizeHint, 1);
        if (_buffer.Length - Count < need)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Count + need));
        }
    }
}

/// <summary>What one lane wrote for one block of lines: one byte buffer per output file, in segments.</summary>
internal sealed class LaneOutput : LaneParts
{
    public readonly LaneBuffer[] Buffers;

    /// <param name="files">The output files.</param>
    /// <param name="bufferBytes">The first file's buffer; the others get an eighth of it.</param>
    public LaneOutput(int files, int bufferBytes)
        : base(files)
    {
        Buffers = new LaneBuffer[files];
        for (var i = 0; i < files; i++)
        {
            // The first file (rated records, adjustments) is most of the output; the others a few per cent of it.
            Buffers[i] = new LaneBuffer(i == 0 ? bufferBytes : bufferBytes / 8);
        }
    }

    protected override int End(int channel) => Buffers[channel].Count;

    protected override void Clear()
    {
        foreach (var buffer in Buffers)
        {
            buffer.Reset();
        }
    }
}

/// <summary>
/// Writes the lanes' outputs of each block into the output files in processing order, straight from the lanes'
/// buffers (one vectored write per file and block, before the block goes back to the reader): consecutive parts of one
/// lane are one stretch, and with one lane each buffer is one stretch.
/// </summary>
internal sealed class ByteMerger(GatheringFile[] files, int lanes) : OrderedMerger<LaneOutput>(lanes)
{
    /// <summary>Per lane and file: the end of what was taken.</summary>
    private readonly int[,] _copied = new int[lanes, files.Length];

    /// <summary>Per file: the stretch waiting to be noted (lane, start, end).</summary>
    private readonly (int Lane, int Start, int End)[] _pending = new (int, int, int)[files.Length];

    public override void Merge(LineBlock<LaneOutput> block)
    {
        if (Lanes == 1)
        {
            var output = block.Parts[0];
            for (var file = 0; file < files.Length; file++)
            {
                files[file].Add(output.Buffers[file].WrittenMemory(0, output.Buffers[file].Count));
                files[file].Write();
            }

            return;
        }

        base.Merge(block);
    }

    protected override void Begin(LaneOutput[] parts)
    {
        Array.Clear(_copied);
        Array.Fill(_pending, (-1, 0, 0));
    }

    protected override void Take(LaneOutput[] parts, int lane, int segment)
    {
        for (var file = 0; file < files.Length; file++)
        {
            var start = _copied[lane, file];
            var end = parts[lane].SegmentEnd(segment, file);
            if (end == start)
            {
                continue;
            }

            _copied[lane, file] = end;
            ref var pending = ref _pending[file];
            if (pending.Lane == lane && pending.End == start)
            {
                pending.End = end;
                continue;
            }

            Note(parts, file);
            pending = (lane, start, end);
        }
    }

    protected override void End(LaneOutput[] parts)
    {
        for (var file = 0; file < files.Length; file++)
        {
            Note(parts, file);
            files[file].Write();
        }
    }

    private void Note(LaneOutput[] parts, int file)
    {
        ref var pending = ref _pending[file];
        if (pending.Lane >= 0)
        {
            files[file].Add(parts[pending.Lane].Buffers[file].WrittenMemory(pending.Start, pending.End));
            pending = (-1, 0, 0);
        }
    }
}

/// <summary>
/// The sink of one lane: writes JSON Lines into the lane's buffers and, while a clock record is applied, ends a
/// segment whenever the output moves on to the next subscriber (the engine applies a clock to one subscriber after
/// another, each one's outputs together, every output naming its msisdn).
/// </summary>
internal struct LaneSink(JsonlSink inner, LaneOutput output) : IRatingSink
{
    public JsonlSink Inner = inner;
    private readonly LaneOutput _output = output;
    private bool _clock;
    private bool _open;
    private ulong _key;
    private ulong _lastOrder;

    public void BeginClock()
    {
        _clock = true;
        _open = false;
        _lastOrder = 0;
    }

    public void EndClock()
    {
        if (_open)
        {
            Close();
        }

        _clock = false;
        _open = false;
    }

    public void Rated(in RatedCdr rated)
    {
        Subscriber(rated.MsisdnKey);
        Inner.Rated(in rated);
    }

    public void Reminder(in ReminderEvent reminder)
    {
        Subscriber(reminder.MsisdnKey);
        Inner.Reminder(in reminder);
    }

    public void Rejected(in RejectedCdr rejected)
    {
        Subscriber(rejected.MsisdnKey);
        Inner.Rejected(in rejected);
    }

    public void Bill(in BillRecord bill)
    {
        Subscriber(bill.MsisdnKey);
        Inner.Bill(in bill);
    }

    private void Subscriber(ulong key)
    {
        if (!_clock || (_open && key == _key))
        {
            return;
        }

        if (_open)
        {
            Close();
        }

        _key = key;
        _open = true;
    }

    private void Close()
    {
        var order = MsisdnKey.OrderKey(_key);
        if (order <= _lastOrder)
        {
            // The merge relies on each subscriber's clock outputs coming together, in ascending msisdn order.
            throw new InvalidOperationException($"clock outputs of {MsisdnKey.ToText(_key)} are not in msisdn order in their lane");
        }

        _lastOrder = order;
        _output.EndSegment(order);
    }
}
