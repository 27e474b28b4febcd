using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Properties;

/// <summary>
/// The engine against <see cref="ReferenceRater"/>, a plain second reading of SPEC, on generated streams: every rated
/// record and reminder equal field by field and in order, every rejected record with the same reason, id, msisdn and raw.
/// </summary>
[TestFixture]
public sealed class ReferenceComparisonTests
{
    [Test]
    public void The_engine_agrees_with_a_plain_reading_of_the_spec() =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true), Prop.ForAll(CdrStreams.Cases, c =>
        {
            var tariffJson = CdrStreams.TariffJsonOf(c.Plan);
            var tariff = RatingPipeline.Tariffs.TariffLoader.Load(Encoding.UTF8.GetBytes(tariffJson));
            var rater = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
            var reference = new ReferenceRater(tariffJson);
            foreach (var json in CdrStreams.ProfileJsonsOf(c.Plan))
            {
                reference.SetProfile(ReferenceProfile.Parse(json));
            }

            foreach (var line in CdrStreams.Render(c))
            {
                CdrStreams.Feed(rater, line);
                if (line.StartsWith(CdrStreams.ProfileLine, StringComparison.Ordinal))
                {
                    reference.SetProfile(ReferenceProfile.Parse(line[CdrStreams.ProfileLine.Length..]));
                }
                else
                {
                    reference.Process(line);
                }
            }

            Assert.That(Canonical(rater.All.Rated), Is.EqualTo(Canonical(reference.Rated)), "rated");
            Assert.That(Canonical(rater.All.Reminders), Is.EqualTo(Canonical(reference.Reminders)), "reminders");
            Assert.That(Canonical(rater.All.Rejected.Select(WithoutDetail)), Is.EqualTo(Canonical(reference.Rejected)), "rejected");
        }));

    [Test]
    public void The_reference_reproduces_the_worked_example()
    {
        // The reference is itself checked against the worked example's expected output.
        var folder = Path.Combine(AppContext.BaseDirectory, "Examples", "basic");
        var reference = new ReferenceRater(File.ReadAllText(Path.Combine(folder, "tariff.json")));
        foreach (var line in File.ReadAllLines(Path.Combine(folder, "subscribers.jsonl")).Where(l => l.Trim().Length > 0))
        {
            reference.SetProfile(ReferenceProfile.Parse(line));
        }

        foreach (var line in File.ReadAllLines(Path.Combine(folder, "cdrs.jsonl")).Where(l => l.Trim().Length > 0))
        {
            reference.Process(line);
        }

        static IEnumerable<JsonObject> Read(string path) =>
            File.ReadAllLines(path).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject());

        Assert.Multiple(() =>
        {
            Assert.That(Canonical(reference.Rated.OrderBy(r => (string?)r["id"], StringComparer.Ordinal)),
                Is.EqualTo(Canonical(Read(Path.Combine(folder, "expected", "rated.jsonl")).OrderBy(r => (string?)r["id"], StringComparer.Ordinal))));
            Assert.That(Canonical(reference.Reminders), Is.EqualTo(Canonical(Read(Path.Combine(folder, "expected", "reminders.jsonl")))));
            Assert.That(reference.Rejected.Select(r => ((string?)r["reason"], (string?)r["id"])),
                Is.EqualTo(Read(Path.Combine(folder, "expected", "rejected.jsonl")).Select(r => ((string?)r["reason"], (string?)r["id"]))));
        });
    }

    private static JsonObject WithoutDetail(JsonObject record)
    {
        var copy = (JsonObject)record.DeepClone();
        copy.Remove("detail");
        return copy;
    }

    /// <summary>Records as JSON text with members sorted at every depth, so field order does not matter.</summary>
    private static List<string> Canonical(IEnumerable<JsonObject> records) => [.. records.Select(r => Sorted(r)!.ToJsonString())];

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray a => new JsonArray([.. a.Select(Sorted)]),
        _ => node is null ? null : JsonNode.Parse(node.ToJsonString()),
    };
}
