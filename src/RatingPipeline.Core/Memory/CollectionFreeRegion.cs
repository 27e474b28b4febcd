using System.Runtime;

namespace RatingPipeline.Memory;

/// <summary>
/// A stretch of a run without garbage collections (<see cref="GC.TryStartNoGCRegion(long)"/>), for work whose
/// allocations all live to its end (profiles, usage states, the lanes' buffers): a collection during it would only copy
/// what was allocated so far from one generation to the next, and a full one stops every thread while it marks them.
/// <para>
/// <see cref="TryStart"/> is false when the runtime refuses (the size, or a region already running); the work then runs
/// as it would without. A region already running is left alone: asking for a second one would end it (the runtime's
/// answer). Two threads asking at once may still end each other's region early, which costs only the collections it
/// spared. Allocating more than was asked for ends the region with a collection, as if there had been none.
/// </para>
/// </summary>
public static class CollectionFreeRegion
{
    /// <summary>The largest region asked for, as a share of the memory the collector may use (the machine's, or a container's or heap limit).</summary>
    private const int AvailableShare = 4;

    /// <summary>
    /// Asks for no collection while about <paramref name="bytes"/> are allocated; true when a region started. Not asked
    /// beyond a quarter of the memory the collector may use: under a heap limit (a container's) the runtime grants a
    /// region larger than the limit and then fails the allocations it was meant to cover.
    /// </summary>
    public static bool TryStart(long bytes)
    {
        if (bytes <= 0 || bytes > GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / AvailableShare
            || GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            return false;
        }

        try
        {
            return GC.TryStartNoGCRegion(bytes);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Ends the region <see cref="TryStart"/> started, if it still runs (more allocated than asked for ends it early).</summary>
    public static void End()
    {
        if (GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
        {
            return;
        }

        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // Ended by a collection after all (allocated past the size): nothing to end.
        }
    }
}
