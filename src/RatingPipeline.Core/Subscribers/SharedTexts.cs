using System.Runtime.CompilerServices;
using System.Text;

namespace RatingPipeline.Subscribers;

/// <summary>
/// The texts and services that many profiles of one subscriber file repeat (balance and plan-end instants, service
/// ids, names and order dates, whole services and service lists), kept once and shared by the profiles that give
/// them, instead of a string and an array per profile. Only short texts are kept, and at most
/// <see cref="MaxEntries"/> of each kind: a file of all-different values keeps its own copies, as without sharing.
/// One per part of a file being read: not thread-safe.
/// </summary>
internal sealed class SharedTexts
{
    private const int MaxEntries = 4096;
    private const int MaxLength = 64;

    private readonly Dictionary<string, byte[]> _texts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> _textsByChars;
    private readonly Dictionary<ServiceKey, SubscribedService> _services = [];
    private readonly Dictionary<ServiceList, SubscribedService[]> _lists = [];

    public SharedTexts() => _textsByChars = _texts.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The text of UTF-8 bytes and the bytes as an array of their own, shared with earlier equal texts.</summary>
    public (string Text, byte[] Utf8) Text(ReadOnlySpan<byte> utf8)
    {
        Span<char> chars = stackalloc char[MaxLength];
        if (utf8.Length > MaxLength || System.Text.Ascii.ToUtf16(utf8, chars, out var length) != System.Buffers.OperationStatus.Done)
        {
            return (Encoding.UTF8.GetString(utf8), utf8.ToArray());
        }

        if (_textsByChars.TryGetValue(chars[..length], out var text, out var bytes))
        {
            return (text, bytes);
        }

        text = new string(chars[..length]);
        bytes = utf8.ToArray();
        if (_texts.Count < MaxEntries)
        {
            _texts.Add(text, bytes);
        }

        return (text, bytes);
    }

    /// <summary>A service equal in every member to one made before is that one.</summary>
    public SubscribedService Service(string id, byte[] idUtf8, string nameZh, byte[] nameZhUtf8, string nameEn, byte[] nameEnUtf8,
        long price, string orderedAt, byte[] orderedAtUtf8, long orderedAtTicks, string? cancelledAt, long cancelledAtTicks)
    {
        var key = new ServiceKey(id, nameZh, nameEn, price, orderedAt, cancelledAt);
        if (_services.TryGetValue(key, out var service))
        {
            return service;
        }

        service = new SubscribedService(id, idUtf8, nameZh, nameZhUtf8, nameEn, nameEnUtf8, price, orderedAt, orderedAtUtf8, orderedAtTicks,
            cancelledAt, cancelledAtTicks);
        if (_services.Count < MaxEntries)
        {
            _services.Add(key, service);
        }

        return service;
    }

    /// <summary>A list of the same services in the same order as one made before is that one (lists are read-only).</summary>
    public SubscribedService[] List(SubscribedService[] services)
    {
        if (_lists.TryGetValue(new ServiceList(services), out var list))
        {
            return list;
        }

        if (_lists.Count < MaxEntries)
        {
            _lists.Add(new ServiceList(services), services);
        }

        return services;
    }

    private readonly record struct ServiceKey(string Id, string NameZh, string NameEn, long Price, string OrderedAt, string? CancelledAt);

    /// <summary>A service list compared by the services it holds (the same objects, in the same order).</summary>
    private readonly struct ServiceList(SubscribedService[] items) : IEquatable<ServiceList>
    {
        private readonly SubscribedService[] _items = items;

        public bool Equals(ServiceList other) => _items.AsSpan().SequenceEqual(other._items, ReferenceEqualityComparer.Instance);

        public override bool Equals(object? obj) => obj is ServiceList other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var item in _items)
            {
                hash.Add(RuntimeHelpers.GetHashCode(item));
            }

            return hash.ToHashCode();
        }
    }
}
