using NUnit.Framework;

namespace RatingPipeline.Tests.Reference;

/// <summary>
/// The reference rater against the worked examples (Examples/): it must reproduce each expected output exactly,
/// compared as data as Examples/README.md says, and the summary lines the examples' READMEs give.
/// </summary>
[TestFixture]
public sealed class ReferenceExampleTests
{
    private static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Examples", name);

    private static ReferenceOutput RunExample(string name, string subscribers = "subscribers.jsonl") =>
        ReferenceRater.Run(File.ReadAllBytes(Path.Combine(Folder(name), "tariff.json")), File.ReadAllBytes(Path.Combine(Folder(name), subscribers)),
            File.ReadAllBytes(Path.Combine(Folder(name), "cdrs.jsonl")));

    [TestCase("basic")]
    [TestCase("cycle-close")]
    [TestCase("seed-rules")]
    public void The_reference_reproduces_the_worked_example(string name)
    {
        var output = RunExample(name);
        Assert.That(output.Refusal, Is.Null);
        var expected = RunOutput.Read(Path.Combine(Folder(name), "expected"), summary: null);
        var differences = OutputComparison.ExampleDifferences(expected, RunOutput.Of(output));
        Assert.That(differences, Is.Empty, () => string.Join("\n", differences));
    }

    // The summary lines the examples' READMEs state (cycle-close, seed-rules), and basic's from its expected files.
    [TestCase("basic", "24 rated, 8 rejected, 9 reminders, 1 bills, 0 located, 0 fees, 0 clocks, 0 profiles")]
    [TestCase("cycle-close", "26 rated, 3 rejected, 11 reminders, 20 bills, 0 located, 13 fees, 12 clocks, 2 profiles")]
    [TestCase("seed-rules", "4 rated, 3 rejected, 1 reminders, 0 bills, 2 located, 0 fees, 0 clocks, 0 profiles")]
    public void The_reference_prints_the_examples_summary_line(string name, string summary) =>
        Assert.That(RunExample(name).Summary?.ToString(), Is.EqualTo(summary));

    [TestCase("basic")]
    [TestCase("cycle-close")]
    [TestCase("seed-rules")]
    public void Every_non_blank_input_line_is_exactly_one_outcome(string name)
    {
        // §6: the non-blank lines number rated − fees + located + clocks + profiles + rejected.
        var s = RunExample(name).Summary!;
        var lines = File.ReadAllText(Path.Combine(Folder(name), "cdrs.jsonl")).Split('\n').Count(l => l.Trim(' ', '\t', '\r').Length > 0);
        Assert.That(s.Rated - s.Fees + s.Located + s.Clocks + s.Profiles + s.Rejected, Is.EqualTo(lines));
    }

    [Test]
    public void A_profile_below_the_plans_scaled_minimum_refuses_the_subscriber_file_naming_its_line()
    {
        // cycle-close/subscribers-refused.jsonl line 2: monthlyMinimum 49,999,999 on basic-58, whose scaled minimum is 50,000,000.
        var output = RunExample("cycle-close", "subscribers-refused.jsonl");
        Assert.That(output.Refusal, Does.StartWith("subscribers line 2:").And.Contain("scaled minimum 50000000"));
    }

    [Test]
    public void The_scaled_minimum_is_the_stated_minimum_at_the_plans_own_per_minute_price()
    {
        // cycle-close/README.md: basic-58 100 yuan at 0.30/min with 150,000 per 60 s → 50,000,000;
        // biz-400 with 23,000 per 6 s → 76,666,666.67, half up 76,666,667; plans without monthlyMinimum → 0.
        var tariff = RefTariff.Load(File.ReadAllBytes(Path.Combine(Folder("cycle-close"), "tariff.json")));
        Assert.That(tariff.Plans.ToDictionary(p => p.Key, p => p.Value.ScaledMinimum), Is.EquivalentTo(new Dictionary<string, long>
        {
            ["basic-58"] = 50_000_000,
            ["mini-18"] = 0,
            ["biz-400"] = 76_666_667,
            ["pay-go"] = 0,
        }));
    }
}
