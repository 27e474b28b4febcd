using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Tests.Deploy;

namespace RatingPipeline.Tests.Sender;

/// <summary>The MCC → country table the roaming notice names the visited country from.</summary>
[TestFixture]
[Category("sender")]
public sealed class CountryNameTests
{
    [TestCase("454", "Hong Kong, China", "中国香港")]
    [TestCase("455", "Macao, China", "中国澳门")]
    [TestCase("466", "Taiwan, China", "中国台湾")]
    [TestCase("440", "Japan", "日本")]
    [TestCase("450", "South Korea", "韩国")]
    [TestCase("310", "the United States", "美国")]
    [TestCase("316", "the United States", "美国")] // the last of the seven US codes
    [TestCase("234", "the United Kingdom", "英国")]
    [TestCase("262", "Germany", "德国")]
    [TestCase("405", "India", "印度")]
    [TestCase("901", "international networks", "国际网络")] // satellite, maritime and in-flight networks
    public void An_mcc_names_its_country_in_english_and_chinese(string mcc, string en, string zh)
    {
        Assert.That(Countries.Name(mcc, "en"), Is.EqualTo(en));
        Assert.That(Countries.Name(mcc, "zh"), Is.EqualTo(zh));
    }

    [Test]
    public void An_mcc_missing_from_the_table_reads_as_unlisted()
    {
        Assert.That(Countries.TryGetName("999", "en", out var en), Is.False);
        Assert.That((en, Countries.Name("999", "zh")), Is.EqualTo(("an unlisted country", "未列明的国家或地区")));
    }

    [Test]
    public void The_table_covers_every_geographic_mcc_range_of_e212()
    {
        // Zone 2 Europe, 3 North America and the Caribbean, 4 Asia and the Middle East, 5 Oceania, 6 Africa, 7 South
        // and Central America: about 240 codes are in use.
        var zones = Countries.Mccs.GroupBy(m => m[0]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Multiple(() =>
        {
            Assert.That(Countries.Mccs, Has.Count.GreaterThanOrEqualTo(230));
            Assert.That(zones.Keys, Is.SupersetOf(new[] { '2', '3', '4', '5', '6', '7' }));
            Assert.That(zones['6'], Is.GreaterThanOrEqualTo(55), "Africa");
            Assert.That(Countries.Mccs, Has.All.Match("^[0-9]{3}$"));
        });
    }

    [Test]
    public void English_names_keep_an_english_notice_in_the_gsm_alphabet()
    {
        // One character outside GSM-7 would send the whole SMS as UCS-2, at 67 characters a segment instead of 153.
        var outside = Countries.AllNames("en").Where(n => !SmsSegments.Measure(n).Gsm7).ToList();
        Assert.That(outside, Is.Empty);
    }

    [TestCase("src", "RatingPipeline.Offline", "Synthetic", "demo-tariff.json")]
    [TestCase("deploy", "config", "tariff", "tariff.json")]
    [TestCase("tests", "RatingPipeline.Tests", "Examples", "basic", "tariff.json")]
    [TestCase("tests", "RatingPipeline.Tests", "Examples", "cycle-close", "tariff.json")]
    [TestCase("tests", "RatingPipeline.Tests", "Examples", "seed-rules", "tariff.json")]
    public void Every_roaming_mcc_of_the_shipped_tariffs_has_a_name(params string[] path)
    {
        using var tariff = JsonDocument.Parse(RepoFiles.ReadText(path));
        var mccs = tariff.RootElement.GetProperty("zones").EnumerateObject().SelectMany(z => z.Value.EnumerateArray()).Select(m => m.GetString()!).ToList();
        Assert.That(mccs, Is.Not.Empty);
        Assert.That(mccs.Where(m => !Countries.TryGetName(m, "zh", out _)), Is.Empty);
    }
}
