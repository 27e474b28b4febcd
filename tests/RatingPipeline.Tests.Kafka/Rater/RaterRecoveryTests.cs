using System.Globalization;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The processing guarantee (every CDR rated exactly once in the state, outputs recognisable by id) across a graceful
/// restart, SIGKILLs at random points and a second instance sharing the group, all while CDRs stream in. The reference
/// is the same engine run offline over the CDRs as they sit in the topic, partition by partition: final per-subscriber
/// states (last <c>rater-state</c> record per key) and de-duplicated outputs must equal it.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[Category("rater")]
public sealed class RaterRecoveryTests() : RaterClusterFixture("recovery")
{
    private const int Subscribers = 300;
    private const int CdrCount = 20_000;

    /// <summary>SIGKILL rounds; the CI form runs 3, a soak run sets RATER_KILL_ROUNDS higher.</summary>
    private static readonly int KillRounds = int.TryParse(Environment.GetEnvironmentVariable("RATER_KILL_ROUNDS"), CultureInfo.InvariantCulture, out var rounds)
        ? Math.Max(3, rounds) : 3;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Graceful_restart_mid_stream_loses_nothing_and_rates_nothing_twice()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount, seed: 2);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("restart"));
        ProduceProfiles(data, topics);
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "restart-1").WithShortSession();
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);

        long committedAtStop;
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 200, pause: TimeSpan.FromMilliseconds(60)))
        {
            await using (var first = await InProcessRater.StartAsync(settings))
            {
                await first.WaitReadyAsync(Patience);
                Assert.That(await Poll.UntilAsync(() => progress.Committed() >= 3_000, Patience), Is.True, $"first life rates 3000 CDRs; {stream}");

                // Graceful stop: the batch in hand is finished and committed, the group is left.
                await first.StopAsync();
            }

            committedAtStop = progress.Committed();
            TestContext.Out.WriteLine($"stopped with {committedAtStop} CDRs committed, {stream}");
            Assert.That(committedAtStop, Is.LessThan(CdrCount), "stopped mid-stream");

            await using var second = await InProcessRater.StartAsync(settings.Restarted("restart-2"));
            await stream.WaitCompleteAsync(Patience);
            await progress.WaitUntilCaughtUpAsync(Patience);
        }

        // A graceful stop commits what it rated: no record is rated twice, so no output is written twice either.
        var counts = AssertSameAsOffline(data, topics, Copies.None);
        TestContext.Out.WriteLine(counts);
    }

    [Test]
    public async Task SIGKILL_at_random_points_while_CDRs_stream_in_leaves_state_and_outputs_as_offline()
    {
        var seed = TestContext.CurrentContext.Random.Next();
        var random = new Random(seed);
        TestContext.Out.WriteLine($"kill schedule seed {seed}, {KillRounds} rounds");
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount, seed: 3);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("sigkill"));
        ProduceProfiles(data, topics);
        // Batches of at most 300 CDRs: catching up after a restart takes many batches, each one a window to kill in.
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "kill-0").WithShortSession()
            .Set("Rater:BatchMaxRecords", "300");
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);

        // CDRs stream in slices (the last tenth held until the last kill): each life gets a slice while it starts (a backlog
        // to catch up, written while the group waits ~5 s for the killed member) and one once it is ready (a live stream),
        // and is killed at a random point of either while its input is not all committed.
        var unit = CdrCount * 9 / 10 / ((5 * KillRounds) + 3);
        var released = 3 * unit;
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 100, pause: TimeSpan.FromMilliseconds(90), holdAt: released))
        {
            var rater = Raters.Start(settings);
            for (var round = 1; round <= KillRounds; round++)
            {
                await rater.WaitReadyAsync(Patience);
                if (round > 1)
                {
                    stream.ReleaseTo(released += 3 * unit);
                }

                var before = progress.Committed();
                Assert.That(await Poll.UntilAsync(() => progress.Committed() > before, Patience, TimeSpan.FromMilliseconds(20)), Is.True,
                    $"round {round}: the rater makes progress; {stream}{rater.Diagnostics()}");
                await Task.Delay(random.Next(0, 300));

                // Kill only while input is still uncommitted: mid-stream, with outputs not yet checkpointed or a batch in hand.
                var backlog = await Poll.UntilAsync(() => progress.End() > progress.Committed(), Patience, TimeSpan.FromMilliseconds(10));
                Assert.That(backlog, Is.True, $"round {round}: CDRs waiting to be rated; {stream}");
                rater.KillHard();
                TestContext.Out.WriteLine($"round {round}: SIGKILL with {progress.Committed()} of {progress.End()} CDRs committed, {stream}");
                rater = Raters.Start(settings.Restarted($"kill-{round}"));
                stream.ReleaseTo(released += 2 * unit);
            }

            await rater.WaitReadyAsync(Patience);
            stream.Release();
            await stream.WaitCompleteAsync(Patience);
            await progress.WaitUntilCaughtUpAsync(Patience, rater.Diagnostics);
        }

        // Reprocessing after a kill may write an output again, always with the same id and content (checked inside).
        var counts = AssertSameAsOffline(data, topics, Copies.Any);
        TestContext.Out.WriteLine(counts);
    }

    [Test]
    public async Task Two_instances_in_one_group_one_stopped_mid_stream_rate_as_offline()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount, seed: 4);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("pair"));
        ProduceProfiles(data, topics);
        var settingsA = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "pair-a").WithShortSession();
        var settingsB = settingsA.Restarted("pair-b");
        using var progress = new GroupProgress(Bootstrap, settingsA.GroupId, topics.Cdrs, Cluster.Partitions);

        // The last tenth of the stream is held until A is stopped, so A surely stops while CDRs still stream in.
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 100, pause: TimeSpan.FromMilliseconds(100), holdAt: CdrCount * 9 / 10))
        {
            var a = Raters.Start(settingsA);
            await a.WaitReadyAsync(Patience);
            Assert.That(await Poll.UntilAsync(() => progress.Committed() >= 1_000, Patience), Is.True, $"A rates; {stream}");

            // B joins: the partitions are shared between the two.
            var b = Raters.Start(settingsB);
            var shared = await Poll.UntilAsync(async () => await Assigned(a) > 0 && await Assigned(b) > 0 && await Assigned(a) + await Assigned(b) == Cluster.Partitions, Patience);
            Assert.That(shared, Is.True, $"both instances own partitions; {stream}");
            Assert.That(await Poll.UntilAsync(async () => await Consumed(b) > 0, Patience), Is.True, $"B rates its partitions; {stream}");

            // A stops gracefully mid-stream (SIGTERM); B takes over its partitions.
            stream.Release();
            a.Terminate();
            Assert.That(a.WaitForExit(Patience), Is.True, "A exits after SIGTERM");
            Assert.That(a.ExitCode, Is.Zero, "A's exit code");
            TestContext.Out.WriteLine($"A stopped with {progress.Committed()} CDRs committed, {stream}");
            var takenOver = await Poll.UntilAsync(async () => await Assigned(b) == Cluster.Partitions, Patience);
            Assert.That(takenOver, Is.True, $"B owns every partition; B is {await b.ReadyStatusAsync()}: {await ReadyText(b)}");

            await stream.WaitCompleteAsync(Patience);
            await progress.WaitUntilCaughtUpAsync(Patience, b.Diagnostics);
        }

        // Partitions moved only by revoke (batch finished first): no CDR rated twice, no rated record or reminder written twice.
        // A dead letter may be written again when the group refused the commit in the revoke handler (see Copies).
        var counts = AssertSameAsOffline(data, topics, Copies.OfDeadLetters);
        TestContext.Out.WriteLine(counts);
    }

    [Test]
    public async Task A_broker_fault_makes_the_worker_start_over_from_the_last_commit_without_loss_or_double_counting()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, Subscribers, CdrCount / 2, seed: 5);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("fault"));
        ProduceProfiles(data, topics);
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", data.TariffPath, "fault").WithShortSession();
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);

        // The second half of the stream is held until the fault is set up, so the rater is rating (and committing) then.
        await using (var stream = new CdrStream(Bootstrap, topics.Cdrs, data.Cdrs, chunk: 100, pause: TimeSpan.FromMilliseconds(50), holdAt: data.Cdrs.Count / 2))
        {
            var rater = Raters.Start(settings);
            await rater.WaitReadyAsync(Patience);
            Assert.That(await Poll.UntilAsync(() => progress.Committed() >= 500, Patience), Is.True, $"the rater rates; {stream}");

            // The cluster refuses the next offset commit for good (only the rater commits offsets here, so the error is its).
            Cluster.Mock.PushRequestErrors(KafkaApiKey.OffsetCommit, ErrorCode.GroupAuthorizationFailed);
            stream.Release();

            // The worker starts over: a new session from the last committed offsets and the stored states.
            var recovered = await Poll.UntilAsync(async () => await Gauge(rater, "ratingpipeline_rater_recoveries_total") >= 1, Patience);
            Assert.That(recovered, Is.True, $"the worker started over after the fault{rater.Diagnostics()}");
            await rater.WaitReadyAsync(Patience);

            await stream.WaitCompleteAsync(Patience);
            await progress.WaitUntilCaughtUpAsync(Patience, rater.Diagnostics);
            Assert.That(rater.HasExited, Is.False, "the worker still runs");
            Assert.That(await Gauge(rater, "ratingpipeline_rater_recoveries_total"), Is.EqualTo(1), "one fault, one new start");
        }

        // The failed batch is rated again from the last commit: outputs may be written again, with the same ids and content.
        var counts = AssertSameAsOffline(data, topics, Copies.Any);
        TestContext.Out.WriteLine(counts);
    }

    private static Task<double> Assigned(RaterProcess rater) => Gauge(rater, "ratingpipeline_assigned_partitions");

    private static Task<double> Consumed(RaterProcess rater) => Gauge(rater, "ratingpipeline_cdrs_consumed_total");

    private static async Task<double> Gauge(RaterProcess rater, string name)
    {
        try
        {
            return (await rater.ScrapeAsync()).Value(name) ?? 0;
        }
        catch (HttpRequestException)
        {
            return 0; // not listening yet
        }
    }

    private static async Task<string> ReadyText(RaterInstance rater)
    {
        try
        {
            return await rater.ReadyTextAsync();
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
    }

    private void ProduceProfiles(SyntheticSet data, TopicNames topics) => OfflineComparison.ProduceProfiles(Bootstrap, data, topics);

    private ComparisonCounts AssertSameAsOffline(SyntheticSet data, TopicNames topics, Copies copies) =>
        OfflineComparison.AssertSameAsOffline(Bootstrap, Cluster.Partitions, data, topics, copies, Subscribers);
}

/// <summary>A generated data set (<c>ratingctl generate</c>): demo tariff, profiles, CDRs in arrival order.</summary>
internal sealed record SyntheticSet(string TariffPath, Tariff Tariff, List<byte[]> Profiles, List<byte[]> Cdrs)
{
    public static async Task<SyntheticSet> GenerateAsync(string folder, int subscribers, int cdrs, int seed)
    {
        await GenerateCommand.RunAsync(folder, subscribers, cdrs, seed, CancellationToken.None);
        var tariffPath = Path.Combine(folder, "tariff.json");
        var set = new SyntheticSet(tariffPath, TariffLoader.LoadFile(tariffPath), RecordKeys.Lines(Path.Combine(folder, "subscribers.jsonl")),
            RecordKeys.Lines(Path.Combine(folder, "cdrs.jsonl")));
        Assert.That(set.Cdrs, Has.Count.EqualTo(cdrs), "generated CDR lines");
        return set;
    }
}

/// <summary>The comparison the Kafka recovery tests share: final states and de-duplicated outputs against the offline run.</summary>
internal static class OfflineComparison
{
    public static void ProduceProfiles(string bootstrap, SyntheticSet data, TopicNames topics)
    {
        using var producer = new TestProducer(bootstrap);
        foreach (var profile in data.Profiles)
        {
            producer.Produce(topics.Subscribers, RecordKeys.Of(profile), profile);
        }

        producer.Flush();
    }

    /// <summary>Final states and de-duplicated outputs equal the offline run over the CDRs as they sit in the topic.</summary>
    public static ComparisonCounts AssertSameAsOffline(string bootstrap, int partitions, SyntheticSet data, TopicNames topics, Copies copies, int subscribers)
    {
        var cdrs = TopicReader.ReadAll(bootstrap, topics.Cdrs, partitions);
        Assert.That(cdrs, Has.Count.EqualTo(data.Cdrs.Count), "CDRs in the topic");
        var model = new OfflineModel(data.Tariff, data.Profiles);
        model.Apply(cdrs);

        // The data must exercise what is compared: most CDRs rated, reminders, rejections, most subscribers in state.
        Assert.That(model.Rated, Has.Count.GreaterThan(data.Cdrs.Count * 3 / 4), "offline rated");
        Assert.That(model.Reminders, Is.Not.Empty, "offline reminders");
        Assert.That(model.Rejected, Is.Not.Empty, "offline rejections");

        var problems = new List<string>();
        var expectedStates = model.States();
        var storedStates = StateView.FromChangelog(TopicReader.ReadAll(bootstrap, topics.RaterState, partitions), problems);
        Assert.That(expectedStates, Has.Count.GreaterThan(subscribers * 9 / 10), "subscribers with state");
        Assert.That(storedStates.Keys, Is.EquivalentTo(expectedStates.Keys), "subscribers in rater-state");
        var differing = expectedStates.Where(e => storedStates.TryGetValue(e.Key, out var stored) && stored != e.Value).ToList();
        problems.AddRange(differing.Take(10).Select(e => $"state of {e.Key}: {StateView.Differences(e.Value, storedStates[e.Key])}"));
        if (differing.Count > 10)
        {
            problems.Add($"… {differing.Count} of {expectedStates.Count} subscribers' states differ");
        }

        var observed = ObservedOutputs.ReadWithKcat(bootstrap, topics);
        var counts = OutputComparison.Compare(model, observed, topics, copies, problems);
        Assert.That(problems, Is.Empty, counts.ToString());
        return counts;
    }
}
