using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using RatingPipeline.Records;
using RatingPipeline.Time;

namespace RatingPipeline.Synthetic;

/// <summary>
/// A realistic synthetic data set for benchmarks and the demo, reproducible from a seed: the demo tariff,
/// subscriber profiles (post- and prepaid, chosen data caps, languages, opt-outs, channels) and CDRs in
/// arrival order — calls, SMS and data, Apple activation SMS, customer-service numbers, roaming trips,
/// cycle rollovers, and a sprinkling of duplicates, late and malformed records.
/// </summary>
public sealed class SyntheticData
{
    /// <summary>2026-11-01T00:00:00+08:00.</summary>
    public static readonly long DefaultStartTicks = (Instant.DaysFromCivil(2026, 10, 31) * Instant.TicksPerDay) + (16 * Instant.TicksPerHour);

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
    private static readonly string[] Plans = ["basic-58", "basic-58", "basic-58", "basic-58", "basic-58", "mini-18", "mini-18", "mini-18", "unl-data", "biz-400"];
    private static readonly string[] ForeignPeers = ["+442071234567", "+85291234567", "+12125550100", "+81312345678", "0049301234567"];
    private static readonly string[] ApplePorts = ["00447786205094", "+447537410217", "004475374102{0:D2}", "+447537410393{0:D2}"];
    private static readonly string[] Malformed =
    [
        "{\"id\":\"{ID}\",\"type\":\"voice\",\"msisdn\":\"{M}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"2026-11-02T10:00:00+08:00\",\"durationSec\":1.5}",
        "{\"id\":\"{ID}\",\"type\":\"data\",\"msisdn\":\"{M}\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1e3}",
        "{\"id\":\"{ID}\",\"type\":\"sms\",\"msisdn\":\"{M}\",\"direction\":\"mo\",\"peer\":\"139\",\"start\":\"2026-13-02T10:00:00+08:00\"}",
        "{\"id\":\"{ID}\",\"type\":\"fax\",\"msisdn\":\"{M}\",\"start\":\"2026-11-02T10:00:00+08:00\"}",
        "{\"id\":\"{ID}\",\"id\":\"{ID}\",\"type\":\"data\",\"msisdn\":\"{M}\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}",
        "{\"id\":\"{ID}\",\"type\":\"voice\",\"msisdn\":\"{M}\",\"direction\":\"mo\"",
        "not json at all",
        "{\"id\":\"{ID}\",\"type\":\"data\",\"msisdn\":\"12ab\",\"start\":\"2026-11-02T10:00:00+08:00\",\"bytes\":1}",
    ];

    private readonly Random _random;
    private readonly int _subscribers;
    private readonly long _startTicks;
    private readonly long _stepTicks;
    private readonly Utf8JsonWriter _json = new(Stream.Null, WriterOptions);
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    private readonly byte[][] _recentLines = new byte[64][];
    private readonly Dictionary<int, long>? _announcedTrips;
    private long _sequence;
    private long _nowTicks;

    /// <param name="seed">Same seed, same data.</param>
    /// <param name="subscribers">Subscribers 0..n-1 (see <see cref="MsisdnOf"/>).</param>
    /// <param name="startTicks">The first CDR's instant (UTC ticks); by default a fixed instant, so the data never depends on the clock.</param>
    /// <param name="stepTicks">Mean time between CDRs in the stream (so 1M CDRs at 4 s span ~46 days: cycle rollovers).</param>
    /// <param name="locationRecords">
    /// Begin each roaming trip with a location record (SPEC §7.12: the phone registering in the visited network) before
    /// the subscriber's first CDR abroad. Off by default, so a stream holds CDRs only.
    /// </param>
    public SyntheticData(int seed, int subscribers, long? startTicks = null, long stepTicks = 4 * Instant.TicksPerSecond, bool locationRecords = false)
    {
        _announcedTrips = locationRecords ? [] : null;
        _random = new Random(seed);
        _subscribers = subscribers;
        _startTicks = startTicks ?? DefaultStartTicks;
        _stepTicks = stepTicks;
        _nowTicks = _startTicks;
    }

    /// <summary>The demo tariff (the worked example's tariff: four plans, roaming zones, Apple activation ports).</summary>
    public static byte[] DemoTariff()
    {
        using var stream = typeof(SyntheticData).Assembly.GetManifestResourceStream("RatingPipeline.demo-tariff.json")!;
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    /// <summary>
    /// The demo tariff with a monthly fee on each plan (SPEC §7.5), so every cycle a subscriber moves into is charged
    /// one: what <c>ratingctl demo</c> and the fault suite rate with.
    /// </summary>
    public static byte[] DemoTariffWithMonthlyFees()
    {
        var tariff = System.Text.Json.Nodes.JsonNode.Parse(DemoTariff())!.AsObject();
        var fees = new Dictionary<string, long> { ["basic-58"] = 58_000_000, ["mini-18"] = 18_000_000, ["unl-data"] = 128_000_000, ["biz-400"] = 400_000_000 };
        foreach (var (plan, node) in tariff["plans"]!.AsObject())
        {
            if (fees.TryGetValue(plan, out var fee))
            {
                node!.AsObject()["monthlyFee"] = fee;
            }
        }

        return System.Text.Encoding.UTF8.GetBytes(tariff.ToJsonString());
    }

    public static string MsisdnOf(int subscriber) => $"86138{subscriber:D8}";

    /// <summary>The stream's time: the start of the last CDR written (UTC ticks).</summary>
    public long NowTicks => _nowTicks;

    /// <summary>An instant as the stream writes it: local time at +08:00, whole seconds.</summary>
    public static string FormatInstant(long utcTicks) => FormatLocal(utcTicks);

    /// <summary>Writes subscriber <paramref name="subscriber"/>'s profile as one JSON object.</summary>
    public void WriteProfile(int subscriber, IBufferWriter<byte> output)
    {
        // A fixed function of the subscriber (HashCode is randomised per process): same seed, same data in every run.
        var r = new Random(unchecked((subscriber * 7919) + 104729));
        var json = Begin(output);
        json.WriteStartObject();
        json.WriteString("msisdn", MsisdnOf(subscriber));
        var plan = Plans[subscriber % Plans.Length];
        json.WriteString("plan", plan);
        json.WriteNumber("cycleDay", 1 + (subscriber % 28));
        if (subscriber % 7 == 3)
        {
            json.WriteBoolean("prepaid", true);
            json.WriteNumber("balance", r.Next(5, 60) * 1_000_000L);
            json.WriteString("balanceAsOf", "2026-11-01T00:00:00+08:00");
        }

        if (subscriber % 11 == 5 && plan is "basic-58")
        {
            json.WriteNumber("dataCap", 50_000_000);
        }

        if (subscriber % 13 == 4)
        {
            json.WriteNumber("highSpendThreshold", 20_000_000);
        }

        if (subscriber % 5 == 1)
        {
            json.WriteString("language", "en");
        }

        if (subscriber % 20 == 9)
        {
            json.WriteString("reminders", "off");
        }

        if (subscriber % 9 == 2)
        {
            json.WriteStartArray("channels");
            json.WriteStringValue("sms");
            json.WriteStringValue("email");
            json.WriteEndArray();
            json.WriteString("email", $"sub{subscriber}@example.net");
        }

        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>Writes the next CDR of the stream as one JSON record (no line end); returns its msisdn.</summary>
    public string WriteNextCdr(IBufferWriter<byte> output)
    {
        _nowTicks += (long)(_stepTicks * (0.5 + _random.NextDouble()));
        var subscriber = _random.Next(_subscribers);
        var msisdn = MsisdnOf(subscriber);
        var dice = _random.Next(1000);
        if (dice < 3 && _sequence > 64)
        {
            // A duplicate delivery from mediation: a recent record, byte for byte.
            var line = _recentLines[_random.Next(Math.Min(64, (int)_sequence))];
            if (line is not null)
            {
                output.Write(line);
                return MsisdnOfLine(line) ?? msisdn;
            }
        }

        var id = $"g{_sequence++:D9}";
        if (dice is >= 3 and < 5)
        {
            var text = Malformed[_random.Next(Malformed.Length)].Replace("{ID}", id, StringComparison.Ordinal).Replace("{M}", msisdn, StringComparison.Ordinal);
            output.Write(System.Text.Encoding.UTF8.GetBytes(text));
            return msisdn;
        }

        var start = _nowTicks;
        if (dice is >= 5 and < 6)
        {
            start -= 40 * Instant.TicksPerDay; // late: a record from an earlier cycle
        }

        _scratch.ResetWrittenCount();
        var json = Begin(_scratch);
        json.WriteStartObject();
        var tripMcc = RoamingMcc(subscriber, start);
        if (_announcedTrips is not null && tripMcc is not null && dice >= 6)
        {
            // The first record of a trip: the phone registers in the visited network before any use.
            var tripDay = Instant.FloorDays(start + (8 * Instant.TicksPerHour));
            if (!_announcedTrips.TryGetValue(subscriber, out var announced) || announced != tripDay)
            {
                _announcedTrips[subscriber] = tripDay;
                json.WriteString("type", "location");
                json.WriteString("id", "l" + id);
                json.WriteString("msisdn", msisdn);
                json.WriteString("start", FormatLocal(start));
                json.WriteString("visitedMcc", tripMcc);
                json.WriteEndObject();
                json.Flush();
                output.Write(_scratch.WrittenSpan);
                return msisdn;
            }
        }

        json.WriteString("id", id);
        var kind = _random.Next(100);
        var type = kind < 45 ? CdrType.Voice : kind < 65 ? CdrType.Sms : CdrType.Data;
        json.WriteString("type", type == CdrType.Voice ? "voice" : type == CdrType.Sms ? "sms" : "data");
        json.WriteString("msisdn", msisdn);
        var roamingMcc = RoamingMcc(subscriber, start);
        if (type != CdrType.Data)
        {
            json.WriteString("direction", _random.Next(100) < 60 ? "mo" : "mt");
            json.WriteString("peer", Peer(type));
        }

        json.WriteString("start", FormatLocal(start));
        if (type == CdrType.Voice)
        {
            json.WriteNumber("durationSec", _random.Next(100) < 5 ? 0 : Math.Min(86_400, (int)(-Math.Log(1 - _random.NextDouble()) * 150)));
        }
        else if (type == CdrType.Data)
        {
            json.WriteNumber("bytes", (long)Math.Min(1e12, Math.Exp(7 + (_random.NextDouble() * 13))));
        }

        if (roamingMcc is not null)
        {
            json.WriteString("visitedMcc", roamingMcc);
        }

        json.WriteEndObject();
        json.Flush();
        output.Write(_scratch.WrittenSpan);
        _recentLines[(int)(_sequence % _recentLines.Length)] = _scratch.WrittenSpan.ToArray();
        return msisdn;
    }

    private string Peer(CdrType type)
    {
        var p = _random.Next(100);
        if (type == CdrType.Sms && p < 3)
        {
            return string.Format(System.Globalization.CultureInfo.InvariantCulture, ApplePorts[_random.Next(ApplePorts.Length)], _random.Next(100));
        }

        if (p < 5)
        {
            return "10086";
        }

        if (p < 12)
        {
            return ForeignPeers[_random.Next(ForeignPeers.Length)];
        }

        return $"13{_random.Next(100_000_000, 999_999_999)}";
    }

    /// <summary>One subscriber in 25 travels: abroad one day in four (a different destination each trip).</summary>
    private static string? RoamingMcc(int subscriber, long ticks)
    {
        if (subscriber % 25 != 0)
        {
            return null;
        }

        var day = Instant.FloorDays(ticks + (8 * Instant.TicksPerHour));
        if ((day + (subscriber / 25)) % 4 != 0)
        {
            return null;
        }

        string[] destinations = ["454", "440", "310", "262", "460"];
        return destinations[(int)(((subscriber / 25) + (day / 4)) % destinations.Length)];
    }

    private static string FormatLocal(long utcTicks)
    {
        var local = utcTicks + (8 * Instant.TicksPerHour);
        var day = Instant.FloorDays(local);
        var (y, m, d) = Instant.CivilFromDays(day);
        var seconds = (local - (day * Instant.TicksPerDay)) / Instant.TicksPerSecond;
        return $"{y:D4}-{m:D2}-{d:D2}T{seconds / 3600:D2}:{seconds / 60 % 60:D2}:{seconds % 60:D2}+08:00";
    }

    private static string? MsisdnOfLine(byte[] line)
    {
        var at = line.AsSpan().IndexOf("\"msisdn\":\""u8);
        return at < 0 ? null : System.Text.Encoding.ASCII.GetString(line, at + 10, 13);
    }

    private Utf8JsonWriter Begin(IBufferWriter<byte> output)
    {
        _json.Reset(output);
        return _json;
    }
}
