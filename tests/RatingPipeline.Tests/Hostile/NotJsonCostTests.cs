using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Records;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// A line that cannot be JSON (text that starts no JSON value, an object cut short) is refused without the JSON
/// reader throwing: an exception costs about 2 µs, twenty valid records' worth, so a flood of truncated records
/// would otherwise cost the rater far more than the same number of good ones. The verdicts are those of a reading
/// that lets the reader throw.
/// </summary>
[TestFixture]
public sealed class NotJsonCostTests
{
    private static readonly string[] CannotBeJson =
    [
        "not json at all",
        "",
        "   \t ",
        "hello",
        "nul",
        "nothing",
        "tru",
        "'single quotes'",
        "}",
        "{",
        "  {\"id\":\"c1\",\"type\":\"voice\",\"msisdn\":\"8613800000001\",\"direction\":\"mo\"",
        "{\"id\":\"c1\",\"type\":\"data\",\"msisdn\":\"8613800000001\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1",
        "{\"id\":\"c1\",\"type\":\"data\",\"bytes\":12",
        "{\"id\":",
        "{\"id\"",
        "{\"id\":\"c1",
        "{\"id\":\"c1\",\"nested\":{\"a\":[1,2",
    ];

    [TestCaseSource(nameof(CannotBeJson))]
    public void A_line_that_cannot_be_json_is_refused_without_an_exception(string line)
    {
        var thrown = CountExceptionsOnThisThread(() =>
        {
            var decoder = new CdrDecoder();
            Assert.That(decoder.Decode(Encoding.UTF8.GetBytes(line), out _), Is.EqualTo(InvalidCause.NotJson));
            Assert.That(decoder.DecodeStrict(Encoding.UTF8.GetBytes(line), out _), Is.EqualTo(InvalidCause.NotJson));
        });

        Assert.That(thrown, Is.Zero, "exceptions thrown while decoding");
        Assert.That(ThrowsWhenReadAsFinal(line), Is.True, "the JSON reader itself refuses the line");
    }

    /// <summary>
    /// Lines whose verdict still needs the reader (and may cost its exception): the same verdicts as before. A line whose
    /// first value is not an object is NotAnObject even where the value is broken further on.
    /// </summary>
    [TestCase("{\"id\":\"c1\"} x", InvalidCause.NotJson)]
    [TestCase("{\"id\":\"c1\"}}", InvalidCause.NotJson)]
    [TestCase("{\"id\":\"c1\",}", InvalidCause.NotJson)]
    [TestCase("{\"id\":tru}", InvalidCause.NotJson)]
    [TestCase("nulls", InvalidCause.NotAnObject)]
    [TestCase("[1,", InvalidCause.NotAnObject)]
    [TestCase("falsey", InvalidCause.NotAnObject)]
    [TestCase("\"abc", InvalidCause.NotJson)]
    [TestCase("null", InvalidCause.NotAnObject)]
    [TestCase("true", InvalidCause.NotAnObject)]
    [TestCase("123", InvalidCause.NotAnObject)]
    [TestCase("-1.5e3", InvalidCause.NotAnObject)]
    [TestCase("[1,2]", InvalidCause.NotAnObject)]
    [TestCase("\"text\"", InvalidCause.NotAnObject)]
    [TestCase("{\"id\":\"c1\",\"id\":", InvalidCause.DuplicateName)]
    [TestCase(" {\"id\":\"c1\",\"type\":\"sms\"}  \r\n", InvalidCause.MissingMsisdn)]
    public void Other_lines_keep_their_verdict(string line, InvalidCause expected)
    {
        var decoder = new CdrDecoder();
        Assert.That(decoder.Decode(Encoding.UTF8.GetBytes(line), out _), Is.EqualTo(expected));
        Assert.That(decoder.DecodeStrict(Encoding.UTF8.GetBytes(line), out _), Is.EqualTo(expected));
    }

    private static int CountExceptionsOnThisThread(Action action)
    {
        var thread = Environment.CurrentManagedThreadId;
        var count = 0;
        void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
        {
            if (Environment.CurrentManagedThreadId == thread && e.Exception is not AssertionException)
            {
                Interlocked.Increment(ref count);
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
        try
        {
            action();
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
        }

        return count;
    }

    private static bool ThrowsWhenReadAsFinal(string line)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(line));
        try
        {
            while (reader.Read())
            {
            }

            return reader.BytesConsumed == 0 && line.Trim().Length == 0;
        }
        catch (JsonException)
        {
            return true;
        }
    }
}
