using NUnit.Framework;
using RatingPipeline.Cli;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// The offline commands' progress bars: one per pass, filled by what the passes report; none when not asked or for
/// small inputs; and <c>--no-progress</c> on every offline command that reads files through the lanes.
/// </summary>
[TestFixture]
public sealed class ProgressBarsTests
{
    [Test]
    public async Task Each_bar_is_filled_by_its_own_reports()
    {
        using var drawn = new StringWriter();
        var result = await ProgressBars.RunAsync(drawn, [("first pass", 1000), ("second pass", 4000)], progress =>
        {
            Assert.That(progress, Has.Count.EqualTo(2));
            Assert.That(progress, Has.All.Not.Null);
            progress[0]!(400);
            progress[0]!(1000);
            progress[1]!(4000);
            return Task.FromResult(42);
        });

        // Without a terminal the bars are written once, as they stand at the end.
        var text = drawn.ToString();
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(42));
            Assert.That(text, Does.Contain("first pass"));
            Assert.That(text, Does.Contain("second pass"));
            Assert.That(text.Split('\n').Count(l => l.Contains("100%")), Is.EqualTo(2), text);
        });
    }

    [Test]
    public async Task A_bar_not_reported_to_stays_empty()
    {
        using var drawn = new StringWriter();
        await ProgressBars.RunAsync(drawn, [("done", 10), ("not begun", 10)], progress =>
        {
            progress[0]!(10);
            return Task.FromResult(0);
        });

        var lines = drawn.ToString().Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(lines.Single(l => l.Contains("done")), Does.Contain("100%"));
            Assert.That(lines.Single(l => l.Contains("not begun")), Does.Contain("0%").And.Not.Contain("100%"));
        });
    }

    [Test]
    public async Task Without_a_target_the_passes_run_with_no_reporters_and_nothing_is_drawn()
    {
        var ran = await ProgressBars.RunAsync(null, [("a", 1), ("b", 2), ("c", 3)], progress =>
        {
            Assert.That(progress, Has.Count.EqualTo(3));
            Assert.That(progress, Has.All.Null);
            return Task.FromResult(true);
        });

        Assert.That(ran, Is.True);
    }

    [Test]
    public void Bars_are_drawn_only_when_asked_and_for_inputs_of_32_MB_or_more()
    {
        using var stderr = new StringWriter();
        Assert.Multiple(() =>
        {
            Assert.That(ProgressBars.Target(asked: false, 1L << 40, stderr), Is.Null);
            Assert.That(ProgressBars.Target(asked: true, ProgressBars.MinInputBytes - 1, stderr), Is.Null);
        });
    }

    [TestCase("rate", "--tariff", "t.json", "--subscribers", "s.jsonl", "--cdrs", "c.jsonl", "--out", "o")]
    [TestCase("rerate", "--tariff", "t.json", "--subscribers", "s.jsonl", "--rated", "r.jsonl", "--cdrs", "c.jsonl", "--out", "o")]
    [TestCase("audit", "zero-rating", "--rated", "r.jsonl", "--month", "2026-11", "--out", "o")]
    public void The_offline_commands_take_no_progress(params string[] command)
    {
        var parsed = Program.BuildRoot().Parse([.. command, "--no-progress"]);

        Assert.That(parsed.Errors, Is.Empty, string.Join("; ", parsed.Errors.Select(e => e.Message)));
    }
}
