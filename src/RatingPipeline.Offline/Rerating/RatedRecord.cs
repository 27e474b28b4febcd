using System.Text.Json;
using RatingPipeline.Records;
using RatingPipeline.Time;

namespace RatingPipeline.Rerating;

/// <summary>
/// A rated CDR as written to <c>rated.jsonl</c> / <c>rated-cdrs</c> (SPEC §5), read back for re-rating and
/// auditing. <see cref="MsisdnKey"/>, <see cref="CdrType"/> and <see cref="StartTicks"/> are derived from the
/// text fields when the record is read.
/// </summary>
public sealed record RatedRecord
{
    public required string Id { get; init; }

    public required string Msisdn { get; init; }

    public required ulong MsisdnKey { get; init; }

    public required string Type { get; init; }

    public required CdrType CdrType { get; init; }

    /// <summary><c>start</c> as received by the rater.</summary>
    public required string Start { get; init; }

    public required long StartTicks { get; init; }

    /// <summary>The billing cycle, <c>yyyy-MM-dd</c>.</summary>
    public required string Cycle { get; init; }

    public required string Plan { get; init; }

    public required string TariffVersion { get; init; }

    public required string Zone { get; init; }

    public required long BillableUnits { get; init; }

    public required long AllowanceUnits { get; init; }

    public required long OverageUnits { get; init; }

    /// <summary>Micros.</summary>
    public required long Charge { get; init; }

    /// <summary>The zero-rating rule's reason, or null when the record was not zero-rated.</summary>
    public string? ZeroRated { get; init; }

    /// <summary>The running totals of the record's cycle after it (SPEC §5), when the record carries them.</summary>
    public long? UsedAfter { get; init; }

    public long? CappedAfter { get; init; }

    public long? SpendAfter { get; init; }

    /// <summary>The CDR's direction (<c>mo</c>/<c>mt</c>) and normalised peer; null for data (or an older record without them).</summary>
    public string? Direction { get; init; }

    public string? Peer { get; init; }

    /// <summary>
    /// A fee record (SPEC §7.5; read only by <see cref="RatedRecordReader"/> with <see cref="RatedRecordReader.IncludeFees"/>):
    /// a charge of its cycle, not a CDR. Its <see cref="Zone"/> is empty and its <see cref="CdrType"/> means nothing.
    /// </summary>
    public bool IsFee { get; init; }
}

/// <summary>A rated-record file broke the record format; the message names the file and line.</summary>
public sealed class RatedFileException : Exception
{
    public RatedFileException()
        : base("rated file refused")
    {
    }

    public RatedFileException(string message)
        : base(message)
    {
    }

    /// <summary>Refused because of <paramref name="inner"/>: its message is added to <paramref name="message"/>, and it is kept as the cause.</summary>
    public RatedFileException(string message, Exception inner)
        : base(message + ": " + inner.Message, inner)
    {
    }
}

/// <summary>
/// Reads rated records (one JSON object each). Every SPEC §5 field is required with its type; unknown
/// members are ignored. Strings that repeat across records (type, cycle, plan, tariff version, zone,
/// zero-rating reason) are pooled, so holding millions of records costs little more than their ids.
/// Not thread-safe.
/// </summary>
public sealed class RatedRecordReader
{
    /// <summary>The <c>error</c> of <see cref="TryRead"/> for a fee record (SPEC §7.5): a charge of its cycle, not a CDR.</summary>
    public const string FeeRecord = "a fee record, not a rated CDR";

    private const int MaxPooled = 128;

    /// <summary>Whether fee records are read as records (<see cref="RatedRecord.IsFee"/>) instead of refused as <see cref="FeeRecord"/>.</summary>
    public bool IncludeFees { get; init; }

    private readonly Dictionary<string, string> _pool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _poolLookup;

    public RatedRecordReader() => _poolLookup = _pool.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Reads one record; null and an error for a line that is not a rated record.</summary>
    public RatedRecord? TryRead(ReadOnlySpan<byte> utf8, out string error)
    {
        try
        {
            return Read(utf8, out error);
        }
        catch (JsonException e)
        {
            error = "not valid JSON: " + e.Message;
            return null;
        }
    }

    /// <summary>
    /// One line of a rated-record file read as <see cref="ReadFileWithLines"/> reads it: a UTF-8 byte order mark at the
    /// start of the first line is dropped, bytes that are not UTF-8 read as U+FFFD, and a line that is blank or a fee
    /// record (without <see cref="IncludeFees"/>) is passed over (null, and a null error). Null and the error for a
    /// line that is not a rated record.
    /// </summary>
    public RatedRecord? TryReadLine(ReadOnlySpan<byte> line, bool first, out string? error)
    {
        line = Prepare(line, first);
        var record = TryRead(line, out var refused);
        error = record is not null || refused == FeeRecord || IsBlank(line) ? null : refused;
        return record;
    }

    /// <summary>
    /// <see cref="TryReadLine"/> without objects: true and the record in <paramref name="parsed"/>; false and a null error
    /// for a line passed over (blank, or a fee record without <paramref name="includeFees"/>); false and the error for a
    /// line that is no rated record.
    /// </summary>
    internal static bool TryParseLine(ReadOnlySpan<byte> line, bool first, bool includeFees, ref RatedLine parsed, out string? error)
    {
        line = Prepare(line, first);
        if (TryParse(line, includeFees, ref parsed, out var refused))
        {
            error = null;
            return true;
        }

        error = refused == FeeRecord || IsBlank(line) ? null : refused;
        return false;
    }

    /// <summary>A line as the reader takes it: without a UTF-8 byte order mark at the start of the first line, bytes that are not UTF-8 as U+FFFD.</summary>
    private static ReadOnlySpan<byte> Prepare(ReadOnlySpan<byte> line, bool first)
    {
        if (first && line.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            line = line[3..];
        }

        if (!System.Text.Unicode.Utf8.IsValid(line))
        {
            line = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(line));
        }

        return line;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => string.IsNullOrWhiteSpace(System.Text.Encoding.UTF8.GetString(line));

    private RatedRecord? Read(ReadOnlySpan<byte> utf8, out string error)
    {
        var line = default(RatedLine);
        if (!TryParse(utf8, IncludeFees, ref line, out error))
        {
            return null;
        }

        return new RatedRecord
        {
            Id = line.Id.ToText(),
            Msisdn = line.Msisdn.ToText(),
            MsisdnKey = line.MsisdnKey,
            Type = Pooled(in line.Type)!,
            CdrType = line.CdrType,
            Start = line.Start.ToText(),
            StartTicks = line.StartTicks,
            Cycle = Pooled(in line.Cycle)!,
            Plan = Pooled(in line.Plan)!,
            TariffVersion = Pooled(in line.TariffVersion)!,
            Zone = Pooled(in line.Zone) ?? "",
            BillableUnits = line.BillableUnits,
            AllowanceUnits = line.AllowanceUnits,
            OverageUnits = line.OverageUnits,
            Charge = line.Charge,
            ZeroRated = Pooled(in line.ZeroRated),
            UsedAfter = line.HasUsedAfter ? line.UsedAfter : null,
            CappedAfter = line.HasCappedAfter ? line.CappedAfter : null,
            SpendAfter = line.HasSpendAfter ? line.SpendAfter : null,
            Direction = Pooled(in line.Direction),
            Peer = line.Peer.IsPresent ? line.Peer.ToText() : null,
            IsFee = line.IsFee,
        };
    }

    /// <summary>
    /// Reads one rated record into <paramref name="line"/> without making objects: its strings are spans of
    /// <paramref name="utf8"/> (an escaped one is unescaped apart). Every SPEC §5 field is checked as
    /// <see cref="TryRead"/> checks it, with the same error; false and the error for a line that is no rated record
    /// (<see cref="FeeRecord"/> for a fee record without <paramref name="includeFees"/>).
    /// </summary>
    /// <remarks>
    /// A line in the layout the product writes is read by <see cref="CanonicalRatedLine"/> (the same result, faster);
    /// <paramref name="canonical"/> false reads every line with the JSON reader (the tests compare the two).
    /// </remarks>
    internal static bool TryParse(ReadOnlySpan<byte> utf8, bool includeFees, ref RatedLine line, out string error, bool canonical = true)
    {
        try
        {
            return Parse(utf8, includeFees, ref line, out error, canonical);
        }
        catch (JsonException e)
        {
            error = "not valid JSON: " + e.Message;
            return false;
        }
    }

    private static bool Parse(ReadOnlySpan<byte> utf8, bool includeFees, ref RatedLine line, out string error, bool canonical)
    {
        int seen;
        if (canonical && CanonicalRatedLine.TryRead(utf8, ref line))
        {
            seen = AllFields;
        }
        else
        {
            line = default;
            if (!ReadMembers(utf8, ref line, out seen, out error))
            {
                return false;
            }
        }

        return Check(includeFees, ref line, seen, out error);
    }

    /// <summary>
    /// The members of a rated record by the JSON reader, whatever their order, spacing and escapes; false and the error
    /// for a line whose members are not those of a rated record. <paramref name="seen"/>: a bit per known member read.
    /// </summary>
    internal static bool ReadMembers(ReadOnlySpan<byte> utf8, ref RatedLine line, out int seen, out string error)
    {
        seen = 0;
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "a rated record must be a JSON object";
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref reader);
            reader.Read();
            if (field < 0)
            {
                reader.Skip(); // unknown member
                continue;
            }

            if ((seen & (1 << field)) != 0)
            {
                error = $"member \"{Names[field]}\" is given twice";
                return false;
            }

            seen |= 1 << field;
            if (field >= FirstOptionalField)
            {
                // Per-call details and running totals: optional (records written before they existed lack them), null allowed.
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (field >= FirstOptionalStringField)
                {
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        error = $"{Names[field]} must be a string or null";
                        return false;
                    }

                    if (field == FirstOptionalStringField)
                    {
                        line.Direction = RatedText.Of(utf8, ref reader);
                    }
                    else
                    {
                        line.Peer = RatedText.Of(utf8, ref reader);
                    }

                    continue;
                }

                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var total))
                {
                    error = $"{Names[field]} must be an integer or null";
                    return false;
                }

                switch (field)
                {
                    case 13: line.UsedAfter = total; line.HasUsedAfter = true; break;
                    case 14: line.CappedAfter = total; line.HasCappedAfter = true; break;
                    default: line.SpendAfter = total; line.HasSpendAfter = true; break;
                }

                continue;
            }

            if (field == ZeroRatedField)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.String)
                {
                    error = "zeroRated must be a string or null";
                    return false;
                }

                line.ZeroRated = RatedText.Of(utf8, ref reader);
                continue;
            }

            if (field >= FirstNumberField)
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var number))
                {
                    error = $"{Names[field]} must be an integer";
                    return false;
                }

                switch (field)
                {
                    case 9: line.BillableUnits = number; break;
                    case 10: line.AllowanceUnits = number; break;
                    case 11: line.OverageUnits = number; break;
                    default: line.Charge = number; break;
                }

                continue;
            }

            if (field == ZoneField && reader.TokenType == JsonTokenType.Null)
            {
                continue; // a fee record's zone: told apart by its type below
            }

            if (reader.TokenType != JsonTokenType.String)
            {
                error = $"{Names[field]} must be a string";
                return false;
            }

            switch (field)
            {
                case 0: line.Id = RatedText.Of(utf8, ref reader); break;
                case 1: line.Msisdn = RatedText.Of(utf8, ref reader); break;
                case 2: line.Type = RatedText.Of(utf8, ref reader); break;
                case 3: line.Start = RatedText.Of(utf8, ref reader); break;
                case 4: line.Cycle = RatedText.Of(utf8, ref reader); break;
                case 5: line.Plan = RatedText.Of(utf8, ref reader); break;
                case 6: line.TariffVersion = RatedText.Of(utf8, ref reader); break;
                default: line.Zone = RatedText.Of(utf8, ref reader); break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            error = "a rated record must be exactly one JSON object";
            return false;
        }

        error = "";
        return true;
    }

    /// <summary>The rules of a rated record over its members read (<paramref name="seen"/>: a bit per member), and the fields derived from them.</summary>
    private static bool Check(bool includeFees, ref RatedLine line, int seen, out string error)
    {
        var isFee = line.Type.IsPresent && line.Type.Utf8.SequenceEqual("fee"u8);
        if (isFee && !includeFees)
        {
            error = FeeRecord;
            return false;
        }

        var missing = AllFields & ~seen;
        if (missing != 0)
        {
            error = $"{Names[System.Numerics.BitOperations.TrailingZeroCount(missing)]} is required";
            return false;
        }

        if (!line.Zone.IsPresent && !isFee)
        {
            error = "zone must be a string";
            return false;
        }

        if (!Records.MsisdnKey.TryCompute(line.Msisdn.Utf8, out line.MsisdnKey))
        {
            error = "msisdn must be 5-15 ASCII digits";
            return false;
        }

        var type = line.Type.Utf8;
        if (type.SequenceEqual("voice"u8))
        {
            line.CdrType = CdrType.Voice;
        }
        else if (type.SequenceEqual("sms"u8))
        {
            line.CdrType = CdrType.Sms;
        }
        else if (type.SequenceEqual("data"u8))
        {
            line.CdrType = CdrType.Data;
        }
        else if (!isFee)
        {
            error = "type must be voice, sms or data";
            return false;
        }

        if (!Instant.TryParse(line.Start.Utf8, out line.StartTicks))
        {
            error = "start must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)";
            return false;
        }

        line.IsFee = isFee;
        error = "";
        return true;
    }

    /// <summary>
    /// Reads a rated-record file (JSON Lines, blank lines skipped), stopping at the first bad line; fee records are
    /// skipped, or read with <paramref name="includeFees"/>.
    /// </summary>
    public static IEnumerable<RatedRecord> ReadFile(string path, bool includeFees = false) =>
        ReadFileWithLines(path, includeFees).Select(r => r.Record);

    /// <summary>Like <see cref="ReadFile"/>, with each record's line number (1-based).</summary>
    public static IEnumerable<(long Line, RatedRecord Record)> ReadFileWithLines(string path, bool includeFees = false)
    {
        var reader = new RatedRecordReader { IncludeFees = includeFees };
        long lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var record = reader.TryRead(System.Text.Encoding.UTF8.GetBytes(line), out var error);
            if (record is null && error == FeeRecord)
            {
                continue; // fee records share the file; only rated CDRs are re-rated and audited
            }

            yield return (lineNumber, record ?? throw new RatedFileException($"{path}:{lineNumber}: {error}"));
        }
    }

    private const int ZoneField = 7;
    private const int ZeroRatedField = 8;
    private const int FirstNumberField = 9;
    private const int FirstOptionalField = 13;
    private const int FirstOptionalStringField = 16;
    internal const int AllFields = (1 << 13) - 1;

    private static readonly string[] Names =
    [
        "id", "msisdn", "type", "start", "cycle", "plan", "tariffVersion", "zone", "zeroRated",
        "billableUnits", "allowanceUnits", "overageUnits", "charge",
        "usedAfter", "cappedAfter", "spendAfter", "direction", "peer",
    ];

    private static int FieldOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            var name = reader.GetString();
            return Array.IndexOf(Names, name);
        }

        if (reader.HasValueSequence)
        {
            return Array.IndexOf(Names, reader.GetString());
        }

        var raw = reader.ValueSpan;
        var field = raw.Length switch
        {
            2 => 0,
            4 => raw[0] switch { (byte)'t' => 2, (byte)'p' => raw[1] == (byte)'l' ? 5 : 17, _ => 7 },
            5 => raw[0] == (byte)'s' ? 3 : 4,
            6 => raw[0] == (byte)'m' ? 1 : 12,
            9 => raw[0] switch { (byte)'z' => 8, (byte)'u' => 13, _ => 16 },
            10 => 15,
            11 => 14,
            12 => 11,
            13 => raw[0] == (byte)'t' ? 6 : 9,
            14 => 10,
            _ => -1,
        };

        // The length and a letter or two pick the one name it can be; the whole name must still match.
        return field >= 0 && System.Text.Ascii.Equals(raw, Names[field]) ? field : -1;
    }

    /// <summary>A string value, shared with earlier equal values (pool bounded, so ids never fill it); null when absent.</summary>
    private string? Pooled(in RatedText text)
    {
        if (!text.IsPresent)
        {
            return null;
        }

        if (text.Text is not null || text.Utf8.Length > 64)
        {
            return text.ToText();
        }

        Span<char> buffer = stackalloc char[64];
        var chars = buffer[..System.Text.Encoding.UTF8.GetChars(text.Utf8, buffer)];
        if (_poolLookup.TryGetValue(chars, out var pooled))
        {
            return pooled;
        }

        var value = chars.ToString();
        if (_pool.Count < MaxPooled)
        {
            _pool[value] = value;
        }

        return value;
    }
}

/// <summary>
/// A string member of a rated record as read: its UTF-8 bytes (a span of the line, or the unescaped text's), and for an
/// escaped value the text as the JSON reader gives it.
/// </summary>
internal ref struct RatedText
{
    public ReadOnlySpan<byte> Utf8;

    /// <summary>The text of an escaped value (its <see cref="Utf8"/> then re-encodes it); null for an unescaped one.</summary>
    public string? Text;

    public bool IsPresent;

    /// <summary>The text, exactly as <see cref="Utf8JsonReader.GetString"/> reads it.</summary>
    public readonly string ToText() => Text ?? System.Text.Encoding.UTF8.GetString(Utf8);

    /// <summary>The reader's current string value: a span of the line when unescaped (the line is valid UTF-8).</summary>
    public static RatedText Of(ReadOnlySpan<byte> utf8, scoped ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            // The value is the token less its opening quote.
            return new RatedText { Utf8 = utf8.Slice((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length), IsPresent = true };
        }

        var text = reader.GetString()!;
        return new RatedText { Utf8 = System.Text.Encoding.UTF8.GetBytes(text), Text = text, IsPresent = true };
    }
}

/// <summary>One rated record as read by <see cref="RatedRecordReader.TryParse"/>: its members and derived fields, no objects.</summary>
internal ref struct RatedLine
{
    public RatedText Id;
    public RatedText Msisdn;
    public RatedText Type;
    public RatedText Start;
    public RatedText Cycle;
    public RatedText Plan;
    public RatedText TariffVersion;
    public RatedText Zone;
    public RatedText ZeroRated;
    public RatedText Direction;
    public RatedText Peer;
    public ulong MsisdnKey;
    public CdrType CdrType;
    public long StartTicks;
    public long BillableUnits;
    public long AllowanceUnits;
    public long OverageUnits;
    public long Charge;
    public long UsedAfter;
    public long CappedAfter;
    public long SpendAfter;
    public bool HasUsedAfter;
    public bool HasCappedAfter;
    public bool HasSpendAfter;
    public bool IsFee;
}
