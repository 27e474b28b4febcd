using Microsoft.Win32.SafeHandles;

namespace RatingPipeline.IO;

/// <summary>
/// An output file written at its end straight from the writer's own buffers: <see cref="Add"/> notes a stretch of
/// bytes (nothing is copied), <see cref="Write"/> hands every stretch noted since to the kernel in vectored writes
/// (<c>pwritev</c>, at most <see cref="MaxStretches"/> per call), after which the buffers may be reused. The only copy
/// is the kernel's into the page cache. Not thread-safe.
/// </summary>
public sealed class GatheringFile : IDisposable
{
    /// <summary>Stretches per vectored write: Linux's <c>IOV_MAX</c>.</summary>
    public const int MaxStretches = 1024;

    private readonly SafeFileHandle _handle;
    private readonly List<ReadOnlyMemory<byte>> _pending = [];
    private readonly List<ReadOnlyMemory<byte>> _call = new(MaxStretches);

    public GatheringFile(string path) =>
        _handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read);

    /// <summary>Bytes written so far (the file's length).</summary>
    public long Length { get; private set; }

    /// <summary>Notes <paramref name="bytes"/> for the next <see cref="Write"/>; the caller keeps them unchanged until then.</summary>
    public void Add(ReadOnlyMemory<byte> bytes)
    {
        if (!bytes.IsEmpty)
        {
            _pending.Add(bytes);
        }
    }

    /// <summary>Writes every stretch noted since the last call, in order, at the file's end.</summary>
    public void Write()
    {
        for (var first = 0; first < _pending.Count; first += MaxStretches)
        {
            _call.Clear();
            long bytes = 0;
            for (var i = first; i < Math.Min(first + MaxStretches, _pending.Count); i++)
            {
                _call.Add(_pending[i]);
                bytes += _pending[i].Length;
            }

            RandomAccess.Write(_handle, _call, Length);
            Length += bytes;
        }

        _pending.Clear();
        _call.Clear();
    }

    public void Dispose() => _handle.Dispose();
}
