using System.Text;
using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Rerating;

namespace RatingPipeline.Tests.Rerating;

/// <summary>Finding the ids the old run rated twice for a subscriber in one cycle.</summary>
[TestFixture]
public sealed class FirstOfIdTests
{
    /// <param name="roomAtStart">Records made room for before the first (0: the tables grow step by step).</param>
    /// <param name="roomAfter">Records made room for again after the 10,000th, with entries in the table (0: none).</param>
    [TestCase(0, 0)]
    [TestCase(40_000, 0)]
    [TestCase(0, 100_000)]
    public void Each_record_finds_the_first_with_its_msisdn_cycle_and_id_as_a_dictionary_of_the_three_does(int roomAtStart, int roomAfter)
    {
        var records = new OldRecords();
        var table = new FirstOfId(records);
        records.EnsureCapacity(roomAtStart);
        table.EnsureCapacity(roomAtStart);
        var expected = new Dictionary<(ulong, int, ulong), int>();
        var random = new Random(5);

        for (var i = 0; i < 30_000; i++)
        {
            if (i == 10_000 && roomAfter > 0)
            {
                records.EnsureCapacity(roomAfter);
                table.EnsureCapacity(roomAfter);
            }

            // Few ids, msisdns and cycles, so the same triple comes back often, and the table grows many times.
            var index = Add(records, $"{8613800000000 + random.Next(300)}", $"2026-{random.Next(10, 13)}-01", $"id-{random.Next(40)}");
            ref var record = ref records[index];
            var key = (record.MsisdnKey, record.Cycle, record.IdHash);
            var isFirst = expected.TryAdd(key, index);

            Assert.That(table.TryAdd(index, out var first), Is.EqualTo(isFirst), $"record {i}");
            Assert.That(first, Is.EqualTo(isFirst ? -1 : expected[key]), $"record {i}");
        }

        Assert.That(expected, Has.Count.InRange(1_000, 30_000 - 1_000), "both firsts and repeats were taken in");
    }

    private static int Add(OldRecords records, string msisdn, string cycle, string id)
    {
        var line = new RatedLine
        {
            Id = Text(id),
            Msisdn = Text(msisdn),
            Type = Text("sms"),
            Start = Text("2026-11-02T16:00:02Z"),
            Cycle = Text(cycle),
            Plan = Text("mini-18"),
            TariffVersion = Text("v1"),
            Zone = Text("domestic"),
            CdrType = CdrType.Sms,
        };
        Assert.That(MsisdnKey.TryCompute(msisdn, out line.MsisdnKey), Is.True);
        return records.Add(ref line, records.Count);
    }

    private static RatedText Text(string text) => new() { Utf8 = Encoding.UTF8.GetBytes(text), IsPresent = true };
}
