using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RatingPipeline.Rerating;

/// <summary>
/// A credit (or debit) for one rated CDR whose charge changes under a newer tariff (kind <c>rerate</c>), or a goodwill
/// adjustment an operator grants one subscriber (kind <c>goodwill</c>, <c>ratingctl credit</c>: the manual reduction
/// the circular allows for a complaining subscriber, with its <see cref="Reason"/>, on a named CDR or on the account).
/// <see cref="OldCharge"/> is the charge as it stands (the rated record's, or the last recorded adjustment's
/// new charge); <see cref="Difference"/> = <see cref="NewCharge"/> − <see cref="OldCharge"/>, micros. A goodwill
/// adjustment has old charge 0 and new charge −amount, no cycle or tariff versions (empty), and the CDR's id or "".
/// </summary>
public sealed record Adjustment(
    string AdjustmentId,
    string Id,
    string Msisdn,
    string Cycle,
    long OldCharge,
    long NewCharge,
    long Difference,
    string OldTariffVersion,
    string NewTariffVersion,
    string? ZeroRated,
    string Kind = Adjustment.Rerate,
    string? Reason = null)
{
    public const string Rerate = "rerate";
    public const string Goodwill = "goodwill";

    public bool IsGoodwill => Kind == Goodwill;

    /// <summary>
    /// A goodwill credit of <paramref name="amount"/> micros (positive: the subscriber pays that much less) with its
    /// deterministic id <c>msisdn:goodwill:CDR-or-account:hash</c>, the hash over amount and reason: the same credit
    /// given twice is recorded once.
    /// </summary>
    public static Adjustment GoodwillCredit(string msisdn, long amount, string reason, string? cdrId)
    {
        var key = System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes($"{amount}\n{reason}"));
        var id = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{msisdn}:goodwill:{cdrId ?? "account"}:{key:x16}");
        return new Adjustment(id, cdrId ?? "", msisdn, "", 0, -amount, -amount, "", "", null, Goodwill, reason);
    }

    /// <summary>The deterministic id <c>msisdn:cycle:id:oldTariffVersion-&gt;newTariffVersion</c>.</summary>
    public static string IdOf(string msisdn, string cycle, string id, string oldTariffVersion, string newTariffVersion) =>
        $"{msisdn}:{cycle}:{id}:{oldTariffVersion}->{newTariffVersion}";
}

/// <summary>An adjustment file broke the record format; the message names the file and line.</summary>
public sealed class AdjustmentFileException(string message) : Exception(message)
{
    public AdjustmentFileException()
        : this("adjustment file refused")
    {
    }

    public AdjustmentFileException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}

/// <summary>Adjustments as JSON Lines (<c>adjustments.jsonl</c>).</summary>
public static class AdjustmentJson
{
    internal static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(Utf8JsonWriter json, Adjustment a)
    {
        json.WriteStartObject();
        json.WriteString("adjustmentId"u8, a.AdjustmentId);
        json.WriteString("id"u8, a.Id);
        json.WriteString("msisdn"u8, a.Msisdn);
        json.WriteString("cycle"u8, a.Cycle);
        json.WriteNumber("oldCharge"u8, a.OldCharge);
        json.WriteNumber("newCharge"u8, a.NewCharge);
        json.WriteNumber("difference"u8, a.Difference);
        json.WriteString("oldTariffVersion"u8, a.OldTariffVersion);
        json.WriteString("newTariffVersion"u8, a.NewTariffVersion);
        if (a.ZeroRated is null)
        {
            json.WriteNull("zeroRated"u8);
        }
        else
        {
            json.WriteString("zeroRated"u8, a.ZeroRated);
        }

        if (a.IsGoodwill)
        {
            json.WriteString("kind"u8, a.Kind);
            json.WriteString("reason"u8, a.Reason);
        }

        json.WriteEndObject();
    }

    /// <summary>One adjustment as a line of JSON (with its '\n').</summary>
    public static byte[] ToLine(Adjustment adjustment)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(json, adjustment);
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses one adjustment; null and an error for a line that is not one.</summary>
    public static Adjustment? TryParse(ReadOnlySpan<byte> utf8, out string error)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "an adjustment must be a JSON object";
                return null;
            }

            var adjustment = new Adjustment(
                Text(root, "adjustmentId"), Text(root, "id"), Text(root, "msisdn"), Text(root, "cycle"),
                Number(root, "oldCharge"), Number(root, "newCharge"), Number(root, "difference"),
                Text(root, "oldTariffVersion"), Text(root, "newTariffVersion"),
                root.TryGetProperty("zeroRated", out var z) && z.ValueKind == JsonValueKind.String ? z.GetString() : null,
                root.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString()! : Adjustment.Rerate,
                root.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null);
            if (adjustment.Kind is not (Adjustment.Rerate or Adjustment.Goodwill))
            {
                error = $"kind {adjustment.Kind} is not rerate or goodwill";
                return null;
            }
            if (adjustment.Difference != adjustment.NewCharge - adjustment.OldCharge)
            {
                error = "difference is not newCharge - oldCharge";
                return null;
            }

            error = "";
            return adjustment;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>Reads an adjustment file (blank lines skipped); a missing file is an empty ledger.</summary>
    public static List<Adjustment> ReadFile(string path)
    {
        var adjustments = new List<Adjustment>();
        if (!File.Exists(path))
        {
            return adjustments;
        }

        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            adjustments.Add(TryParse(System.Text.Encoding.UTF8.GetBytes(line), out var error)
                ?? throw new AdjustmentFileException($"{path}:{lineNumber}: {error}"));
        }

        return adjustments;
    }

    private static string Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FormatException($"{name} is required and must be a string");

    private static long Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var n)
            ? n
            : throw new FormatException($"{name} is required and must be an integer");
}
