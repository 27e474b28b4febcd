using System.CommandLine;
using RatingPipeline.Lanes;

namespace RatingPipeline.Cli.Commands;

/// <summary>The <c>--lanes</c> option of the offline commands (rate, rerate, audit): 0, the default, for one lane per core.</summary>
internal static class LanesOption
{
    public static Option<int> Create(string work)
    {
        var lanes = new Option<int>("--lanes")
        {
            Description = $"Lanes: threads that each {work} their share of the subscribers (default: one per core); the outputs are the same for any number",
            DefaultValueFactory = _ => 0,
        };
        lanes.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > LaneRouter.MaxLanes)
            {
                result.AddError($"--lanes must be between 1 and {LaneRouter.MaxLanes} (0: one per core)");
            }
        });
        return lanes;
    }

    /// <summary>The lanes to run: the number given, or one per core for 0.</summary>
    public static int Resolve(int lanes) => lanes > 0 ? lanes : RatingLanes.DefaultLanes;
}
