using System.Globalization;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The checkpoint interval's trade (DESIGN.md, "Rater: processing guarantee"): rating goes on without waiting for the
/// cluster, and only a checkpoint makes it durable. A crash repeats the outputs rated since the last checkpoint, with
/// the same identities (rated <c>id</c>, reminder <c>eventId</c>, dead letter <c>ratingpipeline.source</c>), and never
/// counts a CDR twice in the state; a graceful stop checkpoints everything rated, however long the interval. Each with
/// one rating lane and with two (partitions rated in parallel by two engines).
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[Category("rater")]
public sealed class CheckpointIntervalTests() : RaterClusterFixture("checkpoint")
{
    private const int Subscribers = 200;
    private const int CdrCount = 4_000;
    private const string Never = "01:00:00";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [TestCase(1)]
    [TestCase(2)]
    public async Task A_crash_before_the_first_checkpoint_writes_every_output_again_with_the_same_identity_and_counts_each_CDR_once(int lanes)
    {
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount, seed: 11);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("interval"));
        OfflineComparison.ProduceProfiles(Bootstrap, data, topics);
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "interval-1").WithShortSession()
            .Set("Rater:CheckpointInterval", Never).Set("Rater:Lanes", lanes.ToString(CultureInfo.InvariantCulture));
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 500, pause: TimeSpan.FromMilliseconds(10)))
        {
            await stream.WaitCompleteAsync(Patience);
        }

        var expected = ExpectedCounts(data, topics);
        var first = Raters.Start(settings);
        await first.WaitReadyAsync(Patience);

        // Every output is rated, handed over and acknowledged while nothing is durable: no offset, no state.
        var outputsOut = await Poll.UntilAsync(() => Ends(topics) == expected, Patience, TimeSpan.FromMilliseconds(200));
        Assert.That(outputsOut, Is.True, $"every output in its topic: expected {expected}, found {Ends(topics)}{first.Diagnostics()}");
        Assert.That(progress.Committed(), Is.Zero, "no input offset committed before the first checkpoint");
        Assert.That(End(topics.RaterState), Is.Zero, "no state written before the first checkpoint");

        first.KillHard();
        Assert.That(first.WaitForExit(Patience), Is.True, "the first rater is gone");

        // The next life checkpoints after every batch (interval 0): it rates everything again from offset 0 against no state.
        var second = Raters.Start(settings.Restarted("interval-2").Set("Rater:CheckpointInterval", "00:00:00"));
        await second.WaitReadyAsync(Patience);
        await progress.WaitUntilCaughtUpAsync(Patience, second.Diagnostics);

        var counts = OfflineComparison.AssertSameAsOffline(Bootstrap, Cluster.Partitions, data, topics, Copies.Any, Subscribers);
        TestContext.Out.WriteLine(counts);
        Assert.Multiple(() =>
        {
            Assert.That(counts.RatedRecords, Is.EqualTo(2 * counts.RatedIds), "every rated record twice, by id");
            Assert.That(counts.ReminderRecords, Is.EqualTo(2 * counts.ReminderIds), "every reminder twice, by eventId");
            Assert.That(counts.DeadLetterRecords, Is.EqualTo(2 * counts.DeadLetterSources), "every dead letter twice");
        });

        // Dead letters are told apart by their source header alone: topic:partition:offset of the rejected record.
        var letters = TopicReader.ReadAll(Bootstrap, topics.CdrsDlq, Cluster.Partitions).Select(ObservedRecord.From).ToList();
        Assert.That(letters, Is.Not.Empty, "dead letters");
        foreach (var letter in letters)
        {
            var named = $"{letter.Header(DeadLetterHeaders.Topic)}:{letter.Header(DeadLetterHeaders.Partition)}:{letter.Header(DeadLetterHeaders.Offset)}";
            Assert.That(letter.Header(DeadLetterHeaders.Source), Is.EqualTo(named), $"source header of the dead letter at [{letter.Partition}]@{letter.Offset}");
        }

        Assert.That(letters.GroupBy(l => l.Header(DeadLetterHeaders.Source)).Select(g => g.Count()).Distinct(), Is.EquivalentTo(new[] { 2 }),
            "each source twice: de-duplicating on the header leaves one dead letter per rejected record");
    }

    [TestCase(1)]
    [TestCase(2)]
    public async Task A_graceful_stop_checkpoints_everything_rated_however_long_the_interval(int lanes)
    {
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount, seed: 12);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("stop"));
        OfflineComparison.ProduceProfiles(Bootstrap, data, topics);
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "stop-1").WithShortSession()
            .Set("Rater:CheckpointInterval", Never).Set("Rater:Lanes", lanes.ToString(CultureInfo.InvariantCulture));
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);
        var half = data.Cdrs.Count / 2;
        await using var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 200, pause: TimeSpan.FromMilliseconds(10), holdAt: half);
        await Poll.UntilAsync(() => stream.Produced >= half, Patience);

        var first = Raters.Start(settings);
        await first.WaitReadyAsync(Patience);
        Assert.That(await Poll.UntilAsync(async () => await Consumed(first) >= half, Patience), Is.True, $"the first half rated{first.Diagnostics()}");
        Assert.That(progress.Committed(), Is.Zero, "nothing committed within the interval");
        Stop(first);
        Assert.That(progress.Committed(), Is.EqualTo(half), "the stop's checkpoint committed everything rated");

        stream.Release();
        await stream.WaitCompleteAsync(Patience);
        var second = Raters.Start(settings.Restarted("stop-2"));
        await second.WaitReadyAsync(Patience);
        Assert.That(await Poll.UntilAsync(async () => await Consumed(second) >= data.Cdrs.Count - half, Patience), Is.True, $"the second half rated{second.Diagnostics()}");
        Stop(second);

        Assert.That(progress.Committed(), Is.EqualTo(data.Cdrs.Count), "every CDR committed");
        var counts = OfflineComparison.AssertSameAsOffline(Bootstrap, Cluster.Partitions, data, topics, Copies.None, Subscribers);
        TestContext.Out.WriteLine(counts);
    }

    /// <summary>
    /// A rater that has caught up does not wait out a long interval: with 20 s, once the input is drained the next
    /// mark comes at once (at most every 2 s, a tenth of the interval), so every offset is committed and every changed
    /// state written well before the interval would have ended.
    /// </summary>
    [Test]
    public async Task A_rater_that_has_caught_up_checkpoints_without_waiting_out_the_interval()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount, seed: 13);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("drained"));
        OfflineComparison.ProduceProfiles(Bootstrap, data, topics);
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "drained-1").WithShortSession()
            .Set("Rater:CheckpointInterval", "00:00:20");
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);
        var rater = Raters.Start(settings);
        await rater.WaitReadyAsync(Patience);
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 500, pause: TimeSpan.FromMilliseconds(10)))
        {
            await stream.WaitCompleteAsync(Patience);
        }

        Assert.That(await Poll.UntilAsync(async () => await Consumed(rater) >= data.Cdrs.Count, Patience), Is.True, $"every CDR consumed{rater.Diagnostics()}");
        var consumedAt = System.Diagnostics.Stopwatch.StartNew();
        var committed = await Poll.UntilAsync(() => progress.Committed() == data.Cdrs.Count, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        var after = consumedAt.Elapsed;
        Assert.Multiple(() =>
        {
            Assert.That(committed, Is.True, $"every offset committed within the interval after the input was drained ({progress.Committed()} of {data.Cdrs.Count}){rater.Diagnostics()}");
            Assert.That(after, Is.LessThan(TimeSpan.FromSeconds(12)), "committed well before a 20 s interval would end");
            Assert.That(End(topics.RaterState), Is.Positive, "the changed states were written before the commit");
        });
    }

    /// <summary>SIGTERM, as a supervisor stops a rater: the host cancels the worker, which checkpoints and leaves the group.</summary>
    private static void Stop(RaterProcess rater)
    {
        rater.Terminate();
        Assert.That(rater.WaitForExit(Patience), Is.True, "the rater exits after SIGTERM");
        Assert.That(rater.ExitCode, Is.Zero, "exit code after SIGTERM");
    }

    private static async Task<double> Consumed(RaterProcess rater)
    {
        try
        {
            return (await rater.ScrapeAsync()).Value("ratingpipeline_cdrs_consumed_total") ?? 0;
        }
        catch (HttpRequestException)
        {
            return 0; // not listening yet
        }
    }

    /// <summary>How many records the offline run writes to each output topic.</summary>
    private OutputEnds ExpectedCounts(SyntheticSet data, TopicNames topics)
    {
        var model = new OfflineModel(data.Tariff, data.Profiles);
        model.Apply(TopicReader.ReadAll(Bootstrap, topics.Cdrs, Cluster.Partitions));
        return new OutputEnds(model.Rated.Count, model.Reminders.Count, model.Rejected.Count);
    }

    private OutputEnds Ends(TopicNames topics) => new(End(topics.RatedCdrs), End(topics.Reminders), End(topics.CdrsDlq));

    private long End(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientTuning.Consumer(Bootstrap, $"ends-{Guid.NewGuid():N}", "none", forEmbeddedCluster: true)).Build();
        return Enumerable.Range(0, Cluster.Partitions).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    private sealed record OutputEnds(long Rated, long Reminders, long DeadLetters)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Rated} rated, {Reminders} reminders, {DeadLetters} dead letters");
    }
}
