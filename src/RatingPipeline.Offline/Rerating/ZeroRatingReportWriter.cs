using System.Globalization;
using System.Text;
using System.Text.Json;

namespace RatingPipeline.Rerating;

/// <summary>
/// Writes a <see cref="ZeroRatingReport"/> as <c>zero-rating-sample.csv</c> (RFC 4180: CRLF line ends, a header
/// row, fields with a comma, quote, CR or LF quoted, quotes doubled), <c>zero-rating-summary.txt</c> (for
/// people) and <c>zero-rating-summary.json</c> (for programs).
/// </summary>
public static class ZeroRatingReportWriter
{
    private static readonly string[] RecordColumns =
    [
        "line", "id", "msisdn", "type", "start", "localDay", "cycle", "plan", "tariffVersion", "zone",
        "billableUnits", "allowanceUnits", "overageUnits", "charge", "zeroRated",
    ];

    private static readonly string[] ReliefColumns =
        ["direction", "peer", "dest", "reliefUnits", "reliefMicros", "reliefYuan", "reliefNote"];

    /// <summary>Micros as yuan with two decimals, rounded half away from zero (5000 → "0.01", 1000000 → "1.00").</summary>
    public static string Yuan(long micros)
    {
        var magnitude = (Int128)micros;
        var negative = magnitude < 0;
        if (negative)
        {
            magnitude = -magnitude;
        }

        var cents = (magnitude + 5_000) / 10_000;
        return string.Create(CultureInfo.InvariantCulture, $"{(negative ? "-" : "")}{cents / 100}.{(int)(cents % 100):D2}");
    }

    /// <summary>One CSV field, quoted when RFC 4180 requires it.</summary>
    public static string CsvField(string? value)
    {
        if (value is null)
        {
            return "";
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    public static void WriteCsv(TextWriter output, ZeroRatingReport report)
    {
        var columns = report.HasRelief ? [.. RecordColumns, .. ReliefColumns] : RecordColumns;
        output.Write(string.Join(',', columns));
        output.Write("\r\n");
        foreach (var entry in report.Sample)
        {
            var r = entry.Record;
            var fields = new List<string?>
            {
                Number(entry.Line), r.Id, r.Msisdn, r.Type, r.Start, Time.BillingCycle.ToText(entry.LocalDay), r.Cycle, r.Plan,
                r.TariffVersion, r.Zone, Number(r.BillableUnits), Number(r.AllowanceUnits), Number(r.OverageUnits), Number(r.Charge),
                r.ZeroRated,
            };
            if (report.HasRelief)
            {
                fields.AddRange(
                [
                    entry.Direction, entry.Peer, entry.Dest, Number(entry.ReliefUnits), Number(entry.Relief),
                    entry.Relief is { } relief ? Yuan(relief) : null, entry.ReliefNote,
                ]);
            }

            output.Write(string.Join(',', fields.Select(CsvField)));
            output.Write("\r\n");
        }
    }

    public static void WriteText(TextWriter output, ZeroRatingReport report)
    {
        var where = report.UtcOffset == "Z" ? "UTC days" : $"local days at {report.UtcOffset}";
        output.WriteLine($"Zero-rating audit for {report.Month} ({where}; month and day from each record's start)");
        if (report.TariffVersion is not null)
        {
            output.WriteLine($"Tariff for offset and relief: {report.TariffVersion}");
        }

        output.WriteLine($"Rated records read: {report.RecordsRead}; started in the month: {report.RecordsInMonth}; zero-rated: {report.ZeroRated}");
        output.WriteLine();
        output.WriteLine("Per rule (zeroRated reason)");
        var width = Math.Max(12, report.Rules.Count == 0 ? 0 : report.Rules.Max(l => l.Key.Length));
        if (report.Rules.Count == 0)
        {
            output.WriteLine("  (no zero-rated records)");
        }

        foreach (var line in report.Rules)
        {
            output.WriteLine($"  {line.Key.PadRight(width)} {line.Tally.Count,10}{ReliefText(report, line.Tally)}");
        }

        output.WriteLine($"  {"total".PadRight(width)} {report.Total.Count,10}{ReliefText(report, report.Total)}");
        output.WriteLine();
        output.WriteLine("Per day");
        foreach (var line in report.Days)
        {
            output.WriteLine($"  {line.Key.PadRight(width)} {line.Tally.Count,10}{ReliefText(report, line.Tally)}");
        }

        output.WriteLine();
        if (report.HasRelief)
        {
            output.WriteLine("Relief: what the zero-rated records would have cost at the rate otherwise applying (the plan's first");
            output.WriteLine("matching rate for the CDR's type, zone, direction and destination), allowances and caps aside:");
            output.WriteLine($"  {Yuan(report.Total.Relief)} yuan ({report.Total.Relief} micros) over {report.Total.Priced} priced records");
            var unpriced = string.Join(", ", report.Unpriced.Select(kv => $"{kv.Key} {kv.Value}"));
            output.WriteLine($"  not priced: {report.Total.Count - report.Total.Priced} ({unpriced})");
        }
        else
        {
            output.WriteLine("Relief: not computed (it needs --tariff and --cdrs).");
        }

        if (report.Ledger is { } ledger)
        {
            output.WriteLine();
            output.WriteLine("Adjustment ledger: entries naming a CDR that started in the month (negative = credit)");
            foreach (var kind in Enum.GetValues<AdjustmentKind>())
            {
                var tally = ledger.Of(kind);
                var name = kind == AdjustmentKind.Goodwill ? "goodwill credits" : "re-rating adjustments";
                output.WriteLine($"  {name.PadRight(width)} {tally.Count,10}   {Yuan(tally.Difference),12} yuan ({tally.Difference} micros), {tally.OnZeroRated} on zero-rated records");
            }

            output.WriteLine($"  naming a CDR no rated record read holds: {ledger.NotFound}");
        }

        output.WriteLine();
        output.WriteLine($"Sample: {report.Sample.Count} of {report.ZeroRated} zero-rated records (requested {report.SampleRequested}, seed {report.Seed}),");
        output.WriteLine("reservoir sampling over the month's zero-rated records in file order; listed in zero-rating-sample.csv.");
    }

    public static void WriteJson(Stream output, ZeroRatingReport report)
    {
        using var json = new Utf8JsonWriter(output, AdjustmentJson.WriterOptions with { Indented = true });
        json.WriteStartObject();
        json.WriteString("month"u8, report.Month);
        json.WriteString("utcOffset"u8, report.UtcOffset);
        if (report.TariffVersion is null)
        {
            json.WriteNull("tariffVersion"u8);
        }
        else
        {
            json.WriteString("tariffVersion"u8, report.TariffVersion);
        }

        json.WriteNumber("recordsRead"u8, report.RecordsRead);
        json.WriteNumber("recordsInMonth"u8, report.RecordsInMonth);
        json.WriteNumber("zeroRated"u8, report.ZeroRated);
        WriteLines(json, "perRule"u8, "reason"u8, report.Rules, report.HasRelief);
        WriteLines(json, "perDay"u8, "day"u8, report.Days, report.HasRelief);
        if (report.HasRelief)
        {
            json.WritePropertyName("relief"u8);
            json.WriteStartObject();
            json.WriteNumber("micros"u8, report.Total.Relief);
            json.WriteString("yuan"u8, Yuan(report.Total.Relief));
            json.WriteNumber("priced"u8, report.Total.Priced);
            json.WritePropertyName("unpriced"u8);
            json.WriteStartObject();
            foreach (var (note, count) in report.Unpriced)
            {
                json.WriteNumber(note, count);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("relief"u8);
        }

        if (report.Ledger is { } ledger)
        {
            json.WritePropertyName("ledger"u8);
            json.WriteStartObject();
            foreach (var kind in Enum.GetValues<AdjustmentKind>())
            {
                var tally = ledger.Of(kind);
                json.WritePropertyName(LedgerEntry.KindName(kind));
                json.WriteStartObject();
                json.WriteNumber("count"u8, tally.Count);
                json.WriteNumber("differenceMicros"u8, tally.Difference);
                json.WriteString("differenceYuan"u8, Yuan(tally.Difference));
                json.WriteNumber("onZeroRated"u8, tally.OnZeroRated);
                json.WriteEndObject();
            }

            json.WriteNumber("notFound"u8, ledger.NotFound);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("ledger"u8);
        }

        json.WritePropertyName("sample"u8);
        json.WriteStartObject();
        json.WriteNumber("requested"u8, report.SampleRequested);
        json.WriteNumber("size"u8, report.Sample.Count);
        json.WriteNumber("seed"u8, report.Seed);
        json.WritePropertyName("lines"u8);
        json.WriteStartArray();
        foreach (var entry in report.Sample)
        {
            json.WriteNumberValue(entry.Line);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
    }

    private static void WriteLines(Utf8JsonWriter json, ReadOnlySpan<byte> name, ReadOnlySpan<byte> keyName, IReadOnlyList<AuditLine> lines, bool relief)
    {
        json.WritePropertyName(name);
        json.WriteStartArray();
        foreach (var line in lines)
        {
            json.WriteStartObject();
            json.WriteString(keyName, line.Key);
            json.WriteNumber("count"u8, line.Tally.Count);
            if (relief)
            {
                json.WriteNumber("priced"u8, line.Tally.Priced);
                json.WriteNumber("reliefMicros"u8, line.Tally.Relief);
                json.WriteString("reliefYuan"u8, Yuan(line.Tally.Relief));
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static string ReliefText(ZeroRatingReport report, AuditTally tally) =>
        report.HasRelief ? $"   relief {Yuan(tally.Relief),12} yuan ({tally.Relief} micros)" : "";

    private static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);
}
