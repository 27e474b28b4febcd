using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace RatingPipeline.Rerating;

/// <summary>
/// Prefetch hints: ask the processor for the cache line of an object or an array element that is about to be used. A
/// hint never faults (an address the collector has since moved away from only wastes it) and changes nothing; a no-op
/// where the runtime exposes no prefetch instruction.
/// </summary>
internal static class CacheHints
{
    /// <summary>The first line of an object (its header and first fields).</summary>
    public static unsafe void Object(object? value)
    {
        if (Sse.IsSupported && value is not null)
        {
            Sse.Prefetch0((void*)Unsafe.As<object, nint>(ref value));
        }
    }

    /// <summary>The line of a value (an array element, a field).</summary>
    public static unsafe void At<T>(ref T value)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref value));
        }
    }
}
