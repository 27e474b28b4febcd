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

/// <summary>
/// <c>adjustment-totals.json</c>: the ledger's totals — count and sum of differences in all, per kind (<c>byKind</c>:
/// <c>rerate</c>, <c>goodwill</c>) and per subscriber — and what the command that last wrote it did (<c>lastRun</c>).
/// </summary>
public static class AdjustmentTotalsJson
{
    /// <summary>After a re-rate: the totals, the new tariff's version and the re-rate's counts.</summary>
    public static void Write(Stream output, AdjustmentTotals ledger, RerateSummary run, string newTariffVersion) =>
        Write(output, ledger, newTariffVersion, json =>
        {
            json.WriteString("command"u8, "rerate");
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
            if (run.Scope is { } scope)
            {
                json.WritePropertyName("scope"u8);
                json.WriteStartObject();
                json.WriteNumber("subscribersReplayed"u8, scope.Subscribers);
                json.WriteNumber("cdrLinesLeftOut"u8, scope.CdrLinesLeftOut);
                json.WriteNumber("ratedRecordsLeftOut"u8, scope.RatedRecordsLeftOut);
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("scope"u8);
            }

            json.WritePropertyName("mismatches"u8);
            json.WriteStartObject();
            foreach (var kind in Enum.GetValues<RerateMismatchKind>())
            {
                json.WriteNumber(RerateMismatch.KindName(kind), run.MismatchesOf(kind));
            }

            json.WriteEndObject();
        });

    /// <summary>After a goodwill credit: the totals and the credit (<c>written</c>: false when it was recorded before).</summary>
    public static void Write(Stream output, AdjustmentTotals ledger, GoodwillCredit credit, bool written) =>
        Write(output, ledger, null, json =>
        {
            json.WriteString("command"u8, "credit");
            json.WriteString("adjustmentId"u8, credit.AdjustmentId);
            json.WriteNumber("difference"u8, credit.Difference);
            json.WriteBoolean("written"u8, written);
        });

    private static void Write(Stream output, AdjustmentTotals ledger, string? newTariffVersion, Action<Utf8JsonWriter> lastRun)
    {
        using var json = new Utf8JsonWriter(output, AdjustmentJson.WriterOptions with { Indented = true });
        json.WriteStartObject();
        if (newTariffVersion is not null)
        {
            json.WriteString("newTariffVersion"u8, newTariffVersion);
        }

        json.WriteNumber("adjustments"u8, ledger.Total.Count);
        json.WriteNumber("difference"u8, ledger.Total.Difference);
        json.WritePropertyName("byKind"u8);
        json.WriteStartObject();
        foreach (var kind in Enum.GetValues<AdjustmentKind>())
        {
            json.WritePropertyName(LedgerEntry.KindName(kind));
            json.WriteStartObject();
            json.WriteNumber("adjustments"u8, ledger.ByKind[(int)kind].Count);
            json.WriteNumber("difference"u8, ledger.ByKind[(int)kind].Difference);
            json.WriteEndObject();
        }

        json.WriteEndObject();
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
        lastRun(json);
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }
}
