using System.Collections.Concurrent;

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

    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private volatile Entry[] _entries = new Entry[16];
    private int _count;

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
