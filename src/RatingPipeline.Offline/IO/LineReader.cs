using System.Buffers;
using System.IO.Pipelines;

namespace RatingPipeline.IO;

/// <summary>
/// Reads a file as lines through a <see cref="Pipe"/>: a background task fills the pipe from the file while
/// the caller consumes lines, sliced from the pipe's buffers without copying (a line split across two
/// buffers is copied once into a pooled array). Lines end at '\n'; a last line without one is delivered too.
/// </summary>
public static class LineReader
{
    public delegate void LineHandler(ReadOnlySpan<byte> line);

    public static async Task<long> ReadLinesAsync(string path, LineHandler onLine, Action<long>? onBytes, CancellationToken cancel)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, useAsync: true);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 << 20, resumeWriterThreshold: 2 << 20, minimumSegmentSize: 128 * 1024, useSynchronizationContext: false));
        var fill = FillAsync(file, pipe.Writer, cancel);
        long lines = 0;
        long consumed = 0;
        var reader = pipe.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(cancel);
            var buffer = result.Buffer;
            var before = buffer.Length;
            lines += ConsumeLines(ref buffer, onLine);
            if (result.IsCompleted && buffer.Length > 0)
            {
                // The last line has no '\n'.
                Deliver(buffer, onLine);
                lines++;
                buffer = buffer.Slice(buffer.End);
            }

            consumed += before - buffer.Length;
            onBytes?.Invoke(consumed);
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
        await fill;
        return lines;
    }

    private static long ConsumeLines(ref ReadOnlySequence<byte> buffer, LineHandler onLine)
    {
        long count = 0;
        if (buffer.IsSingleSegment)
        {
            // Fast path: search the contiguous span directly.
            var span = buffer.FirstSpan;
            var start = 0;
            while (true)
            {
                var end = span[start..].IndexOf((byte)'\n');
                if (end < 0)
                {
                    break;
                }

                onLine(span.Slice(start, end));
                start += end + 1;
                count++;
            }

            buffer = buffer.Slice(start);
            return count;
        }

        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            Deliver(line, onLine);
            count++;
        }

        buffer = buffer.Slice(reader.Position);
        return count;
    }

    private static void Deliver(ReadOnlySequence<byte> line, LineHandler onLine)
    {
        if (line.IsSingleSegment)
        {
            onLine(line.FirstSpan);
            return;
        }

        var length = checked((int)line.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        line.CopyTo(rented);
        onLine(rented.AsSpan(0, length));
        ArrayPool<byte>.Shared.Return(rented);
    }

    private static async Task FillAsync(FileStream file, PipeWriter writer, CancellationToken cancel)
    {
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(128 * 1024);
                var read = await file.ReadAsync(memory, cancel);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                var flush = await writer.FlushAsync(cancel);
                if (flush.IsCompleted)
                {
                    break;
                }
            }

            await writer.CompleteAsync();
        }
        catch (Exception e)
        {
            await writer.CompleteAsync(e);
        }
    }
}
