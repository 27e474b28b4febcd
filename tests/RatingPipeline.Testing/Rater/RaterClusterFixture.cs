using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The fixture of tests that run raters as child processes against one embedded cluster (4 partitions) for the whole
/// fixture: a fresh temporary folder per test, and after each test the raters it started are stopped (their output
/// reported when the test failed) and the folder deleted. Each test makes its own topics.
/// </summary>
public abstract class RaterClusterFixture(string name)
{
    protected EmbeddedCluster Cluster { get; private set; } = null!;

    private protected StartedRaters Raters { get; private set; } = new();

    /// <summary>The test's own temporary folder.</summary>
    protected string Folder { get; private set; } = "";

    protected string Bootstrap => Cluster.BootstrapServers;

    [OneTimeSetUp]
    public void StartCluster() => Cluster = EmbeddedCluster.Start(partitions: 4);

    [OneTimeTearDown]
    public void StopCluster() => Cluster.Dispose();

    [SetUp]
    public void CreateFolder() => Folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "ratingpipeline-tests", TestTopics.UniquePrefix(name))).FullName;

    [TearDown]
    public void StopRaters()
    {
        Raters.ReportIfFailed();
        Raters.Dispose();
        Raters = new StartedRaters();
        Directory.Delete(Folder, recursive: true);
    }
}
