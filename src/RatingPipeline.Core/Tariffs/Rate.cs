using RatingPipeline.Records;

namespace RatingPipeline.Tariffs;

/// <summary>Destination class of a voice or SMS peer: <c>intl</c> when it starts with 00 but not 0086.</summary>
public enum Dest : byte
{
    None = 0,
    National = 1,
    Intl = 2,
}

/// <summary>
/// One entry of a plan's rate list. <c>null</c> criteria match anything ("*" or absent).
/// Billable units are counted in <see cref="FirstIncrement"/> then <see cref="Increment"/> steps; the charge is
/// <see cref="Price"/> micros per <see cref="Unit"/> units, rounded half up.
/// </summary>
public sealed record Rate(
    CdrType? Type,
    string? Zone,
    Direction? Direction,
    Dest? Dest,
    bool UseAllowance,
    bool Capped,
    long FirstIncrement,
    long Increment,
    long Unit,
    long Price);
