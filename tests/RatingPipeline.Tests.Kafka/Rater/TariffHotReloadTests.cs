using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The tariff file is replaced while the rater runs: a valid new version takes effect for the records rated after it
/// was loaded; a broken one is refused with the worker still rating under the version in force, which the metrics show.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[Category("rater")]
public sealed class TariffHotReloadTests() : RaterClusterFixture("tariff")
{
    private const string Subscriber = "8613800000001";
    private const string NewVersion = "2026-11-24.2";
    private const string BrokenVersion = "2026-11-24.3";

    /// <summary>The new price per minute of domestic calls abroad (was 1.99 yuan).</summary>
    private const long NewPrice = 2_490_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Test]
    public async Task New_tariff_version_applies_to_later_records_and_a_broken_one_is_refused_while_rating_goes_on()
    {
        var example = Path.Combine(AppContext.BaseDirectory, "Examples", "basic");
        var original = File.ReadAllBytes(Path.Combine(example, "tariff.json"));
        var v1 = TariffLoader.Load(original);
        var changed = Edit(original, NewVersion, NewPrice, increment: null);
        var broken = Edit(original, BrokenVersion, NewPrice, increment: 0);
        var v2 = TariffLoader.Load(changed);
        Assert.That(() => TariffLoader.Load(broken), Throws.InstanceOf<TariffException>(), "the broken file is one the loader refuses");

        var tariffPath = Path.Combine(Folder, "tariff.json");
        File.WriteAllBytes(tariffPath, original);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("tariff"));
        var profiles = RecordKeys.Lines(Path.Combine(example, "subscribers.jsonl"));
        Kcat.Produce(Bootstrap, topics.Subscribers, profiles.Select(p => (RecordKeys.Of(p), Encoding.UTF8.GetString(p))));
        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", tariffPath, "tariff")
            .Set("Rater:TariffReloadInterval", "00:00:00.200");
        var rater = Raters.Start(settings);
        await rater.WaitReadyAsync(Patience);
        using var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions);
        var model = new OfflineModel(v1, profiles);

        // Under the first version.
        var beforeChange = await RateAsync("before", topics, progress, model, rater);
        Assert.That(beforeChange.Select(r => r.GetProperty("tariffVersion").GetString()), Is.All.EqualTo(v1.Version));
        Assert.That(beforeChange.Select(r => r.GetProperty("charge").GetInt64()), Is.All.Not.EqualTo(NewPrice), "the old price");
        Assert.That((await rater.ScrapeAsync()).Value("ratingpipeline_tariff_info", ("version", v1.Version)), Is.EqualTo(1));

        // A new version with a changed price: in force once the metric names it; rated records carry it from then on.
        Replace(tariffPath, changed);
        await WaitForMetricAsync(rater, s => s.Value("ratingpipeline_tariff_info", ("version", NewVersion)) == 1, $"tariff {NewVersion} in force");
        model.Tariff = v2;
        var afterChange = await RateAsync("after", topics, progress, model, rater);
        Assert.That(afterChange.Select(r => r.GetProperty("tariffVersion").GetString()), Is.All.EqualTo(NewVersion));
        Assert.That(afterChange.Select(r => r.GetProperty("charge").GetInt64()), Is.All.EqualTo(NewPrice), "a 60 s international call at the new price per minute");
        var scrape = await rater.ScrapeAsync();
        Assert.That(scrape.Value("ratingpipeline_tariff_reloads_total"), Is.EqualTo(1));
        Assert.That(scrape.Of("ratingpipeline_tariff_info").Select(s => s.Labels["version"]), Is.EqualTo(new[] { NewVersion }), "only the version in force is published");

        // A broken file (a rate with increment 0) is refused: counted, the version in force stays, the worker rates on.
        Replace(tariffPath, broken);
        await WaitForMetricAsync(rater, s => s.Value("ratingpipeline_tariff_refusals_total") == 1, "the broken tariff refused");
        scrape = await rater.ScrapeAsync();
        Assert.That(scrape.Of("ratingpipeline_tariff_info").Select(s => (s.Labels["version"], s.Value)), Is.EqualTo(new[] { (NewVersion, 1.0) }), "the version in force");
        Assert.That(scrape.Value("ratingpipeline_tariff_reloads_total"), Is.EqualTo(1), "nothing loaded");
        Assert.That(rater.HasExited, Is.False, "the worker still runs");
        Assert.That(await rater.ReadyStatusAsync(), Is.EqualTo(HttpStatusCode.OK), "and is ready");
        var afterRefusal = await RateAsync("refused", topics, progress, model, rater);
        Assert.That(afterRefusal.Select(r => r.GetProperty("tariffVersion").GetString()), Is.All.EqualTo(NewVersion));

        // Everything rated equals the engine switching tariffs at the same points.
        var problems = new List<string>();
        OutputComparison.Compare(model, ObservedOutputs.ReadWithKcat(Bootstrap, topics), topics, Copies.None, problems);
        Assert.That(problems, Is.Empty);
    }

    /// <summary>The example tariff with a new version and a new price (or increment) for domestic international voice calls.</summary>
    private static byte[] Edit(byte[] tariff, string version, long price, long? increment)
    {
        var root = JsonNode.Parse(tariff)!.AsObject();
        root["version"] = version;
        foreach (var plan in root["plans"]!.AsObject())
        {
            foreach (var rate in plan.Value!["rates"]!.AsArray())
            {
                if ((string?)rate!["type"] == "voice" && (string?)rate["zone"] == "domestic" && (string?)rate["direction"] == "mo" && (string?)rate["dest"] == "intl")
                {
                    rate["price"] = price;
                    if (increment is { } i)
                    {
                        rate["increment"] = i;
                    }
                }
            }
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    /// <summary>Replaces the file at once (rename), as a ConfigMap update or a deploy does: never half written.</summary>
    private static void Replace(string path, byte[] content)
    {
        var next = path + ".next";
        File.WriteAllBytes(next, content);
        File.Move(next, path, overwrite: true);
    }

    private static async Task WaitForMetricAsync(RaterProcess rater, Func<MetricsScrape, bool> condition, string what)
    {
        var reached = await Poll.UntilAsync(async () => condition(await rater.ScrapeAsync()), TimeSpan.FromSeconds(15));
        Assert.That(reached, Is.True, $"{what} within 15 s{rater.Diagnostics()}");
    }

    /// <summary>Produces three 60 s international calls with kcat, waits until rated, applies them to the model; returns their rated records.</summary>
    private async Task<List<JsonElement>> RateAsync(string label, TopicNames topics, GroupProgress progress, OfflineModel model, RaterProcess rater)
    {
        var ids = Enumerable.Range(1, 3).Select(i => $"{label}-{i}").ToList();
        var cdrs = ids.Select((id, i) => string.Create(CultureInfo.InvariantCulture,
            $$"""{"id":"{{id}}","type":"voice","msisdn":"{{Subscriber}}","direction":"mo","peer":"+442071234567","start":"2026-11-{{10 + model.Applied + i:D2}}T10:00:00+08:00","durationSec":60}"""));
        Kcat.Produce(Bootstrap, topics.Cdrs, cdrs.Select(c => (Subscriber, c)));
        await progress.WaitUntilCaughtUpAsync(Patience, rater.Diagnostics);
        model.Apply(TopicReader.ReadAll(Bootstrap, topics.Cdrs, Cluster.Partitions));

        var rated = Kcat.ConsumeToEnd(Bootstrap, topics.RatedCdrs)
            .Select(r => JsonSerializer.Deserialize<JsonElement>(r.Value!))
            .Where(r => ids.Contains(r.GetProperty("id").GetString()!))
            .ToList();
        Assert.That(rated.Select(r => r.GetProperty("id").GetString()), Is.EquivalentTo(ids), $"rated {label}");
        return rated;
    }
}
