using NUnit.Framework;
using RatingPipeline.Rerating;
using static RatingPipeline.Tests.Rerating.RerateTestData;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// A change to one record moves the allowance left for later ones; the replay carries that into their
/// charges. mini-18 has 20 SMS; national SMS mo at home use the allowance, then cost 100,000 each.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class RerateAllowanceShiftTests(int lanes)
{
    private readonly int _lanes = lanes;

    private const string Msisdn = "8613800000001";
    private const string Port = "10690000";

    private TestFolder _folder = null!;
    private string _subscribers = null!;
    private string _cdrs = null!;

    [SetUp]
    public void SetUp()
    {
        _folder = new TestFolder();
        _subscribers = WriteLines(_folder, "subscribers.jsonl", [$"{{\"msisdn\":\"{Msisdn}\",\"plan\":\"mini-18\",\"cycleDay\":1}}"]);

        // s00 to the (national) port, then s01..s20 to an ordinary number: 21 SMS against an allowance of 20.
        var lines = new List<string> { Sms("s00", Port, 8, 0) };
        for (var i = 1; i <= 20; i++)
        {
            lines.Add(Sms($"s{i:D2}", "13900000000", 9, i));
        }

        _cdrs = WriteLines(_folder, "cdrs.jsonl", lines);
    }

    [TearDown]
    public void TearDown() => _folder.Dispose();

    [Test]
    public async Task Sms_moving_into_zero_rating_frees_an_allowance_unit_that_covers_the_last_sms()
    {
        // Old: s00..s19 take the 20 units, s20 pays (1 × 100,000 + 0) / 1 = 100,000.
        // New: s00 is zero-rated (0 → 0, no adjustment), s01..s20 take the 20 units: s20 0, difference −100,000.
        var oldRated = await RateAsync(ExampleTariff, _subscribers, _cdrs, _folder.File("old"));
        var newTariff = TariffJson(ExampleTariff);
        newTariff["version"] = "2026-11-15.1";
        ZeroRated(newTariff).Add(ZeroRatingEntry(Port, "activation-port"));

        var result = Rerate(_lanes, Write(newTariff, _folder, "new.json"), _subscribers, oldRated, _cdrs);

        Assert.That(result.Adjustments.Select(a => (a.Id, a.OldCharge, a.NewCharge, a.Difference, a.ZeroRated)),
            Is.EqualTo(new[] { ("s20", 100_000L, 0L, -100_000L, (string?)null) }));
        Assert.Multiple(() =>
        {
            Assert.That(result.Summary.Compared, Is.EqualTo(21));
            Assert.That(result.Summary.Changed, Is.EqualTo(1), "s00 was covered by the allowance before: its charge stays 0");
            Assert.That(result.Mismatches, Is.Empty);
        });
    }

    [Test]
    public async Task Sms_leaving_zero_rating_uses_an_allowance_unit_so_the_last_sms_is_debited()
    {
        // The other way round: rated with the port zero-rated, re-rated without it: s20 now pays 100,000.
        var withPort = TariffJson(ExampleTariff);
        ZeroRated(withPort).Add(ZeroRatingEntry(Port, "activation-port"));
        var oldRated = await RateAsync(Write(withPort, _folder, "old.json"), _subscribers, _cdrs, _folder.File("old"));
        var withoutPort = TariffJson(ExampleTariff);
        withoutPort["version"] = "2026-11-15.1";

        var result = Rerate(_lanes, Write(withoutPort, _folder, "new.json"), _subscribers, oldRated, _cdrs);

        Assert.That(result.Adjustments.Select(a => (a.Id, a.Difference)), Is.EqualTo(new[] { ("s20", 100_000L) }));
    }

    [Test]
    public async Task Zero_rating_from_a_date_after_the_record_changes_nothing()
    {
        // The entry takes effect after every CDR of the file: replay gives the same charges, no adjustment.
        var oldRated = await RateAsync(ExampleTariff, _subscribers, _cdrs, _folder.File("old"));
        var newTariff = TariffJson(ExampleTariff);
        newTariff["version"] = "2026-11-15.1";
        ZeroRated(newTariff).Add(ZeroRatingEntry(Port, "activation-port", from: "2026-12-01T00:00:00+08:00"));

        var result = Rerate(_lanes, Write(newTariff, _folder, "new.json"), _subscribers, oldRated, _cdrs);

        Assert.Multiple(() =>
        {
            Assert.That(result.Adjustments, Is.Empty);
            Assert.That(result.Summary.Compared, Is.EqualTo(21));
        });
    }

    private static string Sms(string id, string peer, int hour, int minute) =>
        $"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{Msisdn}\",\"direction\":\"mo\",\"peer\":\"{peer}\",\"start\":\"2026-11-02T{hour:D2}:{minute:D2}:00+08:00\"}}";
}
