using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using RatingPipeline.Benchmarks.Straightforward;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// Per-CDR cost of the rating core on a realistic mix of 10,000 CDRs from 1,000 subscribers, against two
/// baselines in the same run: the floor (a bare <see cref="Utf8JsonReader"/> pass over the same bytes) and the
/// straightforward implementation (<see cref="JsonSerializer"/> into classes plus a LINQ/dictionary rating loop).
/// Every invocation processes all CDRs, so the figures are per CDR. The rating benchmarks start each invocation
/// from empty usage (removing 1,000 states is part of the measured time, ≈0.1 % of it); otherwise the second
/// invocation would see nothing but duplicates.
/// </summary>
[Config(typeof(BenchmarkConfig))]
[MemoryDiagnoser]
public class DecodeRateBenchmarks
{
    public const int Cdrs = 10_000;
    public const int Subscribers = 1_000;
    public const int Seed = 42;

    private byte[][] _lines = [];
    private byte[][] _wellFormedLines = [];
    private byte[][] _cutShortLines = [];
    private ulong[] _subscriberKeys = [];
    private CdrDecoder _decoder = null!;
    private RatingEngine _engine = null!;
    private RecordWriter _writer = null!;
    private ArrayBufferWriter<byte> _rated = null!;
    private ArrayBufferWriter<byte> _reminders = null!;
    private ArrayBufferWriter<byte> _rejected = null!;
    private ArrayBufferWriter<byte> _bills = null!;
    private StraightforwardRater _straightforward = null!;

    [GlobalSetup]
    public void Setup()
    {
        // A few more CDRs than one invocation rates, so the well-formed set also has exactly Cdrs records.
        var data = BenchmarkData.Create(Seed, Subscribers, Cdrs + 100);
        _lines = data.CdrLines[..Cdrs];
        _wellFormedLines = [.. data.CdrLines.Where(IsJson).Take(Cdrs)];
        if (_wellFormedLines.Length != Cdrs)
        {
            throw new InvalidOperationException($"only {_wellFormedLines.Length} well-formed CDRs generated");
        }
        // Each well-formed CDR cut off at a random place (as a crashed writer or a torn read leaves it), after its first byte.
        var random = new Random(Seed);
        _cutShortLines = [.. _wellFormedLines.Select(line => line[..random.Next(1, line.Length - 1)])];
        _decoder = new CdrDecoder();
        if (_cutShortLines.Count(line => _decoder.Decode(line, out _) == InvalidCause.None) is var accepted and > 0)
        {
            throw new InvalidOperationException($"{accepted} CDRs cut short were accepted");
        }

        _engine = new RatingEngine(data.Tariff);
        foreach (var profile in data.Profiles)
        {
            _engine.SetProfile(profile);
        }

        _subscriberKeys = [.. data.Profiles.Select(p => p.MsisdnKey)];
        _writer = new RecordWriter();

        // Output buffers sized for one invocation's records, so writing never grows them.
        var outputBytes = (int)data.CdrBytes * 4;
        _rated = new ArrayBufferWriter<byte>(outputBytes);
        _reminders = new ArrayBufferWriter<byte>(outputBytes / 8);
        _rejected = new ArrayBufferWriter<byte>(outputBytes / 8);
        _bills = new ArrayBufferWriter<byte>(outputBytes / 8);
        _straightforward = new StraightforwardRater(data.TariffJson, data.ProfileLines);
        StraightforwardCheck.AssertSameCharges(data, _straightforward);
    }

    /// <summary>The floor: read every JSON token of every CDR, nothing else.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Cdrs)]
    public long BareJsonReader()
    {
        long tokens = 0;
        foreach (var line in _lines)
        {
            var reader = new Utf8JsonReader(line);
            try
            {
                while (reader.Read())
                {
                    tokens++;
                }
            }
            catch (JsonException)
            {
                // Malformed lines of the mix (the decoder meets the same ones).
            }
        }

        return tokens;
    }

    /// <summary>Decoding and validating only (the first half of <see cref="DecodeRate"/>).</summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long Decode()
    {
        long valid = 0;
        foreach (var line in _lines)
        {
            if (_decoder.Decode(line, out _) == InvalidCause.None)
            {
                valid++;
            }
        }

        return valid;
    }

    /// <summary>
    /// <see cref="Decode"/> over the same CDRs cut short at a random place: every one refused (not JSON; the mix's few
    /// records with a repeated name, cut after it, for that) at about the cost of decoding it whole, without the JSON reader's exception (about 2 µs and 1.5-2.5 KB each), so a stream of torn
    /// records costs the rater no more than a stream of good ones. The allocation gate holds it to 0 B.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long DecodeCutShort()
    {
        long refused = 0;
        foreach (var line in _cutShortLines)
        {
            if (_decoder.Decode(line, out _) != InvalidCause.None)
            {
                refused++;
            }
        }

        return refused;
    }

    /// <summary><see cref="Decode"/> with the general reader alone, without the canonical-shape scan it tries first.</summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long DecodeStrict()
    {
        long valid = 0;
        foreach (var line in _lines)
        {
            if (_decoder.DecodeStrict(line, out _) == InvalidCause.None)
            {
                valid++;
            }
        }

        return valid;
    }

    /// <summary>The engine's hot path: decode, look up, rate, remind; results to a counting sink.</summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long DecodeRate()
    {
        ResetUsage();
        var sink = default(ChargeTotals);
        foreach (var line in _lines)
        {
            _engine.Process(line, ref sink);
        }

        return sink.Charges + sink.ReminderCount + sink.RejectedCount;
    }

    /// <summary>
    /// <see cref="DecodeRate"/> on the same stream without the records that are not JSON at all (4 in the first
    /// 10,000; the next well-formed records take their place). The JSON reader reports those by throwing (an exception
    /// allocates ≈1.5–2.5 KB); the decoder refuses them before it would, so both figures are held to 0 B, and this one
    /// shows the cost of well-formed records alone.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long DecodeRateWellFormed()
    {
        ResetUsage();
        var sink = default(ChargeTotals);
        foreach (var line in _wellFormedLines)
        {
            _engine.Process(line, ref sink);
        }

        return sink.Charges + sink.ReminderCount + sink.RejectedCount;
    }

    /// <summary>Decode, rate and write the output records as JSON Lines into reused buffers.</summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long DecodeRateWrite()
    {
        ResetUsage();
        _rated.ResetWrittenCount();
        _reminders.ResetWrittenCount();
        _rejected.ResetWrittenCount();
        _bills.ResetWrittenCount();
        var sink = new JsonlSink(_writer, _rated, _reminders, _rejected, _bills);
        foreach (var line in _lines)
        {
            _engine.Process(line, ref sink);
        }

        return _rated.WrittenCount + _reminders.WrittenCount + _rejected.WrittenCount + _bills.WrittenCount;
    }

    /// <summary>What a user would write instead: JsonSerializer into classes and a LINQ/dictionary rating loop.</summary>
    [Benchmark(OperationsPerInvoke = Cdrs)]
    public long Straightforward()
    {
        _straightforward.ResetUsage();
        long charges = 0;
        foreach (var line in _lines)
        {
            if (_straightforward.Rate(line) is { } rated)
            {
                charges += rated.Charge;
            }
        }

        return charges;
    }

    private static bool IsJson(byte[] line)
    {
        var reader = new Utf8JsonReader(line);
        try
        {
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private void ResetUsage()
    {
        foreach (var key in _subscriberKeys)
        {
            _engine.RemoveState(key);
        }
    }
}
