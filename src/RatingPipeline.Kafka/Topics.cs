namespace RatingPipeline.Kafka;

/// <summary>
/// Names of the product's topics. Every name can be changed, e.g. by binding the configuration
/// section <see cref="SectionName"/>; the defaults are the names the product documents.
/// </summary>
public sealed class TopicNames
{
    /// <summary>The configuration section these names bind from.</summary>
    public const string SectionName = "Topics";

    /// <summary>Call detail records to rate.</summary>
    public string Cdrs { get; init; } = "cdrs";

    /// <summary>Subscriber data.</summary>
    public string Subscribers { get; init; } = "subscribers";

    /// <summary>The rater's state.</summary>
    public string RaterState { get; init; } = "rater-state";

    /// <summary>Rated call detail records.</summary>
    public string RatedCdrs { get; init; } = "rated-cdrs";

    /// <summary>Reminders.</summary>
    public string Reminders { get; init; } = "reminders";

    /// <summary>Dead letters of <see cref="Cdrs"/>.</summary>
    public string CdrsDlq { get; init; } = "cdrs-dlq";

    /// <summary>The notice log.</summary>
    public string NoticeLog { get; init; } = "notice-log";

    /// <summary>Dead letters of notices.</summary>
    public string NoticesDlq { get; init; } = "notices-dlq";

    /// <summary>Adjustments.</summary>
    public string Adjustments { get; init; } = "adjustments";

    /// <summary>Bills of closed billing cycles.</summary>
    public string Bills { get; init; } = "bills";
}

/// <summary>The product's set of topics.</summary>
public static class TopicSet
{
    /// <summary>
    /// Every topic of the product, dead-letter topics included, in a fixed order.
    /// Throws <see cref="ArgumentException"/> when a name is blank or two roles share a name.
    /// </summary>
    public static IEnumerable<string> All(TopicNames names)
    {
        ArgumentNullException.ThrowIfNull(names);
        (string Role, string Name)[] topics =
        [
            (nameof(names.Cdrs), names.Cdrs),
            (nameof(names.Subscribers), names.Subscribers),
            (nameof(names.RaterState), names.RaterState),
            (nameof(names.RatedCdrs), names.RatedCdrs),
            (nameof(names.Reminders), names.Reminders),
            (nameof(names.CdrsDlq), names.CdrsDlq),
            (nameof(names.NoticeLog), names.NoticeLog),
            (nameof(names.NoticesDlq), names.NoticesDlq),
            (nameof(names.Adjustments), names.Adjustments),
            (nameof(names.Bills), names.Bills),
        ];

        foreach (var (role, name) in topics)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException($"The topic name for {role} is blank.", nameof(names));
            }
        }

        var shared = topics.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (shared is not null)
        {
            throw new ArgumentException(
                $"Topics {string.Join(" and ", shared.Select(t => t.Role))} share the name '{shared.Key}'.",
                nameof(names));
        }

        return topics.Select(t => t.Name).ToArray();
    }
}
