using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Rater;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// Tariff hot reload without Kafka: a new version is picked up once the reload interval has passed; a refused
/// one is counted and the old stays; a new zero-rating entry whose start lies in the past is counted as
/// retroactive (those records need re-rating), while one starting in the future is not.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TariffSourceTests
{
    private string _folder = "";
    private string _path = "";

    [SetUp]
    public void SetUp()
    {
        _folder = Directory.CreateTempSubdirectory("ratingpipeline-tariff-source-").FullName;
        _path = Path.Combine(_folder, "tariff.json");
        File.WriteAllBytes(_path, SyntheticData.DemoTariff());
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void A_new_entry_starting_in_the_past_is_counted_as_retroactive_and_one_in_the_future_is_not()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 3, 0, 0, TimeSpan.Zero));
        var source = new TariffSource(Options.Create(new RaterOptions { TariffPath = _path, TariffReloadInterval = TimeSpan.FromSeconds(1) }),
            NullLogger<TariffSource>.Instance, clock);
        var before = RaterMetrics.RetroactiveEntries;
        Assert.That(source.Poll(), Is.Null, "the first check finds the file unchanged");

        Write("2026-11-24.1", ("004475374107xx", "2012-05-20T00:00:00+08:00"), ("004475374108xx", "2027-01-01T00:00:00+08:00"));
        Assert.That(source.Poll(), Is.Null, "within the reload interval the file is not read again");
        clock.Advance(TimeSpan.FromSeconds(2));
        var loaded = source.Poll();

        Assert.Multiple(() =>
        {
            Assert.That(loaded?.Version, Is.EqualTo("2026-11-24.1"));
            Assert.That(source.Current.Version, Is.EqualTo("2026-11-24.1"));
            // One of the two new entries starts before now (2012); the other (2027) applies only from then on.
            Assert.That(RaterMetrics.RetroactiveEntries - before, Is.EqualTo(1));
        });
    }

    [Test]
    public void A_refused_version_is_counted_and_the_previous_one_stays_in_force()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 3, 0, 0, TimeSpan.Zero));
        var source = new TariffSource(Options.Create(new RaterOptions { TariffPath = _path, TariffReloadInterval = TimeSpan.FromSeconds(1) }),
            NullLogger<TariffSource>.Instance, clock);
        var version = source.Current.Version;
        var refusedBefore = RaterMetrics.TariffRefused;
        var tariff = JsonNode.Parse(File.ReadAllText(_path))!.AsObject();
        tariff["version"] = "broken";
        tariff["plans"]!["mini-18"]!["rates"]![0]!["increment"] = 0; // increment must be ≥ 1
        File.WriteAllText(_path, tariff.ToJsonString());
        clock.Advance(TimeSpan.FromSeconds(2));

        Assert.Multiple(() =>
        {
            Assert.That(source.Poll(), Is.Null);
            Assert.That(source.Current.Version, Is.EqualTo(version));
            Assert.That(RaterMetrics.TariffRefused - refusedBefore, Is.EqualTo(1));
        });
    }

    private void Write(string version, params (string Pattern, string From)[] entries)
    {
        var tariff = JsonNode.Parse(File.ReadAllText(_path))!.AsObject();
        tariff["version"] = version;
        foreach (var (pattern, from) in entries)
        {
            tariff["zeroRated"]!.AsArray().Add(new JsonObject
            {
                ["pattern"] = pattern,
                ["types"] = new JsonArray("sms"),
                ["from"] = from,
                ["reason"] = "apple-activation-late",
            });
        }

        File.WriteAllText(_path, tariff.ToJsonString());
    }
}
