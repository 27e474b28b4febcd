using System.Text.Json.Nodes;
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
public sealed class ExampleTests
{
    private static string ExamplesRoot => Path.Combine(AppContext.BaseDirectory, "Examples");

    public static IEnumerable<TestCaseData> Folders() =>
        Directory.Exists(ExamplesRoot)
            ? Directory.GetDirectories(ExamplesRoot).Order(StringComparer.Ordinal)
                .Select(d => new TestCaseData(Path.GetFileName(d)).SetName($"Example_{Path.GetFileName(d)}_gives_its_expected_output"))
            : [];

    [Test]
    public void Examples_folder_holds_at_least_the_worked_example() =>
        Assert.That(Folders().Select(t => (string)t.Arguments[0]!), Does.Contain("basic"));

    [TestCaseSource(nameof(Folders))]
    public async Task Example_gives_its_expected_output(string name)
    {
        var folder = Path.Combine(ExamplesRoot, name);
        var outDir = Path.Combine(Path.GetTempPath(), $"rating-example-{name}-{Guid.NewGuid():N}");
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var options = new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers.jsonl"),
                Path.Combine(folder, "cdrs.jsonl"), outDir, Progress: false);
            var exit = await RateCommand.RunAsync(options, stdout, stderr, CancellationToken.None);
            Assert.That(exit, Is.Zero, () => $"exit code; stderr: {stderr}");

            var expectedRated = ReadJsonl(Path.Combine(folder, "expected", "rated.jsonl"));
            var expectedReminders = ReadJsonl(Path.Combine(folder, "expected", "reminders.jsonl"));
            var expectedRejected = ReadJsonl(Path.Combine(folder, "expected", "rejected.jsonl"));
            var rated = ReadJsonl(Path.Combine(outDir, "rated.jsonl"));
            var reminders = ReadJsonl(Path.Combine(outDir, "reminders.jsonl"));
            var rejected = ReadJsonl(Path.Combine(outDir, "rejected.jsonl"));

            Assert.Multiple(() =>
            {
                CompareRated(expectedRated, rated);
                CompareReminders(expectedReminders, reminders);
                CompareRejected(expectedRejected, rejected);

                // The one-line summary: "N rated, N rejected, N reminders".
                Assert.That(stdout.ToString().Trim(),
                    Is.EqualTo($"{expectedRated.Count} rated, {expectedRejected.Count} rejected, {expectedReminders.Count} reminders"));

                // Every non-blank input line is either rated or rejected.
                var inputLines = File.ReadAllText(Path.Combine(folder, "cdrs.jsonl")).Split('\n')
                    .Count(line => line.Trim(' ', '\t', '\r').Length > 0);
                Assert.That(rated.Count + rejected.Count, Is.EqualTo(inputLines), "non-blank input lines = rated + rejected");
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

    private static void CompareReminders(List<JsonObject> expected, List<JsonObject> actual)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count), "reminder count");
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            SameFields(expected[i], actual[i], $"reminder #{i + 1} ({expected[i]["eventId"]})");
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
