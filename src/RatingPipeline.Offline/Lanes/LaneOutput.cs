using System.Buffers;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;

namespace RatingPipeline.Lanes;

/// <summary>The four output files, in the order of <see cref="LaneOutput.Files"/>.</summary>
public enum OutputFile
{
    Rated = 0,
    Reminders = 1,
    Rejected = 2,
    Bills = 3,
}

/// <summary>
/// A stretch of one lane's output: the ends of its four buffers after it. A line of the lane's own is one segment; a
/// clock record is one segment per subscriber that wrote something, with the subscriber's msisdn order key, so the
/// lanes' segments of one clock can be merged into ascending msisdn order.
/// </summary>
internal struct Segment
{
    public ulong Order;
    public int Rated;
    public int Reminders;
    public int Rejected;
    public int Bills;

    public readonly int End(int file) => file switch
    {
        0 => Rated,
        1 => Reminders,
        2 => Rejected,
        _ => Bills,
    };
}

/// <summary>A growable byte buffer written by one lane, read by the merger once the lane is done with its block.</summary>
internal sealed class LaneBuffer(int capacity) : IBufferWriter<byte>
{
    private byte[] _buffer = new byte[capacity];

    public int Count { get; private set; }

    public ReadOnlySpan<byte> Written(int from, int to) => _buffer.AsSpan(from, to - from);

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

/// <summary>What one lane did with one block of lines: its outputs and where each line's part of them ends.</summary>
internal sealed class LaneOutput
{
    public const int Files = 4;

    public readonly LaneBuffer[] Buffers;

    /// <summary>The block's lines this lane processes (indices into the block), in file order.</summary>
    public int[] Lines = new int[1024];

    public int LineCount;

    /// <summary>Per processed line: the number of segments after it.</summary>
    public int[] LineSegmentEnds = new int[1024];

    public Segment[] Segments = new Segment[1024];

    public int SegmentCount;

    public LaneOutput(int bufferBytes)
    {
        Buffers = new LaneBuffer[Files];
        for (var i = 0; i < Files; i++)
        {
            // Rated records are most of the output; the other files a few per cent of it.
            Buffers[i] = new LaneBuffer(i == 0 ? bufferBytes : bufferBytes / 8);
        }
    }

    public void Reset()
    {
        LineCount = 0;
        SegmentCount = 0;
        foreach (var buffer in Buffers)
        {
            buffer.Reset();
        }
    }

    public void AddLine(int line)
    {
        if (LineCount == Lines.Length)
        {
            Array.Resize(ref Lines, Lines.Length * 2);
            Array.Resize(ref LineSegmentEnds, Lines.Length);
        }

        Lines[LineCount++] = line;
    }

    /// <summary>Ends a segment at the buffers' current ends.</summary>
    public void EndSegment(ulong order)
    {
        if (SegmentCount == Segments.Length)
        {
            Array.Resize(ref Segments, Segments.Length * 2);
        }

        ref var segment = ref Segments[SegmentCount++];
        segment.Order = order;
        segment.Rated = Buffers[0].Count;
        segment.Reminders = Buffers[1].Count;
        segment.Rejected = Buffers[2].Count;
        segment.Bills = Buffers[3].Count;
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
