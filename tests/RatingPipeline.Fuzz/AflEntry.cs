using SharpFuzz;

namespace RatingPipeline.Fuzz;

/// <summary>
/// The coverage-guided driver: afl-fuzz starts this process with an instrumented RatingPipeline.Core.dll and
/// feeds it inputs through SharpFuzz's fork server. An invariant violation or escaped exception is an
/// unhandled exception here, which afl-fuzz saves as a crash.
/// </summary>
internal static class AflEntry
{
    public static void Run(string targetName)
    {
        // No instrumented code may run before the fork server sets up the coverage map: create the target lazily.
        FuzzTarget? target = null;
        using var buffer = new MemoryStream();
        Fuzzer.OutOfProcess.Run(stream =>
        {
            target ??= FuzzTarget.Create(targetName);
            buffer.SetLength(0);
            stream.CopyTo(buffer);
            target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        });
    }
}
