using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace RatingPipeline.IO;

/// <summary>
/// A file of lines read in parts, one part per core: the file is cut at line ends, and each part is read through a
/// buffer of its own (the file is never held whole). The subscriber file's load and the re-rate's scope work this way.
/// </summary>
public static class FileParts
{
    /// <summary>What a part reads at a time (a longer line grows its buffer).</summary>
    private const int BufferBytes = 1 << 20;

    /// <summary>Takes one line of a part (without its line end; blank lines too); false stops the part there.</summary>
    public delegate bool LineCallback(ReadOnlySpan<byte> line);

    /// <summary>
    /// Where the file is cut into at most <paramref name="count"/> parts: the first at 0, each further one after the
    /// first line end at or after its share of the length, the last at the end (a part may be empty).
    /// </summary>
    public static long[] Bounds(SafeFileHandle file, long length, int count)
    {
        var bounds = new long[count + 1];
        bounds[count] = length;
        Span<byte> chunk = stackalloc byte[4096];
        for (var i = 1; i < count; i++)
        {
            var at = Math.Max(bounds[i - 1], length * i / count);
            bounds[i] = length;
            while (at < length)
            {
                var n = RandomAccess.Read(file, chunk, at);
                if (n == 0)
                {
                    break;
                }

                var newline = chunk[..n].IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    bounds[i] = at + newline + 1;
                    break;
                }

                at += n;
            }
        }

        return bounds;
    }

    /// <summary>
    /// Hands each line of the part from <paramref name="start"/> to <paramref name="end"/> to <paramref name="take"/>, in
    /// order, until it returns false; returns the lines handed over (a line end counts a line; so does a last line without
    /// one). Throws <see cref="IOException"/> when the file ends before <paramref name="end"/>.
    /// </summary>
    /// <remarks>Compiled by the JIT at its first call: a part's loop runs once, for the whole part, and would otherwise keep its ahead-of-time code.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ReadLines(SafeFileHandle file, long start, long end, LineCallback take)
    {
        var buffer = new byte[(int)Math.Min(BufferBytes, Math.Max(end - start, 1))];
        var held = 0; // bytes of an unfinished line at the start of the buffer
        var at = start;
        var lines = 0;
        while (at < end || held > 0)
        {
            if (held == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var n = at < end ? RandomAccess.Read(file, buffer.AsSpan(held, (int)Math.Min(buffer.Length - held, end - at)), at) : 0;
            if (n == 0 && at < end)
            {
                throw new IOException($"the file ended at byte {at} while it was read");
            }

            at += n;
            var span = buffer.AsSpan(0, held + n);
            var last = at >= end; // the part's last line need not end with a line end
            while (span.Length > 0)
            {
                var newline = span.IndexOf((byte)'\n');
                if (newline < 0 && !last)
                {
                    break;
                }

                lines++;
                var line = newline < 0 ? span : span[..newline];
                span = newline < 0 ? default : span[(newline + 1)..];
                if (!take(line))
                {
                    return lines;
                }
            }

            span.CopyTo(buffer);
            held = span.Length;
            if (last)
            {
                break;
            }
        }

        return lines;
    }
}
