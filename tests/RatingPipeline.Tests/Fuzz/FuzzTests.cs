using System.Globalization;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Fuzz;

namespace RatingPipeline.Tests.Fuzz;

/// <summary>
/// Bounded fuzz runs in CI (31 s in all by default; <c>RATINGPIPELINE_FUZZ_SECONDS</c> sets the seconds per
/// target, <c>RATINGPIPELINE_FUZZ_SEED</c> the seed): every invariant of the three targets must hold on every
/// input, and the inputs that once broke one are replayed. Failing inputs are saved under the test's work
/// directory (<c>fuzz-crashes/</c>) and attached to the result. Longer runs: see docs/robustness.md.
/// </summary>
[TestFixture]
[Category("fuzz")]
public sealed class FuzzTests
{
    private static string CrashDirectory => Path.Combine(TestContext.CurrentContext.WorkDirectory, "fuzz-crashes");

    [TestCase("cdr", 15)]
    [TestCase("tariff", 8)]
    [TestCase("profile", 8)]
    public void Every_input_keeps_the_invariants_of(string target, int defaultSeconds)
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("RATINGPIPELINE_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : defaultSeconds;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RATINGPIPELINE_FUZZ_SEED"), CultureInfo.InvariantCulture, out var n) ? n : 1;
        var report = FuzzRunner.Run(FuzzTarget.Create(target),
            new FuzzOptions(TimeSpan.FromSeconds(seconds), Seed: seed, CrashDirectory: CrashDirectory, HangAfter: TimeSpan.FromSeconds(5)),
            TestContext.Progress);
        TestContext.Out.Write(report.ToString());
        foreach (var failure in report.Failures.Where(f => f.SavedTo is not null))
        {
            TestContext.AddTestAttachment(failure.SavedTo!, failure.Kind);
        }

        Assert.That(report.Failures.Select(f => $"{f.Kind}: {f.Message}"), Is.Empty);
        Assert.That(report.Iterations, Is.GreaterThan(500), "the run tried enough inputs to mean something");
        Assert.That(report.Outcomes, Has.Count.GreaterThan(5), "mutations reached more than a handful of outcomes");
    }

    [TestCase("cdr")]
    [TestCase("tariff")]
    [TestCase("profile")]
    public void Inputs_that_once_broke_an_invariant_keep_them_now(string target)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Regressions", target);
        var inputs = Directory.GetFiles(folder).Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
        var report = FuzzRunner.Replay(FuzzTarget.Create(target), inputs);
        Assert.That(inputs, Is.Not.Empty);
        Assert.That(report.Failures.Select(f => $"{f.Kind}: {f.Message}"), Is.Empty);
    }

    [Test]
    public void The_fuzzer_finds_and_saves_an_input_that_breaks_a_planted_invariant()
    {
        var directory = Path.Combine(CrashDirectory, "planted");
        var report = FuzzRunner.Run(new PlantedTarget(), new FuzzOptions(TimeSpan.FromSeconds(10), MaxIterations: 50_000, CrashDirectory: directory));

        Assert.That(report.Failures.Select(f => f.Kind), Does.Contain("violation").And.Contain("exception"));
        var saved = report.Failures.First(f => f.Kind == "violation").SavedTo!;
        Assert.That(File.Exists(saved) && File.Exists(Path.ChangeExtension(saved, ".txt")), Is.True);
        Assert.That(Encoding.UTF8.GetString(File.ReadAllBytes(saved)), Does.Contain("boom"));
    }

    [Test]
    public void The_same_seed_gives_the_same_mutations()
    {
        byte[][] Mutations(int seed)
        {
            var mutator = new Mutator(new Random(seed), [.. new[] { "\"id\"", "1e3" }.Select(Encoding.UTF8.GetBytes)], 1 << 16);
            var parent = "{\"id\":\"a\",\"durationSec\":61}"u8.ToArray();
            return [.. Enumerable.Range(0, 200).Select(_ => mutator.Mutate(parent, parent))];
        }

        var first = Mutations(7);
        Assert.That(Mutations(7), Is.EqualTo(first));
        Assert.That(Mutations(8), Is.Not.EqualTo(first));
    }

    /// <summary>A target that breaks on purpose: any input holding "boom" violates an invariant, any holding "}}" throws.</summary>
    private sealed class PlantedTarget : FuzzTarget
    {
        public override string Name => "planted";

        public override IReadOnlyList<byte[]> Seeds { get; } = ["{\"a\":1}"u8.ToArray()];

        public override IReadOnlyList<byte[]> Dictionary { get; } = ["\"boom\""u8.ToArray(), "}"u8.ToArray()];

        public override string Run(ReadOnlySpan<byte> input)
        {
            Check(input.IndexOf("boom"u8) < 0, "planted: the input holds boom");
            if (input.IndexOf("}}"u8) >= 0)
            {
                throw new FormatException("planted: the input holds }}");
            }

            return input.Length.ToString(CultureInfo.InvariantCulture);
        }
    }
}
