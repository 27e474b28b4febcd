using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;

namespace RatingPipeline.Tests.Examples;

/// <summary>
/// Runs <c>ratingctl rate</c> on every folder under <c>Examples/</c> (found at run time, so a new folder is a
/// new test) and compares the output with the folder's <c>expected/</c> as data: rated records by id with every
/// field equal, reminders in order with every field equal, rejected records in order by reason and by id and
/// msisdn where the expected record has them (and without them where it has not); <c>detail</c> and
/// <c>raw</c> are not compared.
/// </summary>
[TestFixture]
public sealed partial class ExampleTests
{
    private static string ExamplesRoot => Path.Combine(AppContext.BaseDirectory, "Examples");

    public static IEnumerable<TestCaseData> Folders() =>
        Directory.Exists(ExamplesRoot)
            ? Directory.GetDirectories(ExamplesRoot).Order(StringComparer.Ordinal)
                .SelectMany(d => new[] { 1, 2 }.Select(lanes => new TestCaseData(Path.GetFileName(d), lanes)
                    .SetName($"Example_{Path.GetFileName(d)}_gives_its_expected_output_with_{lanes}_lane{(lanes == 1 ? "" : "s")}")))
            : [];

    [Test]
    public void Examples_folder_holds_at_least_the_worked_example() =>
        Assert.That(Folders().Select(t => (string)t.Arguments[0]!), Is.SupersetOf(new[] { "basic", "cycle-close", "seed-rules" }));

    [TestCaseSource(nameof(Folders))]
    public async Task Example_gives_its_expected_output(string name, int lanes)
    {
        var folder = Path.Combine(ExamplesRoot, name);
        var outDir = Path.Combine(Path.GetTempPath(), $"rating-example-{name}-{Guid.NewGuid():N}");
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var options = new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers.jsonl"),
                Path.Combine(folder, "cdrs.jsonl"), outDir, Progress: false, Lanes: lanes);
            var exit = await RateCommand.RunAsync(options, stdout, stderr, CancellationToken.None);
            Assert.That(exit, Is.Zero, () => $"exit code; stderr: {stderr}");

            var expectedRated = ReadJsonl(Path.Combine(folder, "expected", "rated.jsonl"));
            var expectedReminders = ReadJsonl(Path.Combine(folder, "expected", "reminders.jsonl"));
            var expectedRejected = ReadJsonl(Path.Combine(folder, "expected", "rejected.jsonl"));
            var expectedBills = ReadJsonl(Path.Combine(folder, "expected", "bills.jsonl"));
            var rated = ReadJsonl(Path.Combine(outDir, "rated.jsonl"));
            var reminders = ReadJsonl(Path.Combine(outDir, "reminders.jsonl"));
            var rejected = ReadJsonl(Path.Combine(outDir, "rejected.jsonl"));
            var bills = ReadJsonl(Path.Combine(outDir, "bills.jsonl"));

            Assert.Multiple(() =>
            {
                CompareRated(expectedRated, rated);
                CompareInOrder(expectedReminders, reminders, "reminder", "eventId");
                CompareRejected(expectedRejected, rejected);
                CompareInOrder(expectedBills, bills, "bill", "eventId");

                // The summary line: "N rated, N rejected, N reminders, N bills, N located, N fees, N clocks, N profiles".
                var summary = SummaryLine().Match(stdout.ToString().Trim());
                Assert.That(summary.Success, Is.True, $"summary line: {stdout}");
                long Count(string name) => long.Parse(summary.Groups[name].Value, System.Globalization.CultureInfo.InvariantCulture);
                var fees = expectedRated.Count(r => (string?)r["type"] == "fee");
                Assert.That((Count("rated"), Count("rejected"), Count("reminders"), Count("bills"), Count("fees")),
                    Is.EqualTo(((long)expectedRated.Count, (long)expectedRejected.Count, (long)expectedReminders.Count, (long)expectedBills.Count, (long)fees)),
                    "summary: rated, rejected, reminders, bills, fees");

                // Every non-blank input line is exactly one of: a rated CDR, a location record, a clock, a profile line, a rejection.
                var inputLines = File.ReadAllText(Path.Combine(folder, "cdrs.jsonl")).Split('\n')
                    .Count(line => line.Trim(' ', '\t', '\r').Length > 0);
                Assert.That(Count("rated") - Count("fees") + Count("located") + Count("clocks") + Count("profiles") + Count("rejected"),
                    Is.EqualTo(inputLines), "non-blank input lines = rated - fees + located + clocks + profiles + rejected");

                // Where the example's README states the summary line, it is printed exactly.
                var readme = Path.Combine(folder, "README.md");
                if (File.Exists(readme) && StatedSummary().Match(File.ReadAllText(readme)) is { Success: true } stated)
                {
                    Assert.That(stdout.ToString().Trim(), Is.EqualTo(stated.Groups[1].Value), "the summary line the example states");
                }
            });
        }
        finally
        {
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }
        }
    }

    private static void CompareRated(List<JsonObject> expected, List<JsonObject> actual)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), "rated record count");
        var byId = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var record in actual)
        {
            var id = (string)record["id"]!;
            Assert.That(byId.TryAdd(id, record), Is.True, $"rated id {id} is written twice");
        }

        foreach (var want in expected)
        {
            var id = (string)want["id"]!;
            if (!byId.TryGetValue(id, out var got))
            {
                Assert.Fail($"rated record {id} is missing");
                continue;
            }

            SameFields(want, got, $"rated {id}");
        }
    }

    /// <summary>Reminders and bills: in order, every field equal.</summary>
    private static void CompareInOrder(List<JsonObject> expected, List<JsonObject> actual, string what, string idMember)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), $"{what} count");
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            SameFields(expected[i], actual[i], $"{what} #{i + 1} ({expected[i][idMember]})");
        }
    }

    [GeneratedRegex(@"^(?<rated>\d+) rated, (?<rejected>\d+) rejected, (?<reminders>\d+) reminders, (?<bills>\d+) bills, (?<located>\d+) located, (?<fees>\d+) fees, (?<clocks>\d+) clocks, (?<profiles>\d+) profiles$")]
    private static partial System.Text.RegularExpressions.Regex SummaryLine();

    [GeneratedRegex(@"Summary line: `([^`]+)`")]
    private static partial System.Text.RegularExpressions.Regex StatedSummary();

    [Test]
    public async Task A_profile_below_the_plans_scaled_minimum_stops_the_command_naming_its_line()
    {
        // cycle-close's subscribers-refused.jsonl: line 2 sets monthlyMinimum 49,999,999 on basic-58, whose scaled
        // minimum is 50,000,000 — a profile may raise the minimum, never lower it.
        var folder = Path.Combine(ExamplesRoot, "cycle-close");
        var outDir = Path.Combine(Path.GetTempPath(), $"rating-refused-{Guid.NewGuid():N}");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var options = new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers-refused.jsonl"),
            Path.Combine(folder, "cdrs.jsonl"), outDir, Progress: false);
        var exit = await RateCommand.RunAsync(options, stdout, stderr, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Not.Zero);
            Assert.That(stderr.ToString(), Does.Contain("subscribers-refused.jsonl:2:").And.Contain("monthlyMinimum"));
            Assert.That(stdout.ToString(), Is.Empty);
        });
    }

    [Test]
    public async Task An_output_it_cannot_write_stops_the_command_with_one_line_and_exit_1()
    {
        // rated.jsonl is taken by a folder: the output cannot be opened (a full disk fails the same way, mid-run).
        var folder = Path.Combine(ExamplesRoot, "basic");
        var outDir = Path.Combine(Path.GetTempPath(), $"rating-unwritable-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(outDir, "rated.jsonl"));
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var options = new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers.jsonl"),
                Path.Combine(folder, "cdrs.jsonl"), outDir, Progress: false);

            var exit = await RateCommand.RunAsync(options, stdout, stderr, CancellationToken.None);

            Assert.Multiple(() =>
            {
                Assert.That(exit, Is.EqualTo(1));
                Assert.That(stderr.ToString(), Does.StartWith("ratingctl rate: ").And.Contain("rated.jsonl").And.Contain("incomplete"));
                Assert.That(stderr.ToString().TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace");
                Assert.That(stdout.ToString(), Is.Empty);
            });
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
    }

    private static void CompareRejected(List<JsonObject> expected, List<JsonObject> actual)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), "rejected record count");
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            var context = $"rejected #{i + 1} (raw {expected[i]["raw"]})";
            Assert.That((string?)actual[i]["reason"], Is.EqualTo((string?)expected[i]["reason"]), $"{context}: reason");
            foreach (var member in (string[])["id", "msisdn"])
            {
                if (expected[i].TryGetPropertyValue(member, out var value))
                {
                    Assert.That(actual[i].TryGetPropertyValue(member, out var got) ? got?.ToJsonString() : "(absent)",
                        Is.EqualTo(value?.ToJsonString()), $"{context}: {member}");
                }
                else
                {
                    Assert.That(actual[i].ContainsKey(member), Is.False, $"{context}: {member} must be absent");
                }
            }
        }
    }

    /// <summary>Same member names and every value equal as JSON (numbers by value, objects by members).</summary>
    private static void SameFields(JsonObject expected, JsonObject actual, string context)
    {
        Assert.That(actual.Select(p => p.Key).Order(StringComparer.Ordinal),
            Is.EqualTo(expected.Select(p => p.Key).Order(StringComparer.Ordinal)), $"{context}: member names");
        foreach (var (name, value) in expected)
        {
            if (actual.TryGetPropertyValue(name, out var got))
            {
                Assert.That(JsonNode.DeepEquals(value, got), Is.True,
                    () => $"{context}: {name} is {got?.ToJsonString() ?? "null"}, expected {value?.ToJsonString() ?? "null"}");
            }
        }
    }

    private static List<JsonObject> ReadJsonl(string path) =>
        [.. File.ReadAllLines(path).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())];
}
