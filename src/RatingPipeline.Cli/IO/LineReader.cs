using System.Buffers;

namespace RatingPipeline.Cli.IO;

/// <summary>
/// Reads a file as lines: large reads into one pooled buffer, lines handed out as spans of it without copying.
/// A partial line at the end of the buffer moves to its start before the next read; a line longer than the
/// buffer makes it grow. Lines end at '\n'; a last line without one is delivered too.
/// </summary>
public static class LineReader
{
    public delegate void LineHandler(ReadOnlySpan<byte> line);

    /// <summary>Bytes read per call (sequential reads of this size keep the disk's read-ahead busy).</summary>
    private const int ReadSize = 1 << 20;

    public static async Task<long> ReadLinesAsync(string path, LineHandler onLine, Action<long>? onBytes, CancellationToken cancel)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, useAsync: false);
        var buffer = ArrayPool<byte>.Shared.Rent(2 * ReadSize);
        try
        {
            long lines = 0;
            long consumed = 0;
            var start = 0; // first byte not yet delivered
            var end = 0; // end of the bytes read
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                if (buffer.Length - end < ReadSize)
                {
                    MakeRoom(ref buffer, ref start, ref end);
                }

                var read = await file.ReadAsync(buffer.AsMemory(end, ReadSize), cancel);
                if (read == 0)
                {
                    break;
                }

                end += read;
                var delivered = DeliverLines(buffer.AsSpan(start, end - start), onLine, ref lines);
                start += delivered;
                consumed += delivered;
                onBytes?.Invoke(consumed);
            }

            if (end > start)
            {
                // The last line has no '\n'.
                onLine(buffer.AsSpan(start, end - start));
                lines++;
                onBytes?.Invoke(consumed + (end - start));
            }

            return lines;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Delivers every complete line of <paramref name="data"/>; returns the bytes consumed.</summary>
    private static int DeliverLines(ReadOnlySpan<byte> data, LineHandler onLine, ref long lines)
    {
        var at = 0;
        while (true)
        {
            var end = data[at..].IndexOf((byte)'\n');
            if (end < 0)
            {
                return at;
            }

            onLine(data.Slice(at, end));
            at += end + 1;
            lines++;
        }
    }

    /// <summary>Moves the partial line to the front, or grows the buffer when the partial line fills most of it.</summary>
    private static void MakeRoom(ref byte[] buffer, ref int start, ref int end)
    {
        var pending = end - start;
        if (buffer.Length - pending < ReadSize)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(pending + (2 * ReadSize));
            buffer.AsSpan(start, pending).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = bigger;
        }
        else
        {
            buffer.AsSpan(start, pending).CopyTo(buffer);
        }

        start = 0;
        end = pending;
    }
}
