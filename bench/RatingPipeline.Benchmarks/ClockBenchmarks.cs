using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// A clock record visits every subscriber of its partition (SPEC §7.1, §7.9): the cost per subscriber visit of
/// 10,000 subscribers with monthly fees, minimums and services, a third of them with two services, 48 h of late
/// grace. <see cref="HourlyClock"/>: each invocation applies the next hourly clock (most visits only move the mark;
/// one in 24 crosses a local midnight and some subscribers' cycle day). <see cref="MonthlyClose"/>: every
/// subscriber has cycle day 1 and each invocation applies the clock of the next month's start, so every visit closes
/// the previous cycle (a bill), ends the current one and opens the next with its fees. Both write the outputs as
/// JSON lines into reused buffers, as <c>ratingctl rate</c> does; both allocate nothing.
/// </summary>
[Config(typeof(BenchmarkConfig))]
[MemoryDiagnoser]
public class ClockBenchmarks
{
    public const int Subscribers = 10_000;

    private static readonly string TariffJson = """
        {"version":"bench-1","currency":"CNY","utcOffset":"+08:00","homeMcc":["460"],"zones":{},"defaultRoamingZone":"ROW",
         "lateGraceHours":48,"vasNoticeLeadHours":24,
         "plans":{
          "basic":{"monthlyFee":58000000,"monthlyMinimum":{"amount":100000000,"atPricePerMinute":300000},"highSpendThreshold":100000000,
                   "rates":[{"type":"voice","unit":60,"increment":60,"price":150000},{"type":"sms","unit":1,"increment":1,"price":100000},{"type":"data","unit":1048576,"increment":1024,"price":3000000}]},
          "mini":{"monthlyFee":18000000,"rates":[{"type":"voice","unit":60,"increment":60,"price":200000},{"type":"sms","unit":1,"increment":1,"price":100000},{"type":"data","unit":1048576,"increment":1024,"price":5000000}]}}}
        """;

    private RatingEngine _hourly = null!;
    private RatingEngine _monthly = null!;
    private RecordWriter _writer = null!;
    private ArrayBufferWriter<byte> _rated = null!;
    private ArrayBufferWriter<byte> _reminders = null!;
    private ArrayBufferWriter<byte> _rejected = null!;
    private ArrayBufferWriter<byte> _bills = null!;
    private byte[] _clock = [];
    private DateTime _hour;
    private DateTime _month;

    [GlobalSetup]
    public void Setup()
    {
        var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(TariffJson));
        _hourly = NewEngine(tariff, cycleDays: true);
        _monthly = NewEngine(tariff, cycleDays: false);
        _writer = new RecordWriter();
        _rated = new ArrayBufferWriter<byte>(16 << 20);
        _reminders = new ArrayBufferWriter<byte>(4 << 20);
        _rejected = new ArrayBufferWriter<byte>(1 << 16);
        _bills = new ArrayBufferWriter<byte>(32 << 20);
        _clock = new byte[64];

        // Warm-up: three months of daily clocks, so every state exists with its extras and fee lists grown to size.
        _hour = new DateTime(2026, 10, 1);
        _month = new DateTime(2026, 10, 1);
        for (var day = 0; day < 92; day++)
        {
            Apply(_hourly, _hour = _hour.AddDays(1));
        }

        for (var m = 0; m < 3; m++)
        {
            Apply(_monthly, _month = _month.AddMonths(1));
        }
    }

    private static RatingEngine NewEngine(Tariff tariff, bool cycleDays)
    {
        var engine = new RatingEngine(tariff);
        for (var i = 0; i < Subscribers; i++)
        {
            var services = i % 3 == 0
                ? ",\"services\":[{\"id\":\"news\",\"name\":{\"zh\":\"手机报\",\"en\":\"News\"},\"price\":5000000,\"orderedAt\":\"2026-09-20T09:00:00+08:00\"},"
                  + "{\"id\":\"music\",\"name\":{\"zh\":\"彩铃\",\"en\":\"Ringback\"},\"price\":2000000,\"orderedAt\":\"2026-09-02T12:00:00+08:00\"}]"
                : "";
            var json = $"{{\"msisdn\":\"86138{i:D8}\",\"plan\":\"{(i % 2 == 0 ? "basic" : "mini")}\",\"cycleDay\":{(cycleDays ? 1 + (i % 28) : 1)}{services}}}";
            engine.SetProfile(SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), tariff, out var error) ?? throw new InvalidOperationException(error));
        }

        return engine;
    }

    /// <summary>Writes <c>{"type":"clock","at":"…+08:00"}</c> for <paramref name="at"/> into the reused buffer and applies it.</summary>
    private long Apply(RatingEngine engine, DateTime at)
    {
        _rated.ResetWrittenCount();
        _reminders.ResetWrittenCount();
        _rejected.ResetWrittenCount();
        _bills.ResetWrittenCount();
        var prefix = "{\"type\":\"clock\",\"at\":\""u8;
        prefix.CopyTo(_clock);
        var n = prefix.Length;
        n += Instant.WriteDate(at.Year, at.Month, at.Day, _clock.AsSpan(n));
        _clock[n++] = (byte)'T';
        _clock[n++] = (byte)('0' + (at.Hour / 10));
        _clock[n++] = (byte)('0' + (at.Hour % 10));
        var suffix = ":00:00+08:00\"}"u8;
        suffix.CopyTo(_clock.AsSpan(n));
        n += suffix.Length;
        var sink = new JsonlSink(_writer, _rated, _reminders, _rejected, _bills);
        engine.Process(_clock.AsSpan(0, n), ref sink);
        return _rated.WrittenCount + _reminders.WrittenCount + _bills.WrittenCount;
    }

    /// <summary>The next hourly clock, per subscriber visit.</summary>
    [Benchmark(OperationsPerInvoke = Subscribers)]
    public long HourlyClock() => Apply(_hourly, _hour = _hour.AddHours(1));

    /// <summary>The next month's first clock: a bill, a cycle end and the new cycle's fees per subscriber visit.</summary>
    [Benchmark(OperationsPerInvoke = Subscribers)]
    public long MonthlyClose() => Apply(_monthly, _month = _month.AddMonths(1));
}
