using System.Buffers;
using System.Globalization;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Support;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// The per-record path — decode, look up, rate, remind, write the outputs — allocates nothing after warm-up.
/// Records whose JSON is malformed are kept out of the measured mix: System.Text.Json's reader reports them by
/// throwing (an exception object), which the decoder catches; they are checked separately for no exception escaping.
/// </summary>
[TestFixture]
public sealed class AllocationTests
{
    private const int Subscribers = 200;

    /// <summary>Writes every output into one reused buffer (reset per record) and counts them, by reason for rejections.</summary>
    private struct BufferSink(RecordWriter writer, ArrayBufferWriter<byte> buffer, long[] reasons) : IRatingSink
    {
        public long RatedCount;
        public long ReminderCount;
        public long RejectedCount;
        public long ZeroRated;
        public long Bytes;

        public void Rated(in RatedCdr rated)
        {
            buffer.ResetWrittenCount();
            writer.WriteRated(buffer, in rated);
            Bytes += buffer.WrittenCount;
            RatedCount++;
            ZeroRated += rated.IsZeroRated ? 1 : 0;
        }

        public void Reminder(in ReminderEvent reminder)
        {
            buffer.ResetWrittenCount();
            writer.WriteReminder(buffer, in reminder);
            Bytes += buffer.WrittenCount;
            ReminderCount++;
        }

        public void Rejected(in RejectedCdr rejected)
        {
            buffer.ResetWrittenCount();
            writer.WriteRejected(buffer, in rejected);
            Bytes += buffer.WrittenCount;
            RejectedCount++;
            reasons[(int)rejected.Reason]++;
        }

        public void Bill(in BillRecord bill)
        {
            buffer.ResetWrittenCount();
            writer.WriteBill(buffer, in bill);
            Bytes += buffer.WrittenCount;
            BillCount++;
        }

        public long BillCount;
    }

    private static Tariff ExampleTariff() => TariffLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Examples", "basic", "tariff.json"));

    private static string Msisdn(int i) => $"86138{i:D8}";

    private static RatingEngine NewEngine(Tariff tariff)
    {
        var engine = new RatingEngine(tariff);
        string[] plans = ["basic-58", "mini-18", "unl-data", "biz-400"];
        for (var i = 0; i < Subscribers; i++)
        {
            var plan = i == Subscribers - 1 ? "gone-plan" : plans[i % plans.Length];
            var extra = i % 5 == 2 ? ",\"prepaid\":true,\"balance\":30000000,\"balanceAsOf\":\"2026-11-01T00:00:00+08:00\"" : "";
            extra += i % 7 == 3 && plan == "basic-58" ? ",\"dataCap\":50000000" : "";
            extra += i % 11 == 4 ? ",\"highSpendThreshold\":5000000" : "";
            var json = $"{{\"msisdn\":\"{Msisdn(i)}\",\"plan\":\"{plan}\",\"cycleDay\":{1 + (i % 28)}{extra}}}";
            engine.SetProfile(SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), tariff, out var error)
                ?? throw new InvalidOperationException(error));
        }

        return engine;
    }

    /// <summary>
    /// A reproducible mix: voice, SMS and data at home and abroad (HMT, Z1, ROW — ROW data has no rate), zero-rated peers,
    /// unknown subscribers and plans, late records, duplicates, and invalid records that are well-formed JSON.
    /// </summary>
    private static byte[][] Mix(int count, int seed, string prefix, DateTime from)
    {
        var random = new Random(seed);
        var records = new byte[count][];
        var recent = new string[64];
        string[] peers = ["13900000000", "+4420700000", "00447786205094", "+447537410217", "10086", "+8613912345678", "0085291234567"];
        string?[] mccs = [null, null, null, null, "460", "454", "440", "262"];
        var now = from;
        for (var n = 0; n < count; n++)
        {
            now = now.AddSeconds(random.Next(1, 60));
            var subscriber = random.Next(Subscribers - 1);
            var msisdn = Msisdn(subscriber);
            var id = $"{prefix}{n}";
            var start = now.ToString("yyyy-MM-dd'T'HH:mm:ss'+08:00'", CultureInfo.InvariantCulture);
            var mcc = mccs[random.Next(mccs.Length)];
            var visited = mcc is null ? "" : $",\"visitedMcc\":\"{mcc}\"";
            var peer = peers[random.Next(peers.Length)];
            var direction = random.Next(3) == 0 ? "mt" : "mo";
            var dice = random.Next(100);
            string json;
            if (dice < 2)
            {
                json = $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"8613999999999\",\"start\":\"{start}\",\"bytes\":1}}"; // unknown subscriber
            }
            else if (dice < 4)
            {
                json = $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{Msisdn(Subscribers - 1)}\",\"start\":\"{start}\",\"bytes\":1}}"; // unknown plan
            }
            else if (dice < 6)
            {
                var old = now.AddDays(-40).ToString("yyyy-MM-dd'T'HH:mm:ss'+08:00'", CultureInfo.InvariantCulture); // late
                json = $"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{msisdn}\",\"direction\":\"mo\",\"peer\":\"{peer}\",\"start\":\"{old}\"}}";
            }
            else if (dice < 8 && recent[n % 64] is { } again)
            {
                json = again; // a duplicate delivery, byte for byte
            }
            else if (dice < 10)
            {
                json = (n % 6) switch
                {
                    0 => $"{{\"id\":\"{id}\",\"type\":\"voice\",\"msisdn\":\"{msisdn}\",\"direction\":\"mo\",\"peer\":\"139\",\"start\":\"{start}\",\"durationSec\":1.5}}",
                    1 => $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"8613\",\"start\":\"{start}\",\"bytes\":1}}",
                    2 => $"{{\"id\":\"{id}\",\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{msisdn}\",\"start\":\"{start}\",\"bytes\":1}}",
                    3 => $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{msisdn}\",\"start\":\"2026-13-01T00:00:00Z\",\"bytes\":1e3}}",
                    4 => $"{{\"id\":\"{id}\\u0001\",\"type\":\"fax\",\"msisdn\":\"{msisdn}\",\"start\":\"{start}\",\"ext\":{{\"a\":[1,2,{{\"b\":null}}]}}}}",
                    _ => $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{msisdn}\",\"start\":\"{start}\",\"bytes\":1,\"x\":\"\u00FF\"}}", // becomes bad UTF-8 below
                };
            }
            else if (dice < 45)
            {
                json = $"{{\"id\":\"{id}\",\"type\":\"voice\",\"msisdn\":\"{msisdn}\",\"direction\":\"{direction}\",\"peer\":\"{peer}\",\"start\":\"{start}\",\"durationSec\":{random.Next(0, 3600)}{visited}}}";
            }
            else if (dice < 70)
            {
                json = $"{{\"id\":\"{id}\",\"type\":\"sms\",\"msisdn\":\"{msisdn}\",\"direction\":\"{direction}\",\"peer\":\"{peer}\",\"start\":\"{start}\"{visited}}}";
            }
            else
            {
                json = $"{{\"id\":\"{id}\",\"type\":\"data\",\"msisdn\":\"{msisdn}\",\"start\":\"{start}\",\"bytes\":{random.NextInt64(0, 3_000_000_000)}{visited}}}";
            }

            recent[n % 64] = json;
            records[n] = Encoding.UTF8.GetBytes(json);
            if (json.Contains('\u00FF', StringComparison.Ordinal))
            {
                // Not UTF-8: a lone 0xFF byte where the character ÿ (C3 BF) was.
                var at = records[n].AsSpan().IndexOf([(byte)0xC3, (byte)0xBF]);
                records[n] = [.. records[n].AsSpan(0, at), 0xFF, .. records[n].AsSpan(at + 2)];
            }
        }

        return records;
    }

    private static void RateAll(RatingEngine engine, byte[][] records, ref BufferSink sink)
    {
        foreach (var record in records)
        {
            engine.Process(record, ref sink);
        }
    }

    [Test]
    public void Decoding_rating_and_writing_100000_mixed_CDRs_allocates_nothing_after_warm_up()
    {
        var engine = NewEngine(ExampleTariff());
        var warmUp = Mix(30_000, 1, "w", new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Unspecified));
        var measured = Mix(100_000, 2, "m", new DateTime(2026, 11, 15, 0, 0, 0, DateTimeKind.Unspecified));
        var reasons = new long[8];
        var sink = new BufferSink(new RecordWriter(), new ArrayBufferWriter<byte>(64 * 1024), reasons);
        RateAll(engine, warmUp, ref sink);
        RateAll(engine, warmUp, ref sink); // the same records again: duplicates and late ones
        Array.Clear(reasons);
        sink = new BufferSink(new RecordWriter(), new ArrayBufferWriter<byte>(64 * 1024), reasons);
        RateAll(engine, Mix(2_000, 3, "x", new DateTime(2026, 11, 14, 0, 0, 0, DateTimeKind.Unspecified)), ref sink);
        Array.Clear(reasons);
        sink.RatedCount = sink.ReminderCount = sink.RejectedCount = sink.ZeroRated = sink.Bytes = 0;

        long allocated;
        using (var window = new AllocationWindow())
        {
            RateAll(engine, measured, ref sink);
            allocated = window.Allocated;
        }
        var counted = sink.RatedCount + sink.RejectedCount;

        // A second window of the same size: an allocation of the engine's that recurs (per record, per kind of record)
        // shows in both; a one-off on this thread in one window does not fail the test. (4 KiB were seen once in a full
        // test run before the windows held off collections: a collection in the middle of a window skews the count.)
        var second = Mix(100_000, 4, "n", new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Unspecified));
        long allocatedAgain;
        using (var window = new AllocationWindow())
        {
            RateAll(engine, second, ref sink);
            allocatedAgain = window.Allocated;
        }

        Assert.Multiple(() =>
        {
            Assert.That(Math.Min(allocated, allocatedAgain), Is.Zero,
                $"bytes allocated while rating 100,000 CDRs, then 100,000 more: {allocated} and {allocatedAgain}");
            Assert.That(allocated + allocatedAgain, Is.LessThanOrEqualTo(8192), "at most a one-off, never per record");
            Assert.That(counted, Is.EqualTo(measured.Length));
            Assert.That(sink.ZeroRated, Is.Positive);
            Assert.That(sink.ReminderCount, Is.Positive);
            foreach (var reason in Enum.GetValues<RejectReason>().Where(r => r != RejectReason.None))
            {
                Assert.That(reasons[(int)reason], Is.Positive, $"the mix holds {RecordNames.ReasonText(reason)} records");
            }
        });
    }

    /// <summary>
    /// Clocks and fees (SPEC §7) on the same path: 2,000 subscribers on plans with monthly fees and minimums, with
    /// services and a late grace, a clock every 6 hours between their CDRs. After three months of warm-up (each state's
    /// extras, fee lists and previous-cycle holder exist and have grown to size by then), three months of clocks — each visiting every
    /// subscriber, closing cycles, charging fees, writing bills — and CDRs allocate nothing.
    /// </summary>
    [Test]
    public void Clocks_fees_and_bills_allocate_nothing_after_warm_up()
    {
        var tariff = TariffLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Examples", "cycle-close", "tariff.json"));
        var engine = new RatingEngine(tariff) { AcceptsProfileLines = true };
        string[] plans = ["basic-58", "mini-18", "biz-400", "pay-go"];
        const int subscribers = 2_000;
        for (var i = 0; i < subscribers; i++)
        {
            var services = i % 3 == 0
                ? ",\"services\":[{\"id\":\"news\",\"name\":{\"zh\":\"手机报\",\"en\":\"News\"},\"price\":5000000,\"orderedAt\":\"2026-10-20T09:00:00+08:00\"},"
                  + "{\"id\":\"music\",\"name\":{\"zh\":\"彩铃\",\"en\":\"Ringback\"},\"price\":2000000,\"orderedAt\":\"2026-10-02T12:00:00+08:00\"}]"
                : "";
            var prepaid = i % 5 == 2 ? ",\"prepaid\":true,\"balance\":30000000,\"balanceAsOf\":\"2026-10-01T00:00:00+08:00\"" : "";
            var json = $"{{\"msisdn\":\"{Msisdn(i)}\",\"plan\":\"{plans[i % plans.Length]}\",\"cycleDay\":{1 + (i % 28)}{services}{prepaid}}}";
            engine.SetProfile(SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), tariff, out var error) ?? throw new InvalidOperationException(error));
        }

        static byte[][] Months(DateTime from, DateTime to, int seed)
        {
            var random = new Random(seed);
            var records = new List<byte[]>();
            var n = 0;
            for (var at = from; at < to; at = at.AddHours(6))
            {
                records.Add(Encoding.UTF8.GetBytes($"{{\"type\":\"clock\",\"at\":\"{at:yyyy-MM-dd'T'HH:mm:ss}+08:00\"}}"));
                for (var k = 0; k < 200; k++)
                {
                    var start = at.AddSeconds(random.Next(1, 6 * 3600)).ToString("yyyy-MM-dd'T'HH:mm:ss'+08:00'", CultureInfo.InvariantCulture);
                    records.Add(Encoding.UTF8.GetBytes(
                        $"{{\"id\":\"c{seed}-{n++}\",\"type\":\"voice\",\"msisdn\":\"{Msisdn(random.Next(subscribers))}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"{start}\",\"durationSec\":{random.Next(0, 900)}}}"));
                }
            }

            return [.. records];
        }

        var reasons = new long[8];
        var sink = new BufferSink(new RecordWriter(), new ArrayBufferWriter<byte>(64 * 1024), reasons);
        RateAll(engine, Months(new DateTime(2026, 10, 1), new DateTime(2027, 1, 1), 1), ref sink);
        var measured = Months(new DateTime(2027, 1, 1), new DateTime(2027, 4, 1), 2);
        sink.RatedCount = sink.ReminderCount = sink.RejectedCount = sink.BillCount = 0;

        long allocated;
        using (var window = new AllocationWindow())
        {
            RateAll(engine, measured, ref sink);
            allocated = window.Allocated;
        }
        var bills = sink.BillCount;
        var rated = sink.RatedCount;

        // A second window of three months: an allocation of the engine's that recurs (per clock, per cycle, per fee)
        // shows in both; a one-off on this thread in one window does not fail the test. (1 KiB once and 4.1 KiB once
        // were seen in full test runs before the windows held off collections: a collection in the middle of a window
        // skews the count.) One allocation per record, clock or bill of the window would be hundreds of KiB.
        var second = Months(new DateTime(2027, 4, 1), new DateTime(2027, 7, 1), 3);
        long allocatedAgain;
        using (var window = new AllocationWindow())
        {
            RateAll(engine, second, ref sink);
            allocatedAgain = window.Allocated;
        }

        Assert.Multiple(() =>
        {
            Assert.That(Math.Min(allocated, allocatedAgain), Is.Zero,
                $"bytes allocated over three months of clocks, fees, bills and CDRs, then three more: {allocated} and {allocatedAgain}");
            Assert.That(allocated + allocatedAgain, Is.LessThanOrEqualTo(16 * 1024), "at most a one-off, never per record");
            Assert.That(bills, Is.EqualTo(3 * subscribers), "a bill per subscriber and month");
            Assert.That(rated, Is.GreaterThan(measured.Length - 360), "CDRs and fee records");
        });
    }

    [TestCase("{\"id\":\"v1\",\"type\":\"voice\",\"msisdn\":\"8613800000001\",\"direction\":\"mo\"")] // truncated
    [TestCase("not json")] // not JSON
    [TestCase("{\"id\":\"v1\",\"bytes\":NaN}")] // NaN
    [TestCase("{\"id\":\"v1\"} trailing")] // content after the object
    [TestCase("{\"id\":\"v1\" /* c */}")] // a comment
    [TestCase("{\"id\":\"\\ud800\",\"type\":\"data\"}")] // a lone surrogate escape
    [TestCase("{\"\\ud800\":1}")] // a lone surrogate escape in a name
    [TestCase("{\"id\":\"v1\",\"x\":[1,2}")] // mismatched brackets
    public void Malformed_records_are_rejected_without_an_exception_escaping(string record)
    {
        var engine = NewEngine(ExampleTariff());
        var reasons = new long[8];
        var sink = new BufferSink(new RecordWriter(), new ArrayBufferWriter<byte>(4096), reasons);
        RatingResult result = default;
        Assert.That(() => result = engine.Process(Encoding.UTF8.GetBytes(record), ref sink), Throws.Nothing);
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(RatingResult.Rejected));
            Assert.That(reasons[(int)RejectReason.Invalid], Is.EqualTo(1));
            Assert.That(sink.RatedCount, Is.Zero);
        });
    }
}
