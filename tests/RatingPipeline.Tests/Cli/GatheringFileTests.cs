using System.Text;
using NUnit.Framework;
using RatingPipeline.IO;

namespace RatingPipeline.Tests.Cli;

/// <summary>The output files of <c>ratingctl rate</c>: stretches of the lanes' buffers written in order, with no copy of their own.</summary>
public sealed class GatheringFileTests
{
    private string _path = "";

    [SetUp]
    public void CreatePath() => _path = Path.Combine(Path.GetTempPath(), $"gathering-{Guid.NewGuid():N}.jsonl");

    [TearDown]
    public void DeleteFile() => File.Delete(_path);

    [Test]
    public void Stretches_are_written_in_order_across_several_vectored_writes_and_empty_ones_are_skipped()
    {
        // More stretches than one vectored write takes, from two buffers taken in turn as the merger takes two lanes'.
        var expected = new StringBuilder();
        var buffers = new[] { new byte[64 * 1024], new byte[64 * 1024] };
        var used = new int[2];
        using (var file = new GatheringFile(_path))
        {
            for (var round = 0; round < 3; round++)
            {
                for (var i = 0; i < GatheringFile.MaxStretches + 100; i++)
                {
                    var lane = i % 2;
                    var text = Encoding.ASCII.GetBytes($"{{\"round\":{round},\"n\":{i}}}\n");
                    text.CopyTo(buffers[lane], used[lane]);
                    file.Add(buffers[lane].AsMemory(used[lane], text.Length));
                    file.Add(ReadOnlyMemory<byte>.Empty);
                    used[lane] += text.Length;
                    expected.Append(Encoding.ASCII.GetString(text));
                }

                file.Write();
                used[0] = used[1] = 0; // the buffers are the lanes' again, as after a block
            }

            Assert.That(file.Length, Is.EqualTo(expected.Length));
        }

        Assert.That(File.ReadAllText(_path), Is.EqualTo(expected.ToString()));
    }

    [Test]
    public void A_write_with_nothing_noted_leaves_an_empty_file()
    {
        using (var file = new GatheringFile(_path))
        {
            file.Write();
            Assert.That(file.Length, Is.Zero);
        }

        Assert.That(new FileInfo(_path).Length, Is.Zero);
    }
}
