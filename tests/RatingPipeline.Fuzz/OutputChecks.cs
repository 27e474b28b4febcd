using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Fuzz;

/// <summary>
/// Receives the engine's outputs for one input, checks each record and that it is written as JSON that
/// parses back with the same values, and counts the calls (one input: exactly one rated or rejected record).
/// </summary>
public sealed class OutputChecks
{
    private readonly RecordWriter _writer = new();
    private readonly ArrayBufferWriter<byte> _json = new(4096);
    private byte[] _input = new byte[4096];
    private int _inputLength;

    public int RatedCalls { get; private set; }

    public int RejectedCalls { get; private set; }

    public int ReminderCalls { get; private set; }

    /// <summary>Fee records (rated-record calls with <see cref="RatedCdr.IsFee"/>), not counted in <see cref="RatedCalls"/>.</summary>
    public int FeeCalls { get; private set; }

    public int BillCalls { get; private set; }

    public RejectReason LastReason { get; private set; }

    public string LastDetail { get; private set; } = "";

    public bool LastHasId { get; private set; }

    public byte[] LastId { get; private set; } = [];

    public bool LastHasMsisdn { get; private set; }

    public byte[] LastMsisdn { get; private set; } = [];

    public long LastCharge { get; private set; }

    /// <summary>Starts a new input: resets the counts and keeps a copy of the bytes for the raw check.</summary>
    public void Begin(ReadOnlySpan<byte> input)
    {
        RatedCalls = RejectedCalls = ReminderCalls = FeeCalls = BillCalls = 0;
        LastReason = RejectReason.None;
        LastDetail = "";
        LastHasId = LastHasMsisdn = false;
        LastId = LastMsisdn = [];
        LastCharge = 0;
        if (_input.Length < input.Length)
        {
            _input = new byte[Math.Max(input.Length, _input.Length * 2)];
        }

        input.CopyTo(_input);
        _inputLength = input.Length;
    }

    /// <summary>
    /// After the engine returned: a rated CDR gives exactly one rated record, a rejected record exactly one rejected
    /// record and nothing else, a location record or a clock no rated CDR and no rejected record (fee records,
    /// bills and reminders may come with any accepted record that moves a cycle).
    /// </summary>
    public void CheckOutcome(RatingResult result)
    {
        var ok = result switch
        {
            RatingResult.Rated => RatedCalls == 1 && RejectedCalls == 0,
            RatingResult.Rejected => RejectedCalls == 1 && RatedCalls == 0 && ReminderCalls == 0 && FeeCalls == 0 && BillCalls == 0,
            RatingResult.Located or RatingResult.Clock => RatedCalls == 0 && RejectedCalls == 0,
            _ => false,
        };
        if (!ok)
        {
            throw new InvariantViolationException(
                $"result {result} with {RatedCalls} rated, {RejectedCalls} rejected, {ReminderCalls} reminder calls (expected one rated or one rejected record)");
        }
    }

    public void OnRated(in RatedCdr r)
    {
        if (r.IsFee)
        {
            FeeCalls++;
        }
        else
        {
            RatedCalls++;
        }

        LastCharge = r.Charge;
        Check(r.BillableUnits >= 0, $"billableUnits {r.BillableUnits} < 0");
        Check(r.AllowanceUnits + r.OverageUnits == r.BillableUnits, $"A {r.AllowanceUnits} + O {r.OverageUnits} != B {r.BillableUnits}");
        Check(r.Charge >= 0 && r.Charge <= TariffLoader.MaxChargePerCdr, $"charge {r.Charge} outside 0..10^15");
        Check(!r.IsZeroRated || r.Charge == 0, "a zero-rated CDR has a charge");
        _json.Clear();
        _writer.WriteRated(_json, in r);
        using var document = Parse("rated record");
        var root = document.RootElement;
        Check(Bytes(root, "id").AsSpan().SequenceEqual(r.Id), "rated record's id differs from the CDR's");
        Check(Bytes(root, "msisdn").AsSpan().SequenceEqual(r.Msisdn), "rated record's msisdn differs from the CDR's");
        Check(root.GetProperty("charge").GetInt64() == r.Charge, "rated record's charge differs");
        Check(root.GetProperty("billableUnits").GetInt64() == r.BillableUnits, "rated record's billableUnits differs");
    }

    public void OnReminder(in ReminderEvent e)
    {
        ReminderCalls++;
        _json.Clear();
        _writer.WriteReminder(_json, in e);
        using var document = Parse("reminder event");
        var eventId = document.RootElement.GetProperty("eventId").GetString() ?? "";
        Check(eventId.StartsWith(Encoding.UTF8.GetString(e.Msisdn) + ":", StringComparison.Ordinal), $"eventId \"{eventId}\" does not start with the msisdn");
    }

    public void OnBill(in BillRecord b)
    {
        BillCalls++;
        Check(b.Total == b.UsageCharge + b.FeeCharge + b.TopUp, $"bill total {b.Total} != usage {b.UsageCharge} + fees {b.FeeCharge} + top-up {b.TopUp}");
        Check(b.TopUp >= 0 && b.TopUp <= b.Minimum, $"top-up {b.TopUp} outside 0..minimum {b.Minimum}");
        _json.Clear();
        _writer.WriteBill(_json, in b);
        using var document = Parse("bill");
        var eventId = document.RootElement.GetProperty("eventId").GetString() ?? "";
        Check(eventId.StartsWith(Encoding.UTF8.GetString(b.Msisdn) + ":", StringComparison.Ordinal) && eventId.EndsWith(":bill", StringComparison.Ordinal),
            $"bill eventId \"{eventId}\" is not msisdn:cycle:bill");
        Check(document.RootElement.GetProperty("total").GetInt64() == b.Total, "bill's total differs");
    }

    public void OnRejected(in RejectedCdr r)
    {
        RejectedCalls++;
        LastReason = r.Reason;
        LastDetail = r.Detail;
        LastHasId = r.HasId;
        LastId = r.HasId ? r.Id.ToArray() : [];
        LastHasMsisdn = r.HasMsisdn;
        LastMsisdn = r.HasMsisdn ? r.Msisdn.ToArray() : [];
        var input = _input.AsSpan(0, _inputLength);
        Check(r.Reason is >= RejectReason.Invalid and <= RejectReason.NoRate, $"reject reason {r.Reason} is not one of the specified reasons");
        Check(!string.IsNullOrWhiteSpace(r.Detail), "rejected record without a detail");
        Check(r.Raw.SequenceEqual(input), "rejected record's raw bytes are not the input");

        _json.Clear();
        _writer.WriteRejected(_json, in r);
        using var document = Parse("rejected record");
        var root = document.RootElement;
        Check(root.GetProperty("reason").GetString() == RecordNames.ReasonText(r.Reason), "rejected record's reason differs");
        Check(root.GetProperty("detail").GetString() == r.Detail, "rejected record's detail differs");
        Check(root.TryGetProperty("id", out _) == r.HasId, "rejected record's id present/absent wrongly");
        Check(!r.HasId || Bytes(root, "id").AsSpan().SequenceEqual(r.Id), "rejected record's id differs");
        Check(root.TryGetProperty("msisdn", out _) == r.HasMsisdn, "rejected record's msisdn present/absent wrongly");
        Check(!r.HasMsisdn || Bytes(root, "msisdn").AsSpan().SequenceEqual(r.Msisdn), "rejected record's msisdn differs");
        var raw = root.GetProperty("raw").GetString() ?? "";
        if (Utf8.IsValid(input))
        {
            Check(Encoding.UTF8.GetBytes(raw).AsSpan().SequenceEqual(input), "rejected record's raw does not read back as the input");
        }
        else
        {
            Check(raw == Encoding.UTF8.GetString(input), "rejected record's raw is not the input with U+FFFD for bad bytes");
        }
    }

    private JsonDocument Parse(string what)
    {
        try
        {
            return JsonDocument.Parse(_json.WrittenMemory);
        }
        catch (JsonException e)
        {
            throw new InvariantViolationException($"{what} is not JSON: {e.Message}", e);
        }
    }

    private static byte[] Bytes(JsonElement root, string name) =>
        Encoding.UTF8.GetBytes(root.GetProperty(name).GetString() ?? "");

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }
}

/// <summary>The engine's sink for fuzzing: forwards every output to <see cref="OutputChecks"/>.</summary>
public readonly struct CheckingSink(OutputChecks checks) : IRatingSink
{
    public void Rated(in RatedCdr rated) => checks.OnRated(in rated);

    public void Reminder(in ReminderEvent reminder) => checks.OnReminder(in reminder);

    public void Rejected(in RejectedCdr rejected) => checks.OnRejected(in rejected);

    public void Bill(in BillRecord bill) => checks.OnBill(in bill);
}
