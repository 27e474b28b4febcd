using NUnit.Framework;
using RatingPipeline.Rerating;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// An id the old run rated twice for one subscriber in one cycle (a resend that came after the duplicate memory of 32
/// ids had forgotten it) no longer names one CDR: a changed charge of either record is reported as a mismatch to adjust
/// by hand, never written to the ledger. Records of other ids, and of the same id in other cycles or of other
/// subscribers, are adjusted as usual. mini-18 has 20 SMS in its allowance, then 100,000 each.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class RerateAmbiguousIdTests(int lanes)
{
    private readonly int _lanes = lanes;

    private const string First = "8613800000001";
    private const string Second = "8613800000002";
    private const string Port = "10690000";

    private TestFolder _folder = null!;

    [SetUp]
    public void SetUp() => _folder = new TestFolder();

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task A_changed_charge_of_an_id_rated_twice_in_a_cycle_is_a_mismatch_and_other_ids_are_adjusted()
    {
        var subscribers = WriteLines(_folder, "subscribers.jsonl",
            [$"{{\"msisdn\":\"{First}\",\"plan\":\"mini-18\",\"cycleDay\":1}}", $"{{\"msisdn\":\"{Second}\",\"plan\":\"mini-18\",\"cycleDay\":1}}"]);

        // Each subscriber: 20 SMS use up the allowance, then "dup" to the port, 40 more, "dup" again (a later start: a
        // resend the duplicate memory no longer holds), and "once" to the port. The second subscriber's "dup" is rated
        // once only. Every SMS to the port is charged 100,000 by the old run.
        var lines = new List<string>();
        foreach (var msisdn in new[] { First, Second })
        {
            lines.AddRange(Enumerable.Range(0, 20).Select(i => Sms(msisdn, $"a{i:D2}", "13900000000", 8, i)));
            lines.Add(Sms(msisdn, "dup", Port, 9, 0));
            lines.AddRange(Enumerable.Range(0, 40).Select(i => Sms(msisdn, $"b{i:D2}", "13900000000", 10, i)));
            if (msisdn == First)
            {
                lines.Add(Sms(msisdn, "dup", Port, 11, 0));
            }

            lines.Add(Sms(msisdn, "once", Port, 12, 0));
        }

        var cdrs = WriteLines(_folder, "cdrs.jsonl", lines);
        var oldRated = await RateAsync(ExampleTariff, subscribers, cdrs, _folder.File("old"));
        var dupRecords = JsonLines(oldRated).Count(r => r.GetProperty("id").GetString() == "dup" && r.GetProperty("msisdn").GetString() == First);
        Assert.That(dupRecords, Is.EqualTo(2), "the old run rated the first subscriber's resend of dup again");

        var newTariff = TariffJson(ExampleTariff);
        newTariff["version"] = "2026-11-15.1";
        ZeroRated(newTariff).Add(ZeroRatingEntry(Port, "activation-port"));
        var result = Rerate(_lanes, Write(newTariff, _folder, "new.json"), subscribers, oldRated, cdrs);

        Assert.Multiple(() =>
        {
            Assert.That(result.Mismatches.Select(m => (m.Kind, m.Id, m.Msisdn, m.OldCharge, m.NewCharge)), Is.EqualTo(new[]
            {
                (RerateMismatchKind.AmbiguousId, "dup", First, (long?)100_000L, (long?)0L),
                (RerateMismatchKind.AmbiguousId, "dup", First, (long?)100_000L, (long?)0L),
            }));
            Assert.That(result.Adjustments.Select(a => (a.Id, a.Msisdn, a.Difference)).OrderBy(a => a.Msisdn).ThenBy(a => a.Id), Is.EqualTo(new[]
            {
                ("once", First, -100_000L),
                ("dup", Second, -100_000L),
                ("once", Second, -100_000L),
            }));
            Assert.That(result.Summary.MismatchesOf(RerateMismatchKind.AmbiguousId), Is.EqualTo(2));
        });
    }

    private static string Sms(string msisdn, string id, string peer, int hour, int minute) =>
        $"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{msisdn}\",\"direction\":\"mo\",\"peer\":\"{peer}\",\"start\":\"2026-11-02T{hour:D2}:{minute:D2}:00+08:00\"}}";
}
