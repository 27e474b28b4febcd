using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Lanes;

/// <summary>Decides which lane a non-blank line of a file goes to (or <see cref="LaneRouter.EveryLane"/>). One per reader thread.</summary>
internal interface ILaneRoute
{
    byte Route(ReadOnlySpan<byte> line);

    /// <summary>The msisdn key of the line last routed when the route found it (0: not known); lanes prefetch by it.</summary>
    ulong LastKey => 0;

    /// <summary>Lines the route could not settle without decoding them in full (for the figures).</summary>
    long Decoded { get; }
}

/// <summary>A block of whole lines of the input, their routes, and what each lane makes of them.</summary>
internal sealed class LineBlock<TParts>
    where TParts : LaneParts
{
    public byte[] Input = new byte[LanePass.BlockBytes];
    public int Length;

    /// <summary>Input bytes of the file done when this block is.</summary>
    public long EndPosition;

    public int[] Starts = new int[16 * 1024];
    public int[] Lengths = new int[16 * 1024];
    public byte[] Routes = new byte[16 * 1024];

    /// <summary>Per line: the msisdn key the route found, 0 when it did not look or could not tell.</summary>
    public ulong[] Keys = new ulong[16 * 1024];

    /// <summary>Per line: its number in the file (1-based; blank lines are counted, not kept).</summary>
    public long[] Numbers = new long[16 * 1024];
    public int LineCount;

    public TParts[] Parts = [];
    public CountdownEvent Done = new(1);

    public ReadOnlySpan<byte> Line(int index) => Input.AsSpan(Starts[index], Lengths[index]);

    public void AddLine(int start, int length, byte route, long number, ulong key)
    {
        if (LineCount == Starts.Length)
        {
            Array.Resize(ref Starts, Starts.Length * 2);
            Array.Resize(ref Lengths, Starts.Length);
            Array.Resize(ref Routes, Starts.Length);
            Array.Resize(ref Numbers, Starts.Length);
            Array.Resize(ref Keys, Starts.Length);
        }

        Starts[LineCount] = start;
        Lengths[LineCount] = length;
        Numbers[LineCount] = number;
        Keys[LineCount] = key;
        Routes[LineCount++] = route;
    }
}

/// <summary>
/// What one lane made of one block: the block's lines it processed and the stretches (segments) of its output, each
/// with an order key and, per output channel, where it ends. A line of the lane's own is one segment; a line every
/// lane processes (a clock) is one segment per subscriber that wrote something, ordered by msisdn, so the lanes'
/// segments of that line can be merged into one order. What a channel is (a byte buffer, a list) is the subclass's.
/// </summary>
internal abstract class LaneParts(int channels)
{
    /// <summary>The block's lines this lane processes (indices into the block), in file order.</summary>
    public int[] Lines = new int[1024];

    public int LineCount;

    /// <summary>Per processed line: the number of segments after it.</summary>
    public int[] LineSegmentEnds = new int[1024];

    public ulong[] Orders = new ulong[1024];

    /// <summary>Per segment and channel (segment × channels + channel): the channel's end after the segment.</summary>
    public int[] Ends = new int[1024 * channels];

    public int SegmentCount;

    public int Channels { get; } = channels;

    public void AddLine(int line)
    {
        if (LineCount == Lines.Length)
        {
            Array.Resize(ref Lines, Lines.Length * 2);
            Array.Resize(ref LineSegmentEnds, Lines.Length);
        }

        Lines[LineCount++] = line;
    }

    /// <summary>Ends a segment at the channels' current ends.</summary>
    public void EndSegment(ulong order)
    {
        if (SegmentCount == Orders.Length)
        {
            Array.Resize(ref Orders, Orders.Length * 2);
            Array.Resize(ref Ends, Orders.Length * Channels);
        }

        Orders[SegmentCount] = order;
        for (var channel = 0; channel < Channels; channel++)
        {
            Ends[(SegmentCount * Channels) + channel] = End(channel);
        }

        SegmentCount++;
    }

    public int SegmentEnd(int segment, int channel) => Ends[(segment * Channels) + channel];

    public void Reset()
    {
        LineCount = 0;
        SegmentCount = 0;
        Clear();
    }

    /// <summary>The current end of a channel.</summary>
    protected abstract int End(int channel);

    /// <summary>Empties the channels for the next block.</summary>
    protected abstract void Clear();
}

/// <summary>The parts of a pass whose lanes only build state: no output, no segments to merge.</summary>
internal sealed class NoOutput() : LaneParts(0)
{
    protected override int End(int channel) => 0;

    protected override void Clear()
    {
    }
}

/// <summary>A lane that hands each of its lines to a handler (a pass that only builds the lane's state).</summary>
internal sealed class HandlerWorker(IO.LineReader.LineHandler handler) : LaneWorker<NoOutput>
{
    public override void Line(ReadOnlySpan<byte> line, long number, bool everyLane, NoOutput parts) => handler(line);
}

/// <summary>The work of one lane: its lines of each block, in file order, on the lane's own thread.</summary>
internal abstract class LaneWorker<TParts>
    where TParts : LaneParts
{
    public virtual void BeginBlock(TParts parts)
    {
    }

    /// <summary>
    /// One line (its number in the file); <paramref name="everyLane"/> for a line every lane processes, whose outputs the
    /// worker ends in segments by order key itself.
    /// </summary>
    public abstract void Line(ReadOnlySpan<byte> line, long number, bool everyLane, TParts parts);

    /// <summary>How many lines ahead the worker wants to hear of in <see cref="Prefetch"/> (0: no calls).</summary>
    public virtual int PrefetchDepth => 0;

    /// <summary>
    /// Before each line: the msisdn keys of the worker's next <see cref="PrefetchDepth"/> lines (<paramref name="ahead"/>[0]
    /// the next; 0 where the route did not find one). A worker whose lines touch per-subscriber tables larger than the
    /// cache brings the subscribers' entries in while it works on the lines before.
    /// </summary>
    public virtual void Prefetch(ReadOnlySpan<ulong> ahead)
    {
    }

    public virtual void EndBlock(TParts parts)
    {
    }
}

/// <summary>
/// Puts the lanes' parts of a block into processing order: the segments of each line in line order, and the segments
/// of a line every lane processed in ascending order key across the lanes. What taking a segment means (copying
/// bytes, passing items on) is the subclass's.
/// </summary>
internal abstract class OrderedMerger<TParts>(int lanes)
    where TParts : LaneParts
{
    private readonly int[] _line = new int[lanes];
    private readonly int[] _segment = new int[lanes];
    private readonly int[] _ends = new int[lanes];

    protected int Lanes { get; } = lanes;

    /// <summary>Merges one block (the lanes are done with it).</summary>
    public virtual void Merge(LineBlock<TParts> block)
    {
        Begin(block.Parts);
        Array.Clear(_line);
        Array.Clear(_segment);
        var parts = block.Parts;
        for (var i = 0; i < block.LineCount; i++)
        {
            var route = block.Routes[i];
            if (route != LaneRouter.EveryLane)
            {
                var end = parts[route].LineSegmentEnds[_line[route]++];
                while (_segment[route] < end)
                {
                    Take(parts, route, _segment[route]++);
                }

                continue;
            }

            for (var lane = 0; lane < Lanes; lane++)
            {
                _ends[lane] = parts[lane].LineSegmentEnds[_line[lane]++];
            }

            ByOrder(parts);
        }

        End(parts);
    }

    /// <summary>Merges every segment of the lanes' parts in ascending order key (each lane's already ascending).</summary>
    public void MergeByOrder(TParts[] parts)
    {
        Begin(parts);
        for (var lane = 0; lane < Lanes; lane++)
        {
            _segment[lane] = 0;
            _ends[lane] = parts[lane].SegmentCount;
        }

        ByOrder(parts);
        End(parts);
    }

    protected virtual void Begin(TParts[] parts)
    {
    }

    protected abstract void Take(TParts[] parts, int lane, int segment);

    protected virtual void End(TParts[] parts)
    {
    }

    private void ByOrder(TParts[] parts)
    {
        while (true)
        {
            var next = -1;
            var least = ulong.MaxValue;
            for (var lane = 0; lane < Lanes; lane++)
            {
                if (_segment[lane] < _ends[lane] && parts[lane].Orders[_segment[lane]] <= least)
                {
                    least = parts[lane].Orders[_segment[lane]];
                    next = lane;
                }
            }

            if (next < 0)
            {
                return;
            }

            Take(parts, next, _segment[next]++);
        }
    }
}

/// <summary>The counts of one pass: non-blank lines, and lines the router decoded in full.</summary>
internal readonly record struct PassTotals(long Lines, long Decoded);

/// <summary>
/// One pass of a file through the lanes: a reader thread splits the file into blocks of whole lines and routes each
/// non-blank line (<see cref="ILaneRoute"/>); each lane is a thread whose <see cref="LaneWorker{TParts}"/> processes its
/// lines of each block in file order; a merger thread takes the blocks in file order once every lane is done with
/// them (<see cref="OrderedMerger{TParts}"/>, or none when the lanes only build state) and hands them back to the reader.
/// </summary>
internal static class LanePass
{
    /// <summary>Bytes of input per block; a longer line gets a larger block.</summary>
    public const int BlockBytes = 1 << 20;

    /// <summary>Blocks in flight: being read, processed and merged at once.</summary>
    private const int BlocksInFlight = 4;

    /// <summary>
    /// About what a pass's blocks hold once each has been through the pass (their input, its lines' places, and the lanes' outputs
    /// of a rating pass: about four bytes out per byte in, with room to grow), whatever the lanes.
    /// </summary>
    public const long BlocksBytes = BlocksInFlight * 8L * BlockBytes;

    /// <summary>Checks a lane count: between 1 and <see cref="LaneRouter.MaxLanes"/>.</summary>
    public static int CheckLanes(int lanes) => lanes is >= 1 and <= LaneRouter.MaxLanes
        ? lanes
        : throw new ArgumentOutOfRangeException(nameof(lanes), lanes, $"between 1 and {LaneRouter.MaxLanes} lanes");

    /// <summary>
    /// Runs the pass to the end of the file. Blocks until every line is processed and merged; the first failure of any
    /// thread stops the others and is thrown. <paramref name="onBytes"/> hears the input bytes merged so far.
    /// </summary>
    public static PassTotals Run<TParts>(string path, ILaneRoute route, IReadOnlyList<LaneWorker<TParts>> workers, Func<TParts> newParts,
        OrderedMerger<TParts>? merger, Action<long>? onBytes, CancellationToken cancel)
        where TParts : LaneParts
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var run = new Pass<TParts>(route, workers, newParts, merger, failed.Token);
        var threads = new List<Thread>();
        var errors = new ConcurrentQueue<Exception>();

        void Start(string name, Action body)
        {
            var thread = new Thread(() =>
            {
                try
                {
                    body();
                }
                catch (OperationCanceledException) when (failed.IsCancellationRequested)
                {
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                    failed.Cancel();
                }
            })
            { Name = name, IsBackground = true };
            threads.Add(thread);
            thread.Start();
        }

        using (var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            Start("lanes-reader", () => run.Read(file));
            for (var lane = 0; lane < workers.Count; lane++)
            {
                var index = lane;
                Start($"lane-{index}", () => run.Work(index));
            }

            Start("lanes-merger", () => run.Merge(onBytes));
            foreach (var thread in threads)
            {
                thread.Join();
            }
        }

        if (!errors.IsEmpty)
        {
            throw errors.Count == 1 ? errors.First() : new AggregateException(errors);
        }

        cancel.ThrowIfCancellationRequested();
        return new PassTotals(run.Lines, run.Decoded);
    }

    /// <summary>One pass: the queues between the threads.</summary>
    private sealed class Pass<TParts>
        where TParts : LaneParts
    {
        private readonly ILaneRoute _route;
        private readonly IReadOnlyList<LaneWorker<TParts>> _workers;
        private readonly OrderedMerger<TParts>? _merger;
        private readonly CancellationToken _stop;
        private readonly BlockingCollection<LineBlock<TParts>> _free = new();
        private readonly BlockingCollection<LineBlock<TParts>>[] _toLane;
        private readonly BlockingCollection<LineBlock<TParts>> _toMerger = new();

        public Pass(ILaneRoute route, IReadOnlyList<LaneWorker<TParts>> workers, Func<TParts> newParts, OrderedMerger<TParts>? merger,
            CancellationToken stop)
        {
            _route = route;
            _workers = workers;
            _merger = merger;
            _stop = stop;
            var lanes = CheckLanes(workers.Count);
            _toLane = new BlockingCollection<LineBlock<TParts>>[lanes];
            for (var lane = 0; lane < lanes; lane++)
            {
                _toLane[lane] = [];
            }

            for (var i = 0; i < BlocksInFlight; i++)
            {
                var block = new LineBlock<TParts> { Parts = new TParts[lanes], Done = new CountdownEvent(lanes) };
                for (var lane = 0; lane < lanes; lane++)
                {
                    block.Parts[lane] = newParts();
                }

                _free.Add(block);
            }
        }

        public long Lines { get; private set; }

        public long Decoded { get; private set; }

        /// <summary>The reader: fills blocks with whole lines, routes each non-blank line, hands the block on.</summary>
        public void Read(SafeFileHandle file)
        {
            long position = 0;
            long number = 0;
            byte[] carry = [];
            var carried = 0;
            var ended = false;
            try
            {
                while (!ended)
                {
                    var block = _free.Take(_stop);
                    block.LineCount = 0;
                    if (block.Input.Length < Math.Max(BlockBytes, carried * 2))
                    {
                        block.Input = new byte[Math.Max(BlockBytes, carried * 2)];
                    }

                    carry.AsSpan(0, carried).CopyTo(block.Input);
                    var filled = carried;
                    int complete;
                    while (true)
                    {
                        var read = RandomAccess.Read(file, block.Input.AsSpan(filled), position);
                        position += read;
                        filled += read;
                        ended = read == 0;
                        complete = block.Input.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                        if (ended)
                        {
                            complete = filled; // the last line needs no '\n'
                            break;
                        }

                        if (complete > 0 && filled == block.Input.Length)
                        {
                            break;
                        }

                        if (filled == block.Input.Length)
                        {
                            // One line longer than the block: a larger block.
                            Array.Resize(ref block.Input, block.Input.Length * 2);
                        }
                    }

                    carried = filled - complete;
                    if (carry.Length < carried)
                    {
                        carry = new byte[Math.Max(carried, 4096)];
                    }

                    block.Input.AsSpan(complete, carried).CopyTo(carry);
                    block.Length = complete;
                    block.EndPosition = position - carried;
                    number = Split(block, number);
                    foreach (var lane in _toLane)
                    {
                        lane.Add(block, _stop);
                    }

                    _toMerger.Add(block, _stop);
                }
            }
            finally
            {
                Decoded = _route.Decoded;
                foreach (var lane in _toLane)
                {
                    lane.CompleteAdding();
                }

                _toMerger.CompleteAdding();
            }
        }

        /// <summary>Routes the block's lines; returns the number of the last line read.</summary>
        /// <remarks>
        /// Compiled by the JIT at its first call, fully optimised (as are <see cref="Work"/> and the router's scan): a
        /// method that runs for the whole pass would otherwise keep the ahead-of-time code it started in, whose calls
        /// into the runtime library are not inlined (about 5 % more CPU per CDR).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private long Split(LineBlock<TParts> block, long number)
        {
            var lanes = block.Parts;
            foreach (var lane in lanes)
            {
                lane.Reset();
            }

            var input = block.Input.AsSpan(0, block.Length);
            var start = 0;
            while (start < input.Length)
            {
                var end = input[start..].IndexOf((byte)'\n');
                var length = end < 0 ? input.Length - start : end;
                var line = input.Slice(start, length);
                number++;
                if (!SubscriberFile.IsBlank(line))
                {
                    var route = _route.Route(line);
                    var index = block.LineCount;
                    block.AddLine(start, length, route, number, _route.LastKey);
                    if (route == LaneRouter.EveryLane)
                    {
                        foreach (var lane in lanes)
                        {
                            lane.AddLine(index);
                        }
                    }
                    else
                    {
                        lanes[route].AddLine(index);
                    }
                }

                start += length + 1;
            }

            Lines += block.LineCount;
            return number;
        }

        /// <summary>A lane: its worker processes its lines of each block.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Work(int lane)
        {
            var worker = _workers[lane];
            var several = _workers.Count > 1;
            var depth = worker.PrefetchDepth;
            Span<ulong> ahead = stackalloc ulong[depth];
            foreach (var block in _toLane[lane].GetConsumingEnumerable(_stop))
            {
                var parts = block.Parts[lane];
                worker.BeginBlock(parts);
                for (var i = 0; i < parts.LineCount; i++)
                {
                    if (depth > 0)
                    {
                        for (var k = 0; k < depth; k++)
                        {
                            var at = i + 1 + k;
                            ahead[k] = at < parts.LineCount ? block.Keys[parts.Lines[at]] : 0;
                        }

                        worker.Prefetch(ahead);
                    }

                    var index = parts.Lines[i];
                    var everyLane = block.Routes[index] == LaneRouter.EveryLane;
                    worker.Line(block.Line(index), block.Numbers[index], everyLane, parts);
                    if (!everyLane && several)
                    {
                        parts.EndSegment(0);
                    }

                    parts.LineSegmentEnds[i] = parts.SegmentCount;
                }

                worker.EndBlock(parts);
                block.Done.Signal();
            }
        }

        /// <summary>The merger: takes each block in file order once every lane is done with it.</summary>
        public void Merge(Action<long>? onBytes)
        {
            foreach (var block in _toMerger.GetConsumingEnumerable(_stop))
            {
                block.Done.Wait(_stop);
                _merger?.Merge(block);
                onBytes?.Invoke(block.EndPosition);
                block.Done.Reset();
                _free.Add(block, _stop);
            }
        }
    }
}
