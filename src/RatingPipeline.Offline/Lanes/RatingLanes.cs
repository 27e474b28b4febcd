using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Lanes;

/// <summary>The totals of a run through the lanes: non-blank lines, then the counts SPEC §6's summary line prints.</summary>
public sealed record LaneTotals(long Lines, long Rated, long Fees, long Rejected, long Reminders, long Bills, long Located, long Clocks,
    long Profiles, long Decoded);

/// <summary>
/// Rates a CDR file on several threads with the result of one: a reader splits the file into blocks of lines and
/// routes each line (<see cref="LaneRouter"/>); each lane is a thread with its own <see cref="RatingEngine"/> that holds
/// the profiles and states of its share of the subscribers and writes its outputs into its own buffers, noting where
/// each line's part ends; a merger copies those parts into the four output files in the order of the lines, and for a
/// clock record in ascending msisdn order across the lanes — so every file is byte for byte what one engine rating
/// the lines one after another writes (SPEC §6).
/// </summary>
public sealed class RatingLanes
{
    /// <summary>Bytes of input per block; a longer line gets a larger block.</summary>
    private const int BlockBytes = 1 << 20;

    /// <summary>Blocks in flight: being read, rated and merged at once.</summary>
    private const int BlocksInFlight = 4;

    /// <summary>Fewer bytes than any valid CDR line has (used to bound the usage states reserved up front).</summary>
    private const long MinCdrBytes = 64;

    private readonly Tariff _tariff;
    private readonly int _lanes;
    private readonly RatingEngine[] _engines;

    public RatingLanes(Tariff tariff, IReadOnlyCollection<SubscriberProfile> profiles, int lanes, long inputBytes)
    {
        _tariff = tariff;
        _lanes = lanes is >= 1 and <= LaneRouter.MaxLanes
            ? lanes
            : throw new ArgumentOutOfRangeException(nameof(lanes), lanes, $"between 1 and {LaneRouter.MaxLanes} lanes");
        _engines = new RatingEngine[lanes];
        var shares = new int[lanes];
        foreach (var profile in profiles)
        {
            shares[LaneRouter.LaneOf(profile.MsisdnKey, lanes)]++;
        }

        for (var lane = 0; lane < lanes; lane++)
        {
            _engines[lane] = new RatingEngine(tariff) { AcceptsProfileLines = true };

            // A state exists only for a subscriber with an accepted record: at most one per profile and one per 64
            // bytes of input, so a small input reserves little.
            _engines[lane].EnsureCapacity(shares[lane], (int)Math.Min(shares[lane], inputBytes / MinCdrBytes));
        }

        foreach (var profile in profiles)
        {
            _engines[LaneRouter.LaneOf(profile.MsisdnKey, lanes)].SetProfile(profile);
        }
    }

    /// <summary>The default number of lanes: one per core.</summary>
    public static int DefaultLanes => Math.Clamp(Environment.ProcessorCount, 1, LaneRouter.MaxLanes);

    public Tariff Tariff => _tariff;

    /// <summary>
    /// Rates the file's lines in file order into the four writers (rated, reminders, rejected, bills). Blocks until the
    /// input is read to its end and every output is handed to its writer; <paramref name="onBytes"/> hears the input
    /// bytes done so far.
    /// </summary>
    public LaneTotals Run(string cdrPath, IBufferWriter<byte> rated, IBufferWriter<byte> reminders, IBufferWriter<byte> rejected,
        IBufferWriter<byte> bills, Action<long>? onBytes, CancellationToken cancel)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var run = new LaneRun(this, [rated, reminders, rejected, bills], failed);
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

        using (var file = File.OpenHandle(cdrPath, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            Start("lanes-reader", () => run.Read(file));
            for (var lane = 0; lane < _lanes; lane++)
            {
                var index = lane;
                Start($"lane-{index}", () => run.Rate(index));
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
        return run.Totals();
    }

    /// <summary>A block of whole lines and everything the lanes and the merger make of it.</summary>
    private sealed class Block
    {
        public byte[] Input = new byte[BlockBytes];
        public int Length;

        /// <summary>Input bytes of the file done when this block is.</summary>
        public long EndPosition;

        public int[] Starts = new int[16 * 1024];
        public int[] Lengths = new int[16 * 1024];
        public byte[] Routes = new byte[16 * 1024];
        public int LineCount;

        public LaneOutput[] Lanes = [];
        public CountdownEvent Rated = new(1);

        public void AddLine(int start, int length, byte route)
        {
            if (LineCount == Starts.Length)
            {
                Array.Resize(ref Starts, Starts.Length * 2);
                Array.Resize(ref Lengths, Starts.Length);
                Array.Resize(ref Routes, Starts.Length);
            }

            Starts[LineCount] = start;
            Lengths[LineCount] = length;
            Routes[LineCount++] = route;
        }
    }

    /// <summary>One run: the queues between the threads and the counts.</summary>
    private sealed class LaneRun
    {
        private readonly RatingLanes _owner;
        private readonly IBufferWriter<byte>[] _files;
        private readonly CancellationToken _stop;
        private readonly BlockingCollection<Block> _free = new();
        private readonly BlockingCollection<Block>[] _toLane;
        private readonly BlockingCollection<Block> _toMerger = new();
        private readonly JsonlSink[] _totals;
        private readonly long[] _located, _clocks, _profiles;
        private long _lines, _decoded;

        public LaneRun(RatingLanes owner, IBufferWriter<byte>[] files, CancellationTokenSource stop)
        {
            _owner = owner;
            _files = files;
            _stop = stop.Token;
            var lanes = owner._lanes;
            _toLane = new BlockingCollection<Block>[lanes];
            for (var lane = 0; lane < lanes; lane++)
            {
                _toLane[lane] = [];
            }

            _totals = new JsonlSink[lanes];
            _located = new long[lanes];
            _clocks = new long[lanes];
            _profiles = new long[lanes];
            for (var i = 0; i < BlocksInFlight; i++)
            {
                var block = new Block { Lanes = new LaneOutput[lanes], Rated = new CountdownEvent(lanes) };
                for (var lane = 0; lane < lanes; lane++)
                {
                    // About three bytes out per byte in, shared by the lanes.
                    block.Lanes[lane] = new LaneOutput(4 * BlockBytes / lanes);
                }

                _free.Add(block);
            }
        }

        public LaneTotals Totals()
        {
            long rated = 0, fees = 0, rejected = 0, reminders = 0, bills = 0;
            foreach (var sink in _totals)
            {
                rated += sink.RatedCount;
                fees += sink.FeeCount;
                rejected += sink.RejectedCount;
                reminders += sink.ReminderCount;
                bills += sink.BillCount;
            }

            // A clock record is every lane's; lane 0 counts it.
            return new LaneTotals(_lines, rated, fees, rejected, reminders, bills, _located.Sum(), _clocks[0], _profiles.Sum(), _decoded);
        }

        /// <summary>The reader: fills blocks with whole lines, routes each non-blank line, hands the block on.</summary>
        public void Read(SafeFileHandle file)
        {
            var router = new LaneRouter(_owner._lanes);
            long position = 0;
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
                    Split(block, router);
                    foreach (var lane in _toLane)
                    {
                        lane.Add(block, _stop);
                    }

                    _toMerger.Add(block, _stop);
                }
            }
            finally
            {
                _decoded = router.Decoded;
                foreach (var lane in _toLane)
                {
                    lane.CompleteAdding();
                }

                _toMerger.CompleteAdding();
            }
        }

        private void Split(Block block, LaneRouter router)
        {
            var lanes = block.Lanes;
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
                if (!SubscriberFile.IsBlank(line))
                {
                    var route = router.Route(line);
                    var index = block.LineCount;
                    block.AddLine(start, length, route);
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

            _lines += block.LineCount;
        }

        /// <summary>A lane: rates its lines of each block with its engine into its buffers.</summary>
        public void Rate(int lane)
        {
            var engine = _owner._engines[lane];
            var writer = new RecordWriter();
            var several = _owner._lanes > 1;
            long located = 0, clocks = 0, profiles = 0;
            var totals = default(JsonlSink);
            foreach (var block in _toLane[lane].GetConsumingEnumerable(_stop))
            {
                var output = block.Lanes[lane];
                var buffers = output.Buffers;
                var sink = new LaneSink(new JsonlSink(writer, buffers[0], buffers[1], buffers[2], buffers[3]), output);
                var input = block.Input;
                for (var i = 0; i < output.LineCount; i++)
                {
                    var index = output.Lines[i];
                    var line = input.AsSpan(block.Starts[index], block.Lengths[index]);
                    var everyLane = block.Routes[index] == LaneRouter.EveryLane;
                    if (everyLane)
                    {
                        sink.BeginClock();
                    }

                    switch (engine.Process(line, ref sink))
                    {
                        case RatingResult.Located:
                            located++;
                            break;
                        case RatingResult.Clock:
                            clocks++;
                            break;
                        case RatingResult.Profile:
                            profiles++;
                            break;
                    }

                    if (everyLane)
                    {
                        sink.EndClock();
                    }
                    else if (several)
                    {
                        output.EndSegment(0);
                    }

                    output.LineSegmentEnds[i] = output.SegmentCount;
                }

                totals.RatedCount += sink.Inner.RatedCount;
                totals.FeeCount += sink.Inner.FeeCount;
                totals.RejectedCount += sink.Inner.RejectedCount;
                totals.ReminderCount += sink.Inner.ReminderCount;
                totals.BillCount += sink.Inner.BillCount;
                block.Rated.Signal();
            }

            _totals[lane] = totals;
            _located[lane] = located;
            _clocks[lane] = clocks;
            _profiles[lane] = profiles;
        }

        /// <summary>The merger: copies the lanes' outputs of each block into the files in processing order.</summary>
        public void Merge(Action<long>? onBytes)
        {
            var lanes = _owner._lanes;
            var merge = new Merger(_files, lanes);
            foreach (var block in _toMerger.GetConsumingEnumerable(_stop))
            {
                block.Rated.Wait(_stop);
                if (lanes == 1)
                {
                    merge.CopyAll(block.Lanes[0]);
                }
                else
                {
                    merge.Interleave(block);
                }

                onBytes?.Invoke(block.EndPosition);
                block.Rated.Reset();
                _free.Add(block, _stop);
            }
        }
    }

    /// <summary>Puts the lanes' parts of a block in order; consecutive parts of one lane are copied as one.</summary>
    private sealed class Merger(IBufferWriter<byte>[] files, int lanes)
    {
        private readonly int[] _line = new int[lanes];
        private readonly int[] _segment = new int[lanes];
        private readonly int[] _ends = new int[lanes];

        /// <summary>Per lane and file: the end of what was copied.</summary>
        private readonly int[,] _copied = new int[lanes, LaneOutput.Files];

        /// <summary>Per file: the part waiting to be copied (lane, start, end).</summary>
        private readonly (int Lane, int Start, int End)[] _pending = new (int, int, int)[LaneOutput.Files];

        public void CopyAll(LaneOutput output)
        {
            for (var file = 0; file < LaneOutput.Files; file++)
            {
                Copy(files[file], output.Buffers[file].Written(0, output.Buffers[file].Count));
            }
        }

        public void Interleave(Block block)
        {
            Array.Clear(_line);
            Array.Clear(_segment);
            Array.Clear(_copied);
            for (var file = 0; file < LaneOutput.Files; file++)
            {
                _pending[file] = (-1, 0, 0);
            }

            var outputs = block.Lanes;
            for (var i = 0; i < block.LineCount; i++)
            {
                var route = block.Routes[i];
                if (route != LaneRouter.EveryLane)
                {
                    var output = outputs[route];
                    var end = output.LineSegmentEnds[_line[route]++];
                    while (_segment[route] < end)
                    {
                        Take(outputs, route);
                    }

                    continue;
                }

                // A clock: each lane's subscribers in msisdn order; merged, all of them in msisdn order.
                for (var lane = 0; lane < lanes; lane++)
                {
                    _ends[lane] = outputs[lane].LineSegmentEnds[_line[lane]++];
                }

                while (true)
                {
                    var next = -1;
                    ulong least = ulong.MaxValue;
                    for (var lane = 0; lane < lanes; lane++)
                    {
                        if (_segment[lane] < _ends[lane] && outputs[lane].Segments[_segment[lane]].Order <= least)
                        {
                            least = outputs[lane].Segments[_segment[lane]].Order;
                            next = lane;
                        }
                    }

                    if (next < 0)
                    {
                        break;
                    }

                    Take(outputs, next);
                }
            }

            for (var file = 0; file < LaneOutput.Files; file++)
            {
                Flush(outputs, file);
            }
        }

        private void Take(LaneOutput[] outputs, int lane)
        {
            var segment = outputs[lane].Segments[_segment[lane]++];
            for (var file = 0; file < LaneOutput.Files; file++)
            {
                var start = _copied[lane, file];
                var end = segment.End(file);
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

                Flush(outputs, file);
                pending = (lane, start, end);
            }
        }

        private void Flush(LaneOutput[] outputs, int file)
        {
            ref var pending = ref _pending[file];
            if (pending.Lane >= 0)
            {
                Copy(files[file], outputs[pending.Lane].Buffers[file].Written(pending.Start, pending.End));
                pending = (-1, 0, 0);
            }
        }

        private static void Copy(IBufferWriter<byte> to, ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                var span = to.GetSpan(1);
                var n = Math.Min(span.Length, bytes.Length);
                bytes[..n].CopyTo(span);
                to.Advance(n);
                bytes = bytes[n..];
            }
        }
    }
}
