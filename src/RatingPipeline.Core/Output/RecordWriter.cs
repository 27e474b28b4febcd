using System.Buffers;
using System.Buffers.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Output;

/// <summary>
/// Writes the output records (rated, reminder, rejected) as compact JSON with one reusable
/// <see cref="Utf8JsonWriter"/>: after warm-up, writing allocates nothing.
/// </summary>
public sealed class RecordWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        // Keep '+' and the like readable: output is UTF-8 JSON for machines, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    /// <summary>
    /// The bytes the encoder writes as they are: the printable ASCII it does not escape. Asked of the encoder itself,
    /// so the fast path's output is the writer's, byte for byte.
    /// </summary>
    private static readonly SearchValues<byte> Verbatim = SearchValues.Create(VerbatimBytes());

    private readonly Utf8JsonWriter _json = new(Stream.Null, Options);

    /// <summary>Scratch for the raw text of a record that is not UTF-8 (one char per byte at most).</summary>
    private char[] _rawChars = new char[256];

    public void WriteRated(IBufferWriter<byte> output, in RatedCdr r)
    {
        if (!TryWriteRatedVerbatim(output, in r))
        {
            WriteRatedWithJsonWriter(output, in r);
        }
    }

    /// <summary>
    /// The fast path for a rated record whose strings all go out verbatim (printable ASCII the encoder does not
    /// escape: always so for a valid CDR under an ASCII tariff, except an id with a quote or backslash). It writes
    /// the same bytes as <see cref="WriteRatedWithJsonWriter"/> in one pass, without the writer's per-property checks.
    /// </summary>
    internal static bool TryWriteRatedVerbatim(IBufferWriter<byte> output, in RatedCdr r)
    {
        if (!IsVerbatim(r.Id) || !IsVerbatim(r.Msisdn) || !IsVerbatim(r.Start) || !IsVerbatim(r.Plan)
            || !IsVerbatim(r.TariffVersion) || !IsVerbatim(r.Zone) || (r.IsZeroRated && !IsVerbatim(r.ZeroRated)))
        {
            return false;
        }

        var size = RatedFixedBytes + r.Id.Length + r.Msisdn.Length + r.Start.Length + r.Plan.Length + r.TariffVersion.Length
            + r.Zone.Length + (r.IsZeroRated ? r.ZeroRated.Length + 2 : 4);
        var span = output.GetSpan(size);
        var n = 0;
        Append(span, ref n, "{\"id\":\""u8);
        Append(span, ref n, r.Id);
        Append(span, ref n, "\",\"msisdn\":\""u8);
        Append(span, ref n, r.Msisdn);
        Append(span, ref n, "\",\"type\":\""u8);
        Append(span, ref n, RecordNames.TypeName(r.Type));
        Append(span, ref n, "\",\"start\":\""u8);
        Append(span, ref n, r.Start);
        Append(span, ref n, "\",\"cycle\":\""u8);
        n += BillingCycle.Format(r.CycleDay, span[n..]);
        Append(span, ref n, "\",\"plan\":\""u8);
        Append(span, ref n, r.Plan);
        Append(span, ref n, "\",\"tariffVersion\":\""u8);
        Append(span, ref n, r.TariffVersion);
        Append(span, ref n, "\",\"zone\":\""u8);
        Append(span, ref n, r.Zone);
        Append(span, ref n, "\",\"billableUnits\":"u8);
        AppendNumber(span, ref n, r.BillableUnits);
        Append(span, ref n, ",\"allowanceUnits\":"u8);
        AppendNumber(span, ref n, r.AllowanceUnits);
        Append(span, ref n, ",\"overageUnits\":"u8);
        AppendNumber(span, ref n, r.OverageUnits);
        Append(span, ref n, ",\"charge\":"u8);
        AppendNumber(span, ref n, r.Charge);
        if (r.IsZeroRated)
        {
            Append(span, ref n, ",\"zeroRated\":\""u8);
            Append(span, ref n, r.ZeroRated);
            Append(span, ref n, "\"}"u8);
        }
        else
        {
            Append(span, ref n, ",\"zeroRated\":null}"u8);
        }

        output.Advance(n);
        return true;
    }

    /// <summary>Member names and punctuation of a rated record, its type (≤ 5), cycle (≤ 16) and four numbers (≤ 20 each).</summary>
    private const int RatedFixedBytes = 192 + 5 + 16 + (4 * 20);

    private static bool IsVerbatim(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept(Verbatim) < 0;

    /// <summary>The general path: any strings, escaped by the JSON writer.</summary>
    internal void WriteRatedWithJsonWriter(IBufferWriter<byte> output, in RatedCdr r)
    {
        Span<byte> cycle = stackalloc byte[16];
        var json = Begin(output);
        json.WriteStartObject();
        json.WriteString("id"u8, r.Id);
        json.WriteString("msisdn"u8, r.Msisdn);
        json.WriteString("type"u8, RecordNames.TypeName(r.Type));
        json.WriteString("start"u8, r.Start);
        json.WriteString("cycle"u8, cycle[..BillingCycle.Format(r.CycleDay, cycle)]);
        json.WriteString("plan"u8, r.Plan);
        json.WriteString("tariffVersion"u8, r.TariffVersion);
        json.WriteString("zone"u8, r.Zone);
        json.WriteNumber("billableUnits"u8, r.BillableUnits);
        json.WriteNumber("allowanceUnits"u8, r.AllowanceUnits);
        json.WriteNumber("overageUnits"u8, r.OverageUnits);
        json.WriteNumber("charge"u8, r.Charge);
        if (r.IsZeroRated)
        {
            json.WriteString("zeroRated"u8, r.ZeroRated);
        }
        else
        {
            json.WriteNull("zeroRated"u8);
        }

        json.WriteEndObject();
        json.Flush();
    }

    public void WriteReminder(IBufferWriter<byte> output, in ReminderEvent e)
    {
        Span<byte> cycle = stackalloc byte[16];
        Span<byte> eventId = stackalloc byte[EventIdMax];
        var cycleText = cycle[..BillingCycle.Format(e.CycleDay, cycle)];
        var json = Begin(output);
        json.WriteStartObject();
        json.WriteString("eventId"u8, eventId[..EventId(in e, cycleText, eventId)]);
        json.WriteString("msisdn"u8, e.Msisdn);
        json.WriteString("kind"u8, KindName(e.Kind));
        json.WriteString("cycle"u8, cycleText);
        json.WriteString("cdrId"u8, e.CdrId);
        json.WriteString("at"u8, e.At);
        switch (e.Kind)
        {
            case ReminderKind.Allowance:
                json.WriteString("type"u8, RecordNames.TypeName(e.Type));
                json.WriteNumber("threshold"u8, e.Threshold);
                json.WriteNumber("used"u8, e.Amount);
                json.WriteNumber("allowance"u8, e.Limit);
                json.WriteNumber("overagePrice"u8, e.OveragePrice);
                json.WriteNumber("overageUnit"u8, e.OverageUnit);
                break;
            case ReminderKind.DataCap:
                json.WriteNumber("cap"u8, e.Limit);
                json.WriteNumber("charged"u8, e.Amount);
                break;
            case ReminderKind.HighSpend:
                json.WriteNumber("threshold"u8, e.Threshold);
                json.WriteNumber("spend"u8, e.Amount);
                break;
            case ReminderKind.LowBalance:
                json.WriteNumber("threshold"u8, e.Threshold);
                json.WriteNumber("remaining"u8, e.Amount);
                break;
            case ReminderKind.Roaming:
                Span<byte> mcc = stackalloc byte[3];
                json.WriteString("mcc"u8, FormatMcc(e.Mcc, mcc));
                json.WriteString("zone"u8, e.Zone);
                json.WritePropertyName("rates"u8);
                json.WriteStartObject();
                var plan = e.Plan!;
                WriteRoamingRate(json, "voiceMo"u8, plan, plan.FindRate(CdrType.Voice, e.ZoneIndex, Direction.Mo, Dest.National));
                WriteRoamingRate(json, "voiceMt"u8, plan, plan.FindRate(CdrType.Voice, e.ZoneIndex, Direction.Mt, Dest.National));
                WriteRoamingRate(json, "smsMo"u8, plan, plan.FindRate(CdrType.Sms, e.ZoneIndex, Direction.Mo, Dest.National));
                WriteRoamingRate(json, "data"u8, plan, plan.FindRate(CdrType.Data, e.ZoneIndex, Direction.None, Dest.None));
                json.WriteEndObject();
                break;
        }

        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>
    /// A rejected record for a file: reason, detail, id and msisdn when readable, and the original line as
    /// <c>raw</c> (bytes that are not UTF-8 are replaced by U+FFFD, as a JSON string cannot carry them).
    /// </summary>
    public void WriteRejected(IBufferWriter<byte> output, in RejectedCdr r, bool includeRaw = true)
    {
        var json = Begin(output);
        json.WriteStartObject();
        json.WriteString("reason"u8, RecordNames.ReasonName(r.Reason));
        json.WriteString("detail"u8, r.Detail);
        if (r.HasId)
        {
            json.WriteString("id"u8, r.Id);
        }

        if (r.HasMsisdn)
        {
            json.WriteString("msisdn"u8, r.Msisdn);
        }

        if (includeRaw)
        {
            if (System.Text.Unicode.Utf8.IsValid(r.Raw))
            {
                json.WriteString("raw"u8, r.Raw);
            }
            else
            {
                // Each invalid sequence becomes U+FFFD, decoded into a reused buffer rather than a new string.
                if (_rawChars.Length < r.Raw.Length)
                {
                    _rawChars = new char[Math.Max(r.Raw.Length, _rawChars.Length * 2)];
                }

                System.Text.Unicode.Utf8.ToUtf16(r.Raw, _rawChars, out _, out var chars, replaceInvalidSequences: true);
                json.WriteString("raw"u8, _rawChars.AsSpan(0, chars));
            }
        }

        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>Longest event id: msisdn(15):cycle(10+):kind(11):mcc(3):cdrId(64), or a balanceAsOf of ≤ 33.</summary>
    public const int EventIdMax = 160;

    /// <summary>Writes the deterministic event id <c>msisdn:cycle:kind:detail</c>; returns its length.</summary>
    public static int EventId(in ReminderEvent e, ReadOnlySpan<byte> cycle, Span<byte> destination)
    {
        var n = 0;
        Append(destination, ref n, e.Msisdn);
        Append(destination, ref n, ":"u8);
        Append(destination, ref n, cycle);
        Append(destination, ref n, ":"u8);
        Append(destination, ref n, KindName(e.Kind));
        Append(destination, ref n, ":"u8);
        switch (e.Kind)
        {
            case ReminderKind.Allowance:
                Append(destination, ref n, RecordNames.TypeName(e.Type));
                Append(destination, ref n, ":"u8);
                AppendNumber(destination, ref n, e.Threshold);
                break;
            case ReminderKind.DataCap:
                AppendNumber(destination, ref n, e.Limit);
                break;
            case ReminderKind.HighSpend:
                AppendNumber(destination, ref n, e.Threshold);
                break;
            case ReminderKind.LowBalance:
                Append(destination, ref n, e.BalanceAsOf);
                break;
            case ReminderKind.Roaming:
                Span<byte> mcc = stackalloc byte[3];
                Append(destination, ref n, FormatMcc(e.Mcc, mcc));
                Append(destination, ref n, ":"u8);
                Append(destination, ref n, e.CdrId);
                break;
        }

        return n;
    }

    public static ReadOnlySpan<byte> KindName(ReminderKind kind) => kind switch
    {
        ReminderKind.Allowance => "allowance"u8,
        ReminderKind.DataCap => "data-cap"u8,
        ReminderKind.HighSpend => "high-spend"u8,
        ReminderKind.LowBalance => "low-balance"u8,
        _ => "roaming"u8,
    };

    private static void WriteRoamingRate(Utf8JsonWriter json, ReadOnlySpan<byte> name, RatePlan plan, int rateIndex)
    {
        if (rateIndex < 0)
        {
            json.WriteNull(name);
            return;
        }

        var rate = plan.RateAt(rateIndex);
        json.WritePropertyName(name);
        json.WriteStartObject();
        json.WriteNumber("price"u8, rate.Price);
        json.WriteNumber("unit"u8, rate.Unit);
        json.WriteEndObject();
    }

    private static ReadOnlySpan<byte> FormatMcc(int mcc, Span<byte> buffer)
    {
        buffer[0] = (byte)('0' + (mcc / 100));
        buffer[1] = (byte)('0' + (mcc / 10 % 10));
        buffer[2] = (byte)('0' + (mcc % 10));
        return buffer;
    }

    private static void Append(Span<byte> destination, ref int n, ReadOnlySpan<byte> text)
    {
        text.CopyTo(destination[n..]);
        n += text.Length;
    }

    private static void AppendNumber(Span<byte> destination, ref int n, long value)
    {
        Utf8Formatter.TryFormat(value, destination[n..], out var written);
        n += written;
    }

    private static byte[] VerbatimBytes()
    {
        var verbatim = new List<byte>();
        Span<byte> one = stackalloc byte[1];
        for (var b = 0x20; b < 0x7F; b++)
        {
            one[0] = (byte)b;
            if (Options.Encoder!.FindFirstCharacterToEncodeUtf8(one) < 0)
            {
                verbatim.Add((byte)b);
            }
        }

        return [.. verbatim];
    }

    private Utf8JsonWriter Begin(IBufferWriter<byte> output)
    {
        _json.Reset(output);
        return _json;
    }
}
