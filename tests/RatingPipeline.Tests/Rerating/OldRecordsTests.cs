using System.IO.Hashing;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Rerating;

namespace RatingPipeline.Tests.Rerating;

/// <summary>How the re-rate keys a CDR line and numbers the repeated texts of the old run's records.</summary>
[TestFixture]
public sealed class OldRecordsTests
{
    [TestCase("a9", "2026-11-02T16:00:02+08:00")]
    [TestCase("", "")]
    [TestCase("id-of-300-bytes", "2026-11-02T16:00:02Z")]
    public void A_line_key_is_the_hash_of_id_type_and_start_appended_in_turn(string id, string start)
    {
        var idBytes = Encoding.UTF8.GetBytes(id == "id-of-300-bytes" ? new string('x', 300) : id);
        var startBytes = Encoding.UTF8.GetBytes(start);
        foreach (var type in new[] { CdrType.Voice, CdrType.Sms, CdrType.Data })
        {
            var appended = new XxHash3();
            appended.Append(idBytes);
            appended.Append([0, (byte)type]);
            appended.Append(startBytes);

            Assert.That(OldRecords.LineKey(idBytes, type, startBytes), Is.EqualTo(appended.GetCurrentHashAsUInt64()), $"{type}, {idBytes.Length} B id");
        }
    }

    [Test]
    public void A_line_key_tells_apart_the_type_and_where_the_id_ends()
    {
        var start = "2026-11-02T16:00:02Z"u8.ToArray();

        Assert.That(OldRecords.LineKey("a9"u8, CdrType.Sms, start), Is.Not.EqualTo(OldRecords.LineKey("a9"u8, CdrType.Voice, start)));
        Assert.That(OldRecords.LineKey("a9"u8, CdrType.Sms, start), Is.Not.EqualTo(OldRecords.LineKey("a"u8, CdrType.Sms, "92026-11-02T16:00:02Z"u8)));
    }

    [Test]
    public void A_text_read_unescaped_or_escaped_gets_one_number_and_other_texts_their_own()
    {
        var records = new OldRecords();
        var plan = records.TextOf(Unescaped("mini-18"));

        Assert.That(records.TextOf(Unescaped("mini-18")), Is.EqualTo(plan));
        Assert.That(records.TextOf(Escaped("mini-18")), Is.EqualTo(plan));
        Assert.That(records.TextOf("mini-18"), Is.EqualTo(plan));
        var other = records.TextOf(Unescaped("mini-180"));
        Assert.That(other, Is.Not.EqualTo(plan));
        Assert.That((records.Text(plan), records.Text(other)), Is.EqualTo(("mini-18", "mini-180")));
        var cycle = records.TextOf(Unescaped("2026-11-01"));
        Assert.That(records.CycleDay(cycle), Is.EqualTo(new DateOnly(2026, 11, 1).DayNumber - new DateOnly(1970, 1, 1).DayNumber));
        Assert.That(records.CycleDay(plan), Is.EqualTo(int.MinValue));
    }

    [Test]
    public void An_escaped_lone_surrogate_and_the_replacement_character_stay_two_texts()
    {
        var records = new OldRecords();
        var lone = records.TextOf(Escaped("\ud800"));
        var replacement = records.TextOf(Unescaped("\ufffd"));

        Assert.That(replacement, Is.Not.EqualTo(lone));
        Assert.That(records.TextOf(Unescaped("\ufffd")), Is.EqualTo(replacement));
        Assert.That(records.Text(lone), Is.EqualTo("\ud800"));
    }

    private static RatedText Unescaped(string text) => new() { Utf8 = Encoding.UTF8.GetBytes(text), IsPresent = true };

    private static RatedText Escaped(string text) => new() { Utf8 = Encoding.UTF8.GetBytes(text), Text = text, IsPresent = true };
}
