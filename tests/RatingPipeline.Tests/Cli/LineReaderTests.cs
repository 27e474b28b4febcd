using System.Text;
using NUnit.Framework;
using RatingPipeline.IO;

namespace RatingPipeline.Tests.Cli;

public sealed class LineReaderTests
{
    private string _path = "";

    [SetUp]
    public void CreateFile() => _path = Path.Combine(Path.GetTempPath(), $"line-reader-{Guid.NewGuid():N}.txt");

    [TearDown]
    public void DeleteFile() => File.Delete(_path);

    [TestCase("", new string[0])]
    [TestCase("a\nbb\n", new[] { "a", "bb" })]
    [TestCase("a\nbb\n\nccc", new[] { "a", "bb", "", "ccc" })] // the last line has no '\n'
    [TestCase("a\r\nb\r\n", new[] { "a\r", "b\r" })] // '\r' stays in the line (it is JSON whitespace)
    [TestCase("\n\n", new[] { "", "" })]
    public async Task Lines_end_at_newline_and_a_last_line_without_one_is_delivered(string content, string[] expected)
    {
        await File.WriteAllTextAsync(_path, content);

        var (lines, count) = await ReadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(lines, Is.EqualTo(expected));
            Assert.That(count, Is.EqualTo(expected.Length));
        });
    }

    [Test]
    public async Task Lines_across_read_boundaries_and_longer_than_the_buffer_are_delivered_whole()
    {
        var random = new Random(7);
        var expected = new List<string>();
        for (var i = 0; i < 20_000; i++)
        {
            expected.Add(new string((char)('a' + (i % 26)), random.Next(0, 600)));
        }

        expected.Insert(5_000, new string('x', 3 << 20)); // longer than one read and than the initial buffer
        expected.Insert(12_000, new string('y', 5 << 20));
        await File.WriteAllTextAsync(_path, string.Join('\n', expected) + "\n");

        var (lines, count) = await ReadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(count, Is.EqualTo(expected.Count));
            Assert.That(lines, Is.EqualTo(expected));
        });
    }

    [Test]
    public async Task Progress_reaches_the_file_size()
    {
        await File.WriteAllTextAsync(_path, string.Concat(Enumerable.Repeat("0123456789\n", 300_000)) + "tail");
        long last = 0;

        await LineReader.ReadLinesAsync(_path, _ => { }, bytes => last = bytes, CancellationToken.None);

        Assert.That(last, Is.EqualTo(new FileInfo(_path).Length));
    }

    private async Task<(List<string> Lines, long Count)> ReadAsync()
    {
        var lines = new List<string>();
        var count = await LineReader.ReadLinesAsync(_path, line => lines.Add(Encoding.UTF8.GetString(line)), null, CancellationToken.None);
        return (lines, count);
    }
}
