using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RatingPipeline.Memory;

/// <summary>What <see cref="HugePages.AdviseCollectorHeap"/> did.</summary>
public enum HugePageAdvice
{
    /// <summary>The collector's heap was marked for huge pages.</summary>
    Advised,

    /// <summary>Nothing to do: the kernel backs all memory with huge pages where it can (<c>always</c>).</summary>
    AlreadyAlways,

    /// <summary>Not available: not Linux, a kernel without transparent huge pages, or turned off (<c>never</c>).</summary>
    Unavailable,

    /// <summary>The heap's mapping was not found, or the kernel refused the advice; the run goes on with small pages.</summary>
    Refused,
}

/// <summary>
/// Asks Linux to back the garbage collector's heap with transparent huge pages (2 MB instead of 4 KB), where the
/// system leaves that to each program (<c>/sys/kernel/mm/transparent_hugepage/enabled</c> = <c>madvise</c>, the usual
/// default).
/// <para>
/// Why: an offline run touches a state and a profile of a random subscriber for every record, over tables of
/// 100 MB or more. With 4 KB pages nearly each such touch also misses the processor's address translation cache, and
/// every new page of the heap is a fault. With 2 MB pages both mostly go (bench/README.md, "Huge pages for the heap":
/// a <c>rate</c> of 1,000,000 CDRs in about a fifth less time). The collector has no setting for it, so this marks the heap's
/// address range itself: the run of anonymous mappings that holds a small, a large and a pinned object just
/// allocated (the collector reserves its heap as one range and commits parts of it as it goes; the marking stays
/// with every part). Memory the collector gives back and takes again later is mapped anew and loses the mark, which
/// is why this suits a run that keeps what it allocates (the offline commands) rather than a worker that runs for
/// weeks.
/// </para>
/// <para>
/// Costs: a huge page is zeroed whole when first touched, so a run's resident memory can grow by up to 2 MB per
/// partly used stretch (measured: 166 against 159 MB on the benchmark's run), and with the kernel's
/// <c>defrag</c> setting at <c>madvise</c> a fault may wait while the kernel compacts memory for a huge page.
/// </para>
/// </summary>
public static partial class HugePages
{
    /// <summary>Where the kernel says how it hands out transparent huge pages.</summary>
    public const string SettingPath = "/sys/kernel/mm/transparent_hugepage/enabled";

    private const int MadvHugePage = 14;

    /// <summary>Marks the collector's heap for huge pages when the system leaves that to the program; see <see cref="HugePageAdvice"/>.</summary>
    public static HugePageAdvice AdviseCollectorHeap()
    {
        if (!OperatingSystem.IsLinux())
        {
            return HugePageAdvice.Unavailable;
        }

        switch (Setting())
        {
            case "always":
                return HugePageAdvice.AlreadyAlways;
            case "madvise":
                break;
            default:
                return HugePageAdvice.Unavailable;
        }

        var small = new byte[16];
        var large = new byte[128 * 1024];
        var pinned = GC.AllocateUninitializedArray<byte>(16, pinned: true);
        ReadOnlySpan<ulong> probes = [AddressOf(small), AddressOf(large), AddressOf(pinned)];
        List<Mapping> mappings;
        try
        {
            mappings = [.. File.ReadLines("/proc/self/maps").Select(Mapping.Parse)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return HugePageAdvice.Refused;
        }

        var runs = HeapRuns(mappings, probes);
        if (runs.Count == 0)
        {
            return HugePageAdvice.Refused;
        }

        foreach (var (start, end) in runs)
        {
            if (Madvise((nint)start, (nuint)(end - start), MadvHugePage) != 0)
            {
                return HugePageAdvice.Refused;
            }
        }

        return HugePageAdvice.Advised;
    }

    /// <summary>The kernel's setting (<c>always</c>, <c>madvise</c>, <c>never</c>: the bracketed word of <see cref="SettingPath"/>), or null when it has none.</summary>
    public static string? Setting()
    {
        try
        {
            return SelectedWord(File.ReadAllText(SettingPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The bracketed word of a setting such as <c>always [madvise] never</c>, or null.</summary>
    public static string? SelectedWord(string setting)
    {
        var open = setting.IndexOf('[', StringComparison.Ordinal);
        var close = open < 0 ? -1 : setting.IndexOf(']', open + 1);
        return close < 0 ? null : setting[(open + 1)..close];
    }

    /// <summary>
    /// The address ranges to mark: each run of adjacent anonymous mappings (listed in address order, as the kernel
    /// lists them) that holds one of <paramref name="probes"/>, once.
    /// </summary>
    public static List<(ulong Start, ulong End)> HeapRuns(IReadOnlyList<Mapping> mappings, ReadOnlySpan<ulong> probes)
    {
        var runs = new List<(ulong Start, ulong End)>();
        var at = 0;
        while (at < mappings.Count)
        {
            if (!mappings[at].Anonymous)
            {
                at++;
                continue;
            }

            var first = at;
            while (at + 1 < mappings.Count && mappings[at + 1].Anonymous && mappings[at + 1].Start == mappings[at].End)
            {
                at++;
            }

            var (start, end) = (mappings[first].Start, mappings[at].End);
            foreach (var probe in probes)
            {
                if (probe >= start && probe < end)
                {
                    runs.Add((start, end));
                    break;
                }
            }

            at++;
        }

        return runs;
    }

    private static ulong AddressOf(byte[] array) => (ulong)Unsafe.As<byte[], nint>(ref array);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);

    /// <summary>One line of <c>/proc/self/maps</c>: its address range, and whether it maps no file (anonymous memory).</summary>
    public readonly record struct Mapping(ulong Start, ulong End, bool Anonymous)
    {
        /// <summary>
        /// Parses <c>start-end perms offset dev inode [path]</c>; anonymous when the inode is 0 and there is no path, or
        /// only the name a program gave its anonymous memory (<c>[anon:…]</c>, where the kernel lets programs name it).
        /// </summary>
        public static Mapping Parse(string line)
        {
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var dash = fields.Length >= 5 ? fields[0].IndexOf('-', StringComparison.Ordinal) : -1;
            if (dash < 0)
            {
                throw new FormatException($"not a line of a mappings list: {line}");
            }

            var start = ulong.Parse(fields[0].AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            var end = ulong.Parse(fields[0].AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            return new Mapping(start, end, fields[4] == "0"
                && (fields.Length == 5 || fields[5].Length == 0 || fields[5].StartsWith("[anon:", StringComparison.Ordinal)));
        }
    }
}
