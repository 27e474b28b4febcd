using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Tariffs;

/// <summary>
/// The compiled zero-rating table against the rule read plainly (SPEC §3): scan the list in order and report the first
/// entry whose pattern matches the whole peer (digits equal, <c>x</c> any one digit, a final <c>*</c> any rest, none
/// included) and whose type, dates and zones apply. Random lists of every shape — wildcard-heavy, shared prefixes,
/// every length, repeats, dates, zones — and peers drawn from the patterns themselves, so most lookups match something.
/// </summary>
[TestFixture]
public sealed class ZeroRatingTableTests
{
    private const int Zones = 5;
    private static readonly long Day = TimeSpan.TicksPerDay;

    [TestCase(1, 40, ZeroRatingTable.WorkBudget, ZeroRatingTable.IndexedList)]
    [TestCase(2, 400, ZeroRatingTable.WorkBudget, ZeroRatingTable.IndexedList)]
    [TestCase(3, 4_000, ZeroRatingTable.WorkBudget, ZeroRatingTable.IndexedList)]
    [TestCase(4, 400, ZeroRatingTable.WorkBudget, ZeroRatingTable.IndexedList)]
    [TestCase(5, 40, ZeroRatingTable.WorkBudget, ZeroRatingTable.IndexedList)]
    [TestCase(6, 400, 3, 2, TestName = "The bit-parallel match and the list time indexes report what a plain scan reports")]
    [TestCase(7, 4_000, 40, 1, TestName = "Walks given up part way report what a plain scan reports")]
    public void The_table_reports_what_a_plain_scan_of_the_list_reports(int seed, int count, int workBudget, int indexedList)
    {
        var random = new Random(seed);
        var rules = Enumerable.Range(0, count).Select(_ => RandomRule(random)).ToList();
        // Repeats of earlier entries with other reasons: the earlier one must still be the one reported.
        for (var i = 0; i < count / 10; i++)
        {
            var copy = rules[random.Next(rules.Count)];
            rules.Add(copy with { Reason = $"repeat-{i}" });

            // And near-repeats: the same pattern and types under other zones or other dates, which must not be taken for repeats.
            var near = rules[random.Next(rules.Count)];
            var zones = new bool[Zones];
            zones[random.Next(Zones)] = true;
            rules.Add(random.Next(2) == 0
                ? near with { Reason = $"other-zones-{i}", ZoneMask = zones }
                : near with { Reason = $"other-dates-{i}", ToTicks = near.FromTicks + (random.Next(1, 400) * Day), To = "to" });
        }

        var table = new ZeroRatingTable(rules, workBudget, indexedList);
        var lookups = 0;
        var matched = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var peer = RandomPeer(random, rules);
            var type = random.Next(3) switch { 0 => CdrType.Voice, 1 => CdrType.Sms, _ => CdrType.Data };
            var at = (2020 * 365L * Day) + (random.Next(0, 3650) * Day);
            var zone = random.Next(Zones);
            var expected = Scan(rules, peer, type, at, zone);
            var actual = table.Match(System.Text.Encoding.ASCII.GetBytes(peer), type, at, zone);
            lookups++;
            matched += expected >= 0 ? 1 : 0;
            if (actual != expected)
            {
                Assert.Fail($"peer {peer}, {type}, day {at / Day}, zone {zone}: table {actual} ({Describe(rules, actual)}), scan {expected} ({Describe(rules, expected)})");
            }
        }

        TestContext.Out.WriteLine($"{rules.Count} entries, {lookups} lookups, {matched} matched, {table.FallbackCount} bit-parallel");
        Assert.That(matched, Is.GreaterThan(lookups / 20), "the peers reach entries often enough to test the order");
        if (workBudget < ZeroRatingTable.WorkBudget)
        {
            Assert.That(table.FallbackCount, Is.InRange(1, lookups - 1), "some walks, not all, were given up for the bit-parallel match");
        }
    }

    private static ZeroRatingRule RandomRule(Random random)
    {
        // Mostly short alphabets so that entries overlap: digits 0-2, x, and a final * now and then.
        var length = random.Next(1, 18);
        var chars = new char[length];
        var wildcardRate = random.Next(4) == 0 ? 0.9 : 0.3;
        for (var i = 0; i < length; i++)
        {
            chars[i] = random.NextDouble() < wildcardRate ? 'x' : (char)('0' + random.Next(3));
        }

        var pattern = new string(chars) + (random.Next(3) == 0 ? "*" : "");
        CdrType[] types = random.Next(3) switch
        {
            0 => [CdrType.Voice],
            1 => [CdrType.Sms],
            _ => [CdrType.Voice, CdrType.Sms],
        };
        var fromDay = 2020 * 365L + random.Next(0, 3650);
        var windowed = random.Next(3) == 0;
        var toDay = windowed ? fromDay + random.Next(1, 2000) : long.MaxValue / Day;
        bool[]? zones = null;
        if (random.Next(3) == 0)
        {
            zones = new bool[Zones];
            zones[random.Next(Zones)] = true;
            zones[random.Next(Zones)] = true;
        }

        return new ZeroRatingRule(pattern, types, "from", fromDay * Day, windowed ? "to" : null, windowed ? toDay * Day : long.MaxValue, "r")
        {
            ZoneMask = zones,
        };
    }

    private static string RandomPeer(Random random, List<ZeroRatingRule> rules)
    {
        if (random.Next(4) == 0)
        {
            return string.Concat(Enumerable.Range(0, random.Next(1, 20)).Select(_ => (char)('0' + random.Next(3))));
        }

        // An instance of some pattern: x → a digit, * → 0 to 3 digits.
        var pattern = rules[random.Next(rules.Count)].Pattern;
        var peer = new System.Text.StringBuilder();
        foreach (var c in pattern)
        {
            if (c == 'x')
            {
                peer.Append((char)('0' + random.Next(3)));
            }
            else if (c == '*')
            {
                for (var k = random.Next(0, 4); k > 0; k--)
                {
                    peer.Append((char)('0' + random.Next(3)));
                }
            }
            else
            {
                peer.Append(c);
            }
        }

        return peer.ToString();
    }

    private static int Scan(List<ZeroRatingRule> rules, string peer, CdrType type, long at, int zone)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            if (Matches(rules[i].Pattern, peer) && rules[i].AppliesTo(type, at, zone) && type != CdrType.Data)
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Matches(string pattern, string peer)
    {
        var star = pattern.EndsWith('*');
        var body = star ? pattern[..^1] : pattern;
        if (star ? peer.Length < body.Length : peer.Length != body.Length)
        {
            return false;
        }

        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != 'x' && body[i] != peer[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(List<ZeroRatingRule> rules, int index) =>
        index < 0 ? "none" : $"{rules[index].Pattern} {string.Join('+', rules[index].Types)} {rules[index].FromTicks / Day}-{(rules[index].ToTicks == long.MaxValue ? "" : rules[index].ToTicks / Day)} zones {(rules[index].ZoneMask is { } z ? string.Concat(z.Select(b => b ? '1' : '0')) : "all")}";
}
