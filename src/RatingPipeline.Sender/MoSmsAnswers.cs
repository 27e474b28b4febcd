using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Sender;

/// <summary>
/// Mobile-originated SMS of the <c>reminders</c> partitions a sender session owns: the <c>received</c> records that any
/// instance's <c>POST /v1/mo</c> wrote to the same-numbered <c>notice-log</c> partitions, followed from where the
/// restore stopped, each answered once (docs/mo-sms.md).
/// </summary>
internal sealed class MoSmsAnswers(IConsumer<string?, byte[]?> consumer, Dictionary<int, NoticeBook> books, SenderProfiles profiles, MoAnswerer answerer,
    SenderOptions options, TopicNames topics, TimeProvider time, ILogger logger)
{
    private readonly List<(int Partition, MoReceived Mo)> _pending = [];

    /// <summary>Follows <c>notice-log</c> partitions from the offsets their restore read to.</summary>
    public void StartFollowing(Dictionary<int, long> from) =>
        consumer.IncrementalAssign(from.Select(e => new TopicPartitionOffset(topics.NoticeLog, e.Key, new Offset(e.Value))).ToList());

    /// <summary>SMS taken in that no earlier owner answered (found by the restore): answered next, in the order they came.</summary>
    public void Unanswered(List<(int Partition, MoReceived Mo)> received)
    {
        foreach (var (p, mo) in received)
        {
            if (!books[p].IsFinished(mo.EventId, NoticeRecordChannels.None) && !_pending.Any(m => m.Partition == p && m.Mo.EventId == mo.EventId))
            {
                _pending.Add((p, mo));
            }
        }
    }

    /// <summary>Forgets the SMS of <paramref name="numbers"/> (their next owner answers them) and stops following them.</summary>
    public void Drop(List<int> numbers)
    {
        _pending.RemoveAll(m => numbers.Contains(m.Partition));
        var following = consumer.Assignment.Where(tp => numbers.Contains(tp.Partition.Value)).ToList();
        if (following.Count > 0)
        {
            consumer.IncrementalUnassign(following);
        }
    }

    /// <summary>Takes the SMS written to the owned <c>notice-log</c> partitions since the last batch (by any instance's <c>POST /v1/mo</c>).</summary>
    public void Follow()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var result = PartitionReader.ConsumeOrRetry(consumer, TimeSpan.Zero, Retried, topics.NoticeLog);
            if (result is null)
            {
                return;
            }

            // Every notice of the partition passes here; only a received SMS is read in full.
            if (result.IsPartitionEOF || result.Message.Value is not { } value || value.AsSpan().IndexOf("\"received\""u8) < 0
                || !books.TryGetValue(result.Partition.Value, out var book) || NoticeRecord.TryParse(value) is not { } record
                || MoReceived.Of(record) is not { } mo || book.IsFinished(mo.EventId, NoticeRecordChannels.None))
            {
                continue;
            }

            _pending.Add((result.Partition.Value, mo));
        }
    }

    /// <summary>
    /// Answers the SMS taken in, at most a batch's worth: one subscriber's in the order they came, subscribers
    /// side by side. A replayed id (already answered, or twice in hand) is skipped. A cancellation's profile is
    /// acknowledged on <c>subscribers</c> before any reply is sent; when that fails, the SMS waits for the next
    /// batch, with the later ones of the same subscriber. The records are acknowledged on <c>notice-log</c> before
    /// the book takes them.
    /// </summary>
    public async Task AnswerAsync(AcknowledgedProducer producer, CancellationToken deliveryToken)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        var taken = _pending.Take(options.BatchSize).ToList();
        _pending.RemoveRange(0, taken.Count);
        var claimed = new List<(int Partition, MoReceived Mo)>();
        foreach (var (p, mo) in taken)
        {
            if (!books.TryGetValue(p, out var book))
            {
                // The partition went to another member since: it answers the SMS after its restore.
                continue;
            }

            if (book.TryClaim(mo.EventId, NoticeRecordChannels.None, fromBacklog: false))
            {
                claimed.Add((p, mo));
            }
            else
            {
                SenderMetrics.MoCommands.WithLabels(MoCommand.Parse(mo.Text).Name, "duplicate").Inc();
                logger.LogInformation("SMS {MoId} from {Msisdn} already answered: skipped", mo.MoId, Msisdns.Mask(mo.Msisdn));
            }
        }

        var groups = claimed.GroupBy(m => (m.Partition, m.Mo.Msisdn)).Select(g => g.ToList()).ToList();
        var answers = new List<(int Partition, MoReceived Mo, IReadOnlyList<NoticeRecord> Records)>[groups.Count];
        var retries = new List<(int Partition, MoReceived Mo)>[groups.Count];
        var updates = new (int Partition, string Msisdn, SubscriberProfile Profile, byte[] Record)?[groups.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, groups.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxConcurrentDeliveries), CancellationToken = deliveryToken },
            async (g, token) =>
            {
                answers[g] = [];
                retries[g] = [];
                var (partition, msisdn) = (groups[g][0].Partition, groups[g][0].Mo.Msisdn);
                var profile = profiles.Profile(partition, msisdn);
                var record = profiles.Record(partition, msisdn);
                foreach (var (p, mo) in groups[g])
                {
                    if (retries[g].Count > 0)
                    {
                        retries[g].Add((p, mo));
                        continue;
                    }

                    var plan = await answerer.PlanAsync(mo, profile, record, token);
                    if (plan.Profile is { } changed)
                    {
                        try
                        {
                            await producer.ProduceAndAwaitAsync(new TopicPartition(topics.Subscribers, new Partition(p)),
                                new Message<byte[], byte[]> { Key = AcknowledgedProducer.Utf8Key(msisdn), Value = changed, Timestamp = new Timestamp(time.GetUtcNow()) },
                                AcknowledgedProducer.UntilReported, "cancelled services' profile", token);
                        }
                        catch (KafkaException e)
                        {
                            logger.LogWarning("Cancelling services of {Msisdn}: the profile was not published ({Reason}); tried again next batch",
                                Msisdns.Mask(msisdn), e.Message);
                            retries[g].Add((p, mo));
                            continue;
                        }

                        profile = SubscriberProfile.TryParse(changed, null, out _)!;
                        record = changed;
                        updates[g] = (p, msisdn, profile, changed);
                        logger.LogInformation("Services [{Services}] of {Msisdn} cancelled at its request (SMS {MoId})",
                            string.Join(",", plan.Cancelled), Msisdns.Mask(msisdn), mo.MoId);
                    }

                    answers[g].Add((p, mo, await answerer.ReplyAsync(plan, token)));
                }
            });

        // The profiles the sender published, as it will read them back from subscribers.
        foreach (var update in updates)
        {
            if (update is { } u)
            {
                profiles.Published(u.Partition, u.Msisdn, u.Profile, u.Record);
            }
        }

        var done = answers.SelectMany(a => a).ToList();
        var written = new AcknowledgementGroup();
        var timestamp = new Timestamp(time.GetUtcNow());
        foreach (var record in done.SelectMany(a => a.Records))
        {
            producer.Produce(topics.NoticeLog, new Message<byte[], byte[]> { Key = AcknowledgedProducer.Utf8Key(record.Msisdn), Value = record.ToUtf8Json(), Timestamp = timestamp }, written);
        }

        await producer.AwaitAsync(written, AcknowledgedProducer.UntilReported, "SMS answers");
        foreach (var (p, _, records) in done)
        {
            if (books.TryGetValue(p, out var book))
            {
                foreach (var record in records)
                {
                    book.Apply(record, null, null);
                }
            }
        }

        var again = retries.SelectMany(r => r).ToList();
        foreach (var (p, mo) in again)
        {
            if (books.TryGetValue(p, out var book))
            {
                book.Release(mo.EventId, NoticeRecordChannels.None);
            }
        }

        _pending.InsertRange(0, again);
    }

    private void Retried(Error error) =>
        logger.LogWarning("Kafka inbound SMS consumer: {Reason} ({Code}); the client retries", error.Reason, error.Code);
}
