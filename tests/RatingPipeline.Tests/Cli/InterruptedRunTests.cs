using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// An offline command stopped by Ctrl-C or SIGTERM (its token cancelled) says so in one line, names the output folder
/// whose files are incomplete, and exits 130; it writes no summary as if it had finished.
/// </summary>
[TestFixture]
public sealed class InterruptedRunTests
{
    private Rerating.TestFolder _folder = null!;
    private string _rated = "";

    [OneTimeSetUp]
    public async Task RateTheExample()
    {
        _folder = new Rerating.TestFolder();
        _rated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
    }

    [OneTimeTearDown]
    public void CleanUp() => _folder.Dispose();

    [Test]
    public async Task Rate_stopped_says_its_outputs_are_incomplete()
    {
        var output = _folder.File("rate");
        var (code, stdout, stderr) = await RunStoppedAsync((o, e, cancel) =>
            RateCommand.RunAsync(new RateOptions(ExampleTariff, ExampleSubscribers, ExampleCdrs, output, Progress: false), o, e, cancel));

        AssertStopped(code, stdout, stderr, "ratingctl rate", output);
    }

    [Test]
    public async Task Rerate_stopped_says_its_outputs_are_incomplete()
    {
        var output = _folder.File("rerate");
        var (code, stdout, stderr) = await RunStoppedAsync((o, e, cancel) =>
            RerateCommand.RunAsync(new RerateOptions(ExampleTariff, ExampleSubscribers, _rated, ExampleCdrs, output, Progress: false), o, e, cancel));

        AssertStopped(code, stdout, stderr, "ratingctl rerate", output);
    }

    [Test]
    public async Task Rerate_with_the_old_tariff_stopped_says_its_outputs_are_incomplete_and_leaves_no_narrowed_copies()
    {
        var output = _folder.File("rerate-scoped");
        var json = TariffJson(ExampleTariff);
        json["version"] = "2026-11-15.1";
        ZeroRated(json).Add(ZeroRatingEntry("004475374102", "apple-activation-late"));
        var newTariff = Write(json, _folder, "new.json");
        var (code, stdout, stderr) = await RunStoppedAsync((o, e, cancel) =>
            RerateCommand.RunAsync(new RerateOptions(newTariff, ExampleSubscribers, _rated, ExampleCdrs, output, Progress: false, OldTariff: ExampleTariff), o, e, cancel));

        AssertStopped(code, stdout, stderr, "ratingctl rerate", output);
        Assert.That(Directory.Exists(output) ? Directory.GetDirectories(output) : [], Is.Empty);
    }

    [Test]
    public async Task Audit_stopped_says_its_outputs_are_incomplete()
    {
        var output = _folder.File("audit");
        var (code, stdout, stderr) = await RunStoppedAsync((o, e, cancel) =>
            AuditCommand.RunZeroRatingAsync(new ZeroRatingAuditOptions(_rated, "2026-11", output, Progress: false), o, e, cancel));

        AssertStopped(code, stdout, stderr, "ratingctl audit zero-rating", output);
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunStoppedAsync(Func<TextWriter, TextWriter, CancellationToken, Task<int>> run)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await run(stdout, stderr, new CancellationToken(canceled: true));
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static void AssertStopped(int code, string stdout, string stderr, string command, string output) => Assert.Multiple(() =>
    {
        Assert.That(code, Is.EqualTo(Interrupted.ExitCode));
        Assert.That(stderr.TrimEnd(), Is.EqualTo($"{command}: stopped before the end of its input (the outputs in {output} are incomplete)"));
        Assert.That(stdout, Is.Empty);
    });
}
