using System.Buffers;
using RatingPipeline.Rating;

namespace RatingPipeline.Output;

/// <summary>
/// Writes the engine's outputs as JSON Lines into three buffer writers (rated, reminders, rejected),
/// one record per line, and counts them.
/// </summary>
public struct JsonlSink(RecordWriter writer, IBufferWriter<byte> rated, IBufferWriter<byte> reminders, IBufferWriter<byte> rejected)
    : IRatingSink
{
    public long RatedCount;
    public long ReminderCount;
    public long RejectedCount;

    public void Rated(in RatedCdr r)
    {
        writer.WriteRated(rated, in r);
        NewLine(rated);
        RatedCount++;
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
