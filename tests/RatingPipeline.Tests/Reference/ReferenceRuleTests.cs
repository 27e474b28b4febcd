using NUnit.Framework;

namespace RatingPipeline.Tests.Reference;

/// <summary>
/// The reference's reading of SPEC points the worked examples do not show, each on a small input: what it does is
/// what the comparison holds the engine to.
/// </summary>
[TestFixture]
public sealed class ReferenceRuleTests
{
    private const string VoiceRate = """{"type":"voice","unit":60,"increment":60,"price":60000}""";

    private static string Tariff(int graceHours = 0, string rates = VoiceRate) =>
        """{"version":"t1","currency":"CNY","utcOffset":"+08:00","homeMcc":["460"],"zones":{"HMT":["454"]},"defaultRoamingZone":"ROW","lateGraceHours":"""
        + graceHours
        + ""","plans":{"p":{"monthlyFee":10000000,"rates":[""" + rates + "]}}}";

    private static string Lines(params string[] lines) => string.Concat(lines.Select(l => l + "\n"));

    private static string Clock(string at) => $$"""{"type":"clock","at":"{{at}}"}""";

    private static string Voice(string id, string msisdn, string start) =>
        $$"""{"id":"{{id}}","type":"voice","msisdn":"{{msisdn}}","direction":"mo","peer":"13900000000","start":"{{start}}","durationSec":60}""";

    [Test]
    public void A_clock_visits_subscribers_in_byte_order_of_their_msisdns_and_skips_unknown_plans()
    {
        // "123456789012345" < "8613800000001" < "99999" byte by byte (not by number); "8613800000004" is on a plan the tariff lacks.
        var subscribers = Lines("""{"msisdn":"99999","plan":"p","cycleDay":1}""", """{"msisdn":"123456789012345","plan":"p","cycleDay":1}""",
            """{"msisdn":"8613800000004","plan":"gone","cycleDay":1}""", """{"msisdn":"8613800000001","plan":"p","cycleDay":1}""");
        var output = ReferenceRater.Run(Tariff(), subscribers, Lines(Clock("2026-11-05T00:00:00+08:00"), Clock("2026-12-05T00:00:00+08:00")));
        Assert.That(output.Bills.Select(b => (string)b["msisdn"]!), Is.EqualTo(new[] { "123456789012345", "8613800000001", "99999" }));
        Assert.That(output.Rated.Select(r => (string)r["id"]!),
            Is.EqualTo(new[] { "123456789012345:2026-12-01:fee:monthly", "8613800000001:2026-12-01:fee:monthly", "99999:2026-12-01:fee:monthly" }));
    }

    [Test]
    public void A_service_cancelled_exactly_at_its_due_instant_is_neither_charged_then_nor_at_later_cycle_starts()
    {
        // Ordered Nov 10 09:00, due 24 h later; cancelledAt = due (written in UTC): cancelled at h when cancelledAt ≤ h.
        var subscribers = Lines("""
            {"msisdn":"8613800000001","plan":"p","cycleDay":1,"services":[{"id":"news","name":{"zh":"新闻","en":"News"},"price":5000000,
             "orderedAt":"2026-11-10T09:00:00+08:00","cancelledAt":"2026-11-11T01:00:00Z"}]}
            """.ReplaceLineEndings(""));
        var output = ReferenceRater.Run(Tariff(), subscribers,
            Lines(Clock("2026-11-01T00:00:00+08:00"), Clock("2026-11-20T00:00:00+08:00"), Clock("2026-12-02T00:00:00+08:00")));
        Assert.That(output.Reminders.Select(r => (string)r["kind"]!), Is.EqualTo(new[] { "vas-precharge" }));
        Assert.That(output.Rated.Select(r => (string?)r["fee"]), Is.EqualTo(new[] { "monthly" }), "only December's monthly fee");
    }

    [Test]
    public void A_charge_item_at_exactly_a_cycle_end_is_charged_once_in_the_new_cycle_at_its_due_instant()
    {
        // Due Dec 1 00:00 local: the cycle ends first (an item at exactly the end belongs to the new cycle); the opening
        // charges only services with due < start, so the charge item makes the one charge, with start = due as written.
        var subscribers = Lines("""
            {"msisdn":"8613800000001","plan":"p","cycleDay":1,"services":[{"id":"news","name":{"zh":"新闻","en":"News"},"price":5000000,
             "orderedAt":"2026-11-29T16:00:00Z"}]}
            """.ReplaceLineEndings(""));
        var output = ReferenceRater.Run(Tariff(), subscribers, Lines(Clock("2026-11-01T00:00:00+08:00"), Clock("2026-12-01T00:00:00+08:00")));
        Assert.That(output.Rated.Select(r => ((string)r["id"]!, (string)r["start"]!)), Is.EqualTo(new[]
        {
            ("8613800000001:2026-12-01:fee:monthly", "2026-12-01T00:00:00+08:00"),
            ("8613800000001:2026-12-01:fee:service:news", "2026-11-30T16:00:00Z"),
        }));
    }

    [Test]
    public void The_twelfth_cycle_end_opens_the_cycle_containing_T_and_the_late_grace_can_keep_that_twelfth_cycle_open()
    {
        var subscribers = Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1}""");
        var output = ReferenceRater.Run(Tariff(graceHours: 48), subscribers, Lines(
            Clock("2026-11-01T00:00:00+08:00"),
            Clock("2027-11-01T12:00:00+08:00"), // 12 cycle ends: 2026-11 … 2027-10; 2027-10 stays open (τ < Nov 3 00:00)
            Voice("late", "8613800000001", "2027-10-31T23:00:00+08:00"),
            Clock("2027-11-03T00:00:00+08:00")));
        Assert.That(output.Bills.Select(b => (string)b["cycle"]!).ToList(), Has.Count.EqualTo(12).And.Not.Contains("2027-11-01"));
        Assert.That((string)output.Bills[^1]["cycle"]!, Is.EqualTo("2027-10-01"));
        Assert.That((long)output.Bills[^1]["usage"]!["voice"]!["count"]!, Is.EqualTo(1), "the late call is in the last bill");
        Assert.That(output.Rated.Single(r => (string)r["id"]! == "late")["cycle"]!.GetValue<string>(), Is.EqualTo("2027-10-01"));
    }

    [Test]
    public void Cycles_skipped_by_the_bound_are_neither_opened_nor_billed()
    {
        var subscribers = Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1}""");
        var output = ReferenceRater.Run(Tariff(), subscribers, Lines(Clock("2026-11-01T00:00:00+08:00"), Clock("2028-03-15T00:00:00+08:00")));
        Assert.That(output.Bills.Select(b => (string)b["cycle"]!).Last(), Is.EqualTo("2027-10-01"));
        Assert.That(output.Rated.Select(r => (string)r["cycle"]!).Last(), Is.EqualTo("2028-03-01"), "the fee of the cycle containing T");
        Assert.That(output.Rated.Select(r => (string)r["cycle"]!), Has.None.EqualTo("2027-11-01").And.None.EqualTo("2028-02-01"));
    }

    [Test]
    public void A_broken_profile_line_is_rejected_invalid_and_the_previous_profile_stays()
    {
        var subscribers = Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1}""");
        var output = ReferenceRater.Run(Tariff(), subscribers, Lines(
            """{"type":"profile","id":"x","msisdn":"8613800000001","plan":"q","cycleDay":29}""",
            Voice("v1", "8613800000001", "2026-11-02T10:00:00+08:00")));
        Assert.That(output.Rejected.Select(r => ((string)r["reason"]!, (string?)r["id"], (string?)r["msisdn"])),
            Is.EqualTo(new[] { ("invalid", (string?)"x", (string?)"8613800000001") }));
        Assert.That((string)output.Rated.Single()["plan"]!, Is.EqualTo("p"));
        Assert.That(output.Summary!.Profiles, Is.Zero);
    }

    [Test]
    public void A_clock_before_the_state_has_any_mark_and_before_its_cycle_is_a_no_op()
    {
        // A state made by a CDR has no mark M: "none" is just before the start of its cycle, so a clock before that start
        // does nothing, while one at the start is an event (the clock still counts as applied in the summary).
        var subscribers = Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1,"planEndsAt":"2026-11-03T00:00:00+08:00"}""");
        var output = ReferenceRater.Run(Tariff(), subscribers, Lines(
            Voice("v1", "8613800000001", "2026-11-20T10:00:00+08:00"),
            Clock("2026-10-31T23:59:59+08:00"),
            Clock("2026-11-01T00:00:00+08:00")));
        Assert.That(output.Reminders.Select(r => ((string)r["kind"]!, (string)r["at"]!)),
            Is.EqualTo(new[] { ("plan-expiry", "2026-11-01T00:00:00+08:00") }));
        Assert.That(output.Summary!.Clocks, Is.EqualTo(2));
    }

    [Test]
    public void A_record_of_the_open_previous_cycle_by_name_but_past_its_close_instant_is_late()
    {
        // Only a changed cycleDay allows it: cycle 2026-11-01 ends on Nov 15 under cycle day 15 and stays open until
        // Nov 17 00:00 (G = 48); back on cycle day 1, a CDR of Nov 16 12:00 is of 2026-11-01 and rated into it, one of
        // Nov 20 is of 2026-11-01 by name too, but its own event would close that cycle before rating it: late.
        var subscribers = Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1}""");
        var output = ReferenceRater.Run(Tariff(graceHours: 48), subscribers, Lines(
            Clock("2026-11-01T00:00:00+08:00"),
            """{"type":"profile","msisdn":"8613800000001","plan":"p","cycleDay":15}""",
            Clock("2026-11-16T00:00:00+08:00"),
            """{"type":"profile","msisdn":"8613800000001","plan":"p","cycleDay":1}""",
            Voice("in", "8613800000001", "2026-11-16T12:00:00+08:00"),
            Voice("past", "8613800000001", "2026-11-20T12:00:00+08:00")));
        Assert.That(output.Rated.Where(r => (string)r["type"]! == "voice").Select(r => ((string)r["id"]!, (string)r["cycle"]!)),
            Is.EqualTo(new[] { ("in", "2026-11-01") }));
        Assert.That(output.Rejected.Select(r => ((string)r["reason"]!, (string?)r["id"])), Is.EqualTo(new[] { ("late", (string?)"past") }));
        Assert.That(output.Bills, Is.Empty, "the rejected record moves no stream time, so 2026-11-01 is still open");
    }

    // Lines that break §2.1 or §2.3 (each comment says how), and two edge cases that are valid.
    [TestCase("""{"id":"a","type":"voice","msisdn":"8613800000001","direction":"mo","peer":"1","start":"2026-11-02T10:00:00+08:00","durationSec":60.0}""", true, TestName = "Integer written with a fraction")]
    [TestCase("""{"id":"a","type":"voice","msisdn":"8613800000001","direction":"mo","peer":"1","start":"2026-11-02T10:00:00+08:00","durationSec":6e1}""", true, TestName = "Integer written with an exponent")]
    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","bytes":1,"x":[{"k":1,"k":2}]}""", false, TestName = "Name repeated inside an ignored member")]
    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","bytes":1} {}""", false, TestName = "A second value after the object")]
    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2026-02-29T10:00:00+08:00","bytes":1}""", true, TestName = "No such calendar date")]
    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00+24:00","bytes":1}""", true, TestName = "Offset hours above 23")]
    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2026-11-02t10:00:00Z","bytes":1}""", true, TestName = "Lowercase t")]
    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00.12345678Z","bytes":1}""", true, TestName = "Eight fraction digits")]
    [TestCase("""{"id":"a","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"+","start":"2026-11-02T10:00:00Z"}""", true, TestName = "Peer with no digits")]
    [TestCase("""{"type":"clock","at":"2026-11-02T10:00:00","id":"c","msisdn":"m"}""", true, TestName = "Clock at without an offset")]
    public void A_line_breaking_the_record_rules_is_rejected_invalid(string line, bool idCopied)
    {
        var output = ReferenceRater.Run(Tariff(), Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1}"""), Lines(line));
        Assert.That(output.Rejected.Select(r => (string)r["reason"]!), Is.EqualTo(new[] { "invalid" }));
        Assert.That(output.Rejected[0].ContainsKey("id"), Is.EqualTo(idCopied));
    }

    [TestCase("""{"id":"a","type":"data","msisdn":"8613800000001","start":"2028-02-29T10:00:00.1234567-23:59","bytes":1,"direction":5}""", TestName = "Leap day, seven fraction digits, offset -23:59, an ignored bad member")]
    [TestCase("""{"id":"a","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"+12345678901234567890123456789012","start":"2026-11-02T10:00:00Z","visitedMcc":null}    """ + "\r", TestName = "Peer of 32 digits, null visitedMcc, trailing white space and CR")]
    public void A_line_at_the_edge_of_the_rules_is_accepted(string line)
    {
        var tariff = Tariff(rates: """{"type":"data","unit":1024,"increment":1,"price":1},{"type":"sms","unit":1,"increment":1,"price":1}""");
        var output = ReferenceRater.Run(tariff, Lines("""{"msisdn":"8613800000001","plan":"p","cycleDay":1}"""), Lines(line));
        Assert.That(output.Refusal, Is.Null);
        Assert.That(output.Rejected, Is.Empty, () => output.Rejected[0].ToJsonString());
        Assert.That(output.Rated, Has.Count.EqualTo(1));
    }
}
