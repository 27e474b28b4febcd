namespace RatingPipeline.Benchmarks.Straightforward;

// Plain classes for System.Text.Json, as a user would write them for the documents of the specification.

public sealed class CdrDocument
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public string? Msisdn { get; set; }

    public string? Direction { get; set; }

    public string? Peer { get; set; }

    public string? Start { get; set; }

    public long? DurationSec { get; set; }

    public long? Bytes { get; set; }

    public string? VisitedMcc { get; set; }
}

public sealed class ProfileDocument
{
    public string Msisdn { get; set; } = "";

    public string Plan { get; set; } = "";

    public int CycleDay { get; set; }

    public long? DataCap { get; set; }
}

public sealed class TariffDocument
{
    public string Version { get; set; } = "";

    public string UtcOffset { get; set; } = "+00:00";

    public List<string> HomeMcc { get; set; } = [];

    public Dictionary<string, List<string>> Zones { get; set; } = [];

    public string DefaultRoamingZone { get; set; } = "";

    public List<ZeroRatedDocument> ZeroRated { get; set; } = [];

    public Dictionary<string, PlanDocument> Plans { get; set; } = [];
}

public sealed class ZeroRatedDocument
{
    public string Pattern { get; set; } = "";

    public List<string> Types { get; set; } = [];

    public DateTimeOffset From { get; set; }

    public DateTimeOffset? To { get; set; }

    public string Reason { get; set; } = "";
}

public sealed class PlanDocument
{
    public Dictionary<string, long> Allowances { get; set; } = [];

    public List<RateDocument> Rates { get; set; } = [];

    public long? DefaultDataCap { get; set; }
}

public sealed class RateDocument
{
    public string? Type { get; set; }

    public string? Zone { get; set; }

    public string? Direction { get; set; }

    public string? Dest { get; set; }

    public bool UseAllowance { get; set; }

    public bool Capped { get; set; }

    public long? FirstIncrement { get; set; }

    public long Increment { get; set; }

    public long Unit { get; set; }

    public long Price { get; set; }
}

/// <summary>One rated CDR.</summary>
public sealed record RatedRecord(string Id, string Msisdn, string Type, string Start, string Cycle, string Plan, string Zone,
    long BillableUnits, long AllowanceUnits, long OverageUnits, long Charge, string? ZeroRated);

/// <summary>A subscriber's usage in the current billing cycle.</summary>
public sealed class SubscriberUsage
{
    public DateTime Cycle { get; set; }

    public Dictionary<string, long> Used { get; } = [];

    public long CappedCharges { get; set; }

    public long Spend { get; set; }

    /// <summary>The last 32 accepted CDR ids.</summary>
    public Queue<string> RecentIds { get; } = new();
}
