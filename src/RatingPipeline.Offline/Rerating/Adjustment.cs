using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RatingPipeline.Rerating;

/// <summary>What made a ledger entry: a re-rate (<c>rerate</c>) or a goodwill credit given by hand (<c>goodwill</c>).</summary>
public enum AdjustmentKind : byte
{
    Rerate,
    Goodwill,
}

/// <summary>
/// One entry of the adjustment ledger (<c>adjustments.jsonl</c>, the <c>adjustments</c> topic): a credit or debit of
/// <see cref="Difference"/> micros for one subscriber (negative = credit), named by a deterministic
/// <see cref="AdjustmentId"/> that is never recorded twice.
/// </summary>
public abstract record LedgerEntry(string AdjustmentId, string Msisdn, long Difference)
{
    public abstract AdjustmentKind Kind { get; }

    /// <summary>The CDR the entry is for (a rated CDR's <c>id</c>), or null when it names none.</summary>
    public abstract string? CdrId { get; }

    /// <summary>The ledger's name of <paramref name="kind"/>: <c>rerate</c> or <c>goodwill</c>.</summary>
    public static string KindName(AdjustmentKind kind) => kind == AdjustmentKind.Goodwill ? "goodwill" : "rerate";
}

/// <summary>
/// A credit (or debit) for one rated CDR whose charge changes under a newer tariff.
/// <see cref="OldCharge"/> is the charge as it stands (the rated record's, or the last recorded adjustment's
/// new charge); <see cref="LedgerEntry.Difference"/> = <see cref="NewCharge"/> − <see cref="OldCharge"/>, micros.
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
    string? ZeroRated) : LedgerEntry(AdjustmentId, Msisdn, Difference)
{
    public override AdjustmentKind Kind => AdjustmentKind.Rerate;

    public override string? CdrId => Id;

    /// <summary>The deterministic id <c>msisdn:cycle:id:oldTariffVersion-&gt;newTariffVersion</c>.</summary>
    public static string IdOf(string msisdn, string cycle, string id, string oldTariffVersion, string newTariffVersion) =>
        $"{msisdn}:{cycle}:{id}:{oldTariffVersion}->{newTariffVersion}";
}

/// <summary>
/// A goodwill adjustment given by hand to one complaining subscriber (<c>ratingctl credit</c>): a credit of
/// <see cref="Amount"/> micros (a negative amount debits, e.g. to take back a credit given by mistake), with the
/// reason it was given and, optionally, the CDR it is for. <see cref="LedgerEntry.Difference"/> = −<see cref="Amount"/>.
/// </summary>
public sealed record GoodwillCredit(string AdjustmentId, string Msisdn, long Difference, string Reason, string? Cdr)
    : LedgerEntry(AdjustmentId, Msisdn, Difference)
{
    /// <summary>The largest amount one credit may carry, micros: SPEC's bound on one charge (10^15).</summary>
    public const long MaxAmount = 1_000_000_000_000_000;

    /// <summary>The longest reason, in characters.</summary>
    public const int MaxReasonLength = 500;

    public override AdjustmentKind Kind => AdjustmentKind.Goodwill;

    public override string? CdrId => Cdr;

    /// <summary>The amount credited, micros (−<see cref="LedgerEntry.Difference"/>).</summary>
    public long Amount => -Difference;

    /// <summary>
    /// The deterministic id <c>msisdn:goodwill:HASH</c>, HASH the 16 hex digits of XXH3-64 over the CDR id (empty for
    /// none), the amount and the reason, each ended by a line feed: the same credit given twice has the same id.
    /// </summary>
    public static string IdOf(string msisdn, long amount, string reason, string? cdr)
    {
        var text = System.Text.Encoding.UTF8.GetBytes($"{cdr}\n{amount.ToString(System.Globalization.CultureInfo.InvariantCulture)}\n{reason}\n");
        return $"{msisdn}:goodwill:{System.IO.Hashing.XxHash3.HashToUInt64(text):x16}";
    }

    /// <summary>
    /// A credit of <paramref name="amount"/> micros to <paramref name="msisdn"/>, or null and the rule broken: the msisdn
    /// is 5–15 ASCII digits; the amount a non-zero integer of at most <see cref="MaxAmount"/> either way; the reason not
    /// blank, at most <see cref="MaxReasonLength"/> characters, without control characters; the CDR id, when given,
    /// 1–64 printable ASCII characters (SPEC §2.1).
    /// </summary>
    public static GoodwillCredit? TryCreate(string msisdn, long amount, string reason, string? cdr, out string error)
    {
        error = Validate(msisdn, amount, reason, cdr) ?? "";
        return error.Length > 0 ? null : new GoodwillCredit(IdOf(msisdn, amount, reason, cdr), msisdn, -amount, reason, cdr);
    }

    private static string? Validate(string msisdn, long amount, string reason, string? cdr)
    {
        if (!Records.MsisdnKey.TryCompute(msisdn, out _))
        {
            return $"msisdn \"{msisdn}\" must be 5-15 ASCII digits";
        }

        if (amount == 0)
        {
            return "the amount must not be 0";
        }

        if (amount is > MaxAmount or < -MaxAmount)
        {
            return $"the amount {amount} is beyond {MaxAmount} micros either way (SPEC's bound on one charge)";
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            return "the reason must not be empty";
        }

        if (reason.Length > MaxReasonLength || reason.Any(char.IsControl))
        {
            return $"the reason must be one line of at most {MaxReasonLength} characters";
        }

        if (cdr is not null && (cdr.Length is < 1 or > 64 || cdr.Any(c => c is < ' ' or > '~')))
        {
            return $"the CDR id \"{cdr}\" must be 1-64 printable ASCII characters";
        }

        return null;
    }
}

/// <summary>An adjustment file broke the record format; the message names the file and line.</summary>
public sealed class AdjustmentFileException : Exception
{
    public AdjustmentFileException()
        : base("adjustment file refused")
    {
    }

    public AdjustmentFileException(string message)
        : base(message)
    {
    }

    /// <summary>Refused because of <paramref name="inner"/>: its message is added to <paramref name="message"/>, and it is kept as the cause.</summary>
    public AdjustmentFileException(string message, Exception inner)
        : base(message + ": " + inner.Message, inner)
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

    /// <summary>
    /// Writes one ledger entry. Both kinds have the same members: <c>adjustmentId</c>, <c>kind</c>, <c>id</c>,
    /// <c>msisdn</c>, <c>cycle</c>, <c>oldCharge</c>, <c>newCharge</c>, <c>difference</c>, <c>oldTariffVersion</c>,
    /// <c>newTariffVersion</c>, <c>zeroRated</c>, <c>reason</c>; those that do not apply are null.
    /// </summary>
    public static void Write(Utf8JsonWriter json, LedgerEntry entry)
    {
        json.WriteStartObject();
        json.WriteString("adjustmentId"u8, entry.AdjustmentId);
        json.WriteString("kind"u8, LedgerEntry.KindName(entry.Kind));
        var a = entry as Adjustment;
        var g = entry as GoodwillCredit;
        json.WriteStringOrNull("id"u8, entry.CdrId);
        json.WriteString("msisdn"u8, entry.Msisdn);
        json.WriteStringOrNull("cycle"u8, a?.Cycle);
        json.WriteNumberOrNull("oldCharge"u8, a?.OldCharge);
        json.WriteNumberOrNull("newCharge"u8, a?.NewCharge);
        json.WriteNumber("difference"u8, entry.Difference);
        json.WriteStringOrNull("oldTariffVersion"u8, a?.OldTariffVersion);
        json.WriteStringOrNull("newTariffVersion"u8, a?.NewTariffVersion);
        json.WriteStringOrNull("zeroRated"u8, a?.ZeroRated);
        json.WriteStringOrNull("reason"u8, g?.Reason);
        json.WriteEndObject();
    }

    /// <summary>One ledger entry as a line of JSON (with its '\n').</summary>
    public static byte[] ToLine(LedgerEntry adjustment)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(json, adjustment);
        }

        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Parses one ledger entry; null and an error for a line that is not one. A line without <c>kind</c> (written before
    /// goodwill credits existed) is a re-rating adjustment.
    /// </summary>
    public static LedgerEntry? TryParse(ReadOnlySpan<byte> utf8, out string error)
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

            var kind = root.TryGetProperty("kind", out var k) && k.ValueKind != JsonValueKind.Null ? k.GetString() : "rerate";
            if (kind == "goodwill")
            {
                return TryParseGoodwill(root, out error);
            }

            if (kind != "rerate")
            {
                error = "kind must be rerate or goodwill";
                return null;
            }

            var adjustment = new Adjustment(
                Text(root, "adjustmentId"), Text(root, "id"), Text(root, "msisdn"), Text(root, "cycle"),
                Number(root, "oldCharge"), Number(root, "newCharge"), Number(root, "difference"),
                Text(root, "oldTariffVersion"), Text(root, "newTariffVersion"),
                root.TryGetProperty("zeroRated", out var z) && z.ValueKind == JsonValueKind.String ? z.GetString() : null);
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

    private static GoodwillCredit? TryParseGoodwill(JsonElement root, out string error)
    {
        var id = Text(root, "adjustmentId");
        string? cdr = null;
        if (root.TryGetProperty("id", out var c) && c.ValueKind != JsonValueKind.Null)
        {
            cdr = c.ValueKind == JsonValueKind.String ? c.GetString() : throw new FormatException("id must be a string or null");
        }

        // The first credit command wrote "" for no CDR (and "" cycle and versions, oldCharge 0): read as none.
        cdr = cdr is "" ? null : cdr;

        var credit = GoodwillCredit.TryCreate(Text(root, "msisdn"), -Number(root, "difference"), Text(root, "reason"), cdr, out error);
        return credit is null ? null : credit with { AdjustmentId = id };
    }

    /// <summary>Reads an adjustment file (blank lines skipped); a missing file is an empty ledger.</summary>
    public static List<LedgerEntry> ReadFile(string path)
    {
        var adjustments = new List<LedgerEntry>();
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
