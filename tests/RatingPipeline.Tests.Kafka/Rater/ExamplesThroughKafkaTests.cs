using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The worked examples go through Kafka: profiles and CDRs produced with kcat, the rater running, outputs read back
/// with kcat. What comes out equals <c>ratingctl rate</c> on the same files: the offline order is file order, on Kafka
/// each subscriber's records keep their order within its partition, and that order is all rating depends on.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[Category("rater")]
public sealed class ExamplesThroughKafkaTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private EmbeddedCluster _cluster = null!;

    [OneTimeSetUp]
    public void StartCluster() => _cluster = EmbeddedCluster.Start(partitions: 4);

    [OneTimeTearDown]
    public void StopCluster() => _cluster.Dispose();

    /// <summary>
    /// Every folder with a tariff, subscribers and CDRs: the worked examples (<c>Examples/…</c>), and generated streams
    /// (<c>Generated/…</c>, the unit tests' stream generator's output for a few seeds, kept as files).
    /// </summary>
    public static IEnumerable<string> Examples() =>
        new[] { "Examples", "Generated" }
            .SelectMany(root => Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, root)))
            .Where(d => new[] { "tariff.json", "subscribers.jsonl", "cdrs.jsonl" }.All(f => File.Exists(Path.Combine(d, f))))
            .Select(d => Path.GetRelativePath(AppContext.BaseDirectory, d).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);

    [TestCaseSource(nameof(Examples))]
    public async Task Example_rated_through_Kafka_equals_ratingctl_rate(string example)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, example);
        var name = example.Replace('/', '-');
        var tariffPath = Path.Combine(folder, "tariff.json");
        var subscribersPath = Path.Combine(folder, "subscribers.jsonl");
        var cdrsPath = Path.Combine(folder, "cdrs.jsonl");
        var tariff = TariffLoader.LoadFile(tariffPath);
        var offlineFolder = Path.Combine(Path.GetTempPath(), "ratingpipeline-tests", TestTopics.UniquePrefix($"example-{name}"));
        try
        {
            // Expected: ratingctl rate on the same files.
            var summary = await RateCommand.RateAsync(tariff, SubscriberFile.Load(subscribersPath, tariff),
                new RateOptions(tariffPath, subscribersPath, cdrsPath, offlineFolder, Progress: false), TextWriter.Null, CancellationToken.None);
            var expectedRated = ReadLines(Path.Combine(offlineFolder, "rated.jsonl"));
            var expectedReminders = ReadLines(Path.Combine(offlineFolder, "reminders.jsonl"));
            var expectedRejected = ReadLines(Path.Combine(offlineFolder, "rejected.jsonl"));
            Assert.That(expectedRated, Has.Count.EqualTo(summary.Rated).And.Not.Empty, "offline rated");

            // Through Kafka: profiles first (restored on assignment), the rater running, then the CDR file in order, all
            // with kcat. A clock line goes to every partition of cdrs, as the scheduler writes it (SPEC §7.9). A profile
            // line travels on subscribers: the rater is stopped once it has caught up, the profile produced, and a new
            // rater started, which restores the states and reads the profile before rating the next record — the
            // offline rule "from this line on", made deterministic, and a restore of every §7 state member on the way.
            var topics = TestTopics.Create(_cluster, TestTopics.UniquePrefix($"ex-{name}"));
            var profiles = RecordKeys.Lines(subscribersPath);
            var cdrs = RecordKeys.Lines(cdrsPath);
            Kcat.Produce(_cluster.BootstrapServers, topics.Subscribers, profiles.Select(p => (RecordKeys.Of(p), Encoding.UTF8.GetString(p))));
            var settings = new RaterSettings(_cluster.BootstrapServers, topics, $"{topics.Cdrs}-rater", tariffPath, "example");
            var rater = await InProcessRater.StartAsync(settings);
            var produced = 0;
            try
            {
                foreach (var (kind, lines) in Segments(cdrs))
                {
                    switch (kind)
                    {
                        case "clock":
                            for (var partition = 0; partition < _cluster.Partitions; partition++)
                            {
                                Kcat.ProduceToPartition(_cluster.BootstrapServers, topics.Cdrs, partition, Encoding.UTF8.GetString(lines[0]));
                            }

                            produced += _cluster.Partitions;
                            break;
                        case "profile":
                            await WaitCaughtUpAsync(settings, topics);
                            await rater.DisposeAsync();
                            Kcat.Produce(_cluster.BootstrapServers, topics.Subscribers, lines.Select(p => (RecordKeys.Of(p), ProfileOfLine(p))));
                            rater = await InProcessRater.StartAsync(settings);
                            break;
                        default:
                            Kcat.Produce(_cluster.BootstrapServers, topics.Cdrs, lines.Select(c => (RecordKeys.Of(c), Encoding.UTF8.GetString(c))));
                            produced += lines.Count;
                            break;
                    }
                }

                await WaitCaughtUpAsync(settings, topics);
            }
            finally
            {
                await rater.DisposeAsync();
            }

            var observed = ObservedOutputs.ReadWithKcat(_cluster.BootstrapServers, topics);

            // Rated records by id, all fields; reminders as a set by eventId, all fields; nothing twice (no restart here).
            Assert.That(observed.Rated.Select(r => IdOf(r.Text, "id")), Is.Unique, "rated ids");
            Assert.That(observed.Reminders.Select(r => IdOf(r.Text, "eventId")), Is.Unique, "reminder eventIds");
            AssertSameById(expectedRated, observed.Rated.Select(r => r.Text), "id", "rated");
            AssertSameById(expectedReminders, observed.Reminders.Select(r => r.Text), "eventId", "reminders");

            // Rejected: reason and original bytes (which carry the id) as a multiset.
            // On Kafka a profile line is not in cdrs (a refused one is refused on subscribers instead), and a bad clock,
            // written to every partition, is a dead letter once per partition (SPEC §7.9).
            var expectedLetters = expectedRejected.SelectMany(line =>
            {
                using var document = JsonDocument.Parse(line);
                var raw = document.RootElement.GetProperty("raw").GetString()!;
                var letter = $"{document.RootElement.GetProperty("reason").GetString()} | {raw}";
                return TypeOf(Encoding.UTF8.GetBytes(raw)) switch
                {
                    "profile" => [],
                    "clock" => Enumerable.Repeat(letter, _cluster.Partitions),
                    _ => [letter],
                };
            });
            var observedLetters = observed.DeadLetters.Select(d => $"{d.Header(DeadLetterHeaders.Reason)} | {d.Text}");
            Assert.That(observedLetters, Is.EquivalentTo(expectedLetters), "dead letters (reason | original record)");

            // Per record, against the same engine over the records as they sit in the cdrs topic: each dead letter names
            // its source topic, partition and offset, reason and detail, keeps the original key; outputs go to the CDR's
            // partition keyed by msisdn and keep each subscriber's order.
            var expectedBills = ReadLines(Path.Combine(offlineFolder, "bills.jsonl"));
            AssertSameById(expectedBills, Kcat.ConsumeToEnd(_cluster.BootstrapServers, topics.Bills).Select(r => r.Value!), "eventId", "bills");

            var cdrsBack = TopicReader.ReadAll(_cluster.BootstrapServers, topics.Cdrs, _cluster.Partitions);
            Assert.That(cdrsBack, Has.Count.EqualTo(produced), "records in the cdrs topic");
            if (produced != cdrs.Count)
            {
                return; // clocks or profile lines: the per-partition model below replays neither; the comparison above covers them
            }

            var model = new OfflineModel(tariff, profiles);
            model.Apply(cdrsBack);
            var problems = new List<string>();
            OutputComparison.Compare(model, observed, topics, Copies.None, problems);
            Assert.That(problems, Is.Empty);
            foreach (var letter in observed.DeadLetters)
            {
                var source = cdrsBack.Single(c => c.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture) == letter.Header(DeadLetterHeaders.Partition)
                    && c.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture) == letter.Header(DeadLetterHeaders.Offset));
                Assert.That(letter.Value, Is.EqualTo(source.Value), "the dead letter's value is the record its headers point to");
                Assert.That(letter.Header(DeadLetterHeaders.Detail), Is.Not.Empty, "detail header");
                Assert.That(letter.Header(DeadLetterHeaders.Source), Is.EqualTo($"{topics.Cdrs}:{source.Partition}:{source.Offset}"),
                    "the dead letter's identity names its source record");
            }
        }
        finally
        {
            if (Directory.Exists(offlineFolder))
            {
                Directory.Delete(offlineFolder, recursive: true);
            }
        }
    }

    /// <summary>The CDR file cut into runs: consecutive records, or one clock line, or consecutive profile lines.</summary>
    private static IEnumerable<(string Kind, List<byte[]> Lines)> Segments(IEnumerable<byte[]> lines)
    {
        var run = new List<byte[]>();
        var runKind = "records";
        foreach (var line in lines)
        {
            var kind = TypeOf(line) switch { "clock" => "clock", "profile" => "profile", _ => "records" };
            if (run.Count > 0 && (kind != runKind || kind == "clock"))
            {
                yield return (runKind, run);
                run = [];
            }

            runKind = kind;
            run.Add(line);
        }

        if (run.Count > 0)
        {
            yield return (runKind, run);
        }
    }

    private static string? TypeOf(byte[] line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("type", out var type)
                && type.ValueKind == JsonValueKind.String ? type.GetString() : null;
        }
        catch (JsonException)
        {
            return null; // an invalid line is a record the rater rejects
        }
    }

    /// <summary>A profile line without its <c>"type":"profile"</c> member: the profile as the BSS writes it on subscribers.</summary>
    private static string ProfileOfLine(byte[] line)
    {
        var profile = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
        profile.Remove("type");
        return profile.ToJsonString();
    }

    private async Task WaitCaughtUpAsync(RaterSettings settings, TopicNames topics)
    {
        using var progress = new GroupProgress(_cluster.BootstrapServers, settings.GroupId, topics.Cdrs, _cluster.Partitions);
        await progress.WaitUntilCaughtUpAsync(Patience);
    }

    private static List<string> ReadLines(string path) =>
        [.. File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l))];

    /// <summary>
    /// A record's identity: a reminder's or bill's <c>eventId</c>; a rated record's <c>msisdn</c> and <c>id</c> together,
    /// since an id is unique only within one subscriber's records (SPEC's duplicate memory is per subscriber, and the
    /// generated streams give different subscribers the same ids).
    /// </summary>
    private static string? IdOf(string json, string member)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (!root.TryGetProperty(member, out var id))
        {
            return null;
        }

        return member == "id" ? $"{root.GetProperty("msisdn").GetString()} {id.GetString()}" : id.GetString();
    }

    private static void AssertSameById(List<string> expected, IEnumerable<string> observed, string member, string what)
    {
        var expectedById = expected.ToDictionary(l => IdOf(l, member)!, StringComparer.Ordinal);
        var observedById = observed.ToDictionary(l => IdOf(l, member)!, StringComparer.Ordinal);
        Assert.That(observedById.Keys, Is.EquivalentTo(expectedById.Keys), $"{what}: the set of {member}s");
        var different = expectedById.Where(e => !OutputComparison.SameData(e.Value, observedById[e.Key]))
            .Select(e => $"{e.Key}: expected {e.Value} but got {observedById[e.Key]}");
        Assert.That(different, Is.Empty, $"{what} with all fields");
    }
}
