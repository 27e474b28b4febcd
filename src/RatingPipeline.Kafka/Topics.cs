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

    /// <summary>Which rater instance answers usage queries for which <see cref="Cdrs"/> partition (compacted, key = partition number).</summary>
    public string RaterEndpoints { get; init; } = "rater-endpoints";
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
        var problem = Problems(names).FirstOrDefault();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(names));
        }

        return Roles(names).Select(t => t.Name).ToArray();
    }

    /// <summary>What is wrong with <paramref name="names"/>, each naming its key: a blank name, two roles sharing one.</summary>
    public static IEnumerable<string> Problems(TopicNames names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var topics = Roles(names);
        foreach (var (role, name) in topics)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                yield return $"Topics:{role}: the topic name for {role} is blank.";
            }
        }

        foreach (var shared in topics.Where(t => !string.IsNullOrWhiteSpace(t.Name)).GroupBy(t => t.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            yield return $"Topics {string.Join(" and ", shared.Select(t => t.Role))} share the name '{shared.Key}'.";
        }
    }

    private static (string Role, string Name)[] Roles(TopicNames names) =>
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
        (nameof(names.RaterEndpoints), names.RaterEndpoints),
    ];
}
