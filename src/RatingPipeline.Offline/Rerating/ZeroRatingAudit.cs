using System.IO.Hashing;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Rerating;

/// <summary>
/// One zero-rated record of the audited month: the rated record, its place in the input, its local day, and
/// (with a tariff and the CDRs) what it would have cost at the rate that would otherwise have applied.
/// </summary>
public sealed class ZeroRatedEntry(RatedRecord record, long line, int localDay)
{
    public RatedRecord Record { get; } = record;

    /// <summary>Line number of the record in the rated file (1-based), or its position in a stream.</summary>
    public long Line { get; } = line;

    /// <summary>Day number (days since 1970-01-01) of the record's <c>start</c> in audit-local time.</summary>
    public int LocalDay { get; } = localDay;

    public bool HasCdr { get; internal set; }

    public string? Direction { get; internal set; }

    /// <summary>The CDR's normalised peer.</summary>
    public string? Peer { get; internal set; }

    public string? Dest { get; internal set; }

    /// <summary>Billable units B under the rate that would otherwise apply (allowances aside).</summary>
    public long? ReliefUnits { get; internal set; }

    /// <summary>(B × price + unit/2) / unit under that rate, micros; null when it cannot be priced (see <see cref="ReliefNote"/>).</summary>
    public long? Relief { get; internal set; }

    /// <summary>Why the record was not priced: <c>no-cdr</c>, <c>unknown-plan</c> or <c>no-rate</c>; null when priced.</summary>
    public string? ReliefNote { get; internal set; }
}

/// <summary>
/// The monthly zero-rating audit. Records are taken in file order; a record belongs to the month when its
/// <c>start</c>, in local time (the tariff's <c>utcOffset</c>, or UTC without a tariff), falls in it. Counts
/// zero-rated records per rule (the <c>zeroRated</c> reason) and per local day, draws a reproducible sample
/// (reservoir sampling, Algorithm R, with <c>new Random(seed)</c> over the month's zero-rated records in
/// file order), and with a tariff prices the relief of each zero-rated record from its CDR: the plan's first
/// rate matching the CDR's type, zone, direction and destination, B from that rate's increments, and
/// C = (B × price + unit/2) / unit — allowances and caps aside.
/// </summary>
/// <remarks>
/// Use: (with a ledger) <see cref="AddLedger"/> first, then <see cref="Add"/> for every rated record, then (with a
/// tariff) <see cref="OfferCdr"/> for every CDR line, then <see cref="Report()"/>. A ledger entry that names a CDR (a
/// goodwill credit given with <c>--cdr</c>, a re-rating adjustment) is counted in the month of that CDR's rated record.
/// </remarks>
public sealed class ZeroRatingAudit
{
    public const string NoCdr = "no-cdr";
    public const string UnknownPlan = "unknown-plan";
    public const string NoRate = "no-rate";

    private readonly Tariff? _tariff;
    private readonly long _offsetTicks;
    private readonly int _firstDay;
    private readonly int _dayCount;
    private readonly int _sampleSize;
    private readonly List<ZeroRatedEntry> _entries = [];
    private readonly Dictionary<(ulong Msisdn, ulong IdHash), List<ZeroRatedEntry>> _byKey = [];
    private readonly CdrDecoder _decoder = new();

    // Ledger entries by the CDR they name (msisdn, id), and what the rated records tell about that CDR.
    private readonly Dictionary<(string Msisdn, string Id), List<LedgerEntry>> _named = [];
    private readonly Dictionary<(string Msisdn, string Id), NamedCdr> _namedFound = [];
    private bool _hasLedger;

    public ZeroRatingAudit(int year, int month, Tariff? tariff, int sampleSize, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleSize);
        if (month is < 1 or > 12 || year is < 1 or > 9999)
        {
            throw new ArgumentOutOfRangeException(nameof(month), "a month of the years 0001-9999");
        }

        Year = year;
        Month = month;
        _tariff = tariff;
        _offsetTicks = tariff?.UtcOffsetTicks ?? 0;
        _firstDay = (int)Instant.DaysFromCivil(year, month, 1);
        _dayCount = Instant.DaysInMonth(year, month);
        _sampleSize = sampleSize;
        Seed = seed;
    }

    public int Year { get; }

    public int Month { get; }

    public int Seed { get; }

    /// <summary>Whether relief is priced (a tariff was given).</summary>
    public bool HasRelief => _tariff is not null;

    public long RecordsRead { get; private set; }

    public long RecordsInMonth { get; private set; }

    public long CdrLines { get; private set; }

    /// <summary>Parses <c>yyyy-MM</c> (four-digit year 0001-9999, month 01-12).</summary>
    public static bool TryParseMonth(string text, out int year, out int month)
    {
        year = month = 0;
        if (text.Length != 7 || text[4] != '-')
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (i != 4 && !char.IsAsciiDigit(text[i]))
            {
                return false;
            }
        }

        year = int.Parse(text.AsSpan(0, 4), provider: System.Globalization.CultureInfo.InvariantCulture);
        month = int.Parse(text.AsSpan(5, 2), provider: System.Globalization.CultureInfo.InvariantCulture);
        return year >= 1 && month is >= 1 and <= 12;
    }

    /// <summary>Local day number of an instant in the audit's time (tariff offset, or UTC).</summary>
    public int LocalDayOf(long utcTicks) => (int)Instant.FloorDays(utcTicks + _offsetTicks);

    /// <summary>Takes the adjustment ledger (before the rated records): its entries that name a CDR are counted in that CDR's month.</summary>
    public void AddLedger(IEnumerable<LedgerEntry> entries)
    {
        _hasLedger = true;
        foreach (var entry in entries)
        {
            if (entry.CdrId is { } id)
            {
                if (!_named.TryGetValue((entry.Msisdn, id), out var list))
                {
                    _named[(entry.Msisdn, id)] = list = [];
                }

                list.Add(entry);
            }
        }
    }

    /// <summary>Takes one rated record, in file order; <paramref name="line"/> identifies it in the sample.</summary>
    public void Add(RatedRecord record, long line)
    {
        RecordsRead++;
        var day = LocalDayOf(record.StartTicks);
        var inMonth = (uint)(day - _firstDay) < (uint)_dayCount; // the unsigned compare also rejects days before the month
        if (_named.Count > 0 && _named.ContainsKey((record.Msisdn, record.Id)))
        {
            var found = _namedFound.GetValueOrDefault((record.Msisdn, record.Id));
            _namedFound[(record.Msisdn, record.Id)] = new NamedCdr(found.InMonth || inMonth, found.ZeroRated || (inMonth && record.ZeroRated is not null));
        }

        if (!inMonth)
        {
            return;
        }

        RecordsInMonth++;
        if (record.ZeroRated is null)
        {
            return;
        }

        _entries.Add(new ZeroRatedEntry(record, line, day));
        if (_tariff is not null)
        {
            var key = (record.MsisdnKey, XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(record.Id)));
            if (!_byKey.TryGetValue(key, out var list))
            {
                _byKey[key] = list = [];
            }

            list.Add(_entries[^1]);
        }
    }

    /// <summary>Whether <see cref="OfferCdr"/> still has zero-rated records to find CDRs for.</summary>
    public bool WantsCdrs => _tariff is not null && _byKey.Count > 0;

    /// <summary>
    /// Offers one CDR line: when it is the CDR of a zero-rated record of the month (same msisdn, id, type and
    /// <c>start</c>), the record's relief is priced from it. Other lines, blank and invalid ones are ignored.
    /// </summary>
    public void OfferCdr(ReadOnlySpan<byte> line)
    {
        var tariff = _tariff ?? throw new InvalidOperationException("relief needs a tariff");
        CdrLines++;
        if (_byKey.Count == 0 || _decoder.Decode(line, out var cdr) != InvalidCause.None)
        {
            return;
        }

        if (!_byKey.TryGetValue((cdr.MsisdnKey, XxHash3.HashToUInt64(cdr.Id)), out var list))
        {
            return;
        }

        foreach (var entry in list)
        {
            var record = entry.Record;
            if (entry.HasCdr || record.CdrType != cdr.Type || !System.Text.Ascii.Equals(cdr.Id, record.Id)
                || !System.Text.Ascii.Equals(cdr.Start, record.Start))
            {
                continue;
            }

            entry.HasCdr = true;
            Price(entry, in cdr, tariff);
            return;
        }
    }

    /// <summary>Builds the report (counts, relief, sample in file order).</summary>
    public ZeroRatingReport Report() => Report([this]);

    /// <summary>
    /// The report of audits that each took the records (and ledger entries, and CDRs) of their share of the subscribers,
    /// all with the same month, tariff, sample size and seed: the counts and relief added up, the sample drawn over their
    /// zero-rated records merged back into file order — the report one audit of every record makes.
    /// </summary>
    internal static ZeroRatingReport Report(IReadOnlyList<ZeroRatingAudit> shards)
    {
        var first = shards[0];
        List<ZeroRatedEntry> entries = shards.Count == 1 ? first._entries : [.. shards.SelectMany(s => s._entries).OrderBy(e => e.Line)];
        var hasRelief = first.HasRelief;
        var rules = new SortedDictionary<string, AuditTally>(StringComparer.Ordinal);
        var days = new AuditTally[first._dayCount];
        var total = default(AuditTally);
        var unpriced = new SortedDictionary<string, long>(StringComparer.Ordinal);
        if (hasRelief)
        {
            unpriced[NoCdr] = 0;
            unpriced[UnknownPlan] = 0;
            unpriced[NoRate] = 0;
        }

        // Algorithm R over the zero-rated records in file order: the first N fill the reservoir; record i (0-based, i ≥ N)
        // replaces slot j = Next(i + 1) when j < N.
        var sample = new List<ZeroRatedEntry>();
        var random = new Random(first.Seed);
        for (var seen = 0; seen < entries.Count; seen++)
        {
            var entry = entries[seen];
            if (sample.Count < first._sampleSize)
            {
                sample.Add(entry);
            }
            else if (first._sampleSize > 0)
            {
                var j = random.Next(seen + 1);
                if (j < first._sampleSize)
                {
                    sample[j] = entry;
                }
            }

            if (hasRelief && !entry.HasCdr)
            {
                entry.ReliefNote = NoCdr;
            }

            if (entry.ReliefNote is { } note)
            {
                unpriced[note]++;
            }

            var reason = entry.Record.ZeroRated!;
            rules[reason] = rules.GetValueOrDefault(reason).Add(entry.Relief);
            days[entry.LocalDay - first._firstDay] = days[entry.LocalDay - first._firstDay].Add(entry.Relief);
            total = total.Add(entry.Relief);
        }

        LedgerFigures? ledger = null;
        if (first._hasLedger)
        {
            var byKind = new CreditTally[Enum.GetValues<AdjustmentKind>().Length];
            long notFound = 0;
            foreach (var shard in shards)
            {
                foreach (var (key, named) in shard._named)
                {
                    if (!shard._namedFound.TryGetValue(key, out var found))
                    {
                        notFound += named.Count;
                        continue;
                    }

                    if (!found.InMonth)
                    {
                        continue; // counted in its own month's report
                    }

                    foreach (var entry in named)
                    {
                        byKind[(int)entry.Kind] = byKind[(int)entry.Kind].Add(entry.Difference, found.ZeroRated);
                    }
                }
            }

            ledger = new LedgerFigures(byKind, notFound);
        }

        return new ZeroRatingReport
        {
            Ledger = ledger,
            Month = $"{first.Year:D4}-{first.Month:D2}",
            TariffVersion = first._tariff?.Version,
            UtcOffset = first._tariff?.UtcOffset ?? "Z",
            HasRelief = hasRelief,
            RecordsRead = shards.Sum(s => s.RecordsRead),
            RecordsInMonth = shards.Sum(s => s.RecordsInMonth),
            ZeroRated = total.Count,
            Rules = [.. rules.Select(kv => new AuditLine(kv.Key, kv.Value))],
            Days = [.. days.Select((tally, i) => new AuditLine(BillingCycle.ToText(first._firstDay + i), tally))],
            Total = total,
            Unpriced = unpriced,
            SampleRequested = first._sampleSize,
            Seed = first.Seed,
            Sample = [.. sample.OrderBy(e => e.Line)],
        };
    }

    private static void Price(ZeroRatedEntry entry, in Cdr cdr, Tariff tariff)
    {
        entry.Peer = cdr.Type == CdrType.Data ? null : System.Text.Encoding.ASCII.GetString(cdr.Peer);
        entry.Direction = cdr.Direction switch { Direction.Mo => "mo", Direction.Mt => "mt", _ => null };
        var dest = cdr.Type == CdrType.Data ? Dest.None : Tariff.DestOf(cdr.Peer);
        entry.Dest = dest switch { Dest.National => "national", Dest.Intl => "intl", _ => null };
        if (!tariff.TryGetPlan(entry.Record.Plan, out var plan))
        {
            entry.ReliefNote = UnknownPlan;
            return;
        }

        // The rate that would have applied had no zero-rating entry matched: the engine's own lookup.
        var rateIndex = plan.FindRate(cdr.Type, tariff.ZoneOf(cdr.VisitedMcc), cdr.Direction, dest);
        if (rateIndex < 0)
        {
            entry.ReliefNote = NoRate;
            return;
        }

        var rate = plan.Rates[rateIndex];
        var units = RatingEngine.BillableUnits(in cdr, rate);
        entry.ReliefUnits = units;
        entry.Relief = (long)Pricing.Charge(units, rate); // ≤ 10^15: the tariff loader refuses rates that could charge more
    }
}

/// <summary>What the rated records say of a CDR a ledger entry names: whether it started in the month, and was zero-rated there.</summary>
internal readonly record struct NamedCdr(bool InMonth, bool ZeroRated);

/// <summary>Ledger entries of one kind naming a CDR of the month: how many, the sum of their differences (micros; negative = credit), how many on a zero-rated record.</summary>
public readonly record struct CreditTally(long Count, long Difference, long OnZeroRated)
{
    public CreditTally Add(long difference, bool onZeroRated) =>
        new(Count + 1, checked(Difference + difference), OnZeroRated + (onZeroRated ? 1 : 0));
}

/// <summary>
/// The ledger's part of the report: per <see cref="AdjustmentKind"/>, the entries naming a CDR that started in the
/// month; and the entries naming a CDR that no rated record read holds (so no month can be told).
/// </summary>
public sealed record LedgerFigures(IReadOnlyList<CreditTally> ByKind, long NotFound)
{
    public CreditTally Of(AdjustmentKind kind) => ByKind[(int)kind];
}

/// <summary>Count of zero-rated records, and relief over those priced.</summary>
public readonly record struct AuditTally(long Count, long Priced, long Relief)
{
    public AuditTally Add(long? relief) =>
        relief is { } r ? new(Count + 1, Priced + 1, checked(Relief + r)) : this with { Count = Count + 1 };
}

/// <summary>One line of the per-rule or per-day table.</summary>
public sealed record AuditLine(string Key, AuditTally Tally);

/// <summary>The result of a <see cref="ZeroRatingAudit"/>.</summary>
public sealed record ZeroRatingReport
{
    public required string Month { get; init; }

    public required string? TariffVersion { get; init; }

    /// <summary>The offset that defines local days and the month (<c>Z</c> = UTC, without a tariff).</summary>
    public required string UtcOffset { get; init; }

    public required bool HasRelief { get; init; }

    public required long RecordsRead { get; init; }

    public required long RecordsInMonth { get; init; }

    public required long ZeroRated { get; init; }

    /// <summary>Per zero-rating reason, ordinal order.</summary>
    public required IReadOnlyList<AuditLine> Rules { get; init; }

    /// <summary>Every local day of the month, in order (days without zero-rated records included).</summary>
    public required IReadOnlyList<AuditLine> Days { get; init; }

    public required AuditTally Total { get; init; }

    /// <summary>With relief: records not priced, by note (<c>no-cdr</c>, <c>no-rate</c>, <c>unknown-plan</c>).</summary>
    public required IReadOnlyDictionary<string, long> Unpriced { get; init; }

    public required int SampleRequested { get; init; }

    public required int Seed { get; init; }

    /// <summary>The sampled records in file order.</summary>
    public required IReadOnlyList<ZeroRatedEntry> Sample { get; init; }

    /// <summary>With a ledger: its entries naming a CDR of the month (goodwill credits, re-rating adjustments); else null.</summary>
    public LedgerFigures? Ledger { get; init; }
}
