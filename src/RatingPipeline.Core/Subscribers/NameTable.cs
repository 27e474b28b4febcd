using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace RatingPipeline.Subscribers;

/// <summary>
/// Interns the few names a usage state refers to (plan ids, service ids, tariff versions) as small integers, so
/// the state stays a fixed-size struct without strings. Grow-only and shared by every engine of the process: an
/// operator has tens of plans and hundreds of services, not millions. Thread-safe.
/// </summary>
public sealed class NameTable
{
    /// <summary>Plan ids (a state's plan, a bill's plan).</summary>
    public static NameTable Plans { get; } = new();

    /// <summary>Service ids of the fee list.</summary>
    public static NameTable Services { get; } = new();

    /// <summary>Tariff versions a bill's members were fixed under.</summary>
    public static NameTable TariffVersions { get; } = new();

    // Longest name looked up from UTF-8 without a string (plan ids are short).
    private const int MaxSpanName = 128;

    private readonly ConcurrentDictionary<string, int> _ids;
    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idsByChars;
    private readonly Lock _gate = new();
    private volatile Entry[] _entries = new Entry[16];
    private int _count;

    public NameTable()
    {
        _ids = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        _idsByChars = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The table's own string for a name given as UTF-8, if the name has a number already (no string is made).</summary>
    public bool TryFind(ReadOnlySpan<byte> utf8, [NotNullWhen(true)] out string? name)
    {
        name = null;
        if (utf8.Length > MaxSpanName)
        {
            return false;
        }

        Span<char> chars = stackalloc char[MaxSpanName];
        var length = System.Text.Encoding.UTF8.GetChars(utf8, chars);
        return _idsByChars.TryGetValue(chars[..length], out name, out _);
    }

    /// <summary>The number of a name, given the first time it is seen.</summary>
    public int Intern(string name)
    {
        if (_ids.TryGetValue(name, out var id))
        {
            return id;
        }

        lock (_gate)
        {
            if (_ids.TryGetValue(name, out id))
            {
                return id;
            }

            id = _count;
            var entries = _entries;
            if (id == entries.Length)
            {
                Array.Resize(ref entries, entries.Length * 2);
            }

            entries[id] = new Entry(name, System.Text.Encoding.UTF8.GetBytes(name));
            _entries = entries;
            _count = id + 1;
            _ids[name] = id;
            return id;
        }
    }

    public string this[int id] => _entries[id].Name;

    /// <summary>The name as UTF-8 bytes (for the record writers).</summary>
    public ReadOnlySpan<byte> Utf8(int id) => _entries[id].Utf8;

    private sealed record Entry(string Name, byte[] Utf8);
}
