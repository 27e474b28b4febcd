using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Rerating;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>Re-rating the worked example (Examples/basic) under tariffs with late zero-rating changes.</summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class RerateWorkedExampleTests(int lanes)
{
    private readonly int _lanes = lanes;

    private const string OldVersion = "2026-11-01.1";
    private const string Subscriber1 = "8613800000001";

    private TestFolder _folder = null!;
    private string _oldRated = null!;
    private int _oldRatedCount;

    [SetUp]
    public async Task SetUp()
    {
        _folder = new TestFolder();
        _oldRated = await RateAsync(ExampleTariff, ExampleSubscribers, ExampleCdrs, _folder.File("old"));
        _oldRatedCount = File.ReadAllLines(_oldRated).Count(l => l.Length > 0);
    }

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public void Late_activation_port_for_a9_credits_its_whole_charge_and_nothing_else()
    {
        // a9 (sms mo to 004475374102, intl) was rated by "sms * mo *": 1 × 1,000,000 / 1 = 1,000,000; zero-rated now: 0.
        var tariff = Write(TariffWithLatePort("2026-11-15.1"), _folder, "new.json");

        var result = Rerate(_lanes, tariff, ExampleSubscribers, _oldRated, ExampleCdrs);

        Assert.That(result.Adjustments, Has.Count.EqualTo(1));
        var a9 = result.Adjustments[0];
        Assert.Multiple(() =>
        {
            Assert.That(a9.AdjustmentId, Is.EqualTo($"{Subscriber1}:2026-11-01:a9:{OldVersion}->2026-11-15.1"));
            Assert.That(a9.Id, Is.EqualTo("a9"));
            Assert.That(a9.Msisdn, Is.EqualTo(Subscriber1));
            Assert.That(a9.Cycle, Is.EqualTo("2026-11-01"));
            Assert.That(a9.OldCharge, Is.EqualTo(1_000_000));
            Assert.That(a9.NewCharge, Is.Zero);
            Assert.That(a9.Difference, Is.EqualTo(-1_000_000));
            Assert.That(a9.OldTariffVersion, Is.EqualTo(OldVersion));
            Assert.That(a9.NewTariffVersion, Is.EqualTo("2026-11-15.1"));
            Assert.That(a9.ZeroRated, Is.EqualTo("apple-activation-late"));
            Assert.That(result.Summary.Compared, Is.EqualTo(_oldRatedCount));
            Assert.That(result.Mismatches, Is.Empty);
        });
    }

    [Test]
    public void Moving_a_rule_start_back_credits_a10b_sent_the_day_before_it_took_effect()
    {
        // a10b (2026-11-09T23:59:59+08:00 to 0044753741039) missed "apple-activation-2026" (from 11-10) by one second.
        var json = TariffJson(ExampleTariff);
        json["version"] = "2026-11-15.2";
        var rule = ZeroRated(json).Single(r => (string?)r!["reason"] == "apple-activation-2026")!;
        rule["from"] = "2026-11-01T00:00:00+08:00";

        var result = Rerate(_lanes, Write(json, _folder, "new.json"), ExampleSubscribers, _oldRated, ExampleCdrs);

        Assert.That(result.Adjustments.Select(a => (a.Id, a.OldCharge, a.NewCharge, a.Difference, a.ZeroRated)),
            Is.EqualTo(new[] { ("a10b", 1_000_000L, 0L, -1_000_000L, (string?)"apple-activation-2026") }));
    }

    [Test]
    public async Task Rerate_command_writes_adjustments_totals_and_a_one_line_summary()
    {
        var json = TariffWithLatePort("2026-11-15.1");
        ZeroRated(json).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2026-11-01T00:00:00+08:00";
        var outDir = _folder.File("adj");

        var (code, stdout, stderr) = await RerateCliAsync(_lanes, Write(json, _folder, "new.json"), ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        Assert.That(code, Is.Zero, stderr);
        Assert.That(stdout.Trim(), Is.EqualTo($"{_oldRatedCount} records compared, 2 adjustments, total difference -2000000 micros; 0 already adjusted, 0 mismatches"));
        var lines = JsonLines(Path.Combine(outDir, "adjustments.jsonl"));
        Assert.That(lines.Select(l => (l.GetProperty("id").GetString(), l.GetProperty("difference").GetInt64())),
            Is.EqualTo(new[] { ("a9", -1_000_000L), ("a10b", -1_000_000L) }));
        Assert.That(lines.Select(l => l.EnumerateObject().Select(p => p.Name)), Has.All.EquivalentTo(new[]
        {
            "adjustmentId", "kind", "id", "msisdn", "cycle", "oldCharge", "newCharge", "difference", "oldTariffVersion", "newTariffVersion", "zeroRated", "reason",
        }));
        Assert.That(lines.Select(l => (l.GetProperty("kind").GetString(), l.GetProperty("reason").ValueKind)), Has.All.EqualTo(("rerate", JsonValueKind.Null)));
        var totals = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "adjustment-totals.json"))).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(totals.GetProperty("adjustments").GetInt64(), Is.EqualTo(2));
            Assert.That(totals.GetProperty("difference").GetInt64(), Is.EqualTo(-2_000_000));
            var subscribers = totals.GetProperty("subscribers").EnumerateArray().ToList();
            Assert.That(subscribers, Has.Count.EqualTo(1));
            Assert.That(subscribers[0].GetProperty("msisdn").GetString(), Is.EqualTo(Subscriber1));
            Assert.That(subscribers[0].GetProperty("adjustments").GetInt64(), Is.EqualTo(2));
            Assert.That(subscribers[0].GetProperty("difference").GetInt64(), Is.EqualTo(-2_000_000));
            Assert.That(File.ReadAllText(Path.Combine(outDir, "rerate-mismatches.jsonl")), Is.Empty);
        });
    }

    [Test]
    public async Task Running_rerate_twice_writes_no_second_adjustment()
    {
        var tariff = Write(TariffWithLatePort("2026-11-15.1"), _folder, "new.json");
        var outDir = _folder.File("adj");
        var first = await RerateCliAsync(_lanes, tariff, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);
        var afterFirst = File.ReadAllText(Path.Combine(outDir, "adjustments.jsonl"));

        var second = await RerateCliAsync(_lanes, tariff, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        Assert.Multiple(() =>
        {
            Assert.That((first.Code, second.Code), Is.EqualTo((0, 0)));
            Assert.That(first.Stdout, Does.Contain(" 1 adjustments, total difference -1000000 micros"));
            Assert.That(second.Stdout, Does.Contain(" 0 adjustments, total difference 0 micros; 1 already adjusted, 0 mismatches"));
            Assert.That(File.ReadAllText(Path.Combine(outDir, "adjustments.jsonl")), Is.EqualTo(afterFirst));
            Assert.That(JsonLines(Path.Combine(outDir, "adjustments.jsonl")), Has.Count.EqualTo(1));
            var totals = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "adjustment-totals.json"))).RootElement;
            Assert.That(totals.GetProperty("difference").GetInt64(), Is.EqualTo(-1_000_000), "the ledger still credits a9 once");
        });
    }

    [Test]
    public async Task A_later_tariff_credits_only_what_is_still_owed()
    {
        // v2 zero-rates a9; v3 zero-rates a9 and a10b. After v2's credit, v3 owes only a10b.
        var v2 = Write(TariffWithLatePort("2026-11-15.1"), _folder, "v2.json");
        var v3Json = TariffWithLatePort("2026-11-20.1");
        ZeroRated(v3Json).Single(r => (string?)r!["reason"] == "apple-activation-2026")!["from"] = "2026-11-01T00:00:00+08:00";
        var v3 = Write(v3Json, _folder, "v3.json");
        var outDir = _folder.File("adj");

        await RerateCliAsync(_lanes, v2, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);
        var (code, stdout, _) = await RerateCliAsync(_lanes, v3, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        var lines = JsonLines(Path.Combine(outDir, "adjustments.jsonl"));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stdout, Does.Contain(" 1 adjustments, total difference -1000000 micros; 1 already adjusted"));
            Assert.That(lines.Select(l => l.GetProperty("adjustmentId").GetString()), Is.EqualTo(new[]
            {
                $"{Subscriber1}:2026-11-01:a9:{OldVersion}->2026-11-15.1",
                $"{Subscriber1}:2026-11-01:a10b:{OldVersion}->2026-11-20.1",
            }));
            Assert.That(lines.Sum(l => l.GetProperty("difference").GetInt64()), Is.EqualTo(-2_000_000));
        });
    }

    [Test]
    public async Task Reverting_to_the_old_tariff_debits_the_credit_back()
    {
        var outDir = _folder.File("adj");
        await RerateCliAsync(_lanes, Write(TariffWithLatePort("2026-11-15.1"), _folder, "v2.json"), ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        var (_, stdout, _) = await RerateCliAsync(_lanes, ExampleTariff, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        var last = JsonLines(Path.Combine(outDir, "adjustments.jsonl"))[^1];
        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain(" 1 adjustments, total difference 1000000 micros"));
            Assert.That(last.GetProperty("adjustmentId").GetString(), Is.EqualTo($"{Subscriber1}:2026-11-01:a9:2026-11-15.1->{OldVersion}"));
            Assert.That(last.GetProperty("oldCharge").GetInt64(), Is.Zero, "the charge stood at v2's figure");
            Assert.That(last.GetProperty("newCharge").GetInt64(), Is.EqualTo(1_000_000));
            var totals = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "adjustment-totals.json"))).RootElement;
            Assert.That(totals.GetProperty("difference").GetInt64(), Is.Zero);
            Assert.That(totals.GetProperty("adjustments").GetInt64(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Reapplying_a_version_pair_already_recorded_is_reported_not_written()
    {
        // v1 → v2 (credit), v2 → v1 (revert), v1 → v2 again: its id is already recorded, so it is reported instead.
        var v2 = Write(TariffWithLatePort("2026-11-15.1"), _folder, "v2.json");
        var outDir = _folder.File("adj");
        await RerateCliAsync(_lanes, v2, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);
        await RerateCliAsync(_lanes, ExampleTariff, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        var (code, stdout, _) = await RerateCliAsync(_lanes, v2, ExampleSubscribers, _oldRated, ExampleCdrs, outDir);

        var mismatches = JsonLines(Path.Combine(outDir, "rerate-mismatches.jsonl"));
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.Zero);
            Assert.That(stdout, Does.Contain(" 0 adjustments").And.Contain("1 adjustment-id-already-recorded"));
            Assert.That(JsonLines(Path.Combine(outDir, "adjustments.jsonl")), Has.Count.EqualTo(2));
            Assert.That(mismatches, Has.Count.EqualTo(1));
            Assert.That(mismatches[0].GetProperty("kind").GetString(), Is.EqualTo("adjustment-id-already-recorded"));
            Assert.That(mismatches[0].GetProperty("id").GetString(), Is.EqualTo("a9"));
        });
    }

    [Test]
    public async Task Records_rated_by_only_one_side_are_reported_never_dropped()
    {
        var json = TariffJson(ExampleTariff);
        json["version"] = "2026-11-15.3";
        var mini = json["plans"]!["mini-18"]!["rates"]!.AsArray();

        // Without mini-18's catch-all voice rate, a16 (voice mt roaming in Z1) is no-rate.
        mini.RemoveAt(mini.Count - 1);

        // With a data rate for ROW, a17 (data in 262, no-rate before) is rated: ceil(100/1024)×1024 = 1024 bytes,
        // (1024 × 1,000,000 + 524,288) / 1,048,576 = 977 micros.
        mini.Add(new JsonObject { ["type"] = "data", ["zone"] = "ROW", ["unit"] = 1048576, ["increment"] = 1024, ["price"] = 1000000 });
        var rated = File.ReadAllLines(_oldRated).ToList();
        var ghost = JsonNode.Parse(rated[0])!.AsObject();
        ghost["id"] = "ghost-1";
        rated.Add(ghost.ToJsonString());
        var ratedWithGhost = WriteLines(_folder, "rated-with-ghost.jsonl", rated);
        var outDir = _folder.File("adj");

        var (code, stdout, stderr) = await RerateCliAsync(_lanes, Write(json, _folder, "new.json"), ExampleSubscribers, ratedWithGhost, ExampleCdrs, outDir);

        var mismatches = JsonLines(Path.Combine(outDir, "rerate-mismatches.jsonl"));
        Assert.That(code, Is.Zero, stderr);
        Assert.That(mismatches.Select(m => (m.GetProperty("kind").GetString(), m.GetProperty("id").GetString())), Is.EqualTo(new[]
        {
            ("rejected-by-new-tariff", "a16"),
            ("rated-only-by-new-tariff", "a17"),
            ("rated-without-cdr", "ghost-1"),
        }));
        Assert.Multiple(() =>
        {
            Assert.That(mismatches[0].GetProperty("reason").GetString(), Is.EqualTo("no-rate"));
            Assert.That(mismatches[0].GetProperty("oldCharge").GetInt64(), Is.EqualTo(2_990_000));
            Assert.That(mismatches[1].GetProperty("newCharge").GetInt64(), Is.EqualTo(977));
            Assert.That(mismatches[1].GetProperty("oldCharge").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(stdout.Trim(), Is.EqualTo($"{_oldRatedCount - 1} records compared, 0 adjustments, total difference 0 micros; 0 already adjusted, "
                + "3 mismatches (1 rejected-by-new-tariff, 1 rated-only-by-new-tariff, 1 rated-without-cdr)"));
            Assert.That(File.Exists(Path.Combine(outDir, "adjustments.jsonl")), Is.True);
            Assert.That(JsonLines(Path.Combine(outDir, "adjustments.jsonl")), Is.Empty);
        });
    }

    [Test]
    public async Task A_bad_rated_line_stops_the_command_with_its_line_number()
    {
        var rated = File.ReadAllLines(_oldRated).ToList();
        rated.Insert(2, "{\"id\":\"a3\",\"msisdn\":\"8613800000001\"}");
        var bad = WriteLines(_folder, "bad-rated.jsonl", rated);

        var (code, _, stderr) = await RerateCliAsync(_lanes, ExampleTariff, ExampleSubscribers, bad, ExampleCdrs, _folder.File("adj"));

        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("bad-rated.jsonl:3:"));
    }
}
