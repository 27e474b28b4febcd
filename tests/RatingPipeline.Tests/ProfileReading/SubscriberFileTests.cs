using System.Buffers;
using System.Runtime;
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

    /// <summary>
    /// A large file is read in a region without collections (the profiles all live on; collections would only copy
    /// them between generations). The region ends with the load, read or refused, and a region the caller already has
    /// is left to it.
    /// </summary>
    [Test]
    public void The_load_leaves_the_collector_as_it_found_it_after_a_good_file_a_refused_one_and_inside_a_callers_region()
    {
        var lines = Lines();
        var good = Write(lines);
        var before = GCSettings.LatencyMode;
        Assume.That(before, Is.Not.EqualTo(GCLatencyMode.NoGCRegion));

        var loaded = SubscriberFile.Load(good, _tariff);
        var afterGood = GCSettings.LatencyMode;
        lines[lines.Count / 2] = "not json";
        var bad = Path.Combine(_folder, "bad.jsonl");
        File.WriteAllText(bad, string.Join('\n', lines));
        Assert.Throws<SubscriberFileException>(() => SubscriberFile.Load(bad, _tariff));
        var afterBad = GCSettings.LatencyMode;

        Assert.That(GC.TryStartNoGCRegion(256L << 20), Is.True, "the caller's own region");
        List<SubscriberProfile> inside;
        GCLatencyMode afterInside;
        try
        {
            inside = SubscriberFile.Load(good, _tariff);
            afterInside = GCSettings.LatencyMode;
        }
        finally
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(loaded, Has.Count.EqualTo(Subscribers));
            Assert.That(afterGood, Is.EqualTo(before), "after a file read");
            Assert.That(afterBad, Is.EqualTo(before), "after a file refused");
            Assert.That(inside.Select(p => p.Msisdn), Is.EqualTo(loaded.Select(p => p.Msisdn)), "read the same inside the caller's region");
            Assert.That(afterInside, Is.EqualTo(GCLatencyMode.NoGCRegion), "the caller's region is still the caller's");
        });
    }

    [Test]
    public void Every_value_of_every_profile_is_the_line_by_line_readings_with_shared_texts_long_lines_and_crlf()
    {
        var lines = Lines();
        for (var i = 0; i < 3_000; i++)
        {
            // Services and balance instants many profiles repeat (shared between them), and some that differ.
            var msisdn = $"86139{i:D8}";
            var ordered = i % 7 == 0 ? $"2026-10-{1 + (i % 28):D2}T08:00:00+08:00" : "2026-10-01T08:00:00+08:00";
            var cancelled = i % 5 == 0 ? ",\"cancelledAt\":\"2026-11-20T00:00:00Z\"" : "";
            var second = i % 3 == 0 ? $",{{\"id\":\"ringback\",\"name\":{{\"zh\":\"彩铃\",\"en\":\"Ringback {i % 4}\"}},\"price\":5000000,\"orderedAt\":\"{ordered}\"}}" : "";
            lines.Add($"{{\"msisdn\":\"{msisdn}\",\"plan\":\"basic-58\",\"cycleDay\":{1 + (i % 28)},\"prepaid\":true,\"balance\":{i}," +
                $"\"balanceAsOf\":\"2026-11-0{1 + (i % 3)}T00:00:00+08:00\",\"planEndsAt\":\"2027-0{1 + (i % 2)}-01T00:00:00+08:00\"," +
                $"\"services\":[{{\"id\":\"news\",\"name\":{{\"zh\":\"新闻\",\"en\":\"News\"}},\"price\":3000000,\"orderedAt\":\"{ordered}\"{cancelled}}}{second}]}}" +
                (i % 11 == 0 ? "\r" : ""));
        }

        // The first msisdn of the file given again near its end (in another part), a line longer than a part reads at a
        // time, and a last line without a line end.
        lines.Insert(lines.Count - 1, $"{{\"msisdn\":\"{SyntheticData.MsisdnOf(0)}\",\"plan\":\"biz-400\",\"cycleDay\":9}}");
        lines.Insert(lines.Count / 3, $"{{\"msisdn\":\"8613700000001\",\"plan\":\"mini-18\",\"cycleDay\":5,\"note\":\"{new string('x', 3 << 20)}\"}}");
        var path = Path.Combine(_folder, "subscribers.jsonl");
        File.WriteAllText(path, string.Join('\n', lines));

        var loaded = SubscriberFile.Load(path, _tariff);
        var expected = LineByLine(lines);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Select(ProfileReaderDifferentialTests.Describe), Is.EqualTo(expected.Select(ProfileReaderDifferentialTests.Describe)));
            Assert.That(loaded.Count(p => p.Services.Count == 2), Is.EqualTo(1_000), "the profiles with two services");
            Assert.That(loaded[^1].Msisdn, Is.EqualTo("8613900002999"), "the last line, without a line end");
            Assert.That((loaded[0].Msisdn, loaded[0].Plan), Is.EqualTo((SyntheticData.MsisdnOf(0), "biz-400")), "the first msisdn's later line, in its place");
            Assert.That(loaded.SelectMany(p => p.Services).Distinct(ReferenceEqualityComparer.Instance).Count(), Is.LessThan(500),
                "4,000 services of about 60 different values are shared, not one object each");
            Assert.That(loaded.Where(p => p.Prepaid).Select(p => p.BalanceAsOfUtf8).Distinct(ReferenceEqualityComparer.Instance).Count(),
                Is.LessThan(50), "3,000 balance instants of 3 different values are shared");
        });
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
