using Confluent.Kafka;
using RatingPipeline.Kafka;

namespace RatingPipeline.Rater;

/// <summary>The rater's check of the topics at start: co-partitioned inputs, and where outputs go.</summary>
internal static class TopicLayout
{
    /// <summary>
    /// Checks that <c>cdrs</c> exists and that <c>rater-state</c> and <c>subscribers</c> have as many partitions
    /// (throws <see cref="InvalidOperationException"/> otherwise); returns that count and the output targets. Outputs go
    /// to the input's partition number when the output topics have the same count, so each subscriber's records stay
    /// on one partition across topics (the sender relies on it); otherwise they are keyed by msisdn.
    /// </summary>
    public static (int Partitions, OutputTargets Targets) Check(Handle client, TopicNames topics)
    {
        using var admin = new DependentAdminClientBuilder(client).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        int Count(string topic) => metadata.Topics.FirstOrDefault(t => t.Topic == topic)?.Partitions.Count ?? 0;
        var cdrs = Count(topics.Cdrs);
        if (cdrs == 0)
        {
            throw new InvalidOperationException($"topic {topics.Cdrs} does not exist");
        }

        foreach (var topic in new[] { topics.RaterState, topics.Subscribers })
        {
            if (Count(topic) != cdrs)
            {
                throw new InvalidOperationException($"topic {topic} has {Count(topic)} partitions, {topics.Cdrs} has {cdrs}: they must be co-partitioned");
            }
        }

        var preserve = new[] { topics.RatedCdrs, topics.Reminders, topics.CdrsDlq, topics.Bills }.All(t => Count(t) == cdrs);
        return (cdrs, new OutputTargets(topics, cdrs, preserve));
    }
}
