using RatingPipeline.Rating;

namespace RatingPipeline.Benchmarks;

/// <summary>Counts the engine's outputs and sums the charges: the cheapest sink that still uses every result.</summary>
public struct ChargeTotals : IRatingSink
{
    public long RatedCount;
    public long RejectedCount;
    public long ReminderCount;
    public long Charges;

    public void Rated(in RatedCdr rated)
    {
        RatedCount++;
        Charges += rated.Charge;
    }

    public void Reminder(in ReminderEvent reminder) => ReminderCount++;

    public void Rejected(in RejectedCdr rejected) => RejectedCount++;

    public readonly void Bill(in BillRecord bill)
    {
    }
}

/// <summary>The rated figures of one CDR, kept to compare the engine with the straightforward implementation.</summary>
public readonly record struct RatedFigures(string Id, string Cycle, string Zone, long BillableUnits, long AllowanceUnits, long OverageUnits, long Charge, string? ZeroRated);

/// <summary>Keeps the last rated CDR's figures (set-up only: it allocates).</summary>
public struct CapturingSink : IRatingSink
{
    public RatedFigures? Last;

    public void Rated(in RatedCdr rated) => Last = new RatedFigures(
        System.Text.Encoding.UTF8.GetString(rated.Id),
        Time.BillingCycle.ToText(rated.CycleDay),
        System.Text.Encoding.UTF8.GetString(rated.Zone),
        rated.BillableUnits,
        rated.AllowanceUnits,
        rated.OverageUnits,
        rated.Charge,
        rated.IsZeroRated ? System.Text.Encoding.UTF8.GetString(rated.ZeroRated) : null);

    public readonly void Reminder(in ReminderEvent reminder)
    {
    }

    public readonly void Rejected(in RejectedCdr rejected)
    {
    }

    public readonly void Bill(in BillRecord bill)
    {
    }
}
