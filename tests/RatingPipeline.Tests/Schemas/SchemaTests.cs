using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.Schemas;

/// <summary>
/// The JSON Schemas in <c>schemas/</c> are the product's format documentation. These tests hold them to the
/// product: the worked example and records the rater writes must pass, invalid records must fail, the schemas'
/// patterns must accept exactly what the rater's parsers accept, and the schemas may only use keywords the
/// validator enforces (NJsonSchema silently ignores <c>const</c> and <c>if</c>/<c>then</c>/<c>else</c>).
/// </summary>
[TestFixture]
public sealed partial class SchemaTests
{
    private const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";
    private const string IdBase = "https://ratingpipeline.example/schemas/";

    /// <summary>Keywords with one meaning in draft-07 and 2020-12 that NJsonSchema 11.6 enforces (or that only annotate).</summary>
    private static readonly HashSet<string> AllowedKeywords =
    [
        "$schema", "$id", "$defs", "$ref", "title", "description", "default",
        "type", "properties", "required", "additionalProperties", "enum", "pattern", "minimum", "maximum",
        "minLength", "maxLength", "items", "minItems", "maxItems", "uniqueItems", "minProperties", "oneOf", "anyOf", "not",
    ];

    /// <summary>Regex escapes whose meaning differs between ECMA-262 (JSON Schema's dialect) and .NET.</summary>
    private static readonly string[] NonPortableEscapes = [@"\d", @"\D", @"\w", @"\W", @"\s", @"\S", @"\b", @"\z", @"\Z", @"\A"];

    private static string Example(params string[] parts) =>
        Path.Combine([TestContext.CurrentContext.TestDirectory, "Examples", "basic", .. parts]);

    // ------------------------------------------------------------------ the schemas themselves

    [TestCaseSource(typeof(RecordSchemas), nameof(RecordSchemas.All))]
    public async Task Schema_is_draft_2020_12_with_its_id_and_loads_into_the_validator(string name)
    {
        var root = JsonNode.Parse(await File.ReadAllTextAsync(RecordSchemas.PathOf(name)))!.AsObject();
        var schema = await RecordSchemas.LoadAsync(name);

        Assert.Multiple(() =>
        {
            Assert.That((string?)root["$schema"], Is.EqualTo(Draft202012));
            Assert.That((string?)root["$id"], Is.EqualTo(IdBase + name));
            Assert.That((string?)root["title"], Is.Not.Null.And.Not.Empty);
            Assert.That((string?)root["description"], Is.Not.Null.And.Not.Empty);
            Assert.That(schema.ActualProperties, Is.Not.Empty);
        });
    }

    [TestCaseSource(typeof(RecordSchemas), nameof(RecordSchemas.All))]
    public async Task Schema_uses_only_enforced_portable_keywords_and_describes_every_property(string name)
    {
        var root = JsonNode.Parse(await File.ReadAllTextAsync(RecordSchemas.PathOf(name)))!.AsObject();
        var problems = new List<string>();
        Audit(root, root, "#", inDefs: false, problems);

        Assert.That(problems, Is.Empty);
    }

    private static void Audit(JsonObject root, JsonObject schema, string path, bool inDefs, List<string> problems)
    {
        foreach (var (key, _) in schema)
        {
            if (!AllowedKeywords.Contains(key))
            {
                problems.Add($"{path}: keyword {key} is not one the validator enforces with the same meaning in draft-07 and 2020-12");
            }
        }

        if (schema["$ref"] is JsonValue reference)
        {
            var target = reference.GetValue<string>();
            if (inDefs)
            {
                problems.Add($"{path}: $ref inside $defs is not resolved by the validator");
            }

            if (!target.StartsWith("#/$defs/", StringComparison.Ordinal) || root["$defs"]?[target["#/$defs/".Length..]] is null)
            {
                problems.Add($"{path}: $ref {target} does not name an entry of $defs");
            }

            if (schema.Any(member => member.Key is not ("$ref" or "description")))
            {
                problems.Add($"{path}: $ref has siblings other than description (draft-07 ignores them)");
            }
        }

        if (schema["pattern"] is JsonValue patternValue)
        {
            var pattern = patternValue.GetValue<string>();
            if (!pattern.StartsWith('^') || !pattern.EndsWith(@"(?!\n)$", StringComparison.Ordinal))
            {
                problems.Add($"{path}: pattern must be anchored as ^...(?!\\n)$ so that .NET's $ cannot match before a final newline");
            }

            foreach (var escape in NonPortableEscapes.Where(e => pattern.Contains(e, StringComparison.Ordinal)))
            {
                problems.Add($"{path}: pattern uses {escape}, which means something else in .NET than in ECMA-262");
            }

            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
        }

        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (propertyName, property) in properties)
            {
                var propertyPath = $"{path}/properties/{propertyName}";
                if (property is not JsonObject propertySchema)
                {
                    problems.Add($"{propertyPath}: must be a schema object");
                    continue;
                }

                if (string.IsNullOrWhiteSpace((string?)propertySchema["description"]))
                {
                    problems.Add($"{propertyPath}: has no description");
                }

                Audit(root, propertySchema, propertyPath, inDefs, problems);
            }
        }

        if (schema["$defs"] is JsonObject definitions)
        {
            foreach (var (definitionName, definition) in definitions)
            {
                Audit(root, definition!.AsObject(), $"{path}/$defs/{definitionName}", inDefs: true, problems);
            }
        }

        foreach (var single in (string[])["items", "not", "additionalProperties"])
        {
            if (schema[single] is JsonObject child)
            {
                Audit(root, child, $"{path}/{single}", inDefs, problems);
            }
        }

        foreach (var list in (string[])["oneOf", "anyOf"])
        {
            if (schema[list] is JsonArray children)
            {
                for (var i = 0; i < children.Count; i++)
                {
                    Audit(root, children[i]!.AsObject(), $"{path}/{list}/{i}", inDefs, problems);
                }
            }
        }
    }

    [Test]
    public async Task Every_schema_spells_the_instant_pattern_the_same_way()
    {
        var cdr = await SchemaNode(RecordSchemas.Cdr);
        var expected = (string?)cdr["properties"]!["start"]!["pattern"];
        string?[] copies =
        [
            (string?)(await SchemaNode(RecordSchemas.Subscriber))["properties"]!["balanceAsOf"]!["pattern"],
            (string?)(await SchemaNode(RecordSchemas.Tariff))["$defs"]!["instant"]!["pattern"],
            (string?)(await SchemaNode(RecordSchemas.Tariff))["$defs"]!["nullableInstant"]!["pattern"],
            (string?)(await SchemaNode(RecordSchemas.RatedCdr))["$defs"]!["instant"]!["pattern"],
            (string?)(await SchemaNode(RecordSchemas.Reminder))["$defs"]!["instant"]!["pattern"],
        ];

        Assert.That(expected, Is.Not.Null.And.Not.Empty);
        Assert.That(copies, Is.All.EqualTo(expected));
    }

    [Test]
    public async Task Instant_pattern_accepts_every_calendar_date_the_rater_accepts_and_no_other()
    {
        var pattern = await InstantPattern();
        var disagreements = new List<string>();
        var checkedCount = 0;
        for (var year = 0; year <= 9999; year++)
        {
            for (var month = 0; month <= 13; month++)
            {
                foreach (var day in (int[])[0, 1, 28, 29, 30, 31, 32])
                {
                    var text = $"{year:D4}-{month:D2}-{day:D2}T12:00:00Z";
                    Compare(pattern, text, disagreements);
                    checkedCount++;
                }
            }
        }

        Assert.That(checkedCount, Is.EqualTo(10_000 * 14 * 7));
        Assert.That(disagreements, Is.Empty);
    }

    [Test]
    public async Task Instant_pattern_accepts_every_time_and_offset_the_rater_accepts_and_no_other()
    {
        var pattern = await InstantPattern();
        var disagreements = new List<string>();
        string[] minutes = ["00", "07", "59", "60", "5", "5a"];
        string[] fractions = ["", ".", ".1", ".1234567", ".12345678", ",5", ".x"];
        string[] offsets = ["Z", "z", "+00:00", "-00:00", "+08:00", "-23:59", "+23:60", "+24:00", "+0800", "+08", "", "Z ", " Z", "+08:00\n"];
        var accepted = 0;
        for (var hour = 0; hour <= 25; hour++)
        {
            foreach (var minute in minutes)
            {
                foreach (var second in minutes)
                {
                    foreach (var fraction in fractions)
                    {
                        foreach (var offset in offsets)
                        {
                            var text = $"2028-02-29T{hour:D2}:{minute}:{second}{fraction}{offset}";
                            accepted += Compare(pattern, text, disagreements) ? 1 : 0;
                        }
                    }
                }
            }
        }

        Assert.That(disagreements, Is.Empty);
        Assert.That(accepted, Is.EqualTo(24 * 3 * 3 * 3 * 5), "hours 00-23 × minutes and seconds 00, 07, 59 × 3 fractions × 5 offsets");
    }

    [Test]
    public async Task Instant_pattern_agrees_with_the_rater_on_random_corruptions_of_an_instant()
    {
        var pattern = await InstantPattern();
        const string Alphabet = "0123456789-:T.Z+zt x\n";
        string[] seeds = ["2026-11-03T09:15:00+08:00", "2000-02-29T23:59:59.1234567Z", "1900-02-28T00:00:00-12:30"];
        var random = new Random(20261103);
        var disagreements = new List<string>();
        var accepted = 0;
        for (var i = 0; i < 60_000; i++)
        {
            var text = new StringBuilder(seeds[i % seeds.Length]);
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                var at = random.Next(text.Length + 1);
                var c = Alphabet[random.Next(Alphabet.Length)];
                switch (random.Next(3))
                {
                    case 0 when at < text.Length:
                        text[at] = c;
                        break;
                    case 1 when at < text.Length:
                        text.Remove(at, 1);
                        break;
                    default:
                        text.Insert(at, c);
                        break;
                }
            }

            accepted += Compare(pattern, text.ToString(), disagreements) ? 1 : 0;
        }

        Assert.That(disagreements, Is.Empty);
        Assert.That(accepted, Is.GreaterThan(1000), "the corruptions must also produce valid instants, or the check proves little");
    }

    private static bool Compare(Regex pattern, string text, List<string> disagreements)
    {
        var schema = pattern.IsMatch(text);
        var rater = Instant.TryParse(text, out _);
        if (schema != rater && disagreements.Count < 20)
        {
            disagreements.Add($"{text.ReplaceLineEndings("\\n")}: schema {schema}, rater {rater}");
        }

        return rater;
    }

    [Test]
    public async Task Zero_rating_pattern_rule_accepts_exactly_the_patterns_the_tariff_loader_accepts()
    {
        var tariff = await SchemaNode(RecordSchemas.Tariff);
        var pattern = new Regex((string)tariff["properties"]!["zeroRated"]!["items"]!["properties"]!["pattern"]!["pattern"]!);
        string[] alphabet = ["0", "9", "x", "X", "*", "+", "\n"];
        var candidates = new List<string> { "" };
        var level = new List<string> { "" };
        for (var length = 1; length <= 4; length++)
        {
            level = [.. level.SelectMany(prefix => alphabet.Select(c => prefix + c))];
            candidates.AddRange(level);
        }

        var disagreements = candidates
            .Where(c => pattern.IsMatch(c) != ZeroRatingRule.IsValidPattern(c))
            .Select(c => c.ReplaceLineEndings("\\n"))
            .ToList();

        Assert.Multiple(() =>
        {
            Assert.That(candidates, Has.Count.EqualTo(1 + 7 + 49 + 343 + 2401));
            Assert.That(disagreements, Is.Empty);
            // A lone * is a valid pattern: it matches every peer (of the entry's types and dates).
            Assert.That(pattern.IsMatch("*") && ZeroRatingRule.IsValidPattern("*"), Is.True);
        });
    }

    // ------------------------------------------------------------------ CDR rules, row by row

    private const string Voice = """{"id":"v1","type":"voice","msisdn":"8613800000001","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00","durationSec":61}""";
    private const string Sms = """{"id":"s1","type":"sms","msisdn":"8613800000001","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00"}""";
    private const string Data = """{"id":"d1","type":"data","msisdn":"8613800000001","start":"2026-11-02T10:00:00+08:00","bytes":1500}""";

    /// <summary>Marks a row whose replacement is the whole record.</summary>
    private const string Whole = "*";

    // Each row edits a valid record: the text `find` (which occurs exactly once) becomes `replacement`.
    [TestCase(Voice, "}", "}", true)]
    [TestCase(Sms, "}", "}", true)]
    [TestCase(Data, "}", "}", true)]
    [TestCase(Voice, "}", ",\"visitedMcc\":null}", true)]
    [TestCase(Voice, "}", ",\"visitedMcc\":\"454\"}", true)]
    [TestCase(Voice, "}", ",\"bytes\":\"ignored for voice\",\"extra\":{\"nested\":[1,{\"a\":null}]}}", true)]
    [TestCase(Data, "}", ",\"direction\":5,\"peer\":null,\"durationSec\":1.5}", true)]
    [TestCase(Sms, "}", ",\"durationSec\":\"ignored for sms\"}", true)]
    [TestCase(Voice, ":61}", ":0}", true)]
    [TestCase(Voice, ":61}", ":86400}", true)]
    [TestCase(Voice, ":61}", ":-0}", true)]
    [TestCase(Data, "1500", "1000000000000", true)]
    [TestCase(Voice, "13900000000", "+1", true)]
    [TestCase(Voice, "13900000000", "12345678901234567890123456789012", true)]
    [TestCase(Voice, "\"v1\"", "\" ~!\\u0041\"", true)]
    [TestCase(Voice, "+08:00", ".1234567-23:59", true)]
    [TestCase(Voice, "2026-11-02", "2024-02-29", true)]
    [TestCase(Voice, "2026-11-02", "2000-02-29", true)]
    [TestCase(Voice, "}", "}\r", true)]
    [TestCase(Voice, "}", "", false)] // truncated: the object is never closed
    [TestCase(Voice, "}", "} {}", false)] // a second value after the object
    [TestCase(Voice, "}", ",\"extra\":NaN}", false)] // NaN is not JSON
    [TestCase(Voice, "}", ",\"extra\":1 /* note */}", false)] // comments are not JSON
    [TestCase(Voice, "}", ",\"id\":\"v2\"}", false)] // id given twice
    [TestCase(Voice, "}", ",\"extra\":{\"a\":1,\"a\":2}}", false)] // a name given twice in a nested object
    [TestCase(Voice, "{", "\uFEFF{", false)] // a byte-order mark before the object
    [TestCase(Voice, Whole, "[{\"id\":\"v1\"}]", false)] // an array, not an object
    [TestCase(Voice, Whole, "\"v1\"", false)] // a string, not an object
    [TestCase(Voice, "\"v1\"", "null", false)] // id null counts as missing
    [TestCase(Voice, "\"v1\"", "\"\"", false)] // id empty
    [TestCase(Voice, "\"v1\"", "\"12345678901234567890123456789012345678901234567890123456789012345\"", false)] // id of 65 characters
    [TestCase(Voice, "\"v1\"", "\"a\\u0007\"", false)] // id holds a control character
    [TestCase(Voice, "\"v1\"", "\"caf\u00e9\"", false)] // id holds a non-ASCII character
    [TestCase(Voice, "\"v1\"", "17", false)] // id is a number
    [TestCase(Voice, "\"voice\"", "\"fax\"", false)] // unknown type
    [TestCase(Voice, "\"voice\"", "\"Voice\"", false)] // type is case-sensitive
    [TestCase(Voice, "8613800000001", "8613", false)] // msisdn of 4 digits
    [TestCase(Voice, "8613800000001", "8613800000001234", false)] // msisdn of 16 digits
    [TestCase(Voice, "8613800000001", "+8613800000001", false)] // msisdn with a +
    [TestCase(Voice, "8613800000001", "\u0668\u0666\u0661\u0663\u0668", false)] // msisdn of Arabic-Indic digits
    [TestCase(Voice, "8613800000001", "8613800000001\\n", false)] // msisdn followed by a newline
    [TestCase(Voice, "2026-11-02", "2026-02-29", false)] // 29 February of a common year
    [TestCase(Voice, "2026-11-02", "1900-02-29", false)] // 1900 is a century, not a leap year
    [TestCase(Voice, "2026-11-02", "2026-04-31", false)] // April has 30 days
    [TestCase(Voice, "2026-11-02", "2026-13-02", false)] // month 13
    [TestCase(Voice, "T10:00:00", "T24:00:00", false)] // hour 24
    [TestCase(Voice, "T10:00:00", "T10:00:60", false)] // a leap second
    [TestCase(Voice, "T10:00:00", "t10:00:00", false)] // lowercase t
    [TestCase(Voice, "T10:00:00", " 10:00:00", false)] // a space for T
    [TestCase(Voice, "+08:00", ".12345678+08:00", false)] // 8 fraction digits
    [TestCase(Voice, "+08:00", "+24:00", false)] // offset hour 24
    [TestCase(Voice, "+08:00", "+0800", false)] // offset without a colon
    [TestCase(Voice, "+08:00", "", false)] // no offset
    [TestCase(Voice, "\"mo\"", "\"MO\"", false)] // direction is case-sensitive
    [TestCase(Voice, "\"mo\"", "null", false)] // direction null counts as missing
    [TestCase(Voice, "13900000000", "", false)] // empty peer
    [TestCase(Voice, "13900000000", "+", false)] // a + with no digits
    [TestCase(Voice, "13900000000", "++1", false)] // two pluses
    [TestCase(Voice, "13900000000", "139-0000", false)] // a dash in the peer
    [TestCase(Voice, "13900000000", "123456789012345678901234567890123", false)] // peer of 33 digits
    [TestCase(Voice, ",\"durationSec\":61", "", false)] // voice without durationSec
    [TestCase(Voice, ":61}", ":86401}", false)] // durationSec above 86400
    [TestCase(Voice, ":61}", ":-1}", false)] // negative durationSec
    [TestCase(Voice, ":61}", ":61.0}", false)] // durationSec written with a fraction
    [TestCase(Voice, ":61}", ":6.1e1}", false)] // durationSec written with an exponent
    [TestCase(Voice, ":61}", ":\"61\"}", false)] // durationSec as a string
    [TestCase(Sms, ",\"peer\":\"13900000000\"", "", false)] // sms without peer
    [TestCase(Sms, ",\"direction\":\"mo\"", "", false)] // sms without direction
    [TestCase(Data, ",\"bytes\":1500", "", false)] // data without bytes
    [TestCase(Data, "1500", "null", false)] // bytes null counts as missing
    [TestCase(Data, "1500", "1000000000001", false)] // bytes above 10^12
    [TestCase(Data, "1500", "1e3", false)] // bytes written with an exponent
    [TestCase(Data, "}", ",\"visitedMcc\":\"45\"}", false)] // visitedMcc of 2 digits
    [TestCase(Data, "}", ",\"visitedMcc\":454}", false)] // visitedMcc as a number
    [TestCase(Data, ",\"start\":\"2026-11-02T10:00:00+08:00\"", "", false)] // no start
    public async Task Cdr_schema_and_rater_agree_on_each_rule(string template, string find, string replacement, bool valid)
    {
        var record = find == Whole ? replacement : Edit(template, find, replacement);
        var bytes = Encoding.UTF8.GetBytes(record);
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Cdr, bytes);
        var cause = new CdrDecoder().Decode(bytes, out _);

        Assert.Multiple(() =>
        {
            Assert.That(cause == InvalidCause.None, Is.EqualTo(valid), $"rater: {InvalidCauses.Detail(cause)}");
            Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
        });
    }

    private static string Edit(string template, string find, string replacement)
    {
        var at = template.IndexOf(find, StringComparison.Ordinal);
        Assert.That(at >= 0 && template.IndexOf(find, at + 1, StringComparison.Ordinal) < 0, Is.True,
            $"the row's text {find} must occur exactly once in {template}");
        return string.Concat(template.AsSpan(0, at), replacement, template.AsSpan(at + find.Length));
    }

    // ------------------------------------------------------------------ the worked example

    [Test]
    public async Task Example_cdr_lines_pass_the_cdr_schema_except_the_invalid_ones()
    {
        var lines = RecordSchemas.ReadLines(Example("cdrs.jsonl"));
        var schema = await RecordSchemas.LoadAsync(RecordSchemas.Cdr);
        var checks = lines.Select(line => RecordSchemas.Check(schema, line)).ToList();

        // Line numbers (1-based) of the lines that are not valid CDRs; every other line is one.
        var expectedNotPassing = new Dictionary<int, Verdict>
        {
            [28] = Verdict.SchemaFail, // z1: durationSec 1.5
            [29] = Verdict.NotJson, // "not json"
            [30] = Verdict.Blank, // an empty line
            [33] = Verdict.NotJson, // id given twice
        };
        var expected = Enumerable.Range(1, lines.Count)
            .Select(n => expectedNotPassing.GetValueOrDefault(n, Verdict.Pass))
            .ToList();

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Count.EqualTo(33));
            Assert.That(checks.Select(c => c.Verdict), Is.EqualTo(expected));
            Assert.That(checks[27].Errors, Has.Some.Contains("durationSec"), "z1 must fail for its durationSec");
        });
    }

    [Test]
    public async Task Example_cdr_lines_failing_the_schema_are_exactly_those_rejected_as_invalid()
    {
        var lines = RecordSchemas.ReadLines(Example("cdrs.jsonl"));
        var schema = await RecordSchemas.LoadAsync(RecordSchemas.Cdr);
        var failing = lines
            .Where(line => RecordSchemas.Check(schema, line).Verdict is Verdict.NotJson or Verdict.SchemaFail)
            .Select(line => Encoding.UTF8.GetString(line))
            .ToList();
        var invalid = RawOfRejected(Example("expected", "rejected.jsonl"), "invalid");

        Assert.That(failing, Has.Count.EqualTo(3));
        Assert.That(failing, Is.EquivalentTo(invalid));
    }

    [TestCase("subscribers.jsonl", RecordSchemas.Subscriber, 4)]
    [TestCase("expected/rated.jsonl", RecordSchemas.RatedCdr, 24)]
    [TestCase("expected/reminders.jsonl", RecordSchemas.Reminder, 9)]
    [TestCase("expected/rejected.jsonl", RecordSchemas.RejectedRecord, 8)]
    public async Task Every_line_of_an_example_file_passes_its_schema(string file, string schemaName, int lineCount)
    {
        var lines = RecordSchemas.ReadLines(Example(file.Split('/')));
        var schema = await RecordSchemas.LoadAsync(schemaName);
        var failures = lines
            .Select((line, i) => (Line: i + 1, Check: RecordSchemas.Check(schema, line)))
            .Where(x => x.Check.Verdict != Verdict.Pass)
            .Select(x => $"line {x.Line}: {x.Check}")
            .ToList();

        Assert.That(lines, Has.Count.EqualTo(lineCount));
        Assert.That(failures, Is.Empty);
    }

    /// <summary>Every expected output file of every worked example, with the schema its lines must pass.</summary>
    public static IEnumerable<TestCaseData> ExampleOutputs()
    {
        var files = new (string File, string Schema)[]
        {
            ("rated.jsonl", RecordSchemas.RatedCdr), ("reminders.jsonl", RecordSchemas.Reminder),
            ("rejected.jsonl", RecordSchemas.RejectedRecord), ("bills.jsonl", RecordSchemas.Bill),
        };
        foreach (var folder in Directory.GetDirectories(Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples")).Order(StringComparer.Ordinal))
        {
            foreach (var (file, schema) in files.Where(f => File.Exists(Path.Combine(folder, "expected", f.File))))
            {
                yield return new TestCaseData(Path.GetFileName(folder), file, schema);
            }
        }
    }

    [TestCaseSource(nameof(ExampleOutputs))]
    public async Task Every_output_line_of_every_worked_example_passes_its_schema(string example, string file, string schemaName)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples", example, "expected", file);
        var schema = await RecordSchemas.LoadAsync(schemaName);
        var failures = RecordSchemas.ReadLines(path)
            .Select((line, i) => (Line: i + 1, Check: RecordSchemas.Check(schema, line)))
            .Where(x => x.Check.Verdict != Verdict.Pass)
            .Select(x => $"line {x.Line}: {x.Check}")
            .ToList();

        Assert.That(failures, Is.Empty);
    }

    /// <summary>
    /// Every line of every example's CDR file passes the schema of its kind — clock, location, profile line (the
    /// subscriber schema) or CDR — exactly when the example does not reject it as invalid, except for the rules the
    /// schemas say they cannot see (a profile minimum below the plan's scaled minimum needs the tariff).
    /// </summary>
    [TestCaseSource(nameof(ExampleFolders))]
    public async Task Every_input_line_passes_the_schema_of_its_kind_unless_rejected_invalid(string example)
    {
        var folder = Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples", example);
        var invalid = RecordSchemas.ReadLines(Path.Combine(folder, "expected", "rejected.jsonl"))
            .Select(line => JsonNode.Parse(line)!)
            .Where(r => (string?)r["reason"] == "invalid")
            .Select(r => (string)r["raw"]!)
            .ToHashSet(StringComparer.Ordinal);
        var disagreements = new List<string>();
        var kinds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in RecordSchemas.ReadLines(Path.Combine(folder, "cdrs.jsonl")))
        {
            var text = System.Text.Encoding.UTF8.GetString(line);
            if (string.IsNullOrWhiteSpace(text))
            {
                continue; // a blank line is skipped, neither rated nor rejected
            }

            var schema = SchemaOfStreamLine(line);
            kinds.Add(schema);
            var passes = (await RecordSchemas.CheckAsync(schema, line)).Verdict == Verdict.Pass;
            var rejected = invalid.Contains(text);
            var unseenRule = schema == RecordSchemas.Subscriber && text.Contains("\"monthlyMinimum\"", StringComparison.Ordinal);
            if (passes == rejected && !(passes && unseenRule))
            {
                disagreements.Add($"{schema}: {(passes ? "passes" : "fails")} but the example {(passes ? "rejects it invalid" : "accepts it")}: {text}");
            }
        }

        Assert.That(disagreements, Is.Empty);
        Assert.That(kinds, Does.Contain(RecordSchemas.Cdr));
    }

    public static IEnumerable<string> ExampleFolders() =>
        Directory.GetDirectories(Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples"))
            .Where(d => File.Exists(Path.Combine(d, "cdrs.jsonl")))
            .Select(d => Path.GetFileName(d)!)
            .Order(StringComparer.Ordinal);

    [Test]
    public async Task The_worked_examples_exercise_every_reminder_kind_and_both_fee_kinds()
    {
        var examples = Path.Combine(TestContext.CurrentContext.TestDirectory, "Examples");
        List<JsonNode> Lines(string file) => [.. Directory.GetDirectories(examples)
            .Select(d => Path.Combine(d, "expected", file)).Where(File.Exists)
            .SelectMany(RecordSchemas.ReadLines).Select(line => JsonNode.Parse(line)!)];
        var kinds = Lines("reminders.jsonl").Select(r => (string)r["kind"]!).Distinct().ToList();
        var schemaKinds = (await SchemaNode(RecordSchemas.Reminder))["properties"]!["kind"]!["enum"]!.AsArray().Select(k => (string)k!);
        var fees = Lines("rated.jsonl").Where(r => (string?)r["type"] == "fee").Select(r => (string)r["fee"]!).Distinct();

        Assert.Multiple(() =>
        {
            Assert.That(kinds, Is.EquivalentTo(schemaKinds), "each kind's branch of the reminder schema is exercised");
            Assert.That(fees, Is.EquivalentTo(new[] { "monthly", "service" }));
            Assert.That(Lines("bills.jsonl"), Is.Not.Empty);
        });
    }

    [Test]
    public async Task Example_tariff_passes_the_tariff_schema()
    {
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Tariff, await File.ReadAllBytesAsync(Example("tariff.json")));

        Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), check.ToString());
    }

    // ------------------------------------------------------------------ tariff and profile rules

    [TestCase(null, null, true)]
    [TestCase("zeroRated.0.pattern", "\"*\"", true)]
    [TestCase("zeroRated.0.pattern", "\"0044x*\"", true)]
    [TestCase("zeroRated.0.to", "null", true)]
    [TestCase("plans.mini-18.rates.0.firstIncrement", null, true)]
    [TestCase("plans.mini-18.rates.1.type", "\"*\"", true)]
    [TestCase("zeroRated.0.pattern", "\"\"", false)] // empty pattern
    [TestCase("zeroRated.0.pattern", "\"00*44\"", false)] // * before the end
    [TestCase("zeroRated.0.pattern", "\"+44\"", false)] // + is not allowed in a pattern
    [TestCase("zeroRated.0.pattern", "\"0044X\"", false)] // uppercase X
    [TestCase("zeroRated.0.types", "[]", true)]
    [TestCase("zeroRated.0.types", "[\"fax\"]", false)] // unknown type
    [TestCase("zeroRated.0.from", "\"2012-05-20\"", false)] // a date, not an instant
    [TestCase("zeroRated.0.reason", "\"\"", false)] // empty reason
    [TestCase("version", "\"\"", false)] // empty version
    [TestCase("utcOffset", "\"+8\"", false)] // offset not as +HH:MM
    [TestCase("homeMcc", "[\"46\"]", false)] // an MCC of 2 digits
    [TestCase("zones.domestic", "[\"999\"]", false)] // domestic is reserved
    [TestCase("defaultRoamingZone", "\"*\"", false)] // * is reserved
    [TestCase("plans", "{}", false)] // no plans
    [TestCase("plans.mini-18.rates", "[]", false)] // a plan without rates
    [TestCase("plans.mini-18.rates.0.unit", "0", false)] // unit below 1
    [TestCase("plans.mini-18.rates.0.increment", null, false)] // increment missing
    [TestCase("plans.mini-18.rates.0.price", "1000000001", false)] // price above 10^9
    [TestCase("plans.mini-18.rates.0.price", "1.5", false)] // price with a fraction
    [TestCase("plans.mini-18.rates.0.direction", "\"in\"", false)] // unknown direction
    [TestCase("plans.mini-18.rates.0.useAllowance", "\"yes\"", false)] // not a boolean
    [TestCase("plans.mini-18.reminderThresholds", "[80, 80]", true)]
    [TestCase("plans.mini-18.reminderThresholds", "[0, 127]", true)]
    [TestCase("plans.mini-18.reminderThresholds", "[-1]", true)] // any integer: SPEC §3 sets no range (fires on the first CDR)
    [TestCase("plans.mini-18.reminderThresholds", "[128, 9223372036854775807]", true)] // fires once used exceeds a smaller allowance
    [TestCase("plans.mini-18.reminderThresholds", "[80.5]", false)] // not an integer
    [TestCase("plans.mini-18.reminderThresholds", "[\"80\"]", false)] // a string
    [TestCase("plans.mini-18.allowances.voiceSec", "-1", false)] // negative allowance
    [TestCase("homeMcc", null, true)] // no home network: every visitedMcc is roaming
    [TestCase("homeMcc", "null", true)]
    [TestCase("vasNoticeLeadHours", "0", true)]
    [TestCase("vasNoticeLeadHours", "720", true)]
    [TestCase("vasNoticeLeadHours", "null", true)]
    [TestCase("vasNoticeLeadHours", "721", false)] // more than 30 days
    [TestCase("vasNoticeLeadHours", "-1", false)]
    [TestCase("vasNoticeLeadHours", "24.0", false)] // written with a fraction
    [TestCase("vasNoticeLeadHours", "\"24\"", false)] // a string
    [TestCase("planExpiryNoticeDays", "1", true)]
    [TestCase("planExpiryNoticeDays", "90", true)]
    [TestCase("planExpiryNoticeDays", "0", false)] // at least a day
    [TestCase("planExpiryNoticeDays", "91", false)]
    [TestCase("lateGraceHours", "0", true)]
    [TestCase("lateGraceHours", "648", true)]
    [TestCase("lateGraceHours", "649", false)] // more than 27 days
    [TestCase("lateGraceHours", "-1", false)]
    [TestCase("zeroRated.0.zones", "[\"domestic\"]", true)]
    [TestCase("zeroRated.0.zones", "[\"domestic\", \"HMT\", \"ROW\", \"domestic\"]", true)] // a name may repeat
    [TestCase("zeroRated.0.zones", "null", true)] // every zone
    [TestCase("zeroRated.0.zones", "[]", false)] // an empty list
    [TestCase("zeroRated.0.zones", "\"domestic\"", false)] // not a list
    [TestCase("zeroRated.0.zones", "[5]", false)]
    [TestCase("zeroRated.0.zones", "[\"*\"]", false)] // * is not a zone
    [TestCase("zeroRated.0.zones", "[\"\"]", false)]
    [TestCase("plans.mini-18.monthlyFee", "0", true)]
    [TestCase("plans.mini-18.monthlyFee", "1000000000000", true)]
    [TestCase("plans.mini-18.monthlyFee", "null", true)]
    [TestCase("plans.mini-18.monthlyFee", "1000000000001", false)] // above 10^12
    [TestCase("plans.mini-18.monthlyFee", "-1", false)]
    [TestCase("plans.mini-18.monthlyFee", "18e6", false)] // written with an exponent
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":100000000,\"atPricePerMinute\":300000}", true)]
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":0,\"atPricePerMinute\":1000000000,\"note\":\"x\"}", true)]
    [TestCase("plans.mini-18.monthlyMinimum", "null", true)]
    [TestCase("plans.mini-18.monthlyMinimum", "100000000", false)] // not an object
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":100000000}", false)] // no reference price
    [TestCase("plans.mini-18.monthlyMinimum", "{\"atPricePerMinute\":300000}", false)] // no amount
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":100000000,\"atPricePerMinute\":0}", false)] // a reference price of 0
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":100000000,\"atPricePerMinute\":1000000001}", false)] // above 10^9
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":-1,\"atPricePerMinute\":300000}", false)]
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":1000000000001,\"atPricePerMinute\":300000}", false)] // above 10^12
    [TestCase("plans.mini-18.monthlyMinimum", "{\"amount\":null,\"atPricePerMinute\":300000}", false)] // a null amount counts as missing
    public async Task Tariff_schema_and_tariff_loader_agree_on_each_rule(string? path, string? valueJson, bool valid)
    {
        var bytes = await Mutate(Example("tariff.json"), path, valueJson);
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Tariff, bytes);
        string? refusal = null;
        try
        {
            TariffLoader.Load(bytes);
        }
        catch (TariffException e)
        {
            refusal = e.Message;
        }

        Assert.Multiple(() =>
        {
            Assert.That(refusal is null, Is.EqualTo(valid), $"loader: {refusal}");
            Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
        });
    }

    [TestCase("plans.mini-18.rates.13.type", "\"*\"")] // the catch-all at 2990000 per 60 units: a 10^12-byte data CDR would cost about 5x10^16 micros
    [TestCase("plans.mini-18.defaultDataCap", "30000000")] // not one of the plan's dataCapTiers
    public async Task Tariff_rules_across_members_are_left_to_the_loader(string path, string valueJson)
    {
        var bytes = await Mutate(Example("tariff.json"), path, valueJson);
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Tariff, bytes);

        Assert.Multiple(() =>
        {
            Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), "the schema cannot see this rule; its description states it");
            Assert.That(() => TariffLoader.Load(bytes), Throws.TypeOf<TariffException>());
        });
    }

    [TestCase("zones.Z1", "[\"454\"]")] // MCC 454 is also in zone HMT: the first listing (HMT) wins
    [TestCase("plans.mini-18.rates.0.zone", "\"MARS\"")] // no zone of that name: the rate never matches
    public async Task Tariff_cases_no_rule_forbids_pass_both_schema_and_loader(string path, string valueJson)
    {
        var bytes = await Mutate(Example("tariff.json"), path, valueJson);
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Tariff, bytes);

        Assert.Multiple(() =>
        {
            Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), check.ToString());
            Assert.That(() => TariffLoader.Load(bytes), Throws.Nothing);
        });
    }

    private const string Profile = """{"msisdn":"8613800000002","plan":"basic-58","cycleDay":15}""";

    [TestCase(Profile, "}", "}", true)]
    [TestCase(Profile, "}", ",\"prepaid\":true,\"balance\":-5,\"balanceAsOf\":\"2026-11-01T00:00:00+08:00\"}", true)]
    [TestCase(Profile, "}", ",\"prepaid\":false,\"balance\":null}", true)]
    [TestCase(Profile, "}", ",\"prepaid\":null,\"language\":null,\"reminders\":null,\"channels\":null,\"email\":null}", true)]
    [TestCase(Profile, "}", ",\"language\":\"en\",\"reminders\":\"off\",\"channels\":[\"email\",\"voice\",\"email\"],\"email\":\"a@b.example\"}", true)]
    [TestCase(Profile, "}", ",\"dataCap\":50000000,\"highSpendThreshold\":0,\"unknown\":[1]}", true)]
    [TestCase(Profile, "basic-58", "no-such-plan", true)]
    [TestCase(Profile, ",\"cycleDay\":15", "", false)] // no cycleDay
    [TestCase(Profile, ":15", ":29", false)] // cycleDay above 28
    [TestCase(Profile, ":15", ":0", false)] // cycleDay below 1
    [TestCase(Profile, ":15", ":15.0", false)] // cycleDay written with a fraction
    [TestCase(Profile, "basic-58", "", true)] // the empty string is a plan id like another: kept, its CDRs unknown-plan
    [TestCase(Profile, "8613800000002", "86-138", false)] // msisdn with a dash
    [TestCase(Profile, "}", ",\"prepaid\":true}", false)] // prepaid without balance and balanceAsOf
    [TestCase(Profile, "}", ",\"prepaid\":true,\"balance\":5}", false)] // prepaid without balanceAsOf
    [TestCase(Profile, "}", ",\"prepaid\":true,\"balance\":null,\"balanceAsOf\":\"2026-11-01T00:00:00+08:00\"}", false)] // prepaid with a null balance
    [TestCase(Profile, "}", ",\"prepaid\":\"yes\"}", false)] // prepaid not a boolean
    [TestCase(Profile, "}", ",\"balanceAsOf\":\"2026-11-01\"}", false)] // balanceAsOf a date, not an instant
    [TestCase(Profile, "}", ",\"language\":\"fr\"}", false)] // unsupported language
    [TestCase(Profile, "}", ",\"reminders\":\"no\"}", false)] // reminders neither on nor off
    [TestCase(Profile, "}", ",\"channels\":[]}", false)] // no channel
    [TestCase(Profile, "}", ",\"channels\":[\"fax\"]}", false)] // unknown channel
    [TestCase(Profile, "}", ",\"highSpendThreshold\":-1}", false)] // negative threshold
    [TestCase(Profile, "}", ",\"email\":5}", false)] // email not a string
    [TestCase(Profile, "}", ",\"plan\":\"mini-18\"}", false)] // plan given twice
    [TestCase(Profile, "}", ",\"type\":\"profile\"}", true)] // a profile line: its type is not a profile member
    [TestCase(Profile, "}", ",\"monthlyMinimum\":0}", true)]
    [TestCase(Profile, "}", ",\"monthlyMinimum\":1000000000000000}", true)]
    [TestCase(Profile, "}", ",\"monthlyMinimum\":null,\"services\":null,\"planEndsAt\":null}", true)]
    [TestCase(Profile, "}", ",\"planEndsAt\":\"2026-12-05T00:00:00+08:00\"}", true)]
    [TestCase(Profile, "}", ",\"services\":[]}", true)]
    [TestCase(Profile, "}", ",\"services\":[" + News + "]}", true)]
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"Az09._-\",\"name\":{\"zh\":\"a\",\"en\":\"b\",\"fr\":5},\"price\":0,\"orderedAt\":\"2026-11-10T09:00:00.5Z\",\"cancelledAt\":null,\"note\":[1]}]}", true)]
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"12345678901234567890123456789012\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1000000000000,\"orderedAt\":\"2026-11-10T09:00:00+08:00\",\"cancelledAt\":\"2026-11-10T09:00:00+08:00\"}]}", true)] // cancelled when ordered
    [TestCase(Profile, "}", ",\"monthlyMinimum\":-1}", false)]
    [TestCase(Profile, "}", ",\"monthlyMinimum\":1000000000000001}", false)] // above 10^15
    [TestCase(Profile, "}", ",\"monthlyMinimum\":\"60000000\"}", false)] // a string
    [TestCase(Profile, "}", ",\"planEndsAt\":\"2026-12-05\"}", false)] // a date, not an instant
    [TestCase(Profile, "}", ",\"services\":{}}", false)] // not a list
    [TestCase(Profile, "}", ",\"services\":[5]}", false)] // an item not an object
    [TestCase(Profile, "}", ",\"services\":[null]}", false)]
    [TestCase(Profile, "}", ",\"services\":[{\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // no id
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // empty id
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"123456789012345678901234567890123\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // id of 33 characters
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"a b\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // a space in the id
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"caf\u00e9\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // a letter outside A-Z a-z
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // no name
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":\"News\",\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // a name not an object
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // no English name
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // an empty Chinese name
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":null,\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)]
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // no price
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":null,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)]
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":-1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)]
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1000000000001,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // above 10^12
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1.0,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"}]}", false)] // written with a fraction
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1}]}", false)] // no orderedAt
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10\"}]}", false)]
    [TestCase(Profile, "}", ",\"services\":[{\"id\":\"x\",\"name\":{\"zh\":\"a\",\"en\":\"b\"},\"price\":1,\"orderedAt\":\"2026-11-10T09:00:00+08:00\",\"cancelledAt\":\"never\"}]}", false)]
    public async Task Subscriber_schema_and_profile_parser_agree_on_each_rule(string template, string find, string replacement, bool valid)
    {
        var bytes = Encoding.UTF8.GetBytes(Edit(template, find, replacement));
        var check = await RecordSchemas.CheckAsync(RecordSchemas.Subscriber, bytes);
        var profile = Subscribers.SubscriberProfile.TryParse(bytes, tariff: null, out var error);

        Assert.Multiple(() =>
        {
            Assert.That(profile is not null, Is.EqualTo(valid), $"parser: {error}");
            Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
        });
    }

    // ------------------------------------------------------------------ output records: the schemas constrain

    [TestCase("rated.jsonl", 1, null, null, true)]
    [TestCase("rated.jsonl", 1, "zeroRated", "\"apple-activation\"", false)] // zero-rated yet 120 billable units
    [TestCase("rated.jsonl", 7, null, null, true)]
    [TestCase("rated.jsonl", 7, "charge", "1", false)] // zero-rated yet charged
    [TestCase("rated.jsonl", 1, "zeroRated", null, false)] // zeroRated must be written, null when none
    [TestCase("rated.jsonl", 1, "charge", "-1", false)] // negative charge
    [TestCase("rated.jsonl", 1, "charge", "1000000000000001", false)] // charge above 10^15
    [TestCase("rated.jsonl", 1, "cycle", "\"2026-11-29\"", false)] // a cycle starts on day 1-28
    [TestCase("rated.jsonl", 1, "zone", "\"*\"", false)] // * is not a zone
    [TestCase("rated.jsonl", 1, "start", "\"2026-11-02T10:00:00+0800\"", false)] // not an instant
    [TestCase("rated.jsonl", 1, "extra", "1", false)] // a member the format does not have
    [TestCase("reminders.jsonl", 1, null, null, true)]
    [TestCase("reminders.jsonl", 1, "kind", "\"data-cap\"", false)] // allowance members under another kind
    [TestCase("reminders.jsonl", 1, "overageUnit", null, false)] // allowance without overageUnit
    [TestCase("reminders.jsonl", 1, "threshold", "128", true)] // any integer a plan lists
    [TestCase("reminders.jsonl", 1, "threshold", "80.5", false)] // not an integer
    [TestCase("reminders.jsonl", 1, "eventId", "\"8613800000001:2026-11-01:allowance:voice\"", false)] // eventId without the threshold
    [TestCase("reminders.jsonl", 1, "eventId", "\"8613800000001:2026-11-01:high-spend:80\"", false)] // eventId of another kind
    [TestCase("reminders.jsonl", 1, "spend", "5", false)] // a high-spend member on an allowance reminder
    [TestCase("reminders.jsonl", 5, "charged", "-1", false)] // negative data-cap charges
    [TestCase("reminders.jsonl", 6, "rates.smsMo", "null", true)]
    [TestCase("reminders.jsonl", 6, "rates.data", null, false)] // roaming rates without data
    [TestCase("reminders.jsonl", 6, "rates.voiceMo.unit", "0", false)] // a unit below 1
    [TestCase("reminders.jsonl", 6, "zone", "\"domestic\"", false)] // roaming into the home zone
    [TestCase("reminders.jsonl", 6, "mcc", "\"4540\"", false)] // an MCC of 4 digits
    [TestCase("reminders.jsonl", 8, "remaining", "-5", true)]
    [TestCase("reminders.jsonl", 8, "eventId", "\"8613800000002:2026-10-15:low-balance:2026-11-01\"", false)] // balanceAsOf not an instant
    [TestCase("reminders.jsonl", 9, "at", "\"2026-11-02 09:00:00Z\"", false)] // at is not an instant
    [TestCase("rated.jsonl", 1, "fee", "\"monthly\"", false)] // a fee member on a rated CDR
    [TestCase("rated.jsonl", 1, "durationSec", "null", false)] // a call without its duration
    [TestCase("rated.jsonl", 1, "spendAfter", null, false)] // no running spend
    [TestCase("rated.jsonl", 7, "durationSec", "60", false)] // a duration on an SMS
    [TestCase("rated.jsonl", 13, "direction", "\"mo\"", false)] // a direction on data
    [TestCase("rated.jsonl", 13, "bytes", "null", false)] // data without its volume
    [TestCase("rated.jsonl", 1, "zone", "null", false)] // a CDR without its zone
    [TestCase("bills.jsonl", 1, null, null, true)]
    [TestCase("bills.jsonl", 1, "total", null, false)] // no total
    [TestCase("bills.jsonl", 1, "usage.sms", null, false)] // usage without sms
    [TestCase("bills.jsonl", 1, "usage.voice.count", "-1", false)] // a negative count
    [TestCase("bills.jsonl", 1, "eventId", "\"8613800000001:2026-11-01\"", false)] // an eventId without :bill
    [TestCase("bills.jsonl", 1, "fees", "[{\"id\":\"8613800000001:2026-11-01:fee:monthly\",\"fee\":\"monthly\",\"serviceId\":null,\"charge\":18000000}]", true)]
    [TestCase("bills.jsonl", 1, "fees", "[{\"id\":\"8613800000001:2026-11-01:fee:monthly\",\"fee\":\"yearly\",\"serviceId\":null,\"charge\":1}]", false)] // an unknown fee kind
    [TestCase("bills.jsonl", 1, "discount", "0", false)] // a member the format does not have
    [TestCase("rejected.jsonl", 5, null, null, true)]
    [TestCase("rejected.jsonl", 5, "detail", "\"record is not JSON\"", true)]
    [TestCase("rejected.jsonl", 4, "id", "\"any string at all \\u0007\"", true)]
    [TestCase("rejected.jsonl", 5, "raw", null, false)] // the file form always carries raw
    [TestCase("rejected.jsonl", 5, "reason", "\"unknown\"", false)] // unknown reason
    [TestCase("rejected.jsonl", 4, "id", "5", false)] // id copied only when it is a string
    [TestCase("rejected.jsonl", 5, "offset", "17", false)] // a member the file form does not have
    public async Task Output_schemas_accept_the_example_records_and_refuse_broken_ones(
        string file, int line, string? path, string? valueJson, bool valid)
    {
        var schemaName = file switch
        {
            "rated.jsonl" => RecordSchemas.RatedCdr,
            "reminders.jsonl" => RecordSchemas.Reminder,
            "bills.jsonl" => RecordSchemas.Bill,
            _ => RecordSchemas.RejectedRecord,
        };
        var original = RecordSchemas.ReadLines(Example("expected", file))[line - 1];
        var bytes = Mutate(original, path, valueJson);
        var check = await RecordSchemas.CheckAsync(schemaName, bytes);

        Assert.That(check.Verdict == Verdict.Pass, Is.EqualTo(valid), check.ToString());
    }

    // ------------------------------------------------------------------ ratingctl rate on generated data

    [Test]
    public async Task Records_of_ratingctl_rate_on_generated_data_pass_the_output_schemas()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"ratingpipeline-schemas-{Guid.NewGuid():N}");
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await GenerateCommand.RunAsync(folder, subscribers: 200, cdrs: 4000, seed: 17, timeout.Token);
            var output = Path.Combine(folder, "out");
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var exit = await RateCommand.RunAsync(
                new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers.jsonl"),
                    Path.Combine(folder, "cdrs.jsonl"), output, Progress: false),
                stdout, stderr, timeout.Token);
            Assert.That(exit, Is.Zero, stderr.ToString());

            var tariff = await RecordSchemas.CheckAsync(RecordSchemas.Tariff, await File.ReadAllBytesAsync(Path.Combine(folder, "tariff.json")));
            var subscribers = await CheckFile(Path.Combine(folder, "subscribers.jsonl"), RecordSchemas.Subscriber);
            var rated = await CheckFile(Path.Combine(output, "rated.jsonl"), RecordSchemas.RatedCdr);
            var reminders = await CheckFile(Path.Combine(output, "reminders.jsonl"), RecordSchemas.Reminder);
            var rejected = await CheckFile(Path.Combine(output, "rejected.jsonl"), RecordSchemas.RejectedRecord);
            var bills = await CheckFile(Path.Combine(output, "bills.jsonl"), RecordSchemas.Bill);

            Assert.Multiple(() =>
            {
                Assert.That(tariff.Verdict, Is.EqualTo(Verdict.Pass), tariff.ToString());
                Assert.That(bills.Failures, Is.Empty);
                Assert.That(subscribers.Failures, Is.Empty);
                Assert.That(rated.Failures, Is.Empty);
                Assert.That(reminders.Failures, Is.Empty);
                Assert.That(rejected.Failures, Is.Empty);
                Assert.That(subscribers.Count, Is.EqualTo(200));
                Assert.That(rated.Count, Is.GreaterThan(3000), "most generated CDRs are rated");
                Assert.That(reminders.Count, Is.GreaterThan(0));
                Assert.That(rejected.Count, Is.GreaterThan(0));
                Assert.That(stdout.ToString(), Does.Contain($"{rated.Count} rated, {rejected.Count} rejected, {reminders.Count} reminders, {bills.Count} bills"));
            });
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Test]
    public async Task Generated_cdr_lines_failing_the_schema_are_exactly_those_rated_as_invalid()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"ratingpipeline-schemas-{Guid.NewGuid():N}");
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await GenerateCommand.RunAsync(folder, subscribers: 100, cdrs: 6000, seed: 23, timeout.Token);
            var output = Path.Combine(folder, "out");
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var exit = await RateCommand.RunAsync(
                new RateOptions(Path.Combine(folder, "tariff.json"), Path.Combine(folder, "subscribers.jsonl"),
                    Path.Combine(folder, "cdrs.jsonl"), output, Progress: false),
                stdout, stderr, timeout.Token);
            Assert.That(exit, Is.Zero, stderr.ToString());

            var schema = await RecordSchemas.LoadAsync(RecordSchemas.Cdr);
            var failing = RecordSchemas.ReadLines(Path.Combine(folder, "cdrs.jsonl"))
                .Where(line => RecordSchemas.Check(schema, line).Verdict is Verdict.NotJson or Verdict.SchemaFail)
                .Select(line => Encoding.UTF8.GetString(line))
                .ToHashSet(StringComparer.Ordinal);
            var invalid = RawOfRejected(Path.Combine(output, "rejected.jsonl"), "invalid").ToHashSet(StringComparer.Ordinal);

            Assert.That(failing, Is.Not.Empty, "the generator writes some malformed records");
            Assert.That(failing, Is.EquivalentTo(invalid));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static async Task<(int Count, List<string> Failures)> CheckFile(string path, string schemaName)
    {
        var schema = await RecordSchemas.LoadAsync(schemaName);
        var lines = RecordSchemas.ReadLines(path);
        var failures = lines
            .Select((line, i) => (Line: i + 1, Check: RecordSchemas.Check(schema, line)))
            .Where(x => x.Check.Verdict != Verdict.Pass)
            .Take(10)
            .Select(x => $"{Path.GetFileName(path)}:{x.Line}: {x.Check}")
            .ToList();
        return (lines.Count, failures);
    }

    private static List<string> RawOfRejected(string path, string reason) =>
        [.. RecordSchemas.ReadLines(path)
            .Select(line => JsonNode.Parse(line)!)
            .Where(record => (string?)record["reason"] == reason)
            .Select(record => (string)record["raw"]!)];

    private static async Task<JsonObject> SchemaNode(string name) =>
        JsonNode.Parse(await File.ReadAllTextAsync(RecordSchemas.PathOf(name)))!.AsObject();

    private static async Task<Regex> InstantPattern() =>
        new((string)(await SchemaNode(RecordSchemas.Cdr))["properties"]!["start"]!["pattern"]!);

    private static async Task<byte[]> Mutate(string file, string? path, string? valueJson) =>
        Mutate(await File.ReadAllBytesAsync(file), path, valueJson);

    /// <summary>
    /// Sets the member at a dotted path (array indexes as numbers) to a JSON value, or removes it when the value is
    /// null; a null path leaves the document as it is.
    /// </summary>
    private static byte[] Mutate(byte[] json, string? path, string? valueJson)
    {
        if (path is null)
        {
            return json;
        }

        var root = JsonNode.Parse(json)!;
        var names = path.Split('.');
        var parent = names[..^1].Aggregate(root, (node, name) => int.TryParse(name, out var index) && node is JsonArray array
            ? array[index]!
            : node[name]!);
        var last = names[^1];
        var value = valueJson is null ? null : JsonNode.Parse(valueJson);
        if (parent is JsonArray list)
        {
            list[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else if (valueJson is null)
        {
            parent.AsObject().Remove(last);
        }
        else
        {
            parent[last] = value;
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }
}
