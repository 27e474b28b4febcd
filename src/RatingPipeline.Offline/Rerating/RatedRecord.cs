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
        if (first && line.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            line = line[3..];
        }

        if (!System.Text.Unicode.Utf8.IsValid(line))
        {
            line = System.Text.Encoding.UTF8.GetBytes(System.Text.Encoding.UTF8.GetString(line));
        }

        var record = TryRead(line, out var refused);
        error = record is not null || refused == FeeRecord || string.IsNullOrWhiteSpace(System.Text.Encoding.UTF8.GetString(line)) ? null : refused;
        return record;
    }

    private RatedRecord? Read(ReadOnlySpan<byte> utf8, out string error)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "a rated record must be a JSON object";
            return null;
        }

        string? id = null, msisdn = null, type = null, start = null, cycle = null, plan = null, version = null, zone = null, zeroRated = null;
        string? direction = null, peer = null;
        long? billable = null, allowance = null, overage = null, charge = null, usedAfter = null, cappedAfter = null, spendAfter = null;
        var seen = 0;
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
                return null;
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
                        return null;
                    }

                    if (field == FirstOptionalStringField)
                    {
                        direction = Pooled(ref reader);
                    }
                    else
                    {
                        peer = reader.GetString();
                    }

                    continue;
                }

                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var total))
                {
                    error = $"{Names[field]} must be an integer or null";
                    return null;
                }

                switch (field)
                {
                    case 13: usedAfter = total; break;
                    case 14: cappedAfter = total; break;
                    default: spendAfter = total; break;
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
                    return null;
                }

                zeroRated = Pooled(ref reader);
                continue;
            }

            if (field >= FirstNumberField)
            {
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var number))
                {
                    error = $"{Names[field]} must be an integer";
                    return null;
                }

                switch (field)
                {
                    case 9: billable = number; break;
                    case 10: allowance = number; break;
                    case 11: overage = number; break;
                    default: charge = number; break;
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
                return null;
            }

            switch (field)
            {
                case 0: id = reader.GetString(); break;
                case 1: msisdn = reader.GetString(); break;
                case 2: type = Pooled(ref reader); break;
                case 3: start = reader.GetString(); break;
                case 4: cycle = Pooled(ref reader); break;
                case 5: plan = Pooled(ref reader); break;
                case 6: version = Pooled(ref reader); break;
                default: zone = Pooled(ref reader); break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            error = "a rated record must be exactly one JSON object";
            return null;
        }

        var isFee = type == "fee";
        if (isFee && !IncludeFees)
        {
            error = FeeRecord;
            return null;
        }

        var missing = AllFields & ~seen;
        if (missing != 0)
        {
            error = $"{Names[System.Numerics.BitOperations.TrailingZeroCount(missing)]} is required";
            return null;
        }

        if (zone is null && !isFee)
        {
            error = "zone must be a string";
            return null;
        }

        if (!Records.MsisdnKey.TryCompute(msisdn!, out var key))
        {
            error = "msisdn must be 5-15 ASCII digits";
            return null;
        }

        CdrType cdrType;
        switch (type)
        {
            case "voice": cdrType = CdrType.Voice; break;
            case "sms": cdrType = CdrType.Sms; break;
            case "data": cdrType = CdrType.Data; break;
            case "fee" when isFee: cdrType = default; break;
            default:
                error = "type must be voice, sms or data";
                return null;
        }

        if (!Instant.TryParse(start!, out var startTicks))
        {
            error = "start must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)";
            return null;
        }

        error = "";
        return new RatedRecord
        {
            Id = id!,
            Msisdn = msisdn!,
            MsisdnKey = key,
            Type = type!,
            CdrType = cdrType,
            Start = start!,
            StartTicks = startTicks,
            Cycle = cycle!,
            Plan = plan!,
            TariffVersion = version!,
            Zone = zone ?? "",
            BillableUnits = billable!.Value,
            AllowanceUnits = allowance!.Value,
            OverageUnits = overage!.Value,
            Charge = charge!.Value,
            ZeroRated = zeroRated,
            UsedAfter = usedAfter,
            CappedAfter = cappedAfter,
            SpendAfter = spendAfter,
            Direction = direction,
            Peer = peer,
            IsFee = isFee,
        };
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
    private const int AllFields = (1 << 13) - 1;

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

        var raw = reader.ValueSpan;
        for (var i = 0; i < Names.Length; i++)
        {
            if (System.Text.Ascii.Equals(raw, Names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A string value, shared with earlier equal values (pool bounded, so ids never fill it).</summary>
    private string Pooled(ref Utf8JsonReader reader)
    {
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > 64)
        {
            return reader.GetString()!;
        }

        Span<char> buffer = stackalloc char[64];
        var chars = buffer[..reader.CopyString(buffer)];
        if (_poolLookup.TryGetValue(chars, out var pooled))
        {
            return pooled;
        }

        var text = chars.ToString();
        if (_pool.Count < MaxPooled)
        {
            _pool[text] = text;
        }

        return text;
    }
}
