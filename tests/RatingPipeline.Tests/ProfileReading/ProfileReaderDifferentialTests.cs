using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Reference;

namespace RatingPipeline.Tests.ProfileReading;

/// <summary>
/// The single-pass profile reader against the reading it replaced (<see cref="DocumentProfileReader"/>: the strict
/// document check, then a JSON document read member by member): on every profile of the worked examples, of
/// <c>ratingctl generate</c> and of generated rating streams (subscriber files and profile lines), and on broken
/// variants of them, both accept the same profiles with the same values and refuse the same ones with the same
/// message, with the example's tariff and without one.
/// </summary>
[TestFixture]
public sealed class ProfileReaderDifferentialTests
{
    private static readonly JsonSerializerOptions Raw = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions Escaped = new() { Encoder = JavaScriptEncoder.Default };

    private static string ExamplesRoot => Path.Combine(AppContext.BaseDirectory, "Examples");

    [TestCase("basic")]
    [TestCase("cycle-close")]
    [TestCase("seed-rules")]
    public void Every_profile_of_a_worked_example_and_its_broken_variants_read_alike(string example)
    {
        var tariff = TariffLoader.LoadFile(Path.Combine(ExamplesRoot, example, "tariff.json"));
        var profiles = ProfileLines(File.ReadAllText(Path.Combine(ExamplesRoot, example, "subscribers.jsonl")))
            .Concat(ProfileLines(File.ReadAllText(Path.Combine(ExamplesRoot, example, "cdrs.jsonl")), cdrs: true))
            .ToList();
        Assert.That(profiles, Is.Not.Empty);

        var tally = new Tally();
        foreach (var profile in profiles)
        {
            tally.Add(Compare(Encoding.UTF8.GetBytes(profile), tariff), profile);
            foreach (var variant in Variants(profile))
            {
                tally.Add(Compare(variant, tariff), Encoding.UTF8.GetString(variant));
            }
        }

        tally.AssertAgreed();
        Assert.That(tally.Accepted, Is.GreaterThan(profiles.Count), "some variants are still profiles");
        Assert.That(tally.Refused, Is.GreaterThan(profiles.Count * 20), "most variants break a rule");
    }

    [Test]
    public void Every_profile_of_ratingctl_generate_reads_alike()
    {
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        var data = new SyntheticData(seed: 7, subscribers: 3_000);
        var tally = new Tally();
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 3_000; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            var profile = buffer.WrittenSpan.ToArray();
            tally.Add(Compare(profile, tariff), Encoding.UTF8.GetString(profile));
            if (i % 300 == 0)
            {
                foreach (var variant in Variants(Encoding.UTF8.GetString(profile)))
                {
                    tally.Add(Compare(variant, tariff), Encoding.UTF8.GetString(variant));
                }
            }
        }

        tally.AssertAgreed();
        Assert.That(tally.Accepted, Is.GreaterThanOrEqualTo(3_000));
    }

    [Test]
    public void Every_profile_of_generated_rating_streams_and_their_broken_variants_read_alike()
    {
        var tally = new Tally();
        var streams = 0;
        for (var seed = 1; seed <= 40; seed++)
        {
            var stream = StreamGenerator.Generate(seed);
            var tariff = TariffLoader.Load(Encoding.UTF8.GetBytes(stream.TariffJson));
            var profiles = ProfileLines(stream.SubscribersJsonl).Concat(ProfileLines(stream.CdrsJsonl, cdrs: true)).ToList();
            streams++;
            foreach (var profile in profiles)
            {
                tally.Add(Compare(Encoding.UTF8.GetBytes(profile), tariff), profile);
            }

            foreach (var variant in Variants(profiles[seed % profiles.Count]))
            {
                tally.Add(Compare(variant, tariff), Encoding.UTF8.GetString(variant));
            }
        }

        tally.AssertAgreed();
        Assert.That(streams, Is.EqualTo(40));
        Assert.That(tally.Accepted, Is.GreaterThan(400));
    }

    [TestCase("")] // no JSON at all
    [TestCase("   ")]
    [TestCase("null")]
    [TestCase("[]")]
    [TestCase("[{\"a\":1,\"a\":2}]")] // a repeated name inside a value that is not a profile
    [TestCase("\"\\ud800\"")] // an escape that does not decode, as the whole document
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1}{}")] // two documents
    [TestCase("\uFEFF{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1}")] // a byte-order mark
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,}")] // a trailing comma
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1 /* c */}")] // a comment
    [TestCase("{\"ms\\u0069sdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"msisdn\":\"8613800000002\"}")] // the same name, once escaped
    [TestCase("{\"msisdn\":\"86138\\u00300000001\",\"plan\":\"b\\u0061sic-58\",\"cycleDay\":1,\"language\":\"\\u0065n\",\"channels\":[\"\\u0073ms\",\"voice\"]}")] // escaped values
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"x\":1,\"y\":2,\"z\":3,\"a\":4,\"b\":5,\"c\":6,\"d\":7,\"e\":8,\"f\":9,\"x\":10}")] // a repeated unknown name after many
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"\\u0078\":1,\"x\":2}")] // an unknown name repeated, once escaped
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"services\":{\"a\":1,\"a\":2}}")] // a repeated name inside a wrong value
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"channels\":[\"sms\",[{\"a\":[1,{\"b\":1,\"b\":2}]}]]}")] // deep in a channels item
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"services\":[{\"id\":\"a\",\"x\":{\"y\":[0,{\"z\":1,\"z\":1}]}}]}")] // deep in a service
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"services\":[{\"id\":\"a\",\"name\":{\"zh\":\"a\",\"en\":\"b\",\"fr\":{\"q\":1,\"q\":2}}}]}")] // deep in a service name
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"services\":[{\"id\":\"a\",\"name\":{\"zh\":\"a\",\"zh\":\"b\"}}]}")] // a name's member twice
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"services\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,{\"a\":1,\"a\":2}]}")] // a repeat in the 17th service
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"services\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}")] // 17 services, none an object
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"channels\":[\"sms\",\"sms\",\"voice\",\"sms\"]}")] // repeated channels
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"channels\":[]}")]
    [TestCase("{\"msisdn\":5,\"plan\":7,\"cycleDay\":\"x\",\"services\":3,\"planEndsAt\":1}")] // many rules broken: the first in the fixed order wins
    [TestCase("{\"planEndsAt\":1,\"services\":3,\"cycleDay\":\"x\",\"plan\":7,\"msisdn\":5}")] // the same, written in the other order
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":-0,\"balance\":-9223372036854775808}")] // -0 and the smallest integer
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"balance\":-9223372036854775809}")] // one below
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"prepaid\":false,\"balanceAsOf\":\"bad\"}")] // judged even when not prepaid
    [TestCase("{\"msisdn\":\"8613800000001\",\"plan\":\"\\ud83d\\ude00\",\"cycleDay\":1}")] // an escaped surrogate pair as the plan
    public void A_hand_made_profile_reads_alike(string json)
    {
        var tally = new Tally();
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        tally.Add(Compare(Encoding.UTF8.GetBytes(json), tariff), json);
        tally.AssertAgreed();
        Assert.That(tally.Accepted + tally.Refused, Is.EqualTo(1), "one profile, read with the tariff and without");
    }

    [TestCase(254)]
    [TestCase(255)]
    [TestCase(256)]
    [TestCase(10_000)]
    public void Deep_nesting_in_an_unknown_member_reads_alike(int depth)
    {
        var tally = new Tally();
        foreach (var (open, close) in new[] { ("[", "]"), ("{\"a\":", "}") })
        {
            var json = "{\"msisdn\":\"8613800000001\",\"plan\":\"p\",\"cycleDay\":1,\"x\":"
                + string.Concat(Enumerable.Repeat(open, depth)) + "0" + string.Concat(Enumerable.Repeat(close, depth)) + "}";
            tally.Add(Compare(Encoding.UTF8.GetBytes(json), null), json);
        }

        tally.AssertAgreed();
    }

    // ------------------------------------------------------------------ comparison

    /// <summary>Null when both readers agree; else what differs.</summary>
    private static (bool Accepted, string? Difference) Compare(byte[] profile, Tariff? tariff)
    {
        Tariff?[] tariffs = tariff is null ? [null] : [tariff, null];
        foreach (var t in tariffs)
        {
            var expected = DocumentProfileReader.TryParse(profile, t, out var expectedError);
            var actual = SubscriberProfile.TryParse(profile, t, out var actualError);
            var want = expected is null ? "refused: " + expectedError : Describe(expected);
            var got = actual is null ? "refused: " + actualError : Describe(actual);
            if (want != got)
            {
                return (actual is not null, $"tariff {(t is null ? "none" : t.Version)}\n  old: {want}\n  new: {got}");
            }
        }

        return (SubscriberProfile.TryParse(profile, tariff, out _) is not null, null);
    }

    internal static string Describe(SubscriberProfile p)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"msisdn={p.Msisdn} key={p.MsisdnKey} utf8={Encoding.UTF8.GetString(p.MsisdnUtf8)} plan={p.Plan}#{p.PlanNameId} ")
            .Append(CultureInfo.InvariantCulture, $"cycleDay={p.CycleDay} prepaid={p.Prepaid} balance={p.Balance} asOf={p.BalanceAsOf}/{p.BalanceAsOfTicks}/{Encoding.UTF8.GetString(p.BalanceAsOfUtf8)} ")
            .Append(CultureInfo.InvariantCulture, $"high={p.HighSpendThreshold} cap={p.DataCap} lang={p.Language} reminders={p.RemindersOn} channels={string.Join('|', p.Channels)} ")
            .Append(CultureInfo.InvariantCulture, $"email={p.Email} minimum={p.MonthlyMinimum} ends={p.PlanEndsAt}/{p.PlanEndsAtTicks}/{Encoding.UTF8.GetString(p.PlanEndsAtUtf8)} services=");
        foreach (var s in p.Services)
        {
            text.Append(CultureInfo.InvariantCulture, $"[{s.Id}#{s.NameId} {s.NameZh}/{s.NameEn} {s.Price} {s.OrderedAt}/{s.OrderedAtTicks} {s.CancelledAt}/{s.CancelledAtTicks} ")
                .Append(Encoding.UTF8.GetString(s.IdUtf8)).Append('/').Append(Encoding.UTF8.GetString(s.NameZhUtf8)).Append('/')
                .Append(Encoding.UTF8.GetString(s.NameEnUtf8)).Append('/').Append(Encoding.UTF8.GetString(s.OrderedAtUtf8)).Append(']');
        }

        return text.ToString();
    }

    private sealed class Tally
    {
        private readonly List<string> _differences = [];

        public int Accepted { get; private set; }

        public int Refused { get; private set; }

        public void Add((bool Accepted, string? Difference) result, string input)
        {
            if (result.Accepted)
            {
                Accepted++;
            }
            else
            {
                Refused++;
            }

            if (result.Difference is not null)
            {
                _differences.Add($"{(input.Length > 300 ? input[..300] + "…" : input)}\n  {result.Difference}");
            }
        }

        public void AssertAgreed() =>
            Assert.That(_differences, Is.Empty, $"{_differences.Count} of {Accepted + Refused} differ; first:\n{string.Join("\n", _differences.Take(5))}");
    }

    // ------------------------------------------------------------------ inputs

    /// <summary>The profiles of a JSON Lines text: every line of a subscriber file, or the lines of a CDR file that name a profile.</summary>
    private static IEnumerable<string> ProfileLines(string jsonl, bool cdrs = false) =>
        jsonl.Split('\n').Where(l => !SubscriberFile.IsBlank(Encoding.UTF8.GetBytes(l)) && (!cdrs || l.Contains("\"profile\"", StringComparison.Ordinal)));

    private static readonly string[] Replacements =
    [
        "null", "true", "false", "0", "-0", "1", "-1", "28", "29", "1.0", "1e3", "9223372036854775807", "9223372036854775808",
        "1000000000000", "1000000000001", "1000000000000000", "1000000000000001", "123456789012345678901234567890",
        "\"\"", "\"x\"", "\"zh\"", "\"en\"", "\"on\"", "\"off\"", "\"8613800000001\"", "\"1234\"", "\"2026-11-01T00:00:00Z\"",
        "\"2026-02-30T00:00:00Z\"", "\"2026-11-01T00:00:00+24:00\"", "\"２０２６\"", "\"\\u0061\"", "\"\\ud800\"",
        "[]", "[\"sms\"]", "[\"email\",\"sms\",\"email\"]", "[\"fax\"]", "[null]", "[1]", "{}", "{\"a\":1}", "{\"a\":1,\"a\":2}",
        "[{\"a\":1,\"a\":2}]", "[[[[[]]]]]",
    ];

    /// <summary>Broken (and a few still valid) variants of one profile: members removed, repeated, replaced; bytes cut, added, spoiled.</summary>
    private static IEnumerable<byte[]> Variants(string profile)
    {
        var root = JsonNode.Parse(profile)!.AsObject();
        foreach (var variant in ObjectVariants(root, root))
        {
            yield return Encoding.UTF8.GetBytes(variant);
        }

        // The same profile with every non-ASCII character escaped, and with members in reverse order.
        yield return Encoding.UTF8.GetBytes(root.ToJsonString(Escaped));
        yield return Encoding.UTF8.GetBytes(new JsonObject(root.Reverse().Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone()))).ToJsonString(Raw));

        var bytes = Encoding.UTF8.GetBytes(profile);
        foreach (var tail in new[] { " ", "\r", "\n", "x", "}", "{}", ",", " 1", "\0" })
        {
            yield return [.. bytes, .. Encoding.UTF8.GetBytes(tail)];
        }

        for (var cut = 0; cut < bytes.Length; cut += Math.Max(1, bytes.Length / 17))
        {
            yield return bytes[..cut];
        }

        byte[][] spoilers = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE4, 0xB8]];
        foreach (var at in new[] { 0, 1, bytes.Length / 3, bytes.Length / 2, bytes.Length - 2 })
        {
            foreach (var bad in spoilers)
            {
                yield return [.. bytes[..at], .. bad, .. bytes[at..]];
            }
        }

        yield return [0xEF, 0xBB, 0xBF, .. bytes];
        foreach (var depth in new[] { 255, 256, 300 })
        {
            yield return Encoding.UTF8.GetBytes(profile[..profile.LastIndexOf('}')] + ",\"deep\":" + new string('[', depth) + new string(']', depth) + "}");
        }
    }

    /// <summary>Variants of one object of the profile (the profile itself, a service, a service's name), each as the whole profile.</summary>
    private static IEnumerable<string> ObjectVariants(JsonObject root, JsonObject target)
    {
        foreach (var name in target.Select(kv => kv.Key).ToList())
        {
            var value = target[name];
            target.Remove(name);
            yield return root.ToJsonString(Raw); // removed
            target[name] = value;

            // Repeated: the member written once more at the start of its object.
            var whole = root.ToJsonString(Raw);
            var own = target.ToJsonString(Raw);
            var at = whole.IndexOf(own, StringComparison.Ordinal);
            yield return whole[..(at + 1)] + JsonSerializer.Serialize(name) + ":" + (value?.ToJsonString(Raw) ?? "null") + "," + whole[(at + 1)..];

            foreach (var replacement in Replacements)
            {
                target[name] = JsonValue.Create(0); // a placeholder, replaced in the text
                var marked = root.ToJsonString(Raw);
                target[name] = value?.DeepClone();
                var placeholder = JsonSerializer.Serialize(name) + ":0";
                var index = marked.IndexOf(placeholder, StringComparison.Ordinal);
                if (index >= 0)
                {
                    yield return marked[..index] + JsonSerializer.Serialize(name) + ":" + replacement + marked[(index + placeholder.Length)..];
                }
            }

            target[name] = value;
            if (value is JsonArray services && name == "services")
            {
                foreach (var item in services.OfType<JsonObject>().Take(2))
                {
                    foreach (var variant in ObjectVariants(root, item))
                    {
                        yield return variant;
                    }
                }

                services.Add(services.Count > 0 ? services[0]!.DeepClone() : new JsonObject());
                yield return root.ToJsonString(Raw); // a service listed twice
                services.RemoveAt(services.Count - 1);
            }
            else if (value is JsonObject serviceName && name == "name")
            {
                foreach (var variant in ObjectVariants(root, serviceName))
                {
                    yield return variant;
                }
            }
        }

        // An unknown member added, and one given twice.
        var withUnknown = root.ToJsonString(Raw);
        var targetText = target.ToJsonString(Raw);
        var start = withUnknown.IndexOf(targetText, StringComparison.Ordinal) + 1;
        yield return withUnknown[..start] + "\"note\":{\"k\":[1,\"\\u00e9\"]}," + withUnknown[start..];
        yield return withUnknown[..start] + "\"note\":1,\"note\":2," + withUnknown[start..];
    }
}
