using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Rerating;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// Every hostile CDR line ends rated or rejected with its reason, through the engine and through
/// <c>ratingctl rate</c>; nothing throws, nothing overflows the stack, and the engine's memory stays bounded.
/// </summary>
[TestFixture]
public sealed class HostileCdrTests
{
    private Tariff _tariff = null!;
    private List<SubscriberProfile> _profiles = null!;

    [OneTimeSetUp]
    public void LoadTariffAndSubscribers()
    {
        _tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        _profiles = SubscriberFile.Load(HostileCorpus.SubscribersFile, _tariff);
    }

    private static IEnumerable<string> Cases() => HostileCorpus.Names;

    [TestCaseSource(nameof(Cases))]
    public void A_hostile_line_is_rated_or_rejected_with_its_reason(string name)
    {
        var hostile = HostileCorpus.Get(name);
        var engine = NewEngine();
        var rated = new ArrayBufferWriter<byte>();
        var reminders = new ArrayBufferWriter<byte>();
        var rejected = new ArrayBufferWriter<byte>();
        var sink = new JsonlSink(new RecordWriter(), rated, reminders, rejected, new ArrayBufferWriter<byte>());

        var result = engine.Process(hostile.Line, ref sink);

        Assert.That(result, Is.EqualTo(hostile.Rated ? RatingResult.Rated : RatingResult.Rejected), hostile.What);
        Assert.That((sink.RatedCount, sink.RejectedCount), Is.EqualTo(hostile.Rated ? (1L, 0L) : (0L, 1L)));
        if (hostile.Rated)
        {
            using var record = JsonDocument.Parse(rated.WrittenMemory);
            Assert.That(record.RootElement.GetProperty("msisdn").GetString(), Is.EqualTo(HostileCorpus.Msisdn));
            return;
        }

        CheckRejected(rejected.WrittenMemory, hostile);
    }

    [Test]
    public void Hostile_lines_leave_the_engine_memory_bounded()
    {
        var engine = NewEngine();
        var output = new ArrayBufferWriter<byte>();
        var warmUp = new JsonlSink(new RecordWriter(), output, output, output, new ArrayBufferWriter<byte>());
        engine.Process(HostileCorpus.Get("crlf-line").Line, ref warmUp);
        var all = HostileCorpus.All().ToList();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var (lines, outcomes, largest) = RateAll(engine, all);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var retained = after - before;
        TestContext.Out.WriteLine($"{lines} hostile lines (largest {largest / 1024.0 / 1024:F1} MiB): the engine retains {retained / 1024.0 / 1024:F2} MiB afterwards");
        Assert.That(outcomes, Is.EqualTo(lines), "one rated or rejected record per line");

        // Scratch grown by the 1 MiB id and the 10^5-member object is let go at the next record.
        Assert.That(retained, Is.LessThan(2L << 20));
        GC.KeepAlive(engine);
    }

    [Test]
    public async Task Rate_command_on_a_file_of_every_hostile_line_rates_or_rejects_each_line()
    {
        using var folder = new TestFolder();
        var cases = new List<HostileCdr>();
        await using (var cdrs = File.Create(folder.File("cdrs.jsonl")))
        {
            foreach (var hostile in HostileCorpus.All())
            {
                cases.Add(hostile with { Line = [] });
                await cdrs.WriteAsync(hostile.Line);
                await cdrs.WriteAsync("\n"u8.ToArray());
                if (cases.Count == 3)
                {
                    await cdrs.WriteAsync(" \t\r\n"u8.ToArray()); // a blank line: skipped, not counted
                }
            }
        }

        await File.WriteAllBytesAsync(folder.File("tariff.json"), SyntheticData.DemoTariff());
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await RateCommand.RunAsync(
            new RateOptions(folder.File("tariff.json"), HostileCorpus.SubscribersFile, folder.File("cdrs.jsonl"), folder.File("out"), Progress: false),
            stdout, stderr, CancellationToken.None);

        Assert.That(exit, Is.Zero, stderr.ToString());
        var ratedLines = File.ReadAllLines(folder.File("out/rated.jsonl"));
        var rejectedLines = File.ReadAllLines(folder.File("out/rejected.jsonl"));
        var expectedRated = cases.Count(c => c.Rated);
        TestContext.Out.WriteLine($"ratingctl rate: {cases.Count} hostile lines → {stdout.ToString().Trim()}");
        Assert.That(ratedLines.Length + rejectedLines.Length, Is.EqualTo(cases.Count), "lines = rated + rejected");
        Assert.That(ratedLines, Has.Length.EqualTo(expectedRated));
        Assert.That(stdout.ToString(), Does.StartWith($"{expectedRated} rated, {cases.Count - expectedRated} rejected, "));

        // In file order, each rejected record has its case's reason, detail and identity.
        var expectedRejected = cases.Where(c => !c.Rated).ToList();
        for (var i = 0; i < expectedRejected.Count; i++)
        {
            using var record = JsonDocument.Parse(rejectedLines[i]);
            var root = record.RootElement;
            Assert.That(root.GetProperty("reason").GetString(), Is.EqualTo(RecordNames.ReasonText(expectedRejected[i].Reason)), expectedRejected[i].Name);
            Assert.That(root.GetProperty("detail").GetString(), Is.EqualTo(InvalidCauses.Detail(expectedRejected[i].Cause)), expectedRejected[i].Name);
            Assert.That(root.TryGetProperty("id", out var id) ? id.GetString() : null, Is.EqualTo(expectedRejected[i].CopiedId), expectedRejected[i].Name);
        }
    }

    /// <summary>Rates every line through <paramref name="engine"/>, in a frame of its own (its buffers die with it).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static (long Lines, long Outcomes, long Largest) RateAll(RatingEngine engine, List<HostileCdr> all)
    {
        var output = new ArrayBufferWriter<byte>();
        long lines = 0, outcomes = 0, largest = 0;
        foreach (var hostile in all)
        {
            output.ResetWrittenCount();
            var sink = new JsonlSink(new RecordWriter(), output, output, output, new ArrayBufferWriter<byte>());
            engine.Process(hostile.Line, ref sink);
            lines++;
            outcomes += sink.RatedCount + sink.RejectedCount;
            largest = Math.Max(largest, hostile.Line.Length);
        }

        return (lines, outcomes, largest);
    }

    private RatingEngine NewEngine()
    {
        var engine = new RatingEngine(_tariff);
        foreach (var profile in _profiles)
        {
            engine.SetProfile(profile);
        }

        return engine;
    }

    private static void CheckRejected(ReadOnlyMemory<byte> written, HostileCdr hostile)
    {
        using var record = JsonDocument.Parse(written);
        var root = record.RootElement;
        Assert.That(root.GetProperty("reason").GetString(), Is.EqualTo(RecordNames.ReasonText(hostile.Reason)), hostile.What);
        if (hostile.Reason == RejectReason.Invalid)
        {
            Assert.That(root.GetProperty("detail").GetString(), Is.EqualTo(InvalidCauses.Detail(hostile.Cause)), hostile.What);
        }

        Assert.That(root.TryGetProperty("id", out var id) ? id.GetString() : null, Is.EqualTo(hostile.CopiedId), "id copied when readable");
        var raw = root.GetProperty("raw").GetString()!;
        if (Utf8.IsValid(hostile.Line))
        {
            Assert.That(Encoding.UTF8.GetBytes(raw).AsSpan().SequenceEqual(hostile.Line), Is.True, "raw is the line");
        }
        else
        {
            Assert.That(raw, Is.EqualTo(Encoding.UTF8.GetString(hostile.Line)), "raw is the line with U+FFFD for bytes that are not UTF-8");
        }
    }
}
