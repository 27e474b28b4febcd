using System.Net;
using NUnit.Framework;
using RatingPipeline.Rater.Usage;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The URL a rater writes to <c>rater-endpoints</c> for the partitions it owns, which other raters redirect usage
/// queries to: a listener on every address is advertised under the machine's host name, any other as configured.
/// </summary>
[TestFixture]
public sealed class AdvertisedUrlTests
{
    [TestCase("http://0.0.0.0:9464", "http://rater-7:9464")]
    [TestCase("http://[::]:9464", "http://rater-7:9464")]
    [TestCase("http://+:9464", "http://rater-7:9464")]
    [TestCase("http://*:9464/", "http://rater-7:9464")]
    [TestCase("http://0.0.0.0", "http://rater-7")]
    [TestCase("http://0.0.0.0:9464/base/", "http://rater-7:9464/base")]
    [TestCase("http://10.1.2.3:9464", "http://10.1.2.3:9464")]
    [TestCase("http://[::1]:9464", "http://[::1]:9464")]
    [TestCase("http://127.0.0.1:9464/", "http://127.0.0.1:9464")]
    [TestCase("http://rater-0.rater:9464", "http://rater-0.rater:9464")]
    [TestCase("http://0.0.0.0.example:9464", "http://0.0.0.0.example:9464")]
    public void A_listener_on_every_address_is_advertised_under_the_host_name(string url, string advertised)
    {
        var options = new QueryApiOptions { Url = url };

        Assert.That(options.Advertised("http://127.0.0.1:1", hostName: "rater-7"), Is.EqualTo(advertised));
    }

    [Test]
    public void An_advertised_url_wins_over_the_listener_and_a_wildcard_there_is_replaced_too()
    {
        Assert.Multiple(() =>
        {
            Assert.That(new QueryApiOptions { Url = "http://0.0.0.0:9464", AdvertisedUrl = "http://10.0.0.5:9464" }.Advertised("x", "h"),
                Is.EqualTo("http://10.0.0.5:9464"));
            Assert.That(new QueryApiOptions { AdvertisedUrl = "http://0.0.0.0:9000" }.Advertised("x", "h"), Is.EqualTo("http://h:9000"));
            Assert.That(new QueryApiOptions().Advertised("http://127.0.0.1:9464/", "h"), Is.EqualTo("http://127.0.0.1:9464"), "no listener configured: the fallback");
        });
    }

    [Test]
    public void Without_a_host_name_given_it_is_the_machines()
    {
        Assert.That(new QueryApiOptions { Url = "http://0.0.0.0:9464" }.Advertised("x"), Is.EqualTo($"http://{Dns.GetHostName()}:9464"));
    }
}
