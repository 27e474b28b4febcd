using System.Buffers;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Tests.Records;

/// <summary>
/// The decoder reads a record of the canonical shape with a single-pass scan and any other record with the general
/// reader; the two must be indistinguishable. Every record here is decoded both ways — <see cref="CdrDecoder.Decode"/>
/// (scan, else general reader) and <see cref="CdrDecoder.DecodeStrict"/> (general reader only) — and the cause, every
/// field of the record and the identity kept for a dead letter must be the same.
/// </summary>
[TestFixture]
public sealed class CdrDecoderFastPathTests
{
    private static readonly string[] Clocks =
    [
        """{"type":"clock","at":"2026-11-02T10:00:00+08:00"}""",
        """{"at":"2026-11-30T16:00:00Z","type":"clock"}""",
        """{"type":"clock","at":"2026-02-30T10:00:00+08:00"}""",
        """{"type":"clock"}""",
        """{"type":"clock","at":7}""",
        """{"type":"location","id":"l1","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","visitedMcc":"454"}""",
        """{"type":"location","id":"l2","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","visitedMcc":null}""",
        """{"type":"profile","msisdn":"8613800000001","plan":"P1","cycleDay":1}""",
        """{}""",
        """ { "id" : "s1" , "type" : "sms" , "msisdn" : "8613800000001" , "direction" : "mo" , "peer" : "10086" , "start" : "2026-11-02T10:00:00+08:00" } """,
    ];

    private static string ExamplesRoot => Path.Combine(AppContext.BaseDirectory, "Examples");

    [Test]
    public void EveryCdrLineOfTheWorkedExamplesDecodesTheSameBothWays()
    {
        var files = Directory.GetFiles(ExamplesRoot, "cdrs.jsonl", SearchOption.AllDirectories);
        Assert.That(files, Is.Not.Empty, "worked examples copied next to the tests");
        var tally = new Tally();
        foreach (var file in files)
        {
            foreach (var line in File.ReadAllText(file).Split('\n'))
            {
                tally.Check(Encoding.UTF8.GetBytes(line), file);
            }
        }

        TestContext.Out.WriteLine(tally);
        Assert.That(tally.Records, Is.GreaterThan(60));
        Assert.That(tally.ScannedValid, Is.GreaterThan(40), "the worked examples' valid records take the scan");
    }

    [Test]
    public void GeneratedRecordsTakeTheScanAndDecodeTheSameBothWays()
    {
        var tally = new Tally();
        foreach (var line in Generated(seed: 7, count: 20_000))
        {
            tally.Check(line, "generated");
        }

        foreach (var line in Clocks)
        {
            tally.Check(Encoding.UTF8.GetBytes(line), "hand-written");
        }

        TestContext.Out.WriteLine(tally);

        // The generator's malformed records (2 in 1,000) are the only ones the general reader must take.
        Assert.That(tally.Scanned, Is.GreaterThan(tally.Records * 99 / 100), $"{tally}");
        Assert.That(tally.ScannedValid, Is.GreaterThan(tally.Records * 9 / 10), $"{tally}");
    }

    [Test]
    public void MutatedRecordsDecodeTheSameBothWays()
    {
        var seeds = Generated(seed: 11, count: 400)
            .Concat(Clocks.Select(Encoding.UTF8.GetBytes))
            .Where(IsFlatObject)
            .ToArray();
        var random = new Random(20261102);
        var tally = new Tally();
        for (var round = 0; round < 60; round++)
        {
            foreach (var seed in seeds)
            {
                tally.Check(Mutate(seed, random), "mutated");
            }
        }

        TestContext.Out.WriteLine(tally);

        // Every way through: scanned and valid, scanned and refused by a field rule, and handed to the general reader.
        Assert.Multiple(() =>
        {
            Assert.That(tally.Records, Is.GreaterThan(20_000));
            Assert.That(tally.ScannedValid, Is.GreaterThan(1_000), $"{tally}");
            Assert.That(tally.ScannedRefused, Is.GreaterThan(1_000), $"{tally}");
            Assert.That(tally.Fallback, Is.GreaterThan(1_000), $"{tally}");
        });
    }

    [TestCase("""{"id":"x1","id":"x1","type":"sms"}""")] // a known name twice
    [TestCase("""{"id":"x1","extra":1,"extra":2,"type":"sms"}""")] // an unknown name twice
    [TestCase("""{"id":"x\u0031","type":"sms"}""")] // an escape
    [TestCase("""{"id":"x1","type":"voice","durationSec":1.5}""")] // a fraction
    [TestCase("""{"id":"x1","type":"voice","durationSec":01}""")] // a leading zero
    [TestCase("""{"id":"x1","type":"data","bytes":1e3}""")] // an exponent
    [TestCase("""{"id":"x1","type":"data","extra":{"a":1}}""")] // a nested object
    [TestCase("""{"id":"x1","type":"data"} x""")] // trailing garbage
    [TestCase("""{"id":"x1","type":"data",}""")] // a trailing comma
    [TestCase("""{"id":"é","type":"data"}""")] // a byte outside ASCII
    [TestCase("""{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}""")] // more unknown names than the scan keeps
    [TestCase("{\"id\":\"x1\",\"type\":\"sms\",\"peer\":\"1\u007f0\"}")] // DEL inside a string
    [TestCase("{\"id\":\"x1\",\"type\":\"sms\",\"peer\":\"1\t0\"}")] // a tab inside a string
    [TestCase("{\"id\":\"x1\",\"type\":\"sms\",\"peer\":\"10\"\u007f}")] // DEL after a string
    public void RecordsOffTheCanonicalShapeGoToTheGeneralReader(string record)
    {
        var decoder = new CdrDecoder();
        decoder.Decode(Encoding.UTF8.GetBytes(record), out _);
        Assert.That(decoder.LastDecodeScanned, Is.False);
        new Tally().Check(Encoding.UTF8.GetBytes(record), "hand-written");
    }

    /// <summary>
    /// A plain record of 16 to 512 bytes has its quotes marked in one pass and each string ends at the next mark; a
    /// longer or shorter one searches string by string. Padding values of every length put the strings' ends at every
    /// place in and across the 64-byte words of the marks and the 16- and 32-byte steps that set them, on both sides of the
    /// 512-byte limit: every record is scanned and decodes as the general reader decodes it, and the id after the
    /// padding is read whole.
    /// </summary>
    [Test]
    public void PlainRecordsOfEveryLengthAroundTheQuoteMarksScanTheSame()
    {
        var tally = new Tally();
        var decoder = new CdrDecoder();
        for (var pad = 0; pad <= 560; pad++)
        {
            foreach (var record in new[]
            {
                $$"""{"x":"{{new string('p', pad)}}","id":"s{{pad}}","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"10086","start":"2026-11-02T10:00:00+08:00"}""",
                $$"""{"type":"sms","{{new string('n', pad + 1)}}":1,"msisdn":"8613800000001","id":"s{{pad}}","direction":"mt","peer":"10086","start":"2026-11-02T10:00:00+08:00"}""",
                $$"""{"{{new string('n', pad + 1)}}":"v"}""",
            })
            {
                var bytes = Encoding.UTF8.GetBytes(record);
                tally.Check(bytes, "padded");
                var cause = decoder.Decode(bytes, out var cdr);
                Assert.That(decoder.LastDecodeScanned, Is.True, record);
                if (record.Contains("\"id\"", StringComparison.Ordinal))
                {
                    Assert.That((cause, Encoding.UTF8.GetString(cdr.Id)), Is.EqualTo((InvalidCause.None, $"s{pad}")), record);
                }
            }
        }

        TestContext.Out.WriteLine(tally);
        Assert.That(tally.ScannedValid, Is.EqualTo(2 * 561));
    }

    [Test]
    public void WhitespaceBetweenTokensStillTakesTheScan()
    {
        var record = "{\"id\":\"x1\",\t\"type\":\"sms\",\r\n\"msisdn\":\"8613800000001\",\"direction\":\"mo\",\"peer\":\"10086\",\"start\":\"2026-11-02T10:00:00+08:00\"}";
        var decoder = new CdrDecoder();
        Assert.That(decoder.Decode(Encoding.UTF8.GetBytes(record), out _), Is.EqualTo(InvalidCause.None));
        Assert.That(decoder.LastDecodeScanned, Is.True);
        new Tally().Check(Encoding.UTF8.GetBytes(record), "hand-written");
    }

    private static IEnumerable<byte[]> Generated(int seed, int count)
    {
        var data = new SyntheticData(seed, subscribers: 200, locationRecords: true);
        var output = new ArrayBufferWriter<byte>();
        for (var n = 0; n < count; n++)
        {
            output.ResetWrittenCount();
            data.WriteNextCdr(output);
            yield return output.WrittenSpan.ToArray();
        }
    }

    private static bool IsFlatObject(byte[] line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.EnumerateObject().All(p => p.Value.ValueKind is not JsonValueKind.Object and not JsonValueKind.Array);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static readonly string[] Values =
    [
        "0", "-0", "1", "-1", "01", "00", "86400", "86401", "1000000000000", "1000000000001", "99999999999999999999999",
        "-", "1.5", "5.0", "1e3", "1E3", "1.", ".5", "+1", "null", "true", "false", "nul", "tru", "fals", "nullx", "[]", "{}",
        "[1,2]", "{\"a\":1}", "\"\"", "\"x\"", "\"mo\"", "\"mt\"", "\"voice\"", "\"sms\"", "\"data\"", "\"clock\"", "\"location\"",
        "\"profile\"", "\"454\"", "\"45\"", "\"4540\"", "\"+\"", "\"+8613\"", "\"8613800000001\"", "\"1234\"", "\"1234567890123456\"",
        "\"2026-11-02T10:00:00+08:00\"", "\"2026-11-02T10:00:00\"", "\"2026-13-02T10:00:00Z\"", "\"\\u0041\"", "\"a\\\"b\"",
        "\"a\\\\b\"", "\"é\"", "\"\u007f\"", "\"\t\"", "\"" + new string('x', 65) + "\"", "\"" + new string('1', 33) + "\"",
    ];

    private static readonly string[] Names =
    [
        "id", "type", "msisdn", "direction", "peer", "start", "durationSec", "bytes", "visitedMcc", "at", "extra", "Id", "ID",
        "i", "idx", "typo", "peers", "start ", "\\u0069d", "byte", "durationsec", "visitedMCC", "a", "",
    ];

    private static readonly byte[] Bytes =
    [
        (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)' ', (byte)'\t',
        (byte)'\n', (byte)'\r', (byte)'0', (byte)'1', (byte)'9', (byte)'-', (byte)'+', (byte)'.', (byte)'e', (byte)'n',
        (byte)'t', (byte)'f', (byte)'a', (byte)'x', 0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xEF, 0xFF,
    ];

    /// <summary>One to three changes to a record: bytes, members, values, whitespace, escapes, garbage.</summary>
    private static byte[] Mutate(byte[] seed, Random random)
    {
        var members = Members(seed);
        var bytes = seed;
        var changes = 1 + random.Next(3);
        for (var c = 0; c < changes; c++)
        {
            var kind = random.Next(14);
            if (kind >= 3 && kind <= 9 && bytes != seed)
            {
                // Member-level changes start again from the parsed members.
                members = Members(bytes) ?? members;
            }

            switch (kind)
            {
                case 0: // flip a byte
                    bytes = [.. bytes];
                    if (bytes.Length > 0)
                    {
                        bytes[random.Next(bytes.Length)] = Bytes[random.Next(Bytes.Length)];
                    }

                    break;
                case 1: // delete a run of bytes
                    if (bytes.Length > 0)
                    {
                        var at = random.Next(bytes.Length);
                        var length = Math.Min(bytes.Length - at, 1 + random.Next(random.Next(2) == 0 ? 2 : 12));
                        bytes = [.. bytes[..at], .. bytes[(at + length)..]];
                    }

                    break;
                case 2: // insert a byte
                    {
                        var at = random.Next(bytes.Length + 1);
                        bytes = [.. bytes[..at], Bytes[random.Next(Bytes.Length)], .. bytes[at..]];
                        break;
                    }

                case 3 when members is { Count: > 0 }: // repeat a member
                    members.Insert(random.Next(members.Count + 1), members[random.Next(members.Count)]);
                    bytes = Join(members, random, spaced: false);
                    break;
                case 4 when members is { Count: > 0 }: // drop a member
                    members.RemoveAt(random.Next(members.Count));
                    bytes = Join(members, random, spaced: false);
                    break;
                case 5 when members is { Count: > 0 }: // another value
                    {
                        var m = random.Next(members.Count);
                        members[m] = (members[m].Name, Values[random.Next(Values.Length)]);
                        bytes = Join(members, random, spaced: false);
                        break;
                    }

                case 6 when members is not null: // another member
                    members.Insert(random.Next(members.Count + 1), (Names[random.Next(Names.Length)], Values[random.Next(Values.Length)]));
                    bytes = Join(members, random, spaced: false);
                    break;
                case 7 when members is not null: // many unknown members
                    for (var u = 0; u < 6 + random.Next(6); u++)
                    {
                        members.Add(($"u{random.Next(12)}", Values[random.Next(Values.Length)]));
                    }

                    bytes = Join(members, random, spaced: false);
                    break;
                case 8 when members is { Count: > 0 }: // shuffle the members
                    members = [.. members.OrderBy(_ => random.Next())];
                    bytes = Join(members, random, spaced: false);
                    break;
                case 9 when members is not null: // whitespace between tokens
                    bytes = Join(members, random, spaced: true);
                    break;
                case 10: // an escape inside a string value or name
                    {
                        var quote = Array.IndexOf(bytes, (byte)'"', random.Next(bytes.Length + 1));
                        if (quote >= 0 && quote + 1 < bytes.Length && bytes[quote + 1] is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\')
                        {
                            var escape = Encoding.ASCII.GetBytes($"\\u{bytes[quote + 1]:x4}");
                            bytes = [.. bytes[..(quote + 1)], .. escape, .. bytes[(quote + 2)..]];
                        }

                        break;
                    }

                case 11: // trailing bytes
                    string[] tails = [" ", "\r", "\r\n", "\t \n", "x", "}", ",", "{}", " 1", "\0", "\u00a0"];
                    bytes = [.. bytes, .. Encoding.UTF8.GetBytes(tails[random.Next(tails.Length)])];
                    break;
                case 12: // leading bytes
                    string[] heads = [" ", "\n", "\uFEFF", "[", "x", "\t"];
                    bytes = [.. Encoding.UTF8.GetBytes(heads[random.Next(heads.Length)]), .. bytes];
                    break;
                default: // truncate
                    bytes = bytes[..random.Next(bytes.Length + 1)];
                    break;
            }
        }

        return bytes;
    }

    private static List<(string Name, string Value)>? Members(byte[] line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return [.. document.RootElement.EnumerateObject().Select(p => (JsonEncodedName(p.Name), p.Value.GetRawText()))];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON, or a name whose escape does not decode: no members to work on.
            return null;
        }
    }

    private static string JsonEncodedName(string name) => JsonSerializer.Serialize(name)[1..^1];

    private static byte[] Join(List<(string Name, string Value)> members, Random random, bool spaced)
    {
        string[] spaces = ["", " ", "  ", "\t", "\n", "\r\n"];
        string S() => spaced ? spaces[random.Next(spaces.Length)] : "";
        var text = new StringBuilder();
        text.Append(S()).Append('{');
        for (var m = 0; m < members.Count; m++)
        {
            if (m > 0)
            {
                text.Append(S()).Append(',');
            }

            text.Append(S()).Append('"').Append(members[m].Name).Append('"').Append(S()).Append(':').Append(S()).Append(members[m].Value);
        }

        text.Append(S()).Append('}').Append(S());
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Two long-lived decoders (so what one record leaves behind is checked too) and what they saw.</summary>
    private sealed class Tally
    {
        private readonly CdrDecoder _both = new();
        private readonly CdrDecoder _strict = new();

        public int Records { get; private set; }

        public int Scanned { get; private set; }

        public int ScannedValid { get; private set; }

        public int ScannedRefused => Scanned - ScannedValid;

        public int Fallback => Records - Scanned;

        public void Check(byte[] record, string source)
        {
            Records++;
            var fast = _both.Decode(record, out var a);
            var strict = _strict.DecodeStrict(record, out var b);
            if (_both.LastDecodeScanned)
            {
                Scanned++;
                ScannedValid += fast == InvalidCause.None ? 1 : 0;
            }

            var differences = Differences(fast, ref a, strict, ref b);
            if (differences.Length > 0)
            {
                Assert.Fail($"{source}: {Encoding.UTF8.GetString(record)}\n(bytes {Convert.ToHexString(record)})\n" +
                    $"scanned: {_both.LastDecodeScanned}; differs in {differences}");
            }
        }

        private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);

        public override string ToString() => $"{Records} records, {Scanned} scanned ({ScannedValid} valid), {Fallback} to the general reader";

        private string Differences(InvalidCause fast, ref Cdr a, InvalidCause strict, ref Cdr b)
        {
            var differences = new List<string>();
            void Same<T>(string what, T x, T y)
            {
                if (!EqualityComparer<T>.Default.Equals(x, y))
                {
                    differences.Add($"{what}: {x} against {y}");
                }
            }

            Same("cause", fast, strict);
            Same("kind", a.Kind, b.Kind);
            Same("id", Hex(a.Id), Hex(b.Id));
            Same("msisdn", Hex(a.Msisdn), Hex(b.Msisdn));
            Same("msisdn key", a.MsisdnKey, b.MsisdnKey);
            Same("peer", Hex(a.Peer), Hex(b.Peer));
            Same("start", Hex(a.Start), Hex(b.Start));
            Same("start ticks", a.StartTicks, b.StartTicks);
            Same("type", a.Type, b.Type);
            Same("direction", a.Direction, b.Direction);
            Same("durationSec", a.DurationSec, b.DurationSec);
            Same("bytes", a.Bytes, b.Bytes);
            Same("visitedMcc", a.VisitedMcc, b.VisitedMcc);
            Same("has rejected id", _both.HasRejectedId, _strict.HasRejectedId);
            Same("has rejected msisdn", _both.HasRejectedMsisdn, _strict.HasRejectedMsisdn);
            if (_both.HasRejectedId)
            {
                Same("rejected id", Hex(_both.RejectedId), Hex(_strict.RejectedId));
            }

            if (_both.HasRejectedMsisdn)
            {
                Same("rejected msisdn", Hex(_both.RejectedMsisdn), Hex(_strict.RejectedMsisdn));
            }
            return string.Join("; ", differences);
        }
    }
}
