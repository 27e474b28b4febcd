using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Cli;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// <c>ratingctl rerate</c> and <c>ratingctl audit zero-rating</c> with several lanes write exactly the bytes one lane
/// writes — the adjustments appended to the ledger, the mismatches, the totals, the audit's sample and summaries — on
/// generated data with clock records, profile lines, invalid and blank lines, CDRs missing from the replayed stream, a
/// changed price, a removed rate and a late whitelist change, rated once by the old tariff; and again on a second
/// re-rate over the ledger the first one wrote.
/// </summary>
[TestFixture]
public sealed class RerateLanesTests
{
    private static readonly string[] RerateFiles = [RerateCommand.AdjustmentsFile, RerateCommand.MismatchesFile, RerateCommand.TotalsFile];
    private static readonly string[] AuditFiles = [AuditCommand.SampleFile, AuditCommand.SummaryTextFile, AuditCommand.SummaryJsonFile];

    private TestFolder _folder = null!;
    private string _data = "";

    [OneTimeSetUp]
    public async Task GenerateAndRate()
    {
        _folder = new TestFolder();
        _data = _folder.File("data");
        await GenerateCommand.RunAsync(_data, subscribers: 1_500, cdrs: 30_000, seed: 11, CancellationToken.None);
        var tariff = Path.Combine(_data, "tariff.json");
        await File.WriteAllBytesAsync(tariff, SyntheticData.DemoTariffWithMonthlyFees());
        var cdrs = Path.Combine(_data, "cdrs.jsonl");
        var lines = RatingLanesTests.WithClocksAndProfileLines(await File.ReadAllLinesAsync(cdrs), await File.ReadAllLinesAsync(Path.Combine(_data, "subscribers.jsonl")),
            [.. JsonNode.Parse(await File.ReadAllBytesAsync(tariff))!["plans"]!.AsObject().Select(p => p.Key)]).ToList();
        await File.WriteAllLinesAsync(cdrs, lines);
        await RateAsync(tariff, Path.Combine(_data, "subscribers.jsonl"), cdrs, Path.Combine(_data, "old"));

        // The replayed stream lacks every 501st line (rated records left without a CDR, in many subscribers).
        await File.WriteAllLinesAsync(Path.Combine(_data, "replayed.jsonl"), lines.Where((_, i) => i % 501 != 500));

        // The new tariff: a new version, the 2026 Apple ports whitelisted from 2012, every rate's price up a tenth, and
        // every plan's Hong Kong data rate gone (those CDRs are rejected now).
        var json = TariffJson(tariff);
        json["version"] = "2026-11-20.1";
        ZeroRated(json).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00";
        foreach (var (_, plan) in json["plans"]!.AsObject())
        {
            var rates = plan!["rates"]!.AsArray();
            foreach (var rate in rates)
            {
                rate!["price"] = (long)rate["price"]! * 11 / 10;
            }

            foreach (var hongKongData in rates.Where(r => (string?)r!["type"] == "data" && (string?)r["zone"] == "HMT").ToList())
            {
                rates.Remove(hongKongData);
            }
        }

        Write(json, _folder, "new.json");
    }

    [OneTimeTearDown]
    public void CleanUp() => _folder.Dispose();

    [Test]
    public async Task Two_and_three_lanes_re_rate_and_audit_with_the_bytes_of_one_lane()
    {
        var one = await RerateTwiceAsync(lanes: 1);
        Assert.Multiple(() =>
        {
            // The run must exercise what the lanes have to merge: adjustments, every kind of finding, a ledger read back.
            Assert.That(one.Stdout[0], Does.Match(@"^\d+ records compared, [1-9]\d* adjustments, .* 0 already adjusted, [1-9]\d* mismatches \(.*rejected-by-new-tariff.*rated-without-cdr"));
            Assert.That(one.Stdout[1], Does.Match(@", 0 adjustments, total difference 0 micros; [1-9]\d* already adjusted"));
            Assert.That(one.Files[RerateCommand.AdjustmentsFile], Has.Length.GreaterThan(0));
        });
        var audit = await AuditAsync(lanes: 1);
        Assert.That(audit.Stdout, Does.Match(@"^[1-9]\d* zero-rated records in 2026-11 .* relief .*; sample 50 \(seed 3\); [1-9]\d* goodwill credits"));
        foreach (var lanes in new[] { 2, 3 })
        {
            var several = await RerateTwiceAsync(lanes);
            var severalAudit = await AuditAsync(lanes);
            Assert.Multiple(() =>
            {
                Assert.That(several.Stdout, Is.EqualTo(one.Stdout), $"summaries with {lanes} lanes");
                foreach (var file in RerateFiles)
                {
                    Assert.That(RatingLanesTests.FirstDifference(one.Files[file], several.Files[file]), Is.Null, $"{file} with {lanes} lanes");
                }

                Assert.That(severalAudit.Stdout, Is.EqualTo(audit.Stdout), $"audit summary with {lanes} lanes");
                foreach (var file in AuditFiles)
                {
                    Assert.That(RatingLanesTests.FirstDifference(audit.Files[file], severalAudit.Files[file]), Is.Null, $"{file} with {lanes} lanes");
                }
            });
        }
    }

    [Test]
    public void Each_pass_of_a_re_rate_and_an_audit_reports_its_file_read_to_the_end()
    {
        var tariff = TariffLoader.LoadFile(_folder.File("new.json"));
        var profiles = SubscriberFile.Load(Path.Combine(_data, "subscribers.jsonl"), tariff);
        var (rated, cdrs) = (Path.Combine(_data, "old", "rated.jsonl"), Path.Combine(_data, "replayed.jsonl"));

        // Without reports, then with: the same findings.
        var quiet = new CountingReceiver();
        var plain = new RerateLanes(tariff, profiles, null, null, profileLines: true, lanes: 2);
        plain.ReadRated(rated, CancellationToken.None);
        plain.Run(cdrs, quiet, CancellationToken.None);

        List<long> ratedRead = [], scanned = [], replayed = [];
        var heard = new CountingReceiver();
        var reported = new RerateLanes(tariff, profiles, null, null, profileLines: true, lanes: 2);
        reported.ReadRated(rated, CancellationToken.None, ratedRead.Add);
        reported.Run(cdrs, heard, CancellationToken.None, scanned.Add, replayed.Add);

        var audit = new ZeroRatingAuditLanes(2026, 11, tariff, 50, 3, lanes: 2);
        List<long> auditRated = [], auditCdrs = [];
        audit.ReadRated(rated, CancellationToken.None, auditRated.Add);
        Assert.That(audit.WantsCdrs, Is.True, "the generated month has zero-rated records");
        audit.OfferCdrs(cdrs, CancellationToken.None, auditCdrs.Add);

        Assert.Multiple(() =>
        {
            Assert.That((heard.Adjustments, heard.Mismatches), Is.EqualTo((quiet.Adjustments, quiet.Mismatches)));
            Assert.That(heard.Adjustments, Is.GreaterThan(0));
            foreach (var (reports, file, pass) in new[]
                     {
                         (ratedRead, rated, "re-rate: rated file"), (scanned, cdrs, "re-rate: scan"), (replayed, cdrs, "re-rate: replay"),
                         (auditRated, rated, "audit: rated file"), (auditCdrs, cdrs, "audit: CDRs"),
                     })
            {
                // Block by block (the files are several blocks long), never backwards, up to the file's last byte.
                Assert.That(reports, Has.Count.GreaterThan(1), pass);
                Assert.That(reports, Is.Ordered, pass);
                Assert.That(reports[^1], Is.EqualTo(new FileInfo(file).Length), pass);
            }
        });
    }

    [TestCase("replayed.jsonl", 1)]
    [TestCase("replayed.jsonl", 2)]
    [TestCase("cdrs.jsonl", 2)]
    public void The_single_pass_finds_what_the_scan_and_the_replay_find(string stream, int lanes)
    {
        var tariff = TariffLoader.LoadFile(_folder.File("new.json"));
        var profiles = SubscriberFile.Load(Path.Combine(_data, "subscribers.jsonl"), tariff);
        var (rated, cdrs) = (Path.Combine(_data, "old", "rated.jsonl"), Path.Combine(_data, stream));

        // Into a fresh ledger, then over the ledger the single pass wrote (charges already adjusted).
        List<LedgerEntry> recorded = [];
        foreach (var run in new[] { "fresh ledger", "over the ledger" })
        {
            var ledgerBefore = recorded.Count;
            var (single, singleFound) = Run(singlePass: true);
            var (scanned, scannedFound) = Run(singlePass: false);
            Assert.Multiple(() =>
            {
                Assert.That(singleFound, Is.EqualTo(scannedFound), $"{run}: findings in order");
                Assert.That(single.Summary.ToString(), Is.EqualTo(scanned.Summary.ToString()), $"{run}: summary");
                Assert.That(single.Summary.RatedRecords, Is.EqualTo(scanned.Summary.RatedRecords), $"{run}: records");
                Assert.That(single.Summary.CdrLines, Is.EqualTo(scanned.Summary.CdrLines), $"{run}: lines");
                Assert.That(single.Ledger.Select(e => e.AdjustmentId), Is.EqualTo(scanned.Ledger.Select(e => e.AdjustmentId)), $"{run}: ledger");
                Assert.That(scanned.ReplayedAgain, Is.Zero, "the scan replays nobody again");
                if (ledgerBefore == 0)
                {
                    Assert.That(singleFound, Has.Count.GreaterThan(1_000), "the run must find adjustments and mismatches to compare");
                }

            });
            TestContext.Out.WriteLine($"{stream}, {lanes} lanes, {run}: {single.ReplayedAgain} subscribers replayed again; {single.Summary}");
            if (stream == "replayed.jsonl")
            {
                // The stream lacks a line in many subscribers: those (and only some) are given up and replayed again.
                Assert.That(single.ReplayedAgain, Is.InRange(30, profiles.Count / 2), run);
            }

            recorded = [.. single.Ledger];
        }

        (RerateLanes Lanes, List<string> Found) Run(bool singlePass)
        {
            var lanesRun = new RerateLanes(tariff, profiles, new AdjustmentLedger(recorded), null, profileLines: true, lanes) { SinglePass = singlePass };
            lanesRun.ReadRated(rated, CancellationToken.None);
            var found = new ListingReceiver();
            lanesRun.Run(cdrs, found, CancellationToken.None);
            return (lanesRun, found.Found);
        }
    }

    /// <summary>Re-rates into a fresh ledger, then once more over it; the outputs of the second run (its ledger holds both).</summary>
    private async Task<(string[] Stdout, Dictionary<string, byte[]> Files)> RerateTwiceAsync(int lanes)
    {
        var output = _folder.File($"rerate-{lanes}");
        var stdout = new List<string>();
        foreach (var run in new[] { 1, 2 })
        {
            using var writer = new StringWriter();
            using var stderr = new StringWriter();
            var exit = await RerateCommand.RunAsync(
                new RerateOptions(_folder.File("new.json"), Path.Combine(_data, "subscribers.jsonl"), Path.Combine(_data, "old", "rated.jsonl"),
                    Path.Combine(_data, "replayed.jsonl"), output, Lanes: lanes),
                writer, stderr, CancellationToken.None);
            Assert.That(exit, Is.Zero, () => $"run {run} with {lanes} lanes; stderr: {stderr}");
            stdout.Add(writer.ToString().Trim());
            if (run == 1)
            {
                // A goodwill credit on a CDR of the month, for the audit's ledger figures.
                var zeroRated = JsonLines(Path.Combine(_data, "old", "rated.jsonl")).First(r => r.GetProperty("zeroRated").ValueKind == System.Text.Json.JsonValueKind.String);
                var credit = await CreditCommand.RunAsync(
                    new CreditOptions(zeroRated.GetProperty("msisdn").GetString(), "5000000", "complaint", zeroRated.GetProperty("id").GetString(), output, null),
                    TextWriter.Null, stderr, CancellationToken.None);
                Assert.That(credit, Is.Zero, () => stderr.ToString());
            }
        }

        return ([.. stdout], RerateFiles.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(output, f))));
    }

    private async Task<(string Stdout, Dictionary<string, byte[]> Files)> AuditAsync(int lanes)
    {
        var output = _folder.File($"audit-{lanes}");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AuditCommand.RunZeroRatingAsync(
            new ZeroRatingAuditOptions(Path.Combine(_data, "old", "rated.jsonl"), "2026-11", output, Sample: 50, Seed: 3, Tariff: _folder.File("new.json"),
                Cdrs: Path.Combine(_data, "replayed.jsonl"), Adjustments: Path.Combine(_folder.File($"rerate-{lanes}"), RerateCommand.AdjustmentsFile), Lanes: lanes),
            stdout, stderr, CancellationToken.None);
        Assert.That(exit, Is.Zero, () => $"audit with {lanes} lanes; stderr: {stderr}");
        return (stdout.ToString().Trim(), AuditFiles.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(output, f))));
    }

    private sealed class ListingReceiver : IRerateReceiver
    {
        public List<string> Found { get; } = [];

        public void Adjustment(Adjustment adjustment) => Found.Add(adjustment.ToString());

        public void Mismatch(RerateMismatch mismatch) => Found.Add(mismatch.ToString());
    }

    private sealed class CountingReceiver : IRerateReceiver
    {
        public int Adjustments { get; private set; }

        public int Mismatches { get; private set; }

        public void Adjustment(Adjustment adjustment) => Adjustments++;

        public void Mismatch(RerateMismatch mismatch) => Mismatches++;
    }
}
