using System.Runtime;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Lanes;
using RatingPipeline.Rerating;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// <c>ratingctl rate</c> and <c>rerate</c> on inputs of a megabyte or more run in a region without collections: what they
/// allocate (the profiles, the usage states, the old run's records, the lanes' buffers) lives to their end, so a
/// collection would only copy it. The region is sized by <see cref="RatingLanes.RunBytes"/> (<see cref="RerateLanes.RunBytes"/>)
/// and always ended, whether the run rates or refuses its input.
/// </summary>
[TestFixture]
public sealed class RunsWithoutCollectionsTests
{
    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = Directory.CreateTempSubdirectory("rate-regions-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    [Test]
    public async Task A_run_of_several_megabytes_meets_at_most_the_regions_own_collection_allocates_within_its_estimate_and_ends_the_region()
    {
        var data = Path.Combine(_folder, "data");
        await GenerateCommand.RunAsync(data, subscribers: 30_000, cdrs: 60_000, seed: 11, CancellationToken.None);
        var subscribers = Path.Combine(data, "subscribers.jsonl");
        var cdrs = Path.Combine(data, "cdrs.jsonl");
        var estimate = RatingLanes.RunBytes(new FileInfo(subscribers).Length, new FileInfo(cdrs).Length);

        var run = await MeasuredAsync(() => RateCommand.RunAsync(new RateOptions(Path.Combine(data, "tariff.json"), subscribers, cdrs,
            Path.Combine(_folder, "out"), Progress: false, Lanes: 2), TextWriter.Null, TextWriter.Null, CancellationToken.None));

        AssertWithoutCollections(run, estimate);
    }

    [Test]
    public async Task A_rerate_of_several_megabytes_meets_at_most_the_regions_own_collection_allocates_within_its_estimate_and_ends_the_region()
    {
        var data = Path.Combine(_folder, "data");
        await GenerateCommand.RunAsync(data, subscribers: 20_000, cdrs: 40_000, seed: 13, CancellationToken.None);
        var (tariff, subscribers, cdrs) = (Path.Combine(data, "tariff.json"), Path.Combine(data, "subscribers.jsonl"), Path.Combine(data, "cdrs.jsonl"));
        var old = Path.Combine(_folder, "old");
        Assert.That(await RateCommand.RunAsync(new RateOptions(tariff, subscribers, cdrs, old, Progress: false), TextWriter.Null, TextWriter.Null,
            CancellationToken.None), Is.Zero);
        var rated = Path.Combine(old, "rated.jsonl");
        var estimate = RerateLanes.RunBytes(new FileInfo(subscribers).Length, new FileInfo(rated).Length, new FileInfo(cdrs).Length);

        var stdout = new StringWriter();
        var run = await MeasuredAsync(() => RerateCommand.RunAsync(new RerateOptions(tariff, subscribers, rated, cdrs, Path.Combine(_folder, "rerated"),
            Lanes: 2), stdout, TextWriter.Null, CancellationToken.None));

        Assert.That(stdout.ToString(), Does.Contain("0 adjustments"), "the same tariff changes no charge");
        AssertWithoutCollections(run, estimate);
    }

    [Test]
    public async Task A_refused_subscriber_file_of_several_megabytes_ends_the_region_too()
    {
        var data = Path.Combine(_folder, "data");
        await GenerateCommand.RunAsync(data, subscribers: 30_000, cdrs: 1_000, seed: 11, CancellationToken.None);
        var subscribers = Path.Combine(data, "subscribers.jsonl");
        await File.AppendAllTextAsync(subscribers, "{\"msisdn\": \"8613800000001\", \"plan\": \"mini-18\", \"cycleDay\": 99}\n");
        var stderr = new StringWriter();

        var exit = await RateCommand.RunAsync(new RateOptions(Path.Combine(data, "tariff.json"), subscribers, Path.Combine(data, "cdrs.jsonl"),
            Path.Combine(_folder, "out"), Progress: false), TextWriter.Null, stderr, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.ToString(), Does.Contain("subscriber file refused"));
            Assert.That(GCSettings.LatencyMode, Is.Not.EqualTo(GCLatencyMode.NoGCRegion));
            Assert.That(Directory.Exists(Path.Combine(_folder, "out")), Is.False, "nothing written for a refused input");
        });
    }

    /// <summary>Runs a command; its exit code, the collections and the bytes allocated meanwhile.</summary>
    private static async Task<(int Exit, int Collections, long Allocated)> MeasuredAsync(Func<Task<int>> command)
    {
        var collections = GC.CollectionCount(0);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var exit = await command();
        return (exit, GC.CollectionCount(0) - collections, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    private static void AssertWithoutCollections((int Exit, int Collections, long Allocated) run, long estimate) => Assert.Multiple(() =>
    {
        Assert.That(run.Exit, Is.Zero);
        Assert.That(GCSettings.LatencyMode, Is.Not.EqualTo(GCLatencyMode.NoGCRegion), "the region ended with the run");

        // Starting the region may collect once (to free the room it asks for); after that, none. The same runs without a
        // region meet several (their profiles, states, records and buffers are tens of megabytes).
        Assert.That(run.Collections, Is.LessThanOrEqualTo(1), $"{run.Allocated >> 20} MB allocated");
        Assert.That(run.Allocated, Is.LessThan(estimate), "the region's size covers what the run allocates");
    });

    [Test]
    public void A_region_beyond_a_quarter_of_the_memory_the_collector_may_use_is_not_asked_for()
    {
        // Under a heap limit (a container's) the runtime grants a region larger than the limit, then fails the
        // allocations it was meant to cover (the published app's test runs that case); so the region stays well inside.
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Assert.Multiple(() =>
        {
            Assert.That(RatingPipeline.Memory.CollectionFreeRegion.TryStart((available / 4) + 1), Is.False);
            Assert.That(GCSettings.LatencyMode, Is.Not.EqualTo(GCLatencyMode.NoGCRegion));
        });
    }

    [Test]
    public void The_estimate_grows_with_each_input_and_caps_what_the_pass_makes_on_its_way()
    {
        var small = RatingLanes.RunBytes(1 << 20, 1 << 20);
        Assert.Multiple(() =>
        {
            Assert.That(RatingLanes.RunBytes(8 << 20, 1 << 20), Is.GreaterThan(small));
            Assert.That(RatingLanes.RunBytes(1 << 20, 8 << 20), Is.GreaterThan(small));

            // Beyond the cap, more CDRs add only usage states, of which there is at most one per profile.
            Assert.That(RatingLanes.RunBytes(1 << 20, 64L << 30), Is.EqualTo(RatingLanes.RunBytes(1 << 20, 32L << 30)));
        });
    }
}
