using RatingPipeline.Benchmarks.Straightforward;
using RatingPipeline.Rating;

namespace RatingPipeline.Benchmarks;

/// <summary>Keeps the straightforward baseline honest: it must rate the benchmark data exactly as the engine does.</summary>
public static class StraightforwardCheck
{
    /// <summary>
    /// Rates every CDR with a fresh engine and with <paramref name="straightforward"/>, and throws unless both accept
    /// the same CDRs with the same cycle, zone, units and charge (and rate nearly all of the mix).
    /// </summary>
    public static void AssertSameCharges(BenchmarkData data, StraightforwardRater straightforward)
    {
        var engine = new RatingEngine(data.Tariff);
        foreach (var profile in data.Profiles)
        {
            engine.SetProfile(profile);
        }

        straightforward.ResetUsage();
        var rated = 0;
        for (var i = 0; i < data.CdrLines.Length; i++)
        {
            var sink = default(CapturingSink);
            var result = engine.Process(data.CdrLines[i], ref sink);
            var expected = result == RatingResult.Rated ? sink.Last : null;
            var actual = straightforward.Rate(data.CdrLines[i]) is { } r
                ? new RatedFigures(r.Id, r.Cycle, r.Zone, r.BillableUnits, r.AllowanceUnits, r.OverageUnits, r.Charge, r.ZeroRated)
                : (RatedFigures?)null;
            if (expected != actual)
            {
                throw new InvalidOperationException(
                    $"the straightforward baseline differs from the engine on CDR {i}: engine {Show(expected)}, straightforward {Show(actual)}; line: "
                    + System.Text.Encoding.UTF8.GetString(data.CdrLines[i]));
            }

            rated += expected is null ? 0 : 1;
        }

        if (rated < data.CdrLines.Length * 95 / 100)
        {
            throw new InvalidOperationException($"only {rated} of {data.CdrLines.Length} CDRs rated: not a realistic mix");
        }

        straightforward.ResetUsage();
    }

    private static string Show(RatedFigures? figures) => figures?.ToString() ?? "rejected";
}
