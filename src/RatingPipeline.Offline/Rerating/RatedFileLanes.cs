using RatingPipeline.Lanes;
using RatingPipeline.Records;

namespace RatingPipeline.Rerating;

/// <summary>
/// Routes a line of a rated-record file to the lane of its msisdn: read by the scans of <see cref="LaneRouter"/> (from the
/// left up to the msisdn, or over the whole line when it has no escape), else from the record read in full; a line that
/// is no rated record goes to lane 0 (whose lane reports it).
/// </summary>
internal sealed class RatedLaneRouter(int lanes) : ILaneRoute
{
    private readonly RatedRecordReader _reader = new() { IncludeFees = true };

    public long Decoded { get; private set; }

    /// <summary>The msisdn key the scan found in the line last routed (0: none); the lanes prefetch by it.</summary>
    public ulong LastKey { get; private set; }

    public byte Route(ReadOnlySpan<byte> line)
    {
        // The scan runs with one lane too: its key lets the lane prefetch the subscriber's data.
        // The product writes the msisdn second: read from the left, it is found after the id. A line of another order
        // is searched whole when it has no escape.
        if ((LaneRouter.TryLeadingMembers(line, needType: false, out _, out var msisdn)
                || (!line.Contains((byte)'\\') && LaneRouter.TryTopLevelString(line, "\"msisdn\""u8, out msisdn)))
            && MsisdnKey.TryCompute(msisdn, out var key))
        {
            LastKey = key;
            return (byte)LaneRouter.LaneOf(key, lanes);
        }

        LastKey = 0;
        if (lanes == 1)
        {
            return 0;
        }

        Decoded++;
        return _reader.TryReadLine(line, first: true, out _) is { } record ? (byte)LaneRouter.LaneOf(record.MsisdnKey, lanes) : (byte)0;
    }
}

/// <summary>
/// A lane's part of reading a rated-record file: reads each of its lines as <see cref="RatedRecordReader.ReadFileWithLines"/>
/// does and hands the record on with its line number; keeps the first line that is no rated record, and reads no
/// further lines after it.
/// </summary>
internal sealed class RatedLineWorker(bool includeFees, Action<RatedRecord, long> take) : LaneWorker<NoOutput>
{
    private readonly RatedRecordReader _reader = new() { IncludeFees = includeFees };

    /// <summary>The first refused line of the lane (line number and error), if any.</summary>
    public (long Line, string Error)? Refused { get; private set; }

    public override void Line(ReadOnlySpan<byte> line, long number, bool everyLane, NoOutput parts)
    {
        if (Refused is not null)
        {
            return;
        }

        if (_reader.TryReadLine(line, number == 1, out var error) is { } record)
        {
            take(record, number);
        }
        else if (error is not null)
        {
            Refused = (number, error);
        }
    }
}

/// <summary>
/// A lane's part of reading a rated-record file for re-rating: reads each of its lines as <see cref="RatedLineWorker"/>
/// does, without making a record object, into its re-rater (<see cref="Rerater.AddRated(ref RatedLine, long)"/>).
/// </summary>
internal sealed class RerateLineWorker(Rerater rerater) : LaneWorker<NoOutput>
{
    public (long Line, string Error)? Refused { get; private set; }

    public override int PrefetchDepth => Rerater.SubscriberPrefetchDepth;

    public override void Prefetch(ReadOnlySpan<ulong> ahead) => rerater.PrefetchSubscribers(ahead);

    public override void Line(ReadOnlySpan<byte> line, long number, bool everyLane, NoOutput parts)
    {
        if (Refused is not null)
        {
            return;
        }

        var record = default(RatedLine);
        if (RatedRecordReader.TryParseLine(line, number == 1, includeFees: true, ref record, out var error))
        {
            rerater.AddRated(ref record, number);
        }
        else if (error is not null)
        {
            Refused = (number, error);
        }
    }
}

/// <summary>The passes of a rated-record file and a CDR file through the lanes that re-rating and the audit share.</summary>
internal static class RatedFileLanes
{
    /// <summary>Fewer bytes than a rated record's line of the product's layout has (every member written; about 400 with the generator's ids).</summary>
    private const long MinRatedLineBytes = 320;

    /// <summary>The most records a lane is made room for up front (the tables grow past it as they go).</summary>
    private const int MaxExpectedPerLane = 1 << 26;

    /// <summary>
    /// Reads a rated-record file into the lanes: each record to the <paramref name="take"/> of its subscriber's lane, with its
    /// line number, in file order per lane. A line that is no rated record stops the reading as
    /// <see cref="RatedRecordReader.ReadFileWithLines"/> does: the first such line of the file is thrown. <paramref name="onBytes"/>
    /// hears the bytes of the file read to the end of their lines so far.
    /// </summary>
    public static long Read(string path, bool includeFees, IReadOnlyList<Action<RatedRecord, long>> take, CancellationToken cancel,
        Action<long>? onBytes = null)
    {
        var workers = take.Select(t => new RatedLineWorker(includeFees, t)).ToArray();
        var pass = LanePass.Run(path, new RatedLaneRouter(workers.Length), workers, () => new NoOutput(), null, onBytes, cancel);
        if (workers.Where(w => w.Refused is not null).Select(w => w.Refused!.Value).OrderBy(r => r.Line).FirstOrDefault() is { Error: not null } refused)
        {
            throw new RatedFileException($"{path}:{refused.Line}: {refused.Error}");
        }

        return pass.Lines;
    }

    /// <summary>
    /// <see cref="Read"/> (fee records included) into re-raters, one per lane, the records kept without objects.
    /// </summary>
    public static long ReadForRerate(string path, IReadOnlyList<Rerater> lanes, CancellationToken cancel, Action<long>? onBytes = null)
    {
        // Each lane's share of the records, from the file's size: a rated record of the product's layout is longer than
        // this, so the guess errs on the side of room (a file of other shapes only grows the tables as it goes).
        if (File.Exists(path) && new FileInfo(path).Length / MinRatedLineBytes / lanes.Count is var share and > 0)
        {
            foreach (var lane in lanes)
            {
                lane.ExpectRated((int)Math.Min(share, MaxExpectedPerLane));
            }
        }

        var workers = lanes.Select(r => new RerateLineWorker(r)).ToArray();
        var pass = LanePass.Run(path, new RatedLaneRouter(workers.Length), workers, () => new NoOutput(), null, onBytes, cancel);
        if (workers.Where(w => w.Refused is not null).Select(w => w.Refused!.Value).OrderBy(r => r.Line).FirstOrDefault() is { Error: not null } refused)
        {
            throw new RatedFileException($"{path}:{refused.Line}: {refused.Error}");
        }

        return pass.Lines;
    }

    /// <summary>Hands each line of a CDR file to the handler of its lane (<see cref="LaneRouter"/>); returns the non-blank lines.</summary>
    public static long Offer(string path, IReadOnlyList<IO.LineReader.LineHandler> handlers, CancellationToken cancel, Action<long>? onBytes = null) =>
        Offer(path, [.. handlers.Select(h => new HandlerWorker(h))], cancel, onBytes);

    /// <summary>
    /// Hands each line of a CDR file to the worker of its lane (<see cref="LaneRouter"/>); returns the non-blank lines.
    /// <paramref name="onBytes"/> hears the bytes of the file handed over so far.
    /// </summary>
    public static long Offer(string path, IReadOnlyList<LaneWorker<NoOutput>> workers, CancellationToken cancel, Action<long>? onBytes = null) =>
        LanePass.Run(path, new LaneRouter(workers.Count), workers, () => new NoOutput(), null, onBytes, cancel).Lines;
}

/// <summary>A lane's part of the scan of the CDR file for re-rating: each of its lines into its re-rater, the subscribers of the lines ahead prefetched.</summary>
internal sealed class RerateScanWorker(Rerater rerater) : LaneWorker<NoOutput>
{
    public override int PrefetchDepth => Rerater.SubscriberPrefetchDepth;

    public override void Prefetch(ReadOnlySpan<ulong> ahead) => rerater.PrefetchSubscribers(ahead);

    public override void Line(ReadOnlySpan<byte> line, long number, bool everyLane, NoOutput parts) => rerater.Scan(line);
}
