using System.Text;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Reminders;
using RatingPipeline.Sender.Rules;

namespace RatingPipeline.Sender;

/// <summary>
/// Rebuilds a sender's notice books from <c>notice-log</c> when it takes <c>reminders</c> partitions over: the
/// finished notices, the deferred backlog and the daily counts of the dedup window (read from the window's start), and
/// the mobile-originated SMS taken in but not answered.
/// </summary>
internal static class NoticeLogRestore
{
    /// <summary>
    /// Creates and fills the books of <paramref name="numbers"/> in <paramref name="books"/>; returns per partition the
    /// offset up to which <c>notice-log</c> was read (where following it goes on), and the SMS taken in, in order.
    /// </summary>
    public static (Dictionary<int, long> FollowFrom, List<(int Partition, MoReceived Mo)> Received) Run(
        IConsumer<string?, byte[]?> consumer, List<int> numbers, Dictionary<int, NoticeBook> books, Action<int> backlogChanged,
        SenderOptions options, TopicNames topics, NoticeRules rules, TimeProvider time, ReadToEndOptions read, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        var received = new List<(int Partition, MoReceived Mo)>();
        var since = consumer.OffsetsForTimes(
            numbers.Select(p => new TopicPartitionTimestamp(topics.NoticeLog, p, new Timestamp(now - options.DedupWindow))),
            TimeSpan.FromSeconds(30)).ToDictionary(t => t.Partition.Value, t => t.Offset);
        foreach (var p in numbers)
        {
            books[p] = new NoticeBook(backlogChanged);
        }

        // No record at or after the window start (or no answer): read from the beginning, to be safe.
        var ranges = PartitionReader.Ranges(consumer, numbers.Select(p => new TopicPartitionOffset(topics.NoticeLog, p,
            since.TryGetValue(p, out var offset) && offset.Value >= 0 ? offset : Offset.Beginning)));
        var followFrom = ranges.ToDictionary(r => r.Partition, r => r.End);
        var horizon = now - options.DedupWindow;
        foreach (var result in PartitionReader.ReadToEnd(consumer, topics.NoticeLog, ranges, read, stoppingToken))
        {
            if (result.Message.Value is not { } value || NoticeRecord.TryParse(value) is not { } record)
            {
                continue;
            }

            Reminder? reminder = null;
            if (record.Outcome == NoticeOutcomes.Deferred && record.Reminder is { } element)
            {
                reminder = Reminder.TryParse(record.Kind, Encoding.UTF8.GetBytes(element.GetRawText()), out _);
            }

            if (MoReceived.Of(record) is { } mo)
            {
                received.Add((result.Partition.Value, mo));
            }

            DateOnly? sentDay = record.SentAt is { } sentAt ? rules.QuietHours.LocalDay(sentAt) : null;
            books[result.Partition.Value].Apply(record, reminder, sentDay);
        }

        consumer.Close();

        // Finished notices older than the window were read only so that they cancel older deferrals.
        var oldestDay = rules.QuietHours.LocalDay(now).AddDays(-1);
        foreach (var p in numbers)
        {
            books[p].Prune(horizon, oldestDay);
        }

        return (followFrom, received);
    }
}
