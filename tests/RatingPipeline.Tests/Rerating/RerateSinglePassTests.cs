using NUnit.Framework;
using RatingPipeline.Rerating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// The single pass of a re-rate (<see cref="RerateLanes.SinglePass"/>) on whole streams where the scan's matching moves a
/// rated record off the line the next-record rule gives it: the single pass must give those subscribers up and find for
/// them what the scan and the replay find. The old tariff has no rate for data in Hong Kong, the new one has.
/// </summary>
[TestFixture]
public sealed class RerateSinglePassTests
{
    private const string Voice = "\"type\":\"voice\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"durationSec\":61";

    private static readonly string[] Subscribers =
    [
        """{"msisdn": "8613800000001", "plan": "mini-18", "cycleDay": 1}""",
        """{"msisdn": "8613800000003", "plan": "mini-18", "cycleDay": 1}""",
        """{"msisdn": "8613800000004", "plan": "mini-18", "cycleDay": 1}""",
    ];

    private static readonly string[] Stream =
    [
        // 001: a data CDR in Hong Kong (no rate in the old tariff), then a voice CDR, then the data CDR again from home
        // (same id, type and start: the old run rated it). The scan gives the record of the resend to the first line,
        // which comes before the subscriber's first rated line and which the new tariff rates (pulled forward).
        """{"id":"p2","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","bytes":1000,"visitedMcc":"454"}""",
        """{"id":"p1",""" + Voice + ""","msisdn":"8613800000001","start":"2026-11-02T11:00:00+08:00"}""",
        """{"id":"p2","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","bytes":1000}""",

        // 003: a data CDR in Hong Kong, then a voice CDR with the same id (the old run's first rated record), which the
        // new run refuses as a duplicate: the scan takes that record for one from before the stream.
        """{"id":"c1","type":"data","msisdn":"8613800000003","start":"2026-11-02T10:00:00+08:00","bytes":1000,"visitedMcc":"454"}""",
        """{"id":"c1",""" + Voice + ""","msisdn":"8613800000003","start":"2026-11-02T11:00:00+08:00"}""",
        """{"id":"c2",""" + Voice + ""","msisdn":"8613800000003","start":"2026-11-02T12:00:00+08:00"}""",

        // 004: a Hong Kong data CDR the new tariff rates, then two voice CDRs: one line per record, nothing moved.
        """{"id":"n0","type":"data","msisdn":"8613800000004","start":"2026-11-02T09:00:00+08:00","bytes":1000,"visitedMcc":"454"}""",
        """{"id":"n1",""" + Voice + ""","msisdn":"8613800000004","start":"2026-11-02T10:00:00+08:00"}""",
        """{"id":"n2",""" + Voice + ""","msisdn":"8613800000004","start":"2026-11-02T11:00:00+08:00"}""",
    ];

    [TestCase(1)]
    [TestCase(2)]
    public async Task Records_the_scan_moves_are_found_again_with_the_scan(int lanes)
    {
        using var folder = new TestFolder();
        var oldTariff = TariffJson(ExampleTariff);
        oldTariff["version"] = "old.1";
        foreach (var (_, plan) in oldTariff["plans"]!.AsObject())
        {
            var rates = plan!["rates"]!.AsArray();
            foreach (var hongKongData in rates.Where(r => (string?)r!["type"] == "data" && (string?)r["zone"] == "HMT").ToList())
            {
                rates.Remove(hongKongData);
            }
        }

        var newTariff = TariffJson(ExampleTariff);
        newTariff["version"] = "new.1";
        var subscribers = WriteLines(folder, "subscribers.jsonl", Subscribers);
        var cdrs = WriteLines(folder, "cdrs.jsonl", Stream);
        var rated = await RateAsync(Write(oldTariff, folder, "old.json"), subscribers, cdrs, folder.File("old"));
        Assert.That(File.ReadAllLines(rated).Count(l => l.Length > 0), Is.EqualTo(6), "six records rated");

        var tariff = TariffLoader.LoadFile(Write(newTariff, folder, "new.json"));
        var profiles = SubscriberFile.Load(subscribers, tariff);
        var (single, singleFound) = Run(singlePass: true);
        var (scanned, scannedFound) = Run(singlePass: false);
        TestContext.Out.WriteLine(string.Join("\n", scannedFound));
        Assert.Multiple(() =>
        {
            // What the scan finds here, and the single pass not by the next-record rule: p2 compared on its first line (an
            // adjustment), its resend a duplicate; c1 taken as rated (its Hong Kong line rated by the new tariff only).
            Assert.That(scanned.Summary.TakenAsRated, Is.EqualTo(1), "c1 taken as rated");
            Assert.That(scannedFound.Count(f => f.Contains("Id = p2", StringComparison.Ordinal)), Is.EqualTo(1), "p2 found once");
            Assert.That(scannedFound, Has.Some.Contains("Id = n0").And.Contains("RatedOnlyByNewTariff"));
            Assert.That(scannedFound, Has.None.Contains("RejectedByNewTariff"));

            Assert.That(single.ReplayedAgain, Is.EqualTo(2), "001 and 003 given up; 004 kept");
            Assert.That(singleFound, Is.EqualTo(scannedFound));
            Assert.That(single.Summary.ToString(), Is.EqualTo(scanned.Summary.ToString()));
        });

        (RerateLanes Lanes, List<string> Found) Run(bool singlePass)
        {
            var run = new RerateLanes(tariff, profiles, null, null, profileLines: false, lanes) { SinglePass = singlePass, WorkFolder = folder.Path };
            run.ReadRated(rated, CancellationToken.None);
            var found = new Listing();
            run.Run(cdrs, found, CancellationToken.None);
            return (run, found.Found);
        }
    }

    [Test]
    public async Task A_stream_with_fewer_lines_than_rated_records_is_scanned_from_the_outset()
    {
        using var folder = new TestFolder();
        var tariff = TariffJson(ExampleTariff);
        var subscribers = WriteLines(folder, "subscribers.jsonl", Subscribers);
        var rated = await RateAsync(Write(tariff, folder, "old.json"), subscribers, WriteLines(folder, "whole.jsonl", Stream), folder.File("old"));
        tariff["version"] = "new.1";
        foreach (var (_, plan) in tariff["plans"]!.AsObject())
        {
            foreach (var rate in plan!["rates"]!.AsArray())
            {
                rate!["price"] = (long)rate["price"]! * 11 / 10;
            }
        }

        var newTariff = TariffLoader.LoadFile(Write(tariff, folder, "new.json"));

        // The last three lines of nine, seven records rated: a stream that begins mid-cycle.
        var suffix = WriteLines(folder, "suffix.jsonl", Stream[^3..]);
        var found = new Dictionary<bool, (RerateLanes Lanes, List<string> Found)>();
        foreach (var singlePass in new[] { true, false })
        {
            var run = new RerateLanes(newTariff, SubscriberFile.Load(subscribers, newTariff), null, null, profileLines: false, lanes: 2)
            {
                SinglePass = singlePass,
                WorkFolder = folder.Path,
            };
            run.ReadRated(rated, CancellationToken.None);
            var listing = new Listing();
            run.Run(suffix, listing, CancellationToken.None);
            found[singlePass] = (run, listing.Found);
        }

        Assert.Multiple(() =>
        {
            Assert.That(found[true].Lanes.Summary.RatedRecords, Is.EqualTo(7));
            Assert.That(found[true].Lanes.ReplayedAgain, Is.Zero, "nobody given up: scanned first");
            Assert.That(found[true].Found, Is.EqualTo(found[false].Found).And.Not.Empty);
            Assert.That(found[true].Lanes.Summary.ToString(), Is.EqualTo(found[false].Lanes.Summary.ToString()));
        });
    }

    private sealed class Listing : IRerateReceiver
    {
        public List<string> Found { get; } = [];

        public void Adjustment(Adjustment adjustment) => Found.Add(adjustment.ToString());

        public void Mismatch(RerateMismatch mismatch) => Found.Add(mismatch.ToString());
    }
}
