using System.Runtime;

namespace RatingPipeline.Tests.Support;

/// <summary>
/// Counts the bytes allocated on the calling thread from its start to <see cref="Allocated"/>, with no collection in
/// between. The runtime's per-thread count is not exact across a collection: one that ran in the middle of a measure
/// was seen to add 1-6 KiB nothing had allocated (reproduced with a 256 KiB gen-0 budget, <c>DOTNET_GCgen0size=0x40000</c>),
/// and another thread's allocations can start one at any time. So the window holds a region without collections
/// (<see cref="GC.TryStartNoGCRegion(long)"/>) until disposed; a test's allocation budget is then exact.
/// </summary>
public sealed class AllocationWindow : IDisposable
{
    /// <summary>What the window may allocate before the runtime ends its region: far more than any budget measured in it.</summary>
    public const long DefaultRoom = 64L << 20;

    private readonly long _before;
    private readonly bool _region;

    /// <param name="room">Bytes the measured code may allocate without a collection (all threads together).</param>
    public AllocationWindow(long room = DefaultRoom)
    {
        // A region the test already holds is kept (asking again would end it).
        if (GCSettings.LatencyMode != GCLatencyMode.NoGCRegion)
        {
            if (!GC.TryStartNoGCRegion(room))
            {
                throw new InvalidOperationException($"the runtime refused a region of {room} bytes without collections");
            }

            _region = true;
        }

        _before = GC.GetAllocatedBytesForCurrentThread();
    }

    /// <summary>
    /// The bytes allocated on this thread since the window opened. Throws when a collection ended the region (more than
    /// the room was allocated), since the count may then be off.
    /// </summary>
    public long Allocated
    {
        get
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread() - _before;
            return GCSettings.LatencyMode == GCLatencyMode.NoGCRegion
                ? allocated
                : throw new InvalidOperationException($"a collection ended the window's region ({allocated} bytes allocated on this thread): the count is not exact");
        }
    }

    public void Dispose()
    {
        if (_region && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            GC.EndNoGCRegion();
        }
    }
}
