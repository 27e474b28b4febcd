namespace RatingPipeline.FaultSuite;

/// <summary>The faults the suite injects.</summary>
public enum FaultKind
{
    /// <summary>SIGKILL a rater process, then start it again.</summary>
    KillRater,

    /// <summary>SIGKILL the sender process, then start it again.</summary>
    KillSender,

    /// <summary>The next Produce requests fail with retriable errors.</summary>
    ProduceErrors,

    /// <summary>The next Fetch requests fail with retriable errors.</summary>
    FetchErrors,

    /// <summary>The next OffsetCommit requests fail.</summary>
    CommitErrors,

    /// <summary>The broker drops every connection and refuses new ones for a few seconds.</summary>
    BrokerDown,

    /// <summary>Every broker response is delayed for a few seconds.</summary>
    Latency,

    /// <summary>A new tariff version replaces the file the raters watch.</summary>
    TariffSwitch,

    /// <summary>A second rater instance joins the group.</summary>
    SecondRater,

    /// <summary>One of the two rater instances is stopped (SIGTERM: it finishes its batch and leaves the group).</summary>
    StopOneRater,
}

/// <summary>One planned fault: what, and at which share of the CDR stream it is due.</summary>
public readonly record struct PlannedFault(FaultKind Kind, double DueAtShare);

/// <summary>
/// The fault schedule of a run, drawn from the seed: kills and broker faults shuffled and spread over the
/// stream (each at a random point of its own slice), with the second rater joining after the first quarter,
/// the tariff switch at mid-stream and one rater stopped after three quarters.
/// </summary>
public static class FaultPlan
{
    private static readonly FaultKind[] BrokerKinds =
        [FaultKind.ProduceErrors, FaultKind.FetchErrors, FaultKind.CommitErrors, FaultKind.BrokerDown, FaultKind.Latency];

    public static List<PlannedFault> Create(FaultSuiteOptions options, bool sender, Random random)
    {
        var kinds = new List<FaultKind>();
        kinds.AddRange(Enumerable.Repeat(FaultKind.KillRater, options.RaterKills));
        if (sender)
        {
            kinds.AddRange(Enumerable.Repeat(FaultKind.KillSender, options.SenderKills));
        }

        for (var i = 0; i < options.BrokerFaults; i++)
        {
            kinds.Add(BrokerKinds[i % BrokerKinds.Length]);
        }

        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(kinds));
        kinds.Insert(kinds.Count / 4, FaultKind.SecondRater);
        kinds.Insert(kinds.Count / 2, FaultKind.TariffSwitch);
        kinds.Insert(kinds.Count * 3 / 4, FaultKind.StopOneRater);

        // Slice i of n covers shares [i/n, (i+1)/n) of the stream; the fault lands at a random point inside it.
        var n = kinds.Count;
        return [.. kinds.Select((kind, i) => new PlannedFault(kind, (i + 0.15 + (0.7 * random.NextDouble())) / n))];
    }
}
