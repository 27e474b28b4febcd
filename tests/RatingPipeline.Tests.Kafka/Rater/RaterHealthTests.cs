using System.Net;
using System.Reflection;
using System.Text;
using NUnit.Framework;
using Prometheus;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Rating;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// <c>/healthz/ready</c> says 503 until the instance owns partitions and has restored their state and profiles, then
/// 200; <c>/metrics</c> carries every metric family the rater defines. Both over real HTTP on 127.0.0.1.
/// </summary>
[TestFixture]
[Category("needs-kcat")]
[Category("kafka")]
[Category("rater")]
public sealed class RaterHealthTests() : RaterClusterFixture("health")
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Test]
    public async Task Ready_is_503_until_partitions_are_assigned_and_restored_then_200_and_metrics_carry_every_family()
    {
        var example = Path.Combine(AppContext.BaseDirectory, "Examples", "basic");
        var profiles = RecordKeys.Lines(Path.Combine(example, "subscribers.jsonl"));
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("health"));

        // Profiles, and stored states for three subscribers, as a previous instance would have left them.
        var stored = new[] { "8613800000001", "8613800000002", "8613800000003" };
        using (var producer = new TestProducer(Bootstrap))
        {
            foreach (var profile in profiles)
            {
                producer.Produce(topics.Subscribers, RecordKeys.Of(profile), profile);
            }

            foreach (var msisdn in stored)
            {
                var state = UsageState.New();
                state.Counters.Spend = 1_000_000;
                producer.Produce(topics.RaterState, msisdn, UsageStateCodec.ToArray(in state));
            }

            producer.Flush();
        }

        var settings = new RaterSettings(Bootstrap, topics, $"{topics.Cdrs}-rater", Path.Combine(example, "tariff.json"), "health")
            .Set("Rater:StatisticsInterval", "00:00:00.500");

        // A slow cluster (every response 1.5 s late) holds the instance before assignment and restore, however fast it starts.
        RaterProcess rater;
        Cluster.Mock.SetBrokerRtt(-1, TimeSpan.FromMilliseconds(1500));
        try
        {
            rater = Raters.Start(settings);
            HttpStatusCode? first = null;
            var answered = await Poll.UntilAsync(async () => (first = await rater.ReadyStatusAsync()) is not null, Patience, TimeSpan.FromMilliseconds(50));
            Assert.That(answered, Is.True, $"the HTTP listener answers{rater.Diagnostics()}");
            Assert.That(first, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "ready before assignment");
            Assert.That(await Body(settings, "/healthz/ready"), Does.StartWith("not ready: "));
            Assert.That(await Status(settings, "/healthz/live"), Is.EqualTo(HttpStatusCode.OK), "live while not ready");
            var early = await rater.ScrapeAsync();
            Assert.That(early.Value("ratingpipeline_ready"), Is.Zero);
            Assert.That(early.Value("ratingpipeline_assigned_partitions"), Is.Zero);
        }
        finally
        {
            Cluster.Mock.SetBrokerRtt(-1, TimeSpan.Zero);
        }

        // 200 from the moment every partition is assigned and its states and profiles are restored, not before.
        var ready = await Poll.UntilAsync(async () => await rater.ReadyStatusAsync() == HttpStatusCode.OK, Patience, TimeSpan.FromMilliseconds(50));
        Assert.That(ready, Is.True, $"ready within {Patience}{rater.Diagnostics()}");
        var atReady = await rater.ScrapeAsync();
        Assert.That(atReady.Value("ratingpipeline_ready"), Is.EqualTo(1));
        Assert.That(atReady.Value("ratingpipeline_assigned_partitions"), Is.EqualTo(Cluster.Partitions));
        Assert.That(atReady.Value("ratingpipeline_subscriber_profiles"), Is.EqualTo(profiles.Count), "profiles restored");
        Assert.That(atReady.Value("ratingpipeline_subscribers_in_state"), Is.EqualTo(stored.Length), "states restored");
        Assert.That(await Body(settings, "/healthz/ready"), Is.EqualTo("ready\n"));

        // Traffic, so that the per-batch and per-partition families have samples; then every family is there.
        // With a location record and a clock, so that every kind of record is counted.
        List<byte[]> cdrs =
        [
            .. RecordKeys.Lines(Path.Combine(example, "cdrs.jsonl")),
            """{"id":"loc-1","type":"location","msisdn":"8613800000001","start":"2026-12-10T08:00:00+08:00","visitedMcc":"454"}"""u8.ToArray(),
            """{"type":"clock","at":"2026-12-11T00:00:00+08:00"}"""u8.ToArray(),
        ];
        Kcat.Produce(Bootstrap, topics.Cdrs, cdrs.Select(c => (RecordKeys.Of(c), Encoding.UTF8.GetString(c))));
        using (var progress = new GroupProgress(Bootstrap, settings.GroupId, topics.Cdrs, Cluster.Partitions))
        {
            await progress.WaitUntilCaughtUpAsync(Patience, rater.Diagnostics);
        }

        var families = RaterMetricFamilies();
        Assert.That(families, Has.Count.GreaterThanOrEqualTo(20).And.Contain("ratingpipeline_cdrs_consumed_total"), "families found in RaterMetrics");
        MetricsScrape scrape = null!;
        var complete = await Poll.UntilAsync(async () => families.All(Present(scrape = await rater.ScrapeAsync())), TimeSpan.FromSeconds(15));
        Assert.That(families.Where(f => !Present(scrape)(f)), Is.Empty, "families missing from /metrics");
        Assert.That(complete, Is.True);
        Assert.That(scrape.Value("ratingpipeline_cdrs_consumed_total"), Is.EqualTo(cdrs.Count));
        Assert.That(scrape.Value("ratingpipeline_location_records_total"), Is.EqualTo(1));
        Assert.That(scrape.Value("ratingpipeline_clock_records_total"), Is.EqualTo(1));
        var rejected = scrape.Samples.Where(s => s.Name == "ratingpipeline_cdrs_rejected_total").Sum(s => s.Value);
        Assert.That(scrape.Value("ratingpipeline_cdrs_rated_total") + rejected + scrape.Value("ratingpipeline_location_records_total")
            + scrape.Value("ratingpipeline_clock_records_total") + scrape.Value("ratingpipeline_cdrs_skipped_total"), Is.EqualTo(cdrs.Count),
            "every record consumed is rated, rejected, a location record, a clock or one already applied");
        Assert.That(scrape.Families["ratingpipeline_batch_duration_seconds"], Is.EqualTo("histogram"));
    }

    /// <summary>Every Prometheus collector <see cref="RaterMetrics"/> declares, by family name.</summary>
    private static List<string> RaterMetricFamilies() =>
        [.. typeof(RaterMetrics).GetFields(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => typeof(Collector).IsAssignableFrom(f.FieldType))
            .Select(f => ((Collector)f.GetValue(null)!).Name)];

    /// <summary>A family is present when it is declared (<c># TYPE</c>) and has at least one sample.</summary>
    private static Func<string, bool> Present(MetricsScrape scrape) => family =>
        scrape.Families.ContainsKey(family)
        && scrape.Samples.Any(s => s.Name == family || s.Name == $"{family}_bucket" || s.Name == $"{family}_count");

    private static async Task<HttpStatusCode> Status(RaterSettings settings, string path)
    {
        using var response = await Http.GetAsync($"{settings.BaseUrl}{path}");
        return response.StatusCode;
    }

    private static async Task<string> Body(RaterSettings settings, string path)
    {
        using var response = await Http.GetAsync($"{settings.BaseUrl}{path}");
        return await response.Content.ReadAsStringAsync();
    }
}
