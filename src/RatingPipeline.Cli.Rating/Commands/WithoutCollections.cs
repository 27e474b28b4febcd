using RatingPipeline.Memory;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// Runs an offline command with its heap prepared for large tables when its inputs are a megabyte or more: the heap
/// marked for huge pages (<see cref="HugePages"/>, unless the command line said <c>--no-huge-pages</c>), and the command
/// run in a region without collections (<see cref="CollectionFreeRegion"/>): what rating and re-rating allocate
/// (profiles, usage states, the old run's records, the lanes' buffers) lives to the end of the run, so each collection
/// would only copy it, and a full one stops every thread while it marks it all (bench/README.md, "Runs without
/// collections"). Smaller inputs meet few collections and skip both.
/// </summary>
internal static class WithoutCollections
{
    private const long From = 1L << 20;

    /// <summary>The size of a file, 0 when there is none (the command then says so).</summary>
    public static long FileBytes(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>
    /// Runs <paramref name="run"/>. When the inputs come to <paramref name="inputBytes"/> of 1 MB or more: with the heap
    /// marked for huge pages if <paramref name="hugePages"/>, and in a region of <paramref name="regionBytes"/> if the
    /// runtime grants it (the region ends with the run).
    /// </summary>
    public static async Task<int> RunAsync(long inputBytes, long regionBytes, bool hugePages, Func<Task<int>> run)
    {
        if (hugePages && inputBytes >= From)
        {
            // Before the region: the memory it sets aside is then touched, page by page, under the mark.
            HugePages.AdviseCollectorHeap();
        }

        var spared = inputBytes >= From && CollectionFreeRegion.TryStart(regionBytes);
        try
        {
            return await run();
        }
        finally
        {
            if (spared)
            {
                CollectionFreeRegion.End();
            }
        }
    }
}
