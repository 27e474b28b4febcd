using System.Text.Json;

namespace RatingPipeline.Rerating;

/// <summary>
/// Writes a re-rate's findings as JSON Lines: adjustments to one stream (appended to the ledger file by the
/// caller), mismatches to another.
/// </summary>
public sealed class JsonlRerateReceiver : IRerateReceiver, IDisposable
{
    private readonly Utf8JsonWriter _adjustments;
    private readonly Utf8JsonWriter _mismatches;
    private readonly Stream _adjustmentStream;
    private readonly Stream _mismatchStream;

    public JsonlRerateReceiver(Stream adjustments, Stream mismatches)
    {
        _adjustmentStream = adjustments;
        _mismatchStream = mismatches;
        _adjustments = new Utf8JsonWriter(adjustments, AdjustmentJson.WriterOptions);
        _mismatches = new Utf8JsonWriter(mismatches, AdjustmentJson.WriterOptions);
    }

    public void Adjustment(Adjustment adjustment)
    {
        AdjustmentJson.Write(_adjustments, adjustment);
        EndLine(_adjustments, _adjustmentStream);
    }

    public void Mismatch(RerateMismatch mismatch)
    {
        RerateMismatch.Write(_mismatches, mismatch);
        EndLine(_mismatches, _mismatchStream);
    }

    public void Dispose()
    {
        _adjustments.Dispose();
        _mismatches.Dispose();
    }

    private static void EndLine(Utf8JsonWriter json, Stream stream)
    {
        json.Flush();
        json.Reset();
        stream.WriteByte((byte)'\n');
    }
}

/// <summary><c>adjustment-totals.json</c>: the ledger's per-subscriber and grand totals, and this run's counts.</summary>
public static class AdjustmentTotalsJson
{
    public static void Write(Stream output, AdjustmentTotals ledger, RerateSummary run, string newTariffVersion)
    {
        using var json = new Utf8JsonWriter(output, AdjustmentJson.WriterOptions with { Indented = true });
        json.WriteStartObject();
        json.WriteString("newTariffVersion"u8, newTariffVersion);
        json.WriteNumber("adjustments"u8, ledger.Total.Count);
        json.WriteNumber("difference"u8, ledger.Total.Difference);
        json.WritePropertyName("subscribers"u8);
        json.WriteStartArray();
        foreach (var (msisdn, sum) in ledger.Subscribers)
        {
            json.WriteStartObject();
            json.WriteString("msisdn"u8, msisdn);
            json.WriteNumber("adjustments"u8, sum.Count);
            json.WriteNumber("difference"u8, sum.Difference);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WritePropertyName("lastRun"u8);
        json.WriteStartObject();
        json.WriteNumber("ratedRecords"u8, run.RatedRecords);
        json.WriteNumber("cdrLines"u8, run.CdrLines);
        json.WriteNumber("compared"u8, run.Compared);
        json.WriteNumber("changed"u8, run.Changed);
        json.WriteNumber("alreadyAdjusted"u8, run.AlreadyAdjusted);
        json.WriteNumber("adjustments"u8, run.Adjustments);
        json.WriteNumber("difference"u8, run.Difference);
        json.WriteNumber("outsideCycles"u8, run.OutsideCycles);
        json.WriteNumber("takenAsRated"u8, run.TakenAsRated);
        json.WriteNumber("subscribersTakenUp"u8, run.SubscribersTakenUp);
        json.WritePropertyName("mismatches"u8);
        json.WriteStartObject();
        foreach (var kind in Enum.GetValues<RerateMismatchKind>())
        {
            json.WriteNumber(RerateMismatch.KindName(kind), run.MismatchesOf(kind));
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }
}
