namespace RatingPipeline.Subscribers;

/// <summary>
/// A monthly value-added service of a profile: its price per cycle, when it was ordered and, if so, when it was
/// cancelled. Its first charge falls the tariff's notice lead after the order (SPEC §7.4); a service cancelled at
/// or before an instant is not charged or noticed at that instant.
/// </summary>
public sealed class SubscribedService
{
    public SubscribedService(string id, string nameZh, string nameEn, long price, string orderedAt, long orderedAtTicks,
        string? cancelledAt, long cancelledAtTicks)
        : this(id, System.Text.Encoding.UTF8.GetBytes(id), nameZh, System.Text.Encoding.UTF8.GetBytes(nameZh), nameEn,
            System.Text.Encoding.UTF8.GetBytes(nameEn), price, orderedAt, System.Text.Encoding.UTF8.GetBytes(orderedAt), orderedAtTicks,
            cancelledAt, cancelledAtTicks)
    {
    }

    /// <summary>A service with the UTF-8 bytes of its texts given (arrays the service may share; never written to).</summary>
    internal SubscribedService(string id, byte[] idUtf8, string nameZh, byte[] nameZhUtf8, string nameEn, byte[] nameEnUtf8, long price,
        string orderedAt, byte[] orderedAtUtf8, long orderedAtTicks, string? cancelledAt, long cancelledAtTicks)
    {
        Id = id;
        NameId = NameTable.Services.Intern(id);
        NameZh = nameZh;
        NameEn = nameEn;
        Price = price;
        OrderedAt = orderedAt;
        OrderedAtTicks = orderedAtTicks;
        CancelledAt = cancelledAt;
        CancelledAtTicks = cancelledAtTicks;
        IdUtf8 = idUtf8;
        NameZhUtf8 = nameZhUtf8;
        NameEnUtf8 = nameEnUtf8;
        OrderedAtUtf8 = orderedAtUtf8;
    }

    public string Id { get; }

    /// <summary>The id's number in <see cref="NameTable.Services"/>.</summary>
    public int NameId { get; }

    public string NameZh { get; }

    public string NameEn { get; }

    public long Price { get; }

    public string OrderedAt { get; }

    public long OrderedAtTicks { get; }

    public string? CancelledAt { get; }

    /// <summary><see cref="long.MaxValue"/> when the service is not cancelled.</summary>
    public long CancelledAtTicks { get; }

    internal byte[] IdUtf8 { get; }

    internal byte[] NameZhUtf8 { get; }

    internal byte[] NameEnUtf8 { get; }

    internal byte[] OrderedAtUtf8 { get; }

    /// <summary>Whether the service is cancelled at an instant: its cancelledAt is present and ≤ it.</summary>
    public bool IsCancelledAt(long ticks) => CancelledAtTicks <= ticks;

    /// <summary>1–32 characters from A–Z a–z 0–9 . _ -</summary>
    public static bool IsValidId(string id) =>
        id.Length is >= 1 and <= 32 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
}
