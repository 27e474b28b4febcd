using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using RatingPipeline.IO;
using RatingPipeline.Memory;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Subscribers;

/// <summary>A subscriber file broke the profile rules; the message names the line.</summary>
public sealed class SubscriberFileException : Exception
{
    public SubscriberFileException()
        : base("subscriber file refused")
    {
    }

    public SubscriberFileException(string message)
        : base(message)
    {
    }

    /// <summary>Refused because of <paramref name="inner"/>: its message is added to <paramref name="message"/>, and it is kept as the cause.</summary>
    public SubscriberFileException(string message, Exception inner)
        : base(message + ": " + inner.Message, inner)
    {
    }
}

/// <summary>
/// Reads a JSON Lines subscriber file for offline rating: one profile per line, blank lines skipped; for an
/// msisdn given twice the later line wins. The first bad line stops the load with its line number.
/// <para>
/// The file is cut into one part per core at line ends; each part is read through a buffer of its own and parsed in
/// parallel with the others (the file is never held whole), an msisdn given twice within it resolved as it goes; then
/// the parts are put together in file order (so "the later line wins" and "the first bad line" are the file's, whatever
/// the parts). Texts many profiles repeat (balance
/// instants, services) are shared within a part (<see cref="SharedTexts"/>).
/// </para>
/// </summary>
public static class SubscriberFile
{
    /// <summary>Below this size a file is parsed on the calling thread alone.</summary>
    private const int ParallelFrom = 1 << 20;

    /// <summary>Fewer bytes than most profile lines have (to size a part's list of profiles up front).</summary>
    private const int LineBytes = 64;

    /// <summary>Bytes a load allocates per byte of the file, with room to spare (about 290 B for a line of about 80 B).</summary>
    private const int AllocatedPerFileByte = 4;

    /// <summary>
    /// About what loading a file of <paramref name="fileBytes"/> allocates, with room to spare. A file of 1 MB or more is
    /// loaded without collections (<see cref="CollectionFreeRegion"/>) unless the caller already holds such a region:
    /// every profile read lives as long as the run (a million profiles: about 30 collections and 0.3 s of pauses
    /// otherwise). The first collection after the region marks them once (about 0.18 s for a million).
    /// </summary>
    public static long LoadBytes(long fileBytes) => fileBytes * AllocatedPerFileByte;

    public static List<SubscriberProfile> Load(string path, Tariff tariff)
    {
        Part[] read;
        var spared = false;
        try
        {
            using var file = File.OpenHandle(path);
            var length = RandomAccess.GetLength(file);
            spared = length >= ParallelFrom && CollectionFreeRegion.TryStart(LoadBytes(length));
            var bounds = FileParts.Bounds(file, length, length < ParallelFrom ? 1 : Environment.ProcessorCount);
            read = new Part[bounds.Length - 1];
            if (read.Length == 1)
            {
                read[0] = Parse(file, bounds[0], bounds[1], tariff);
            }
            else
            {
                Parallel.For(0, read.Length, i => read[i] = Parse(file, bounds[i], bounds[i + 1], tariff));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SubscriberFileException($"cannot read subscriber file {path}", e);
        }
        catch (AggregateException e) when (e.InnerException is IOException or UnauthorizedAccessException)
        {
            throw new SubscriberFileException($"cannot read subscriber file {path}", e.InnerException);
        }
        finally
        {
            if (spared)
            {
                CollectionFreeRegion.End();
            }
        }

        var linesBefore = 0;
        foreach (var part in read)
        {
            if (part.Error is not null)
            {
                throw new SubscriberFileException($"{path}:{linesBefore + part.ErrorLine}: {part.Error}");
            }

            linesBefore += part.Lines;
        }

        return Merge(read);
    }

    /// <summary>
    /// The parts' profiles in file order, each msisdn in the place of its first line with the profile of its last. Each
    /// part has done that within itself; here the msisdns of each part are looked up in the earlier parts (in
    /// parallel, the parts' tables only read), and a profile found in an earlier part replaces the one there.
    /// </summary>
    private static List<SubscriberProfile> Merge(Part[] parts)
    {
        var repeats = new List<(int At, int Part, int Place)>[parts.Length];
        Parallel.For(1, parts.Length, j =>
        {
            var found = new List<(int, int, int)>();
            var profiles = parts[j].Profiles;
            for (var at = 0; at < profiles.Count; at++)
            {
                var key = profiles[at].MsisdnKey;
                for (var k = 0; k < j; k++)
                {
                    if (parts[k].Places.TryGetValue(key, out var place))
                    {
                        found.Add((at, k, place));
                        break;
                    }
                }
            }

            repeats[j] = found;
        });

        var count = parts.Sum(p => p.Profiles.Count);
        for (var j = 1; j < parts.Length; j++)
        {
            foreach (var (at, k, place) in repeats[j])
            {
                parts[k].Profiles[place] = parts[j].Profiles[at];
                parts[j].Profiles[at] = null!;
                count--;
            }
        }

        var all = new List<SubscriberProfile>(count);
        for (var j = 0; j < parts.Length; j++)
        {
            if (j == 0 || repeats[j].Count == 0)
            {
                all.AddRange(parts[j].Profiles);
            }
            else
            {
                all.AddRange(parts[j].Profiles.Where(p => p is not null));
            }
        }

        return all;
    }

    /// <summary>A line of JSON whitespace only (space, tab, CR) is blank.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept(" \t\r"u8) < 0;

    /// <summary>
    /// Parses the part of the file from <paramref name="start"/> to <paramref name="end"/>: its profiles in order until
    /// its first bad line, that line's error and number (1-based within the part), and how many lines the part holds
    /// (a line end counts a line; so does a last line without one).
    /// </summary>
    private static Part Parse(SafeFileHandle file, long start, long end, Tariff tariff)
    {
        var expected = (int)Math.Min((end - start) / LineBytes, Array.MaxLength);
        var profiles = new List<SubscriberProfile>(expected);
        var places = new Dictionary<ulong, int>(expected);
        var shared = new SharedTexts();
        string? error = null;
        var lines = FileParts.ReadLines(file, start, end, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (line) =>
        {
            if (IsBlank(line))
            {
                return true;
            }

            var profile = ProfileReader.TryRead(line, tariff, shared, out var refused);
            if (profile is null)
            {
                error = refused;
                return false;
            }

            // An msisdn given again in the part: the later profile in the earlier place.
            ref var place = ref CollectionsMarshal.GetValueRefOrAddDefault(places, profile.MsisdnKey, out var known);
            if (known)
            {
                profiles[place] = profile;
            }
            else
            {
                place = profiles.Count;
                profiles.Add(profile);
            }

            return true;
        });
        return new Part(profiles, places, lines, error, error is null ? 0 : lines);
    }

    /// <summary>A part's profiles (an msisdn once, in the place of its first line), where each msisdn is, and its lines.</summary>
    private sealed record Part(List<SubscriberProfile> Profiles, Dictionary<ulong, int> Places, int Lines, string? Error, int ErrorLine);
}
