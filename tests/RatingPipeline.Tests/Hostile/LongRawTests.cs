using System.Buffers;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// A rejected record carries the whole line as <c>raw</c>, however long. The JSON writer refuses a single value
/// over 166,666,666 bytes, so a longer line used to throw <c>ArgumentException</c> out of the engine (and stop
/// <c>ratingctl rate</c>); such lines are written in segments now. Segment borders may fall inside a character.
/// </summary>
[TestFixture]
public sealed class LongRawTests
{
    // Each line is {"x":"a then filler repeated, then 'a' padding, and no closing quote: not JSON, so rejected.
    // With the 7-byte lead, every 1 MiB segment border falls inside a 2-byte and inside a 4-byte character.
    [TestCase(3 * RecordWriter.RawSegment, "é")] // a 2-byte character across the borders
    [TestCase((3 * RecordWriter.RawSegment) + 1, "😀")] // a 4-byte character across the borders, and a short last segment
    [TestCase(RecordWriter.RawSegment + 7, "\u0000\"\\\u2028")] // characters that need escaping, near a border
    public void A_rejected_line_longer_than_a_segment_reads_back_whole(int length, string filler)
    {
        var line = Line(length, Encoding.UTF8.GetBytes(filler));
        using var parsed = JsonDocument.Parse(Reject(line));
        Assert.That(Encoding.UTF8.GetBytes(parsed.RootElement.GetProperty("raw").GetString()!).AsSpan().SequenceEqual(line), Is.True, "raw reads back as the line");
        Assert.That(parsed.RootElement.GetProperty("reason").GetString(), Is.EqualTo("invalid"));
    }

    [TestCase(new byte[] { 0xC3, 0xA9, 0xFF })] // é, then a byte that is never UTF-8
    [TestCase(new byte[] { 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0x61 })] // 😀 (two UTF-16 units, split by a segment border), a bad byte, a
    public void A_long_line_that_is_not_utf8_reads_back_with_replacement_characters(byte[] filler)
    {
        var line = Line((2 * RecordWriter.RawSegment) + 3, filler);
        using var parsed = JsonDocument.Parse(Reject(line));
        Assert.That(parsed.RootElement.GetProperty("raw").GetString(), Is.EqualTo(Encoding.UTF8.GetString(line)));
        Assert.That(parsed.RootElement.GetProperty("detail").GetString(), Is.EqualTo(InvalidCauses.Detail(InvalidCause.NotUtf8)));
    }

    [Test]
    public void A_line_longer_than_the_writer_value_limit_is_rejected_with_its_raw_text()
    {
        // 170,000,000 bytes: over the writer's 166,666,666-byte value limit. Checked with the streaming reader
        // (no 340 MB string): the record is JSON and raw holds every byte of the line.
        var line = Line(170_000_000, "a"u8.ToArray());
        var written = Reject(line);
        var reader = new Utf8JsonReader(written.Span);
        var rawLength = -1;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("raw"u8) && reader.Read())
            {
                rawLength = reader.ValueSpan.Length;
            }
        }

        // As written, raw is the line with each of its three quotes escaped as \".
        Assert.That(rawLength, Is.EqualTo(line.Length + 3));
    }

    /// <summary>A line of exactly <paramref name="length"/> bytes (see the comment on the first test).</summary>
    private static byte[] Line(int length, byte[] filler)
    {
        var line = new byte[length];
        "{\"x\":\"a"u8.CopyTo(line);
        var at = 7;
        if (filler.Length == 1)
        {
            at = length;
            line.AsSpan(7).Fill(filler[0]);
        }

        for (; at + filler.Length <= length; at += filler.Length)
        {
            filler.CopyTo(line.AsSpan(at));
        }

        line.AsSpan(at).Fill((byte)'a');
        return line;
    }

    /// <summary>Rates the line (it must be rejected, once) and returns the rejected record's bytes.</summary>
    private static ReadOnlyMemory<byte> Reject(byte[] line)
    {
        var engine = new RatingEngine(TariffLoader.Load(SyntheticData.DemoTariff()));
        var rated = new ArrayBufferWriter<byte>();
        var rejected = new ArrayBufferWriter<byte>(line.Length + 1024);
        var sink = new JsonlSink(new RecordWriter(), rated, rated, rejected, new ArrayBufferWriter<byte>());
        Assert.That(engine.Process(line, ref sink), Is.EqualTo(RatingResult.Rejected));
        Assert.That((sink.RejectedCount, sink.RatedCount), Is.EqualTo((1L, 0L)));
        return rejected.WrittenMemory;
    }
}
