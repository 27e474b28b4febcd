using NUnit.Framework;
using RatingPipeline.FaultSuite;

namespace RatingPipeline.Tests.Faults;

/// <summary>
/// The fault suite's shortened form: 30,000 CDRs through the embedded cluster while raters and the sender are
/// SIGKILLed, the broker fails requests, goes down and slows down, the tariff changes and a second instance joins
/// and one leaves; everything in the topics must equal the offline run, and every reminder must reach the
/// loopback SMS gateway exactly once.
/// </summary>
[TestFixture]
[Category("faults")]
[NonParallelizable]
public sealed class FaultSuiteTests
{
    [Test]
    [CancelAfter(300_000)]
    public async Task Rating_and_notices_under_kills_broker_faults_a_tariff_switch_and_a_rebalance_equal_the_offline_run(CancellationToken cancel)
    {
        var work = Path.Combine(Path.GetTempPath(), $"ratingpipeline-faults-test-{Environment.ProcessId}");
        var options = FaultSuiteOptions.Ci with { WorkDir = work };

        var report = await FaultSuiteRunner.RunAsync(options, TestContext.Progress, cancel);

        TestContext.Out.WriteLine(report.ToTable());
        Assert.That(report.Invariants.Where(i => !i.Holds).Select(i => $"{i.Name}: {i.Detail}"), Is.Empty, $"worker logs in {work}");
        Assert.Multiple(() =>
        {
            Assert.That(report.Passed, Is.True);
            Assert.That(report.CdrsIn, Is.EqualTo(options.Cdrs));
            Assert.That(report.Rated + report.Rejected, Is.EqualTo(options.Cdrs), "every CDR rated or rejected once");
            Assert.That(report.RecordsLost, Is.Zero);
            Assert.That(report.Unexpected, Is.Zero);
            Assert.That(report.StateMismatches, Is.Zero);
            Assert.That(report.Faults.GetValueOrDefault("rater SIGKILL"), Is.EqualTo(options.RaterKills));
            Assert.That(report.RaterRestarts, Is.EqualTo(options.RaterKills));
            Assert.That(report.SwitchIndex, Is.GreaterThan(0).And.LessThan(options.Cdrs));
            Assert.That(report.RatedUnderNewTariff, Is.GreaterThan(0));
            Assert.That(report.Clocks, Is.GreaterThan(24), "hourly clocks in every partition through the stream, and after it");
            Assert.That((report.Bills, report.Fees), Is.EqualTo((report.BillsOffline, report.FeesOffline)), "bills and fee records as offline");
            Assert.That(report.BillsOffline, Is.GreaterThan(0), "cycles closed by clocks past their late grace");
            Assert.That(report.Elapsed, Is.LessThan(options.DurationCap));
            Assert.That(report.SenderIncluded, Is.True);
            Assert.That(report.Faults.GetValueOrDefault("sender SIGKILL"), Is.EqualTo(options.SenderKills));
            Assert.That(report.SenderRestarts, Is.EqualTo(options.SenderKills));
            Assert.That(report.NoticesExpected, Is.GreaterThan(0));
            Assert.That(report.NoticesSent, Is.EqualTo(report.NoticesExpected), "every reminder notified");
            Assert.That(report.NoticesSentTwice, Is.Zero);
        });
        Directory.Delete(work, recursive: true);
    }
}
