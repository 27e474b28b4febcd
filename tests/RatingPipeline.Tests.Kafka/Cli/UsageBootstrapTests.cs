using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Configuration;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;
using RatingPipeline.Tests.Rater;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// <c>ratingctl usage MSISDN --bootstrap</c> on the embedded cluster with two rater processes: it finds the owning
/// rater on <c>rater-endpoints</c> and asks it directly (no redirect), for subscribers of both raters; it says why when
/// no rater has advertised the partition, and refuses <c>--url</c> with <c>--bootstrap</c>.
/// </summary>
[TestFixture]
[Category("kafka")]
[Category("cli")]
public sealed class UsageBootstrapTests() : RaterClusterFixture("usage-cli")
{
    private const string Token = "usage-cli-token-0123456789abcdef";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };

    [Test]
    public async Task With_twoRaters_the_command_asks_the_owner_named_on_rater_endpoints_for_subscribers_of_each()
    {
        var data = await SyntheticSet.GenerateAsync(Folder, 60, 300, seed: 23);
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("usage-cli"));
        OfflineComparison.ProduceProfiles(Bootstrap, data, topics);
        var group = $"{topics.Cdrs}-rater";
        var a = Raters.Start(Settings(topics, data.TariffPath, group, "cli-a"));
        await a.WaitReadyAsync(Patience);
        var b = Raters.Start(Settings(topics, data.TariffPath, group, "cli-b"));
        await b.WaitReadyAsync(Patience);
        var cluster = new UsageCluster(Bootstrap, topics.Cdrs, topics.RaterEndpoints, KeyPartitioner.Consistent, new Dictionary<string, string>());

        // Once the group has shared the partitions, every partition's last endpoint names the rater that answers it itself.
        var msisdns = data.Profiles.Select(p => RecordKeys.Of(p)).ToList();
        var owners = new Dictionary<string, string>();
        var shared = await Poll.UntilAsync(async () =>
        {
            foreach (var msisdn in msisdns)
            {
                using var response = await GetAsync(a.Settings.BaseUrl, msisdn);
                owners[msisdn] = response.StatusCode == HttpStatusCode.OK ? a.Settings.BaseUrl
                    : response.StatusCode == HttpStatusCode.TemporaryRedirect ? response.Headers.Location!.GetLeftPart(UriPartial.Authority) : "";
            }

            var endpoints = RaterEndpoints.ReadToEnd(Bootstrap, topics.RaterEndpoints, null, Patience, out _);
            return owners.Values.Distinct().Count() == 2 && !owners.ContainsValue("") && endpoints.Count == Cluster.Partitions
                && endpoints.Values.Select(e => e.Url).Distinct().Count() == 2;
        }, Patience, TimeSpan.FromMilliseconds(500));
        Assert.That(shared, Is.True, "both raters own partitions and advertised them: " + string.Join(", ", owners.Values.GroupBy(o => o).Select(g => $"{g.Key} ×{g.Count()}")));

        foreach (var msisdn in new[] { owners.First(o => o.Value == a.Settings.BaseUrl).Key, owners.First(o => o.Value == b.Settings.BaseUrl).Key })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exit = await UsageCommand.RunAsync(new UsageOptions(msisdn, null, Token, cluster), stdout, stderr, CancellationToken.None);
            var partition = KeyPartitioner.Partition(KeyPartitioner.Consistent, Encoding.ASCII.GetBytes(msisdn), Cluster.Partitions);
            var instance = owners[msisdn] == a.Settings.BaseUrl ? "cli-a" : "cli-b";
            Assert.Multiple(() =>
            {
                Assert.That(exit, Is.Zero, stderr.ToString());
                Assert.That(stderr.ToString(), Does.Contain($"partition {partition} of {topics.Cdrs} is owned by {instance} at {owners[msisdn]}"));
                Assert.That(stderr.ToString(), Does.Not.Contain("answered by"), "asked the owner directly: no redirect");
                Assert.That(stdout.ToString(), Does.Contain($"usage of {msisdn}").And.Contain("remaining").And.Contain($"partition {partition}, input offset"));
            });
        }
    }

    [Test]
    public async Task Without_an_advertised_owner_or_with_both_url_and_bootstrap_the_command_says_why()
    {
        var topics = TestTopics.Create(Cluster, TestTopics.UniquePrefix("usage-cli-none"));
        var cluster = new UsageCluster(Bootstrap, topics.Cdrs, topics.RaterEndpoints, KeyPartitioner.Consistent, new Dictionary<string, string>());
        var stderr = new StringWriter();
        Assert.That(await UsageCommand.RunAsync(new UsageOptions("8613800000001", null, Token, cluster), TextWriter.Null, stderr, CancellationToken.None), Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain($"no rater has advertised partition").And.Contain(topics.RaterEndpoints));

        stderr = new StringWriter();
        Assert.That(await UsageCommand.RunAsync(new UsageOptions("8613800000001", "http://127.0.0.1:9464", Token, cluster), TextWriter.Null, stderr, CancellationToken.None), Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("either --url"));

        stderr = new StringWriter();
        var missing = cluster with { EndpointsTopic = "no-such-topic-" + Guid.NewGuid().ToString("N")[..6] };
        Assert.That(await UsageCommand.RunAsync(new UsageOptions("8613800000001", null, Token, missing), TextWriter.Null, stderr, CancellationToken.None), Is.EqualTo(1));
        Assert.That(stderr.ToString(), Does.Contain("does not exist"));

        stderr = new StringWriter();
        Assert.That(await UsageCommand.RunAsync(new UsageOptions("8613800000001", null, Token, cluster with { Partitioner = "random" }), TextWriter.Null, stderr, CancellationToken.None), Is.EqualTo(2));
    }

    [Test]
    public void TheCluster_options_default_to_theRaters_environment_settings()
    {
        var environment = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Topics:Cdrs"] = "p.cdrs",
            ["Topics:RaterEndpoints"] = "p.rater-endpoints",
            ["Http:Partitioner"] = "murmur2",
            ["Kafka:Properties:security.protocol"] = "SASL_SSL",
        }).Build();
        var fromEnvironment = UsageCommand.ClusterOf("k:9092", null, null, null, environment);
        var given = UsageCommand.ClusterOf("k:9092", "c", "e", "consistent", environment);
        var bare = UsageCommand.ClusterOf("k:9092", null, null, null, new ConfigurationBuilder().Build());
        Assert.Multiple(() =>
        {
            Assert.That((fromEnvironment.CdrsTopic, fromEnvironment.EndpointsTopic, fromEnvironment.Partitioner), Is.EqualTo(("p.cdrs", "p.rater-endpoints", "murmur2")));
            Assert.That(fromEnvironment.Properties["security.protocol"], Is.EqualTo("SASL_SSL"));
            Assert.That((given.CdrsTopic, given.EndpointsTopic, given.Partitioner), Is.EqualTo(("c", "e", "consistent")));
            Assert.That((bare.CdrsTopic, bare.EndpointsTopic, bare.Partitioner), Is.EqualTo(("cdrs", "rater-endpoints", "consistent")));
        });
    }

    private RaterSettings Settings(TopicNames topics, string tariffPath, string group, string instance) =>
        new RaterSettings(Bootstrap, topics, group, tariffPath, instance).WithShortSession().Set("Http:Auth:Token", Token);

    private static Task<HttpResponseMessage> GetAsync(string baseUrl, string msisdn)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"{baseUrl}/v1/subscribers/{msisdn}/usage"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return Http.SendAsync(request);
    }
}
