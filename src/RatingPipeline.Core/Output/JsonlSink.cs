using System.Buffers;
using RatingPipeline.Rating;

namespace RatingPipeline.Output;

/// <summary>
/// Writes the engine's outputs as JSON Lines into four buffer writers (rated and fee records, reminders,
/// rejected, bills), one record per line, and counts them.
/// </summary>
public struct JsonlSink(RecordWriter writer, IBufferWriter<byte> rated, IBufferWriter<byte> reminders, IBufferWriter<byte> rejected,
    IBufferWriter<byte> bills)
    : IRatingSink
{
    public long RatedCount;
    public long FeeCount;
    public long ReminderCount;
    public long RejectedCount;
    public long BillCount;

    public void Rated(in RatedCdr r)
    {
        writer.WriteRated(rated, in r);
        NewLine(rated);
        RatedCount++;
        if (r.IsFee)
        {
            FeeCount++;
        }
    }

    public void Bill(in BillRecord b)
    {
        writer.WriteBill(bills, in b);
        NewLine(bills);
        BillCount++;
    }

    public void Reminder(in ReminderEvent e)
    {
        writer.WriteReminder(reminders, in e);
        NewLine(reminders);
        ReminderCount++;
    }

    public void Rejected(in RejectedCdr r)
    {
        writer.WriteRejected(rejected, in r);
        NewLine(rejected);
        RejectedCount++;
    }

    private static void NewLine(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = (byte)'\n';
        output.Advance(1);
    }
}
