using System.Buffers;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;

namespace RatingPipeline.Rater;

internal enum OutputKind : byte
{
    Rated,
    Reminder,
    Rejected,
    Bill,
}

/// <summary>One output record of a batch: where its bytes are, and what it belongs to.</summary>
internal readonly record struct PendingOutput(OutputKind Kind, int Start, int Length, ulong MsisdnKey, int Partition, long Offset,
    RejectReason Reason, string? Detail, byte[]? OriginalKey);

/// <summary>
/// The outputs of one batch, written by the engine straight into one growing buffer (no per-record
/// allocation), and the subscribers whose state the batch changed, with their partition.
/// </summary>
internal sealed class BatchOutputs(RaterMetrics metrics)
{
    public readonly ArrayBufferWriter<byte> Bytes = new(1 << 20);
    public readonly List<PendingOutput> Records = new(16 * 1024);
    public readonly Dictionary<ulong, int> Touched = [];
    public readonly RecordWriter Writer = new();
    public readonly RaterMetrics Metrics = metrics;

    public int Partition;
    public long Offset;
    public byte[]? Key;

    public void Clear()
    {
        Bytes.ResetWrittenCount();
        Records.Clear();
        Touched.Clear();
    }

    public void Add(OutputKind kind, int start, ulong msisdnKey, RejectReason reason = RejectReason.None, string? detail = null) =>
        Records.Add(new PendingOutput(kind, start, Bytes.WrittenCount - start, msisdnKey, Partition, Offset, reason, detail,
            kind == OutputKind.Rejected ? Key : null));

    public ReadOnlySpan<byte> Slice(in PendingOutput output) => Bytes.WrittenSpan.Slice(output.Start, output.Length);
}

/// <summary>The engine's sink on Kafka: records go into the batch buffer, to be produced once the batch is rated.</summary>
internal readonly struct KafkaBatchSink(BatchOutputs batch) : IRatingSink
{
    public void Rated(in RatedCdr rated)
    {
        var start = batch.Bytes.WrittenCount;
        batch.Writer.WriteRated(batch.Bytes, in rated);
        batch.Add(OutputKind.Rated, start, rated.MsisdnKey);
        if (rated.IsFee)
        {
            batch.Metrics.CountFee();
        }
        else
        {
            batch.Metrics.CountRated(rated.ZeroRuleIndex);
        }
    }

    public void Bill(in BillRecord bill)
    {
        var start = batch.Bytes.WrittenCount;
        batch.Writer.WriteBill(batch.Bytes, in bill);
        batch.Add(OutputKind.Bill, start, bill.MsisdnKey);
        batch.Metrics.CountBill();
    }

    public void Reminder(in ReminderEvent reminder)
    {
        var start = batch.Bytes.WrittenCount;
        batch.Writer.WriteReminder(batch.Bytes, in reminder);
        batch.Add(OutputKind.Reminder, start, reminder.MsisdnKey);
        batch.Metrics.CountReminder(reminder.Kind);
    }

    public void Rejected(in RejectedCdr rejected)
    {
        // The dead letter carries the original bytes unchanged; reason and detail travel in headers.
        var start = batch.Bytes.WrittenCount;
        batch.Bytes.Write(rejected.Raw);
        batch.Add(OutputKind.Rejected, start, rejected.MsisdnKey, rejected.Reason, rejected.Detail);
        batch.Metrics.CountRejected(rejected.Reason);
    }
}
