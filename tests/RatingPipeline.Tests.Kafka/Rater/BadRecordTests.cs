using System.Text;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// Records the rater cannot rate land in <c>cdrs-dlq</c> with their original bytes and Kafka Connect headers, and the
/// books balance: every record consumed is rated or rejected, by the metrics and by the topics.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[Category("rater")]
public sealed class BadRecordTests() : RaterClusterFixture("bad")
{
    private const string Known = "8613800000001";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Malformed_unknown_and_duplicate_records_go_to_the_dead_letter_topic_and_the_counts_add_up()
    {
        var example = Path.Combine(AppContext.BaseDirectory, "Examples", "basic");
        var tariffPath = Path.Combine(example, "tariff.json");
        var profiles = RecordKeys.Lines(Path.Combine(example, "subscribers.jsonl"));
        var voice = Cdr("""{"id":"v1","type":"voice","msisdn":"8613800000001","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00","durationSec":61}""");
        var sms = Cdr("""{"id":"v2","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"13900000000","start":"2026-11-02T11:00:00+08:00"}""");
        var data = Cdr("""{"id":"v3","type":"data","msisdn":"8613800000001","start":"2026-11-02T12:00:00+08:00","bytes":1500}""");
        (string? Key, byte[] Value)[] records =
        [
            (Known, voice),
            (Known, sms),
            (Known, data),
            (Known, voice[..(voice.Length / 2)]), // truncated JSON
            (null, sms[..^1]), // truncated JSON, and no key at all
            (Known, WithNote("u8-1", "2026-11-02T13:00:00+08:00", [0xFF, 0xFE])), // bytes that are never UTF-8
            (Known, WithNote("u8-2", "2026-11-02T13:00:01+08:00", [0xC0, 0xAF])), // an overlong encoding of '/'
            (Known, WithNote("u8-3", "2026-11-02T13:00:02+08:00", [0xED, 0xA0, 0x80])), // a UTF-16 surrogate encoded as UTF-8
            (Known, []), // an empty record
            (RecordKeys.Unparsed, Cdr("[1,2,3]")), // JSON, but not an object
            (RecordKeys.Unparsed, [0x00, 0x01, 0x02, 0xFF]), // binary
            ("8613899990001", Cdr("""{"id":"x1","type":"data","msisdn":"8613899990001","start":"2026-11-02T14:00:00+08:00","bytes":1}""")), // no such subscriber
            ("8613899990002", Cdr("""{"id":"x2","type":"sms","msisdn":"8613899990002","direction":"mt","peer":"13900000000","start":"2026-11-02T14:00:00+08:00"}""")), // no such subscriber
            (Known, sms), // delivered twice
            (Known, data), // delivered twice
            (Known, Cdr("""{"id":"v4","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"10086","start":"2026-11-02T15:00:00+08:00"}""")), // rating goes on
        ];

        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("bad"));
        using (var producer = new TestProducer(Bootstrap))
        {
            foreach (var profile in profiles)
            {
                producer.Produce(topics.Subscribers, RecordKeys.Of(profile), profile);
            }

            producer.Flush();
            var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", tariffPath, "bad");
            var rater = Raters.Start(settings);
            await rater.WaitReadyAsync(Patience);

            // Produced with the .NET client: kcat's line mode cannot carry arbitrary bytes, empty values or a missing key.
            foreach (var (key, value) in records)
            {
                producer.Produce(topics.Cdrs, key, value);
            }

            producer.Flush();
            using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);
            await progress.WaitUntilCaughtUpAsync(Patience, rater.Diagnostics);

            var cdrs = TopicReader.ReadAll(Bootstrap, topics.Cdrs, Cluster.Partitions);
            Assert.That(cdrs, Has.Count.EqualTo(records.Length), "records in cdrs");
            var model = new OfflineModel(TariffLoader.LoadFile(tariffPath), profiles);
            model.Apply(cdrs);
            var reasons = model.Rejected.GroupBy(r => r.Reason).ToDictionary(g => g.Key, g => g.Count());
            Assert.That(reasons, Is.EquivalentTo(new Dictionary<string, int> { ["invalid"] = 8, ["unknown-subscriber"] = 2, ["duplicate"] = 2 }),
                "what the engine makes of the records (the test's premise)");

            // Each dead letter: the original bytes and key, on its CDR's partition, naming topic, partition, offset, reason, detail.
            var observed = ObservedOutputs.ReadWithKcatAndExactDeadLetters(Bootstrap, topics, Cluster.Partitions);
            var problems = new List<string>();
            OutputComparison.Compare(model, observed, topics, Copies.None, problems);
            Assert.That(problems, Is.Empty);

            // Records in = rated + rejected: by the topics…
            Assert.That(observed.Rated.Count + observed.DeadLetters.Count, Is.EqualTo(records.Length), "rated-cdrs + cdrs-dlq records");
            Assert.That(observed.Rated, Has.Count.EqualTo(model.Rated.Count));

            // …and by the metrics.
            var scrape = await rater.ScrapeAsync();
            var consumed = scrape.Value("ratingpipeline_cdrs_consumed_total");
            var rated = scrape.Value("ratingpipeline_cdrs_rated_total");
            var skipped = scrape.Value("ratingpipeline_cdrs_skipped_total");
            var rejected = scrape.Sum("ratingpipeline_cdrs_rejected_total");
            Assert.That(consumed, Is.EqualTo(records.Length), "consumed");
            Assert.That(rated + rejected + skipped, Is.EqualTo(consumed), "consumed = rated + rejected + skipped");
            Assert.That(skipped, Is.Zero, "nothing skipped in a run without restarts");
            Assert.That(rated, Is.EqualTo(model.Rated.Count), "rated");
            foreach (var reason in RecordNames.AllReasons)
            {
                Assert.That(scrape.Value("ratingpipeline_cdrs_rejected_total", ("reason", reason)), Is.EqualTo(reasons.GetValueOrDefault(reason)),
                    $"rejected {reason}");
            }
        }
    }

    private static byte[] Cdr(string json) => Encoding.UTF8.GetBytes(json);

    /// <summary>An SMS CDR, valid but for the bytes in its <c>note</c> member.</summary>
    private static byte[] WithNote(string id, string start, byte[] note) =>
    [
        .. Encoding.UTF8.GetBytes($"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{Known}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"{start}\",\"note\":\""),
        .. note,
        .. "\"}"u8,
    ];
}
