using System.Buffers;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.ProfileReading;

/// <summary>
/// A subscriber file large enough to be parsed in parallel parts reads exactly as line by line: blank lines skipped,
/// an msisdn given twice keeps its first place with the later line's profile, and the first bad line in the file is
/// the one reported, with its line number.
/// </summary>
[TestFixture]
public sealed class SubscriberFileTests
{
    private const int Subscribers = 30_000;

    private string _folder = "";
    private Tariff _tariff = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "ratingpipeline-tests", $"subscriber-file-{Guid.NewGuid():N}")).FullName;
        _tariff = TariffLoader.Load(SyntheticData.DemoTariff());
    }

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void A_large_file_reads_as_line_by_line_with_repeats_and_blank_lines()
    {
        var lines = Lines();
        var path = Write(lines);
        Assert.That(new FileInfo(path).Length, Is.GreaterThan(2 << 20), "large enough to be cut into parts");

        var loaded = SubscriberFile.Load(path, _tariff);
        var expected = LineByLine(lines);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Select(p => p.Msisdn), Is.EqualTo(expected.Select(p => p.Msisdn)), "each msisdn once, in the place of its first line");
            Assert.That(loaded.Select(p => p.Plan), Is.EqualTo(expected.Select(p => p.Plan)), "the later line's profile");
            Assert.That(loaded, Has.Count.EqualTo(Subscribers));
            Assert.That(loaded.Count(p => p.Plan == "unl-data"), Is.GreaterThanOrEqualTo(Subscribers / 100), "repeats changed some plans");
        });
    }

    [TestCase(0.1)]
    [TestCase(0.6)]
    [TestCase(0.99)]
    public void The_first_bad_line_of_the_file_is_reported_with_its_number(double where)
    {
        var lines = Lines();
        var first = (int)(lines.Count * where);
        lines[first] = "{\"msisdn\":\"8613800000001\",\"plan\":\"basic-58\",\"cycleDay\":99}";
        lines[Math.Min(lines.Count - 1, first + (lines.Count / 3))] = "not json";
        var path = Write(lines);

        var refused = Assert.Throws<SubscriberFileException>(() => SubscriberFile.Load(path, _tariff))!;
        Assert.That(refused.Message, Does.StartWith($"{path}:{first + 1}: "));
    }

    /// <summary>The profiles, every 97th line followed by a blank one, and every 50th msisdn given again later with another plan.</summary>
    private static List<string> Lines()
    {
        var data = new SyntheticData(seed: 7, subscribers: Subscribers);
        var buffer = new ArrayBufferWriter<byte>();
        var lines = new List<string>();
        for (var i = 0; i < Subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            lines.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
            if (i % 97 == 0)
            {
                lines.Add(i % 2 == 0 ? "" : "  \t");
            }

            if (i % 50 == 49)
            {
                lines.Add($"{{\"msisdn\":\"{SyntheticData.MsisdnOf(i - 40)}\",\"plan\":\"unl-data\",\"cycleDay\":3}}");
            }
        }

        return lines;
    }

    private string Write(List<string> lines)
    {
        var path = Path.Combine(_folder, "subscribers.jsonl");
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    /// <summary>The rule read plainly: line by line, the later profile replacing the earlier in its place.</summary>
    private List<SubscriberProfile> LineByLine(List<string> lines)
    {
        var order = new List<ulong>();
        var byKey = new Dictionary<ulong, SubscriberProfile>();
        foreach (var line in lines.Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            var profile = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(line), _tariff, out var error) ?? throw new InvalidOperationException(error);
            if (byKey.TryAdd(profile.MsisdnKey, profile))
            {
                order.Add(profile.MsisdnKey);
            }
            else
            {
                byKey[profile.MsisdnKey] = profile;
            }
        }

        return [.. order.Select(k => byKey[k])];
    }
}
