using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Reminders;

namespace RatingPipeline.Sender;

/// <summary>
/// One batch of a sender session: the reminders and bills consumed, the changes of the reminders setting seen, and the
/// deferred notices now due are decided and delivered; every outcome is written to <c>notice-log</c> (failures also to
/// <c>notices-dlq</c>) and acknowledged before the offsets of the reminders and bills are committed.
/// </summary>
internal sealed class NoticeBatch(NoticeProcessor processor, SenderProfiles profiles, Dictionary<int, NoticeBook> books, TopicNames topics,
    TimeProvider time, ILogger logger)
{
    private const string DlqReasonHeader = "notice-failure-reason";

    public async Task HandleAsync(
        PartitionOwningConsumer<string?, byte[]?> consumer,
        IConsumer<string?, byte[]?> billsConsumer,
        AcknowledgedProducer producer,
        List<ConsumeResult<string?, byte[]?>> batch,
        List<ConsumeResult<string?, byte[]?>> bills,
        CancellationToken deliveryToken)
    {
        var inputs = new List<NoticeInput>();
        var sources = new Dictionary<Reminder, ConsumeResult<string?, byte[]?>>(ReferenceEqualityComparer.Instance);
        var outputs = new List<(NoticeOutput Output, ConsumeResult<string?, byte[]?>? Source)>();
        foreach (var (result, bill) in batch.Select(r => (r, false)).Concat(bills.Select(r => (r, true))))
        {
            var partition = result.Partition.Value;
            var value = result.Message.Value ?? [];
            string error;
            var reminder = bill ? Reminder.TryParseBill(value, out error) : Reminder.TryParse(value, out error);
            if (reminder is null)
            {
                outputs.Add((processor.Unreadable(value, result.Message.Key ?? "", error, bill), result));
                continue;
            }

            sources[reminder] = result;
            inputs.Add(new NoticeInput(reminder, profiles.Profile(partition, reminder.Msisdn), books[partition]));
        }

        // Changes of the reminders setting, written like every outcome (at least once; again only if not acknowledged).
        foreach (var change in profiles.SettingChanges)
        {
            if (books.TryGetValue(change.Partition, out var book) && !book.IsFinished(change.EventId, NoticeRecordChannels.None))
            {
                outputs.Add((NoticeOutput.Of(change, book), null));
            }
        }

        profiles.SettingChanges.Clear();

        var now = time.GetUtcNow();
        foreach (var (partition, book) in books)
        {
            foreach (var due in book.TakeDue(now))
            {
                inputs.Add(new NoticeInput(due.Reminder, profiles.Profile(partition, due.Reminder.Msisdn), book, due.Channel));
            }
        }

        if (inputs.Count == 0 && outputs.Count == 0)
        {
            return;
        }

        foreach (var output in await processor.ProcessAsync(inputs, deliveryToken))
        {
            outputs.Add((output, output.Reminder is { } r && sources.TryGetValue(r, out var source) ? source : null));
        }

        // Every outcome durable before any offset moves: a crash before this point handles the batch again.
        var written = new AcknowledgementGroup();
        var timestamp = new Timestamp(time.GetUtcNow());
        foreach (var (output, source) in outputs)
        {
            producer.Produce(topics.NoticeLog, new Message<byte[], byte[]>
            {
                Key = AcknowledgedProducer.Utf8Key(output.Record.Msisdn),
                Value = output.Record.ToUtf8Json(),
                Timestamp = timestamp,
            }, written);
            if (output.IsDeadLetter)
            {
                producer.Produce(topics.NoticesDlq, new Message<byte[], byte[]>
                {
                    Key = output.Record.EventId == "unreadable" ? null! : AcknowledgedProducer.Utf8Key(output.Record.EventId),
                    Value = output.ReminderBytes,
                    Headers = DeadLetterHeaders(output.Record, source),
                    Timestamp = timestamp,
                }, written);
            }
        }

        await producer.AwaitAsync(written, AcknowledgedProducer.UntilReported, "notice outcomes");
        foreach (var (output, _) in outputs)
        {
            processor.Apply(output);
        }

        // Reminders: the group member's commit (put off while the group changes). Bills: a manually assigned reader's.
        foreach (var handled in batch.GroupBy(r => r.Partition.Value).Where(g => books.ContainsKey(g.Key)))
        {
            consumer.Stage(handled.Key, handled.Max(r => r.Offset.Value) + 1);
        }

        // A refusal other than the group changing ends the session: the next one re-reads these reminders and skips
        // them as already handled (their outcomes are recorded).
        consumer.CommitStaged();

        CommitBills(billsConsumer, bills);
    }

    private void CommitBills(IConsumer<string?, byte[]?> consumer, List<ConsumeResult<string?, byte[]?>> handled)
    {
        if (handled.Count == 0)
        {
            return;
        }

        // Records carry no topic name (consume.result.fields=none): each consumer reads one topic.
        var offsets = handled.GroupBy(r => r.Partition.Value)
            .Where(g => books.ContainsKey(g.Key))
            .Select(g => new TopicPartitionOffset(topics.Bills, g.Key, new Offset(g.Max(r => r.Offset.Value) + 1)))
            .ToList();
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException e)
        {
            // The outcomes are recorded: a later owner skips these as already handled.
            logger.LogWarning("Committing bill offsets failed: {Reason}", e.Error.Reason);
        }
    }

    private static Headers DeadLetterHeaders(NoticeRecord record, ConsumeResult<string?, byte[]?>? source)
    {
        var headers = new Headers
        {
            { DlqReasonHeader, Encoding.UTF8.GetBytes(record.Reason ?? "failed") },
            { "notice-channel", Encoding.UTF8.GetBytes(record.Channel) },
            { "notice-kind", Encoding.UTF8.GetBytes(record.Kind) },
            { "notice-attempts", Encoding.UTF8.GetBytes(record.Attempts.ToString(CultureInfo.InvariantCulture)) },
            { "notice-failed-at", Encoding.UTF8.GetBytes(record.LoggedAt.ToString("O", CultureInfo.InvariantCulture)) },
        };
        if (source is not null)
        {
            headers.Add("source-partition", Encoding.UTF8.GetBytes(source.Partition.Value.ToString(CultureInfo.InvariantCulture)));
            headers.Add("source-offset", Encoding.UTF8.GetBytes(source.Offset.Value.ToString(CultureInfo.InvariantCulture)));
        }

        return headers;
    }
}
