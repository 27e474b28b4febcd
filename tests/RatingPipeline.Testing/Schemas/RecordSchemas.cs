using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NJsonSchema;
using NUnit.Framework;

namespace RatingPipeline.Tests.Schemas;

/// <summary>What checking one JSON Lines line against a record schema found.</summary>
public enum Verdict
{
    /// <summary>Only JSON whitespace: skipped by readers, not a record.</summary>
    Blank,

    /// <summary>Breaks the JSON rules every record shares (UTF-8, one RFC 8259 value, no name twice, nothing after it).</summary>
    NotJson,

    /// <summary>Well-formed JSON that the schema refuses.</summary>
    SchemaFail,

    /// <summary>Well-formed JSON that the schema accepts.</summary>
    Pass,
}

/// <summary>The verdict and the validator's messages (empty on a pass).</summary>
public sealed record RecordCheck(Verdict Verdict, IReadOnlyList<string> Errors)
{
    public override string ToString() => Errors.Count == 0 ? Verdict.ToString() : $"{Verdict}: {string.Join("; ", Errors)}";
}

/// <summary>
/// Loads the record schemas from <c>schemas/</c> (copied next to the test assembly) and checks records in two steps:
/// first the JSON rules a schema cannot see (a parsed object no longer shows a repeated name or trailing text),
/// with System.Text.Json in its strict mode; then the schema, with NJsonSchema.
/// </summary>
public static class RecordSchemas
{
    public const string Cdr = "cdr.schema.json";
    public const string Subscriber = "subscriber.schema.json";
    public const string Tariff = "tariff.schema.json";
    public const string RatedCdr = "rated-cdr.schema.json";
    public const string Reminder = "reminder.schema.json";
    public const string RejectedRecord = "rejected-record.schema.json";
    public const string NoticeRecord = "notice-record.schema.json";
    public const string Bill = "bill.schema.json";
    public const string Clock = "clock.schema.json";
    public const string Location = "location.schema.json";
    public const string Adjustment = "adjustment.schema.json";
    public const string Usage = "usage.schema.json";

    public static readonly string[] All = [Cdr, Subscriber, Tariff, RatedCdr, Reminder, RejectedRecord, NoticeRecord, Bill, Clock, Location, Adjustment, Usage];

    /// <summary>The nesting bound of the rater's CDR decoder, so deep but valid records are judged alike.</summary>
    private const int MaxDepth = 256;

    private static readonly JsonDocumentOptions StrictJson = new()
    {
        AllowDuplicateProperties = false,
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
    };

    private static readonly ConcurrentDictionary<string, Task<JsonSchema>> Loaded = new(StringComparer.Ordinal);

    public static string Folder => Path.Combine(TestContext.CurrentContext.TestDirectory, "schemas");

    public static string PathOf(string name) => Path.Combine(Folder, name);

    public static Task<JsonSchema> LoadAsync(string name) =>
        Loaded.GetOrAdd(name, static n => JsonSchema.FromFileAsync(PathOf(n)));

    public static async Task<RecordCheck> CheckAsync(string schemaName, ReadOnlyMemory<byte> record) =>
        Check(await LoadAsync(schemaName), record);

    public static RecordCheck Check(JsonSchema schema, ReadOnlyMemory<byte> record)
    {
        var bytes = record.Span;
        if (bytes.IndexOfAnyExcept(" \t\r"u8) < 0)
        {
            return new RecordCheck(Verdict.Blank, []);
        }

        if (bytes.StartsWith("\xEF\xBB\xBF"u8))
        {
            return new RecordCheck(Verdict.NotJson, ["a byte-order mark is not JSON whitespace"]);
        }

        try
        {
            using var document = JsonDocument.Parse(record, StrictJson);
        }
        catch (System.Text.Json.JsonException e)
        {
            return new RecordCheck(Verdict.NotJson, [e.Message]);
        }

        // Strings stay strings (no date conversion), so patterns see the text exactly as written.
        using var reader = new JsonTextReader(new StringReader(Encoding.UTF8.GetString(bytes)))
        {
            DateParseHandling = DateParseHandling.None,
            MaxDepth = MaxDepth,
        };
        var token = JToken.ReadFrom(reader);
        var errors = schema.Validate(token, SchemaType.JsonSchema);
        return errors.Count == 0
            ? new RecordCheck(Verdict.Pass, [])
            : new RecordCheck(Verdict.SchemaFail, [.. errors.Select(e => e.ToString())]);
    }

    /// <summary>The lines of a JSON Lines file as bytes, split at <c>\n</c> (a final line end starts no line).</summary>
    public static List<byte[]> ReadLines(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                lines.Add(bytes[start..i]);
                start = i + 1;
            }
        }

        if (start < bytes.Length)
        {
            lines.Add(bytes[start..]);
        }

        return lines;
    }
}
