using System.Buffers;
using System.Threading.Channels;

namespace RatingPipeline.IO;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over a file that hands full chunks (pooled arrays) to a background
/// task for writing, so formatting on the rating thread and disk writes overlap.
/// </summary>
public sealed class ChunkedFileWriter : IBufferWriter<byte>, IAsyncDisposable
{
    private const int ChunkSize = 256 * 1024;

    private readonly FileStream _file;
    private readonly Channel<(byte[] Buffer, int Length)> _full = Channel.CreateBounded<(byte[], int)>(
        new BoundedChannelOptions(8) { SingleReader = true, SingleWriter = true });

    private readonly Task _writer;
    private byte[] _chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
    private int _used;

    public ChunkedFileWriter(string path)
    {
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _writer = Task.Run(WriteLoopAsync);
    }

    public void Advance(int count) => _used += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _chunk.AsMemory(_used);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _chunk.AsSpan(_used);
    }

    public async ValueTask DisposeAsync()
    {
        if (_used > 0)
        {
            await _full.Writer.WriteAsync((_chunk, _used));
        }
        else
        {
            ArrayPool<byte>.Shared.Return(_chunk);
        }

        _chunk = [];
        _full.Writer.Complete();
        await _writer;
        await _file.DisposeAsync();
    }

    private void Ensure(int sizeHint)
    {
        var need = Math.Max(sizeHint, 1);
        if (_chunk.Length - _used >= need)
        {
            return;
        }

        if (_used > 0)
        {
            // Blocks only when the disk is 8 chunks behind: back-pressure instead of unbounded memory.
            var pending = (_chunk, _used);
            if (!_full.Writer.TryWrite(pending))
            {
                _full.Writer.WriteAsync(pending).AsTask().GetAwaiter().GetResult();
            }
        }
        else
        {
            ArrayPool<byte>.Shared.Return(_chunk);
        }

        _chunk = ArrayPool<byte>.Shared.Rent(Math.Max(ChunkSize, need));
        _used = 0;
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var (buffer, length) in _full.Reader.ReadAllAsync())
        {
            await _file.WriteAsync(buffer.AsMemory(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
