using System.Buffers;
using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Encodings.Web;
using System.Text.Json;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
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
        if (r.IsFee || !TryWriteRatedVerbatim(output, in r))
        {
            WriteRatedWithJsonWriter(output, in r);
        }
    }

    /// <summary>
    /// The fast path for a rated CDR whose strings all go out verbatim (printable ASCII the encoder does not
    /// escape: always so for a valid CDR under an ASCII tariff, except an id with a quote or backslash). It writes
    /// the same bytes as <see cref="WriteRatedWithJsonWriter"/> in one pass, without the writer's per-property checks.
    /// </summary>
    internal static bool TryWriteRatedVerbatim(IBufferWriter<byte> output, in RatedCdr r)
    {
        // The msisdn (5-15 digits) and start (an instant) the decoder accepted are verbatim whatever the record.
        if (r.IsFee || (!r.TextsVerbatim && (!IsVerbatim(r.Id) || !IsVerbatim(r.Plan) || !IsVerbatim(r.TariffVersion)
            || !IsVerbatim(r.Zone) || (r.IsZeroRated && !IsVerbatim(r.ZeroRated)))))
        {
            return false;
        }

        var size = RatedFixedBytes + r.Id.Length + r.Msisdn.Length + r.Start.Length + r.Plan.Length + r.TariffVersion.Length
            + r.Zone.Length + r.Peer.Length + (r.IsZeroRated ? r.ZeroRated.Length + 2 : 4);
        var span = output.GetSpan(size);
        var n = 0;
        Append(span, ref n, "{\"id\":\""u8);
        AppendText(span, ref n, r.Id);
        Append(span, ref n, "\",\"msisdn\":\""u8);
        AppendText(span, ref n, r.Msisdn);
        Append(span, ref n, "\",\"type\":\""u8);
        Append(span, ref n, RecordNames.TypeName(r.Type));
        Append(span, ref n, "\",\"start\":\""u8);
        AppendText(span, ref n, r.Start);
        Append(span, ref n, "\",\"cycle\":\""u8);
        n += BillingCycle.Format(r.CycleDay, span[n..]);
        Append(span, ref n, "\",\"plan\":\""u8);
        AppendText(span, ref n, r.Plan);
        Append(span, ref n, "\",\"tariffVersion\":\""u8);
        AppendText(span, ref n, r.TariffVersion);
        Append(span, ref n, "\",\"zone\":\""u8);
        AppendText(span, ref n, r.Zone);
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
            AppendText(span, ref n, r.ZeroRated);
            Append(span, ref n, "\""u8);
        }
        else
        {
            Append(span, ref n, ",\"zeroRated\":null"u8);
        }

        if (r.Type == CdrType.Data)
        {
            Append(span, ref n, ",\"direction\":null,\"peer\":null,\"durationSec\":null,\"bytes\":"u8);
            AppendNumber(span, ref n, r.Bytes);
        }
        else
        {
            Append(span, ref n, r.Direction == Direction.Mo ? ",\"direction\":\"mo\",\"peer\":\""u8 : ",\"direction\":\"mt\",\"peer\":\""u8);
            AppendText(span, ref n, r.Peer);
            if (r.Type == CdrType.Voice)
            {
                Append(span, ref n, "\",\"durationSec\":"u8);
                AppendNumber(span, ref n, r.DurationSec);
                Append(span, ref n, ",\"bytes\":null"u8);
            }
            else
            {
                Append(span, ref n, "\",\"durationSec\":null,\"bytes\":null"u8);
            }
        }

        if (r.VisitedMcc >= 0)
        {
            Append(span, ref n, ",\"visitedMcc\":\""u8);
            span[n++] = (byte)('0' + (r.VisitedMcc / 100));
            span[n++] = (byte)('0' + (r.VisitedMcc / 10 % 10));
            span[n++] = (byte)('0' + (r.VisitedMcc % 10));
            Append(span, ref n, "\",\"usedAfter\":"u8);
        }
        else
        {
            Append(span, ref n, ",\"visitedMcc\":null,\"usedAfter\":"u8);
        }

        AppendNumber(span, ref n, r.UsedAfter);
        Append(span, ref n, ",\"cappedAfter\":"u8);
        AppendNumber(span, ref n, r.CappedAfter);
        Append(span, ref n, ",\"spendAfter\":"u8);
        AppendNumber(span, ref n, r.SpendAfter);
        Append(span, ref n, "}"u8);
        output.Advance(n);
        return true;
    }

    /// <summary>Member names and punctuation of a rated record, its type (≤ 5), cycle (≤ 16) and nine numbers (≤ 20 each).</summary>
    private const int RatedFixedBytes = 400 + 5 + 16 + (9 * 20);

    /// <summary>Whether the text goes out as written: printable ASCII the encoder does not escape.</summary>
    internal static bool IsVerbatim(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept(Verbatim) < 0;

    /// <summary>Whether every text of the tariff a rated record carries (version, zone names, plan names, zero-rating reasons) is verbatim.</summary>
    internal static bool TariffTextsVerbatim(Tariff tariff)
    {
        if (!IsVerbatim(tariff.VersionUtf8))
        {
            return false;
        }

        foreach (var zone in tariff.ZoneIdsUtf8)
        {
            if (!IsVerbatim(zone))
            {
                return false;
            }
        }

        foreach (var plan in tariff.Plans.Values)
        {
            if (!IsVerbatim(plan.IdUtf8))
            {
                return false;
            }
        }

        foreach (var rule in tariff.ZeroRating.Rules)
        {
            if (!IsVerbatim(rule.ReasonUtf8))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The general path: any strings, escaped by the JSON writer; also every fee record (SPEC §7.5).</summary>
    internal void WriteRatedWithJsonWriter(IBufferWriter<byte> output, in RatedCdr r)
    {
        Span<byte> cycle = stackalloc byte[16];
        var json = Begin(output);
        json.WriteStartObject();
        json.WriteString("id"u8, r.Id);
        json.WriteString("msisdn"u8, r.Msisdn);
        json.WriteString("type"u8, r.IsFee ? "fee"u8 : RecordNames.TypeName(r.Type));
        json.WriteString("start"u8, r.Start);
        json.WriteString("cycle"u8, cycle[..BillingCycle.Format(r.CycleDay, cycle)]);
        json.WriteString("plan"u8, r.Plan);
        json.WriteString("tariffVersion"u8, r.TariffVersion);
        StringOrNull(json, "zone"u8, r.Zone, !r.IsFee);
        json.WriteNumber("billableUnits"u8, r.BillableUnits);
        json.WriteNumber("allowanceUnits"u8, r.AllowanceUnits);
        json.WriteNumber("overageUnits"u8, r.OverageUnits);
        json.WriteNumber("charge"u8, r.Charge);
        StringOrNull(json, "zeroRated"u8, r.ZeroRated, r.IsZeroRated);
        if (r.IsFee)
        {
            json.WriteString("fee"u8, r.FeeKind == FeeKind.Monthly ? "monthly"u8 : "service"u8);
            StringOrNull(json, "serviceId"u8, r.ServiceId, r.FeeKind == FeeKind.Service);
        }

        var call = !r.IsFee;
        StringOrNull(json, "direction"u8, r.Direction == Direction.Mo ? "mo"u8 : "mt"u8, call && r.Type != CdrType.Data);
        StringOrNull(json, "peer"u8, r.Peer, call && r.Type != CdrType.Data);
        NumberOrNull(json, "durationSec"u8, r.DurationSec, call && r.Type == CdrType.Voice);
        NumberOrNull(json, "bytes"u8, r.Bytes, call && r.Type == CdrType.Data);
        Span<byte> mcc = stackalloc byte[3];
        StringOrNull(json, "visitedMcc"u8, r.VisitedMcc >= 0 ? FormatMcc(r.VisitedMcc, mcc) : default, call && r.VisitedMcc >= 0);
        NumberOrNull(json, "usedAfter"u8, r.UsedAfter, call);
        NumberOrNull(json, "cappedAfter"u8, r.CappedAfter, call);
        json.WriteNumber("spendAfter"u8, r.SpendAfter);
        json.WriteEndObject();
        json.Flush();
    }

    private static void StringOrNull(Utf8JsonWriter json, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool present)
    {
        if (present)
        {
            json.WriteString(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void NumberOrNull(Utf8JsonWriter json, ReadOnlySpan<byte> name, long value, bool present)
    {
        if (present)
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public void WriteReminder(IBufferWriter<byte> output, in ReminderEvent e)
    {
        Span<byte> cycle = stackalloc byte[16];
        var cycleText = cycle[..BillingCycle.Format(e.CycleDay, cycle)];
        var bound = EventIdBound(in e);
        byte[]? rented = null;
        var eventId = bound <= EventIdMax ? stackalloc byte[EventIdMax] : (rented = ArrayPool<byte>.Shared.Rent(bound));
        var json = Begin(output);
        json.WriteStartObject();
        json.WriteString("eventId"u8, eventId[..EventId(in e, cycleText, eventId)]);
        json.WriteString("msisdn"u8, e.Msisdn);
        json.WriteString("kind"u8, KindName(e.Kind));
        json.WriteString("cycle"u8, cycleText);
        StringOrNull(json, "cdrId"u8, e.CdrId, e.HasCdrId);
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
            case ReminderKind.PlanChange:
                json.WriteString("from"u8, e.PlanFrom);
                json.WriteString("to"u8, e.PlanTo);
                NumberOrNull(json, "monthlyFee"u8, e.MonthlyFee, e.HasMonthlyFee);
                break;
            case ReminderKind.VasPrecharge:
                json.WriteString("serviceId"u8, e.ServiceId);
                json.WritePropertyName("name"u8);
                json.WriteStartObject();
                json.WriteString("zh"u8, e.NameZh);
                json.WriteString("en"u8, e.NameEn);
                json.WriteEndObject();
                json.WriteNumber("price"u8, e.Amount);
                json.WriteString("chargeAt"u8, e.ChargeAt);
                break;
            case ReminderKind.PlanExpiry:
                json.WriteString("plan"u8, e.PlanTo);
                json.WriteString("endsAt"u8, e.EndsAt);
                NumberOrNull(json, "monthlyFee"u8, e.MonthlyFee, e.HasMonthlyFee);
                break;
        }

        json.WriteEndObject();
        json.Flush();
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>An upper bound of the event id's length (every detail a reminder of any kind may name, plus punctuation).</summary>
    public static int EventIdBound(in ReminderEvent e) =>
        64 + e.Msisdn.Length + e.CdrId.Length + e.BalanceAsOf.Length + e.PlanFrom.Length + e.PlanTo.Length + e.Trigger.Length
        + e.ServiceId.Length + e.At.Length + e.EndsAt.Length;

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
            WriteRaw(json, r.Raw);
        }

        json.WriteEndObject();
        json.Flush();
    }

    /// <summary>
    /// Writes <c>raw</c>. <see cref="Utf8JsonWriter"/> refuses one value longer than 166,666,666 bytes (its escaping
    /// worst case must stay under 1 GB), so a longer line is written in segments of <see cref="RawSegment"/>.
    /// </summary>
    private void WriteRaw(Utf8JsonWriter json, ReadOnlySpan<byte> raw)
    {
        var valid = System.Text.Unicode.Utf8.IsValid(raw);
        if (raw.Length <= RawSegment)
        {
            if (valid)
            {
                json.WriteString("raw"u8, raw);
            }
            else
            {
                // Each invalid sequence becomes U+FFFD, decoded into a reused buffer rather than a new string.
                if (_rawChars.Length < raw.Length)
                {
                    _rawChars = new char[Math.Max(raw.Length, _rawChars.Length * 2)];
                }

                System.Text.Unicode.Utf8.ToUtf16(raw, _rawChars, out _, out var chars, replaceInvalidSequences: true);
                json.WriteString("raw"u8, _rawChars.AsSpan(0, chars));
            }

            return;
        }

        json.WritePropertyName("raw"u8);
        if (valid)
        {
            // A segment may end inside a multi-byte character: the writer carries it over to the next one.
            for (var at = 0; at < raw.Length; at += RawSegment)
            {
                var segment = raw.Slice(at, Math.Min(RawSegment, raw.Length - at));
                json.WriteStringValueSegment(segment, isFinalSegment: at + segment.Length == raw.Length);
            }

            return;
        }

        var text = System.Text.Encoding.UTF8.GetString(raw).AsSpan();
        for (var at = 0; at < text.Length; at += RawSegment)
        {
            var segment = text.Slice(at, Math.Min(RawSegment, text.Length - at));
            json.WriteStringValueSegment(segment, isFinalSegment: at + segment.Length == text.Length);
        }
    }

    /// <summary>Raw lines up to this size are written as one value; longer ones in segments of this size.</summary>
    public const int RawSegment = 1 << 20;

    /// <summary>
    /// Longest event id: msisdn(15):cycle(10+):kind(13): then the longest detail, a plan change's two plan ids and its
    /// trigger. Plan ids are not bounded by the tariff rules, so a longer id is written through a rented buffer.
    /// </summary>
    public const int EventIdMax = 256;

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
            case ReminderKind.PlanChange:
                Append(destination, ref n, e.PlanFrom);
                Append(destination, ref n, ":"u8);
                Append(destination, ref n, e.PlanTo);
                Append(destination, ref n, ":"u8);
                Append(destination, ref n, e.Trigger);
                break;
            case ReminderKind.VasPrecharge:
                Append(destination, ref n, e.ServiceId);
                Append(destination, ref n, ":"u8);
                Append(destination, ref n, e.At);
                break;
            case ReminderKind.PlanExpiry:
                Append(destination, ref n, e.EndsAt);
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
        ReminderKind.Roaming => "roaming"u8,
        ReminderKind.PlanChange => "plan-change"u8,
        ReminderKind.VasPrecharge => "vas-precharge"u8,
        _ => "plan-expiry"u8,
    };

    /// <summary>A bill (SPEC §7.8): usage per type, the fees in charge order, the minimum, the top-up and the total.</summary>
    public void WriteBill(IBufferWriter<byte> output, in BillRecord b)
    {
        if (!TryWriteBillVerbatim(output, in b))
        {
            WriteBillWithJsonWriter(output, in b);
        }
    }

    /// <summary>
    /// The fast path for a bill whose texts all go out verbatim (the plan, the tariff version and, with service fees,
    /// the service ids: printable ASCII the encoder does not escape; the msisdn and the dates always are). It writes
    /// the same bytes as <see cref="WriteBillWithJsonWriter"/> in one pass, without the writer's per-property work.
    /// </summary>
    internal static bool TryWriteBillVerbatim(IBufferWriter<byte> output, in BillRecord b)
    {
        if (b.Msisdn.Length > 15 || !IsVerbatim(b.Plan) || !IsVerbatim(b.TariffVersion))
        {
            return false;
        }

        var size = BillFixedBytes + (2 * b.Msisdn.Length) + b.Plan.Length + b.TariffVersion.Length;
        foreach (var fee in b.Fees)
        {
            var service = fee.Kind == FeeKind.Service ? NameTable.Services.Utf8(fee.ServiceId) : default;
            if (service.Length > FeeServiceMax || !IsVerbatim(service))
            {
                return false;
            }

            size += FeeFixedBytes + b.Msisdn.Length + (2 * service.Length);
        }

        Span<byte> scratch = stackalloc byte[EventIdMax];
        var span = output.GetSpan(size);
        var n = 0;
        Append(span, ref n, "{\"eventId\":\""u8);
        AppendText(span, ref n, b.Msisdn);
        span[n++] = (byte)':';
        var cycleAt = n;
        n += BillingCycle.Format(b.CycleDay, span[n..]);
        var cycle = span[cycleAt..n];
        Append(span, ref n, ":bill\",\"msisdn\":\""u8);
        AppendText(span, ref n, b.Msisdn);
        Append(span, ref n, "\",\"cycle\":\""u8);
        Append(span, ref n, cycle);
        Append(span, ref n, "\",\"cycleEnd\":\""u8);
        n += BillingCycle.Format(b.CycleEnd, span[n..]);
        Append(span, ref n, "\",\"plan\":\""u8);
        AppendText(span, ref n, b.Plan);
        Append(span, ref n, "\",\"tariffVersion\":\""u8);
        AppendText(span, ref n, b.TariffVersion);
        Append(span, ref n, "\",\"usage\":{"u8);
        for (var t = 0; t < 3; t++)
        {
            if (t > 0)
            {
                span[n++] = (byte)',';
            }

            span[n++] = (byte)'"';
            Append(span, ref n, RecordNames.TypeName((CdrType)t));
            Append(span, ref n, "\":{\"count\":"u8);
            AppendNumber(span, ref n, b.Counters.Count[t]);
            Append(span, ref n, ",\"billableUnits\":"u8);
            AppendNumber(span, ref n, b.Counters.Units[t]);
            Append(span, ref n, ",\"allowanceUnits\":"u8);
            AppendNumber(span, ref n, b.Counters.Used[t]);
            Append(span, ref n, ",\"charge\":"u8);
            AppendNumber(span, ref n, b.Counters.Charges[t]);
            span[n++] = (byte)'}';
        }

        Append(span, ref n, "},\"usageCharge\":"u8);
        AppendNumber(span, ref n, b.UsageCharge);
        Append(span, ref n, ",\"fees\":["u8);
        for (var i = 0; i < b.Fees.Length; i++)
        {
            var fee = b.Fees[i];
            var service = fee.Kind == FeeKind.Service ? NameTable.Services.Utf8(fee.ServiceId) : default;
            Append(span, ref n, i == 0 ? "{\"id\":\""u8 : ",{\"id\":\""u8);
            Append(span, ref n, scratch[..RatingEngine.FeeId(b.Msisdn, b.CycleDay, fee.Kind, service, scratch)]);
            if (fee.Kind == FeeKind.Monthly)
            {
                Append(span, ref n, "\",\"fee\":\"monthly\",\"serviceId\":null,\"charge\":"u8);
            }
            else
            {
                Append(span, ref n, "\",\"fee\":\"service\",\"serviceId\":\""u8);
                Append(span, ref n, service);
                Append(span, ref n, "\",\"charge\":"u8);
            }

            AppendNumber(span, ref n, fee.Amount);
            span[n++] = (byte)'}';
        }

        Append(span, ref n, "],\"feeCharge\":"u8);
        AppendNumber(span, ref n, b.FeeCharge);
        Append(span, ref n, ",\"minimum\":"u8);
        AppendNumber(span, ref n, b.Minimum);
        Append(span, ref n, ",\"topUp\":"u8);
        AppendNumber(span, ref n, b.TopUp);
        Append(span, ref n, ",\"total\":"u8);
        AppendNumber(span, ref n, b.Total);
        span[n++] = (byte)'}';
        output.Advance(n);
        return true;
    }

    /// <summary>A bill's member names, type names and punctuation (under 400 B), its three dates (≤ 16 each) and seventeen numbers (≤ 20 each).</summary>
    private const int BillFixedBytes = 400 + (3 * 16) + (17 * 20);

    /// <summary>A fee object's names and punctuation (under 80 B), its cycle (≤ 16) and charge (≤ 20), besides its msisdn and service id.</summary>
    private const int FeeFixedBytes = 80 + 16 + 20;

    /// <summary>The longest service id the fast path writes (its fee id must fit the scratch of <see cref="EventIdMax"/>).</summary>
    private const int FeeServiceMax = 128;

    internal void WriteBillWithJsonWriter(IBufferWriter<byte> output, in BillRecord b)
    {
        Span<byte> cycle = stackalloc byte[16];
        Span<byte> scratch = stackalloc byte[EventIdMax];
        var cycleText = cycle[..BillingCycle.Format(b.CycleDay, cycle)];
        var json = Begin(output);
        json.WriteStartObject();
        var n = 0;
        Append(scratch, ref n, b.Msisdn);
        Append(scratch, ref n, ":"u8);
        Append(scratch, ref n, cycleText);
        Append(scratch, ref n, ":bill"u8);
        json.WriteString("eventId"u8, scratch[..n]);
        json.WriteString("msisdn"u8, b.Msisdn);
        json.WriteString("cycle"u8, cycleText);
        json.WriteString("cycleEnd"u8, scratch[..BillingCycle.Format(b.CycleEnd, scratch)]);
        json.WriteString("plan"u8, b.Plan);
        json.WriteString("tariffVersion"u8, b.TariffVersion);
        json.WritePropertyName("usage"u8);
        json.WriteStartObject();
        for (var t = 0; t < 3; t++)
        {
            json.WritePropertyName(RecordNames.TypeName((CdrType)t));
            json.WriteStartObject();
            json.WriteNumber("count"u8, b.Counters.Count[t]);
            json.WriteNumber("billableUnits"u8, b.Counters.Units[t]);
            json.WriteNumber("allowanceUnits"u8, b.Counters.Used[t]);
            json.WriteNumber("charge"u8, b.Counters.Charges[t]);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteNumber("usageCharge"u8, b.UsageCharge);
        json.WritePropertyName("fees"u8);
        json.WriteStartArray();
        foreach (var fee in b.Fees)
        {
            var service = fee.Kind == FeeKind.Service ? NameTable.Services.Utf8(fee.ServiceId) : default;
            json.WriteStartObject();
            json.WriteString("id"u8, scratch[..RatingEngine.FeeId(b.Msisdn, b.CycleDay, fee.Kind, service, scratch)]);
            json.WriteString("fee"u8, fee.Kind == FeeKind.Monthly ? "monthly"u8 : "service"u8);
            StringOrNull(json, "serviceId"u8, service, fee.Kind == FeeKind.Service);
            json.WriteNumber("charge"u8, fee.Amount);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteNumber("feeCharge"u8, b.FeeCharge);
        json.WriteNumber("minimum"u8, b.Minimum);
        json.WriteNumber("topUp"u8, b.TopUp);
        json.WriteNumber("total"u8, b.Total);
        json.WriteEndObject();
        json.Flush();
    }

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

    // Inlined so that a constant's copy is unrolled by the JIT (a few moves, no call): the writers append about 25
    // constants per record, and the fast paths are too large for the JIT to inline this on its own.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Append(Span<byte> destination, ref int n, ReadOnlySpan<byte> text)
    {
        text.CopyTo(destination[n..]);
        n += text.Length;
    }

    /// <summary>
    /// Appends a text of variable length (an id, msisdn, instant, plan, version, zone, peer: 8 to 32 bytes as a rule)
    /// with two overlapping moves of 8 or 16 bytes, inlined, instead of a call to the general copy for each; other
    /// lengths, and a destination too short (which the general copy refuses), go the general way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AppendText(Span<byte> destination, ref int n, ReadOnlySpan<byte> text)
    {
        var length = text.Length;
        if (length >= 8 && length <= 32 && (uint)n <= (uint)destination.Length && length <= destination.Length - n)
        {
            ref var from = ref MemoryMarshal.GetReference(text);
            ref var to = ref Unsafe.Add(ref MemoryMarshal.GetReference(destination), n);
            if (length <= 16)
            {
                Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<ulong>(ref from));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, length - 8), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, length - 8)));
            }
            else
            {
                Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<Vector128<byte>>(ref from));
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, length - 16),
                    Unsafe.ReadUnaligned<Vector128<byte>>(ref Unsafe.Add(ref from, length - 16)));
            }

            n += length;
            return;
        }

        Append(destination, ref n, text);
    }

    // A one-digit number (most units, allowance parts and caps of a record) is written in place; the others by
    // the formatter, out of line.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AppendNumber(Span<byte> destination, ref int n, long value)
    {
        if ((ulong)value < 10)
        {
            destination[n++] = (byte)('0' + value);
        }
        else
        {
            AppendNumberFormatted(destination, ref n, value);
        }
    }

    private static void AppendNumberFormatted(Span<byte> destination, ref int n, long value)
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
