using System.Globalization;
using System.Text.Json;

namespace RatingPipeline.Rater;

/// <summary>The consumer lag per assigned partition, read from the client's statistics (JSON) into the lag metric.</summary>
internal static class ConsumerLag
{
    public static void Report(string json, string topicName, IReadOnlySet<int> assigned)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("topics", out var topics) || !topics.TryGetProperty(topicName, out var topic)
                || !topic.TryGetProperty("partitions", out var partitions))
            {
                return;
            }

            foreach (var p in partitions.EnumerateObject())
            {
                if (int.TryParse(p.Name, CultureInfo.InvariantCulture, out var partition) && partition >= 0
                    && assigned.Contains(partition) && p.Value.TryGetProperty("consumer_lag", out var lag) && lag.GetInt64() >= 0)
                {
                    RaterMetrics.SetLag(partition, lag.GetInt64());
                }
            }
        }
        catch (JsonException)
        {
            // Statistics are advisory; a malformed document only skips one lag update.
        }
    }
}
