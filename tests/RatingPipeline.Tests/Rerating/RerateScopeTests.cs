using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rerating;
using RatingPipeline.Synthetic;
using RatingPipeline.Tests.Cli;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// <c>ratingctl rerate --old-tariff</c>: when only <c>zeroRated</c> and plans changed, only the subscribers the change
/// touches are replayed, and the ledger gets exactly the bytes a replay of every subscriber gives it — on generated data
/// with clock records, profile lines (which move subscribers between plans), invalid and blank lines, under several
/// kinds of change, over a ledger written before, and with one lane and two. Where narrowing is not safe (another
/// change, a record of another tariff version), every subscriber is replayed and the command says why.
/// </summary>
[TestFixture]
public sealed class RerateScopeTests
{
    private TestFolder _folder = null!;
    private string _data = "";
    private string _oldTariff = "";
    private int _subscribers;

    [OneTimeSetUp]
    public async Task GenerateAndRate()
    {
        _folder = new TestFolder();
        _data = _folder.File("data");
        await GenerateCommand.RunAsync(_data, subscribers: 1_500, cdrs: 30_000, seed: 23, CancellationToken.None);
        _oldTariff = Path.Combine(_data, "tariff.json");
        await File.WriteAllBytesAsync(_oldTariff, SyntheticData.DemoTariffWithMonthlyFees());
        var cdrs = Path.Combine(_data, "cdrs.jsonl");
        var lines = RatingLanesTests.WithClocksAndProfileLines(await File.ReadAllLinesAsync(cdrs), await File.ReadAllLinesAsync(Path.Combine(_data, "subscribers.jsonl")),
            [.. TariffJson(_oldTariff)["plans"]!.AsObject().Select(p => p.Key)]).ToList();
        await File.WriteAllLinesAsync(cdrs, lines);
        await RateAsync(_oldTariff, Path.Combine(_data, "subscribers.jsonl"), cdrs, Path.Combine(_data, "old"));
        _subscribers = File.ReadLines(Path.Combine(_data, "subscribers.jsonl")).Count();
    }

    [OneTimeTearDown]
    public void CleanUp() => _folder.Dispose();

    /// <summary>The kinds of change narrowing follows, each as a new tariff made from the old one.</summary>
    private static IEnumerable<TestCaseData> Changes()
    {
        // The operator's circular came late: the 2026 ports zero-rated from 2012 (credits).
        yield return new TestCaseData((Action<JsonObject>)(t =>
            ZeroRated(t).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00")).SetArgDisplayNames("late port");

        // An entry withdrawn (debits), another's reason renamed (no charge changes, but its subscribers' records differ).
        yield return new TestCaseData((Action<JsonObject>)(t =>
        {
            var rules = ZeroRated(t);
            rules.RemoveAt(0);
            rules[0]!["reason"] = "renamed";
        })).SetArgDisplayNames("withdrawn and renamed");

        // A new entry in front of the list that answers for every SMS to a UK number from 2012 on.
        yield return new TestCaseData((Action<JsonObject>)(t => ZeroRated(t).Insert(0, ZeroRatingEntry("0044*", "uk-sms", "2012-05-20T00:00:00+08:00", "sms"))))
            .SetArgDisplayNames("wide new entry first");

        // One plan's prices: its subscribers, and those a profile line moves onto it, are replayed.
        yield return new TestCaseData((Action<JsonObject>)(t =>
        {
            foreach (var rate in t["plans"]!["mini-18"]!["rates"]!.AsArray())
            {
                rate!["price"] = (long)rate["price"]! * 2 + 1;
            }
        })).SetArgDisplayNames("one plan's prices");

        // Both at once.
        yield return new TestCaseData((Action<JsonObject>)(t =>
        {
            ZeroRated(t).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00";
            t["plans"]!["biz-400"]!["allowances"]!["smsCount"] = 1;
        })).SetArgDisplayNames("late port and one plan's allowance");
    }

    [TestCaseSource(nameof(Changes))]
    public async Task A_zeroRated_or_plan_change_replays_only_the_subscribers_it_touches_and_writes_what_a_full_replay_writes(Action<JsonObject> change)
    {
        var json = TariffJson(_oldTariff);
        json["version"] = "2026-11-20.1";
        change(json);
        var newTariff = Write(json, _folder, $"new-{Guid.NewGuid():N}.json");
        foreach (var lanes in new[] { 1, 2 })
        {
            var full = await RerateAsync(newTariff, null, lanes);
            var scoped = await RerateAsync(newTariff, _oldTariff, lanes);
            AssertSameLedger(full, scoped, $"{lanes} lanes");
            var scope = scoped.Totals.GetProperty("scope");
            Assert.Multiple(() =>
            {
                Assert.That(full.Totals.GetProperty("scope").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(full.Stdout, Does.Match(@"^\d+ records compared, [1-9]\d* adjustments"), "the change must move charges");
                Assert.That(scoped.Stdout, Does.Match(@"; narrowed to the change: [1-9]\d* subscribers replayed, [1-9]\d* CDR lines and [1-9]\d* rated records of the others left out$"));
                Assert.That(scope.GetProperty("subscribersReplayed").GetInt32(), Is.InRange(1, _subscribers - 1), "narrowed, not every subscriber");

                // Counts add up: what was replayed and what was left out are what a full replay reads.
                Assert.That(Run(scoped, "cdrLines") + scope.GetProperty("cdrLinesLeftOut").GetInt64(), Is.EqualTo(Run(full, "cdrLines")));
                Assert.That(Run(scoped, "ratedRecords") + scope.GetProperty("ratedRecordsLeftOut").GetInt64(), Is.EqualTo(Run(full, "ratedRecords")));
                Assert.That(Run(scoped, "adjustments"), Is.EqualTo(Run(full, "adjustments")));
                Assert.That(Directory.GetDirectories(scoped.Out), Is.Empty, "the narrowed copies are removed");
            });
        }
    }

    [Test]
    public async Task Subscribers_with_entries_in_the_ledger_are_replayed_even_when_the_change_leaves_their_records_alone()
    {
        // First a late port, credited; then the tariff goes back to the old list under a third version. Against the old
        // tariff nothing changed, yet every credit written must be reversed — which only a replay of their subscribers does.
        var late = TariffJson(_oldTariff);
        late["version"] = "2026-11-20.1";
        ZeroRated(late).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00";
        var lateTariff = Write(late, _folder, "late.json");
        var back = TariffJson(_oldTariff);
        back["version"] = "2026-11-25.1";
        var backTariff = Write(back, _folder, "back.json");

        var first = await RerateAsync(lateTariff, null, lanes: 2);
        var credits = Run(first, "adjustments");
        Assert.That(credits, Is.GreaterThan(0));
        var full = await RerateAsync(backTariff, null, lanes: 2, ledgerFrom: first.Out);
        var scoped = await RerateAsync(backTariff, _oldTariff, lanes: 2, ledgerFrom: first.Out);
        AssertSameLedger(full, scoped, "over a ledger");
        Assert.Multiple(() =>
        {
            Assert.That(Run(scoped, "adjustments"), Is.EqualTo(credits), "each credit reversed");
            Assert.That(scoped.Totals.GetProperty("scope").GetProperty("subscribersReplayed").GetInt32(), Is.InRange(1, _subscribers - 1));
        });
    }

    [Test]
    public async Task Another_change_or_a_record_of_another_tariff_version_replays_every_subscriber_and_says_why()
    {
        // The late grace, with a plan's price: the grace is read for every subscriber.
        var graced = TariffJson(_oldTariff);
        graced["version"] = "2026-11-20.1";
        graced["lateGraceHours"] = 1;
        graced["plans"]!["mini-18"]!["rates"]![0]!["price"] = 1;
        var gracedTariff = Write(graced, _folder, "graced.json");
        var full = await RerateAsync(gracedTariff, null, lanes: 2);
        var refused = await RerateAsync(gracedTariff, _oldTariff, lanes: 2);
        AssertSameLedger(full, refused, "another change");
        Assert.Multiple(() =>
        {
            Assert.That(full.Stdout, Does.Match(@"^\d+ records compared, [1-9]\d* adjustments"));
            Assert.That(refused.Stdout, Does.StartWith("every subscriber replayed: the tariffs differ in more than zeroRated and plans (lateGraceHours)\n"));
            Assert.That(refused.Totals.GetProperty("scope").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });

        // A record rated under another version (a run that reloaded its tariff mid-month): narrowing would miss its changes.
        var late = TariffJson(_oldTariff);
        late["version"] = "2026-11-20.1";
        ZeroRated(late).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2012-05-20T00:00:00+08:00";
        var lateTariff = Write(late, _folder, "late-2.json");
        var rated = File.ReadAllLines(Path.Combine(_data, "old", "rated.jsonl"));
        var at = rated.Length / 2;
        var version = (string)TariffJson(_oldTariff)["version"]!;
        rated[at] = rated[at].Replace($"\"tariffVersion\":\"{version}\"", "\"tariffVersion\":\"2026-10-01.9\"", StringComparison.Ordinal);
        Assert.That(rated[at], Does.Contain("2026-10-01.9"));
        var mixed = WriteLines(_folder, "mixed-rated.jsonl", rated);
        var fullMixed = await RerateAsync(lateTariff, null, lanes: 2, ratedFile: mixed);
        var mixedScoped = await RerateAsync(lateTariff, _oldTariff, lanes: 2, ratedFile: mixed);
        AssertSameLedger(fullMixed, mixedScoped, "a record of another version");
        Assert.That(mixedScoped.Stdout, Does.StartWith(
            $"every subscriber replayed: {mixed}:{at + 1} was rated under tariff version \"2026-10-01.9\", not the old tariff's \"{version}\"\n"));
    }

    [Test]
    public void Tariffs_equal_but_for_version_zeroRated_and_plans_are_told_apart_from_others_whatever_the_order_of_members()
    {
        var old = TariffJson(_oldTariff);
        var reordered = new JsonObject(old.Reverse().Select(m => KeyValuePair.Create(m.Key, m.Value?.DeepClone())));
        reordered["version"] = "x";
        reordered["zeroRated"] = new JsonArray();
        var plans = TariffJson(_oldTariff);
        plans["plans"]!["unl-data"]!["allowances"]!["smsCount"] = 7;
        plans["plans"]!.AsObject().Remove("biz-400");
        plans["plans"]!["new-plan"] = plans["plans"]!["mini-18"]!.DeepClone();
        var zones = TariffJson(_oldTariff);
        zones["defaultRoamingZone"] = "elsewhere";
        zones["lateGraceHours"] = 1;
        Assert.Multiple(() =>
        {
            Assert.That(RerateScope.ChangedPlans(_oldTariff, Write(reordered, _folder, "reordered.json"), out var none), Is.Empty);
            Assert.That(none, Is.Null);
            Assert.That(RerateScope.ChangedPlans(_oldTariff, Write(plans, _folder, "plans.json"), out _), Is.EquivalentTo(new[] { "unl-data", "biz-400", "new-plan" }));
            Assert.That(RerateScope.ChangedPlans(_oldTariff, Write(zones, _folder, "zones.json"), out var why), Is.Null);
            Assert.That(why, Is.EqualTo("the tariffs differ in more than zeroRated and plans (defaultRoamingZone, lateGraceHours)"));
        });
    }

    [Test]
    public void The_command_line_takes_the_old_tariff()
    {
        var parsed = RatingPipeline.Cli.Program.BuildRoot().Parse(["rerate", "--tariff", "n.json", "--old-tariff", "o.json", "--subscribers", "s.jsonl", "--rated", "r.jsonl",
            "--cdrs", "c.jsonl", "--out", "o"]);
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Errors, Is.Empty, string.Join("; ", parsed.Errors.Select(e => e.Message)));
            Assert.That(parsed.GetValue<string?>("--old-tariff"), Is.EqualTo("o.json"));
        });
    }

    private static long Run(Result result, string name) => result.Totals.GetProperty(name).GetInt64();

    private static void AssertSameLedger(Result full, Result scoped, string what)
    {
        var (a, b) = (File.ReadAllBytes(Path.Combine(full.Out, RerateCommand.AdjustmentsFile)), File.ReadAllBytes(Path.Combine(scoped.Out, RerateCommand.AdjustmentsFile)));
        Assert.That(RatingLanesTests.FirstDifference(a, b), Is.Null, $"{what}: the ledger");
        Assert.That(File.ReadAllText(Path.Combine(scoped.Out, RerateCommand.MismatchesFile)),
            Is.EqualTo(File.ReadAllText(Path.Combine(full.Out, RerateCommand.MismatchesFile))), $"{what}: the mismatches (the stream is whole)");
    }

    private async Task<Result> RerateAsync(string newTariff, string? oldTariff, int lanes, string? ledgerFrom = null, string? ratedFile = null)
    {
        var output = _folder.File($"rerate-{Guid.NewGuid():N}");
        if (ledgerFrom is not null)
        {
            Directory.CreateDirectory(output);
            File.Copy(Path.Combine(ledgerFrom, RerateCommand.AdjustmentsFile), Path.Combine(output, RerateCommand.AdjustmentsFile));
        }

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await RerateCommand.RunAsync(
            new RerateOptions(newTariff, Path.Combine(_data, "subscribers.jsonl"), ratedFile ?? Path.Combine(_data, "old", "rated.jsonl"),
                Path.Combine(_data, "cdrs.jsonl"), output, Lanes: lanes, OldTariff: oldTariff),
            stdout, stderr, CancellationToken.None);
        Assert.That(exit, Is.Zero, () => $"stderr: {stderr}");
        using var totals = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, RerateCommand.TotalsFile)));
        return new Result(output, stdout.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd(), totals.RootElement.GetProperty("lastRun").Clone());
    }

    private sealed record Result(string Out, string Stdout, JsonElement Totals);
}
