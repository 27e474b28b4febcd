using System.Globalization;
using System.Numerics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RatingPipeline.Tests.Reference;

/// <summary>The four output files of one run (bills null when the file is not there) and its summary line.</summary>
public sealed record RunOutput(List<JsonObject> Rated, List<JsonObject> Reminders, List<JsonObject> Rejected, List<JsonObject>? Bills, string? Summary)
{
    public static RunOutput Of(ReferenceOutput o) => new(o.Rated, o.Reminders, o.Rejected, o.Bills, o.Summary?.ToString());

    /// <summary>Reads rated.jsonl, reminders.jsonl, rejected.jsonl and bills.jsonl from a folder.</summary>
    public static RunOutput Read(string folder, string? summary)
    {
        List<JsonObject>? Load(string name)
        {
            var path = Path.Combine(folder, name);
            return File.Exists(path)
                ? [.. File.ReadAllLines(path).Where(l => l.Trim().Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())]
                : null;
        }

        return new RunOutput(Load("rated.jsonl") ?? [], Load("reminders.jsonl") ?? [], Load("rejected.jsonl") ?? [], Load("bills.jsonl"), summary);
    }

    /// <summary>Writes the four files as JSON lines (for looking at a difference).</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        void Save(string name, List<JsonObject>? records)
        {
            if (records is not null)
            {
                File.WriteAllLines(Path.Combine(folder, name), records.Select(r => r.ToJsonString(OutputComparison.Plain)));
            }
        }

        Save("rated.jsonl", Rated);
        Save("reminders.jsonl", Reminders);
        Save("rejected.jsonl", Rejected);
        Save("bills.jsonl", Bills);
        if (Summary is not null)
        {
            File.WriteAllText(Path.Combine(folder, "summary.txt"), Summary + "\n");
        }
    }
}

/// <summary>
/// Compares two runs as data (Examples/README.md): every field equal, numbers by value, member order free; the
/// rejected record's <c>detail</c> is free text and not compared.
/// </summary>
public static class OutputComparison
{
    internal static readonly JsonSerializerOptions Plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The examples' way: rated records by id, reminders in order, rejected in order by reason and by id and msisdn
    /// (present or absent as expected), bills in order.
    /// </summary>
    public static List<string> ExampleDifferences(RunOutput expected, RunOutput actual)
    {
        var differences = new List<string>();
        if (actual.Rated.Count != expected.Rated.Count)
        {
            differences.Add($"rated: {actual.Rated.Count} records, expected {expected.Rated.Count}");
        }

        var byId = actual.Rated.GroupBy(r => (string?)r["id"]).ToDictionary(g => g.Key ?? "", g => g.ToList());
        foreach (var want in expected.Rated)
        {
            var id = (string?)want["id"] ?? "";
            if (!byId.TryGetValue(id, out var got) || got.Count == 0)
            {
                differences.Add($"rated {id}: missing");
                continue;
            }

            if (Difference(want, got[0]) is { } d)
            {
                differences.Add($"rated {id}: {d}");
            }

            got.RemoveAt(0);
        }

        InOrder("reminder", expected.Reminders, actual.Reminders, differences, rejectedView: false);
        InOrder("rejected", expected.Rejected, actual.Rejected, differences, rejectedView: true);
        if (expected.Bills is not null)
        {
            InOrder("bill", expected.Bills, actual.Bills ?? [], differences, rejectedView: false, missing: actual.Bills is null);
        }

        return differences;
    }

    /// <summary>
    /// The stricter way for generated streams, where each file is in processing order (§6): every file in order,
    /// rejected records by reason, id, msisdn and raw; then the summary line. The first difference, or null.
    /// </summary>
    public static string? FirstDifference(RunOutput reference, RunOutput engine)
    {
        var differences = new List<string>();
        InOrder("rated", reference.Rated, engine.Rated, differences, rejectedView: false);
        if (differences.Count == 0)
        {
            InOrder("reminder", reference.Reminders, engine.Reminders, differences, rejectedView: false);
        }

        if (differences.Count == 0)
        {
            InOrder("rejected", reference.Rejected, engine.Rejected, differences, rejectedView: true, compareRaw: true);
        }

        if (differences.Count == 0)
        {
            InOrder("bill", reference.Bills ?? [], engine.Bills ?? [], differences, rejectedView: false, missing: engine.Bills is null);
        }

        if (differences.Count == 0 && reference.Summary != engine.Summary)
        {
            differences.Add($"summary line: engine \"{engine.Summary}\", reference \"{reference.Summary}\"");
        }

        return differences.Count == 0 ? null : differences[0];
    }

    private static void InOrder(string what, List<JsonObject> expected, List<JsonObject> actual, List<string> differences, bool rejectedView,
        bool missing = false, bool compareRaw = false)
    {
        if (missing)
        {
            differences.Add($"{what}s: the file is missing, expected {expected.Count} records");
            return;
        }

        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            if (i >= actual.Count)
            {
                differences.Add($"{what} #{i + 1}: missing; expected {expected[i].ToJsonString(Plain)}");
                return;
            }

            if (i >= expected.Count)
            {
                differences.Add($"{what} #{i + 1}: extra {actual[i].ToJsonString(Plain)}");
                return;
            }

            var want = rejectedView ? RejectedFields(expected[i], compareRaw) : expected[i];
            var got = rejectedView ? RejectedFields(actual[i], compareRaw) : actual[i];
            if (Difference(want, got) is { } d)
            {
                differences.Add($"{what} #{i + 1} ({Label(expected[i])}): {d}\n  expected {expected[i].ToJsonString(Plain)}\n  actual   {actual[i].ToJsonString(Plain)}");
                return;
            }
        }
    }

    private static string Label(JsonObject o) => (string?)o["eventId"] ?? (string?)o["id"] ?? (string?)o["reason"] ?? "";

    private static JsonObject RejectedFields(JsonObject o, bool compareRaw)
    {
        var view = new JsonObject();
        foreach (var name in compareRaw ? ["reason", "id", "msisdn", "raw"] : (string[])["reason", "id", "msisdn"])
        {
            if (o.TryGetPropertyValue(name, out var v))
            {
                view[name] = v?.DeepClone();
            }
        }

        return view;
    }

    /// <summary>The first member that differs (missing, extra or unequal), or null when the objects are equal as data.</summary>
    public static string? Difference(JsonObject expected, JsonObject actual)
    {
        foreach (var (name, value) in expected)
        {
            if (!actual.TryGetPropertyValue(name, out var got))
            {
                return $"member {name} is missing (expected {Text(value)})";
            }

            if (!SameValue(value, got))
            {
                return $"{name} is {Text(got)}, expected {Text(value)}";
            }
        }

        foreach (var (name, value) in actual)
        {
            if (!expected.ContainsKey(name))
            {
                return $"member {name} is extra ({Text(value)})";
            }
        }

        return null;
    }

    private static string Text(JsonNode? node) => node?.ToJsonString(Plain) ?? "null";

    private static bool SameValue(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        switch (a)
        {
            case JsonObject ao when b is JsonObject bo:
                return Difference(ao, bo) is null;
            case JsonArray aa when b is JsonArray ba:
                return aa.Count == ba.Count && aa.Zip(ba).All(p => SameValue(p.First, p.Second));
            case JsonValue av when b is JsonValue bv:
                var ak = av.GetValueKind();
                var bk = bv.GetValueKind();
                if (ak != bk)
                {
                    return false;
                }

                return ak switch
                {
                    JsonValueKind.Number => NumberOf(av) == NumberOf(bv),
                    JsonValueKind.String => av.GetValue<string>() == bv.GetValue<string>(),
                    _ => true, // true, false (null is a null node)
                };
            default:
                return false;
        }
    }

    /// <summary>A JSON number by value: integers exactly, others as decimal.</summary>
    private static (BigInteger Integer, decimal? Other) NumberOf(JsonValue v)
    {
        var text = v.ToJsonString(Plain);
        return BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? (n, null)
            : (BigInteger.Zero, decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
    }
}
