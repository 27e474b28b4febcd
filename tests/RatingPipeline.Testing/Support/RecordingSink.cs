using System.Buffers;
using System.Text.Json.Nodes;
using RatingPipeline.Output;
using RatingPipeline.Rating;

namespace RatingPipeline.Tests.Support;

/// <summary>The outputs a <see cref="RecordingSink"/> collected, as parsed JSON records in processing order.</summary>
public sealed class RecordedOutputs
{
    public RecordWriter Writer { get; } = new();

    /// <summary>Scratch for one record.</summary>
    public ArrayBufferWriter<byte> Scratch { get; } = new(1024);

    public List<JsonObject> Rated { get; } = [];

    public List<JsonObject> Reminders { get; } = [];

    public List<JsonObject> Rejected { get; } = [];

    public List<JsonObject> Bills { get; } = [];

    /// <summary>Every record written, byte for byte, in order, each followed by a line feed.</summary>
    public ArrayBufferWriter<byte> Bytes { get; } = new(4096);

    /// <summary>Takes the record in <see cref="Scratch"/> into <paramref name="list"/>.</summary>
    public void Take(List<JsonObject> list)
    {
        Bytes.Write(Scratch.WrittenSpan);
        Bytes.Write("\n"u8);
        list.Add(JsonNode.Parse(Scratch.WrittenSpan)!.AsObject());
        Scratch.ResetWrittenCount();
    }
}

/// <summary>
/// A test sink: writes each output with <see cref="RecordWriter"/> and keeps it as parsed JSON. A struct sink is
/// copied by value wherever it is passed, so the lists live in the referenced <see cref="RecordedOutputs"/>.
/// </summary>
public readonly struct RecordingSink(RecordedOutputs outputs) : IRatingSink
{
    public RecordedOutputs Outputs { get; } = outputs;

    public void Rated(in RatedCdr rated)
    {
        Outputs.Writer.WriteRated(Outputs.Scratch, in rated);
        Outputs.Take(Outputs.Rated);
    }

    public void Reminder(in ReminderEvent reminder)
    {
        Outputs.Writer.WriteReminder(Outputs.Scratch, in reminder);
        Outputs.Take(Outputs.Reminders);
    }

    public void Rejected(in RejectedCdr rejected)
    {
        Outputs.Writer.WriteRejected(Outputs.Scratch, in rejected);
        Outputs.Take(Outputs.Rejected);
    }

    public void Bill(in BillRecord bill)
    {
        Outputs.Writer.WriteBill(Outputs.Scratch, in bill);
        Outputs.Take(Outputs.Bills);
    }
}
