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

/// <summary>
/// One output record of a batch: where its bytes are, and what it belongs to. <see cref="Key"/> is the Kafka key to
/// write: a dead letter's original key, or the consumed record's key when the output is that record's subscriber's
/// (the same bytes, so nothing is re-encoded); null for outputs of other subscribers (a clock's), whose key is made
/// from <see cref="MsisdnKey"/>.
/// </summary>
internal readonly record struct PendingOutput(OutputKind Kind, int Start, int Length, ulong MsisdnKey, int Partition, long Offset,
    RejectReason Reason, string? Detail, byte[]? Key);

/// <summary>
/// The outputs of one batch, written by the engine straight into one growing buffer (no per-record allocation), and
/// what the batch counted for the metrics (added to them once per batch).
/// </summary>
internal sealed class BatchOutputs
{
    private static readonly int ReminderKinds = Enum.GetValues<ReminderKind>().Length;

    public readonly ArrayBufferWriter<byte> Bytes = new(1 << 20);
    public readonly List<PendingOutput> Records = new(16 * 1024);
    public readonly RecordWriter Writer = new();

    /// <summary>The consumed record being rated: its partition, offset, Kafka key and that key's msisdn key (0: none).</summary>
    public int Partition;
    public long Offset;
    public byte[]? Key;
    public ulong KeyMsisdn;

    public int Rated;
    public int Fees;
    public int Bills;
    public int Skipped;
    public int Located;
    public int Clocks;
    public readonly int[] Rejected = new int[8];
    public readonly int[] Reminders = new int[ReminderKinds];
    public int[] ZeroRated = new int[8];

    /// <summary>
    /// Sets the consumed record the next outputs come from, with its key's msisdn key already worked out: what
    /// <see cref="MsisdnKey.TryCompute(ReadOnlySpan{byte}, out ulong)"/> gives for <paramref name="key"/>, 0 when there is no key or no msisdn in it.
    /// </summary>
    public void From(int partition, long offset, byte[]? key, ulong keyMsisdn)
    {
        Partition = partition;
        Offset = offset;
        Key = key;
        KeyMsisdn = keyMsisdn;
    }

    public void Clear()
    {
        Bytes.ResetWrittenCount();
        Records.Clear();
        Rated = Fees = Bills = Skipped = Located = Clocks = 0;
        Array.Clear(Rejected);
        Array.Clear(Reminders);
        Array.Clear(ZeroRated);
    }

    public void Add(OutputKind kind, int start, ulong msisdnKey, RejectReason reason = RejectReason.None, string? detail = null) =>
        Records.Add(new PendingOutput(kind, start, Bytes.WrittenCount - start, msisdnKey, Partition, Offset, reason, detail,
            kind == OutputKind.Rejected || (msisdnKey == KeyMsisdn && msisdnKey != 0) ? Key : null));

    public void CountZeroRated(int rule)
    {
        if (rule >= ZeroRated.Length)
        {
            Array.Resize(ref ZeroRated, Math.Max(rule + 1, ZeroRated.Length * 2));
        }

        ZeroRated[rule]++;
    }

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
            batch.Fees++;
        }
        else
        {
            batch.Rated++;
            if (rated.ZeroRuleIndex >= 0)
            {
                batch.CountZeroRated(rated.ZeroRuleIndex);
            }
        }
    }

    public void Bill(in BillRecord bill)
    {
        var start = batch.Bytes.WrittenCount;
        batch.Writer.WriteBill(batch.Bytes, in bill);
        batch.Add(OutputKind.Bill, start, bill.MsisdnKey);
        batch.Bills++;
    }

    public void Reminder(in ReminderEvent reminder)
    {
        var start = batch.Bytes.WrittenCount;
        batch.Writer.WriteReminder(batch.Bytes, in reminder);
        batch.Add(OutputKind.Reminder, start, reminder.MsisdnKey);
        batch.Reminders[(int)reminder.Kind]++;
    }

    public void Rejected(in RejectedCdr rejected)
    {
        // The dead letter carries the original bytes unchanged; reason and detail travel in headers.
        var start = batch.Bytes.WrittenCount;
        batch.Bytes.Write(rejected.Raw);
        batch.Add(OutputKind.Rejected, start, rejected.MsisdnKey, rejected.Reason, rejected.Detail);
        batch.Rejected[(int)rejected.Reason]++;
    }
}
