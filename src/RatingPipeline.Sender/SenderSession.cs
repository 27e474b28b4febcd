using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Rules;

namespace RatingPipeline.Sender;

/// <summary>
/// One life of the sender, from joining the group to closing its clients (<see cref="SenderWorker"/> starts a new one
/// after a Kafka fault). Per batch: consume reminders (manual offsets) and bills, take the deferred
/// notices now due, decide and deliver, write every outcome to <c>notice-log</c> (failures also to
/// <c>notices-dlq</c>) with the changes of profiles' <c>reminders</c> setting seen since the last batch, wait
/// until all are acknowledged, then commit the offsets of the reminders and bills. On assignment of a
/// <c>reminders</c> partition, before handling it: read the same-numbered <c>subscribers</c> partition to its
/// end (and keep following it), rebuild the partition's finished notices, deferred backlog and daily counts
/// from <c>notice-log</c>, and follow the same-numbered <c>bills</c> partition from its committed offset
/// (group <c>GroupId-bills</c>): a member owns a subscriber's reminders, bills, profile and notices together.
/// It also follows those <c>notice-log</c> partitions for mobile-originated SMS taken in by <c>POST /v1/mo</c>
/// (<c>received</c> records, on any instance) and answers each once (docs/mo-sms.md): a cancellation is
/// published on <c>subscribers</c> first, then the replies are sent, then the answer is recorded.
/// </summary>
internal sealed class SenderSession(
    KafkaOptions kafka,
    SenderOptions options,
    TopicNames topics,
    NoticeProcessor processor,
    MoAnswerer answerer,
    NoticeRules rules,
    Readiness readiness,
    TimeProvider time,
    ILogger logger) : IPartitionOwner
{
    private readonly Dictionary<int, NoticeBook> _books = [];
    private SenderProfiles _profiles = null!;
    private MoSmsAnswers _mo = null!;
    private IConsumer<string?, byte[]?> _billsConsumer = null!;
    private PartitionOwningConsumer<string?, byte[]?>? _reminders;
    private DateTimeOffset _lastPrune;
    private CancellationToken _stopping;

    /// <summary>
    /// Runs until <paramref name="stoppingToken"/> is cancelled (then returns) or a Kafka fault ends the session (then
    /// throws, after closing its clients: the worker starts a new one).
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        readiness.SetNotReady("joining the consumer group");
        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(kafka), e => logger.LogWarning("Kafka producer: {Reason}", e.Reason), keepClientLog: true);
        using var profileConsumer = new ConsumerBuilder<string?, byte[]?>(RestoreConfig("-profiles", "timestamp"))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka profile consumer: {Reason}", e.Reason))
            .Build();
        // The consumer group whose committed offsets say which bills were handled.
        using var billsConsumer = new ConsumerBuilder<string?, byte[]?>(KafkaClientTuning.Consumer(kafka, options.GroupId + "-bills", "none"))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka bills consumer: {Reason}", e.Reason))
            .Build();
        using var inboundConsumer = new ConsumerBuilder<string?, byte[]?>(RestoreConfig("-inbound"))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka inbound SMS consumer: {Reason}", e.Reason))
            .Build();
        _billsConsumer = billsConsumer;
        _profiles = new SenderProfiles(profileConsumer, topics, options, time, logger);
        _mo = new MoSmsAnswers(inboundConsumer, _books, _profiles, answerer, options, topics, time, logger);
        var notices = new NoticeBatch(processor, _profiles, _books, topics, time, logger);
        _stopping = stoppingToken;
        using var consumer = new PartitionOwningConsumer<string?, byte[]?>(kafka, new PartitionOwningConsumerSettings
        {
            Topic = topics.Reminders,
            GroupId = options.GroupId,
            ClientId = $"sender-{options.InstanceId}",
            GroupInstanceId = options.StaticMembership ? options.InstanceId : null,
        }, this, logger);
        _reminders = consumer;

        // Deliveries in hand may finish for a while after stop is requested, then they are abandoned
        // (uncommitted: the next owner takes them again, and the gateways de-duplicate by event id).
        using var deliveries = new CancellationTokenSource();
        using var onStop = stoppingToken.Register(() => deliveries.CancelAfter(TimeSpan.FromSeconds(15)));

        consumer.Subscribe();
        logger.LogInformation("Sender consuming {Topic} as group {Group}", topics.Reminders, options.GroupId);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                _profiles.Follow();
                var batch = new List<ConsumeResult<string?, byte[]?>>();
                consumer.Collect(batch, options.BatchSize, options.BatchWait, options.BatchWait, stoppingToken);
                // A rebalance inside a consume may have taken partitions whose records are already in the batch.
                batch.RemoveAll(r => !_books.ContainsKey(r.Partition.Value));
                var bills = ConsumeBills();
                await notices.HandleAsync(consumer, billsConsumer, producer, batch, bills, deliveries.Token);
                _mo.Follow();
                await _mo.AnswerAsync(producer, deliveries.Token);
                PruneIfDue();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            readiness.SetNotReady("stopping");
            try
            {
                consumer.Close();
            }
            catch (KafkaException e)
            {
                logger.LogWarning("Closing the consumer: {Reason}", e.Error.Reason);
            }

            foreach (var follower in new[] { profileConsumer, billsConsumer, inboundConsumer })
            {
                try
                {
                    follower.Close();
                }
                catch (KafkaException e)
                {
                    logger.LogWarning("Closing a consumer: {Reason}", e.Error.Reason);
                }
            }

            logger.LogInformation("Sender session ended");
        }
    }

    void IPartitionOwner.Assigned(IReadOnlyList<int> partitions) => Assign(partitions, _stopping);

    /// <summary>Revoked: what is handled is committed already, or staged while the group changed: committed now, while the partitions are still this member's.</summary>
    void IPartitionOwner.Revoked(IReadOnlyList<int> partitions)
    {
        try
        {
            _reminders?.CommitStaged();
        }
        catch (KafkaException e)
        {
            logger.LogWarning("Committing reminder offsets on revoke failed: {Reason}", e.Error.Reason);
        }

        Drop(partitions, "revoked");
    }

    void IPartitionOwner.Lost(IReadOnlyList<int> partitions) => Drop(partitions, "lost");

    /// <summary>The bills that arrived since the last batch, on the partitions owned (at most a batch's worth).</summary>
    private List<ConsumeResult<string?, byte[]?>> ConsumeBills()
    {
        var bills = new List<ConsumeResult<string?, byte[]?>>();
        while (bills.Count < options.BatchSize && PartitionReader.ConsumeOrRetry(_billsConsumer, TimeSpan.Zero, Retried, topics.Bills) is { } result)
        {
            if (!result.IsPartitionEOF && _books.ContainsKey(result.Partition.Value))
            {
                bills.Add(result);
            }
        }

        return bills;
    }

    /// <summary>
    /// On assignment of <c>reminders</c> partitions, before handling them: their profiles, their notice books and
    /// unanswered SMS from <c>notice-log</c>, then follow their <c>notice-log</c> and <c>bills</c> partitions.
    /// </summary>
    private void Assign(IReadOnlyList<int> partitions, CancellationToken stoppingToken)
    {
        var numbers = partitions.Where(p => !_books.ContainsKey(p)).ToList();
        if (numbers.Count > 0)
        {
            readiness.SetNotReady("restoring profiles and notice log");
            var started = time.GetTimestamp();
            _profiles.Restore(numbers, RestoreRead(), stoppingToken);
            using (var restore = new ConsumerBuilder<string?, byte[]?>(RestoreConfig("-restore")).Build())
            {
                var (followFrom, received) = NoticeLogRestore.Run(restore, numbers, _books, BacklogChanged, options, topics, rules, time, RestoreRead(), stoppingToken);
                _mo.Unanswered(received);
                _mo.StartFollowing(followFrom);
            }

            _profiles.KeepSettingChangesToRecord(numbers, _books);
            FollowBills(numbers);
            logger.LogInformation("Assigned {Topic} partitions [{Partitions}]: {Profiles} profiles, {Finished} finished and {Deferred} deferred notices restored in {Ms} ms",
                topics.Reminders, string.Join(",", numbers), numbers.Sum(_profiles.Count), numbers.Sum(p => _books[p].FinishedCount),
                numbers.Sum(p => _books[p].DeferredCount), (long)time.GetElapsedTime(started).TotalMilliseconds);
        }

        readiness.SetReady();
    }

    private void Drop(IReadOnlyList<int> partitions, string why)
    {
        var numbers = partitions.ToList();
        foreach (var p in numbers)
        {
            if (_books.Remove(p, out var book))
            {
                book.Clear();
            }
        }

        if (numbers.Count > 0)
        {
            _profiles.Drop(numbers);
            _mo.Drop(numbers);
            var following = _billsConsumer.Assignment.Where(tp => numbers.Contains(tp.Partition.Value)).ToList();
            if (following.Count > 0)
            {
                _billsConsumer.IncrementalUnassign(following);
            }

            logger.LogInformation("Partitions [{Partitions}] of {Topic} {Why}", string.Join(",", numbers), topics.Reminders, why);
        }
    }

    private ConsumerConfig RestoreConfig(string suffix, string fields = "none")
    {
        var config = KafkaClientTuning.Consumer(kafka, options.GroupId + suffix, fields);
        config.EnablePartitionEof = true;
        return config;
    }

    /// <summary>A restore read: bounded by <see cref="SenderOptions.RestoreTimeout"/>; the client's own retries are logged.</summary>
    private ReadToEndOptions RestoreRead() => new() { Timeout = options.RestoreTimeout, OnRetriedError = Retried };

    private void Retried(Error error) => logger.LogWarning("Kafka consumer: {Reason} ({Code}); the client retries", error.Reason, error.Code);

    /// <summary>
    /// Follows the <c>bills</c> partitions <paramref name="numbers"/> from their committed offsets (from the
    /// beginning when none). The client looks the offsets up itself, retrying while the broker is away: nothing
    /// here waits for it.
    /// </summary>
    private void FollowBills(List<int> numbers)
    {
        var assigned = _billsConsumer.Assignment.Select(tp => tp.Partition.Value).ToHashSet();
        _billsConsumer.IncrementalAssign(numbers.Where(p => !assigned.Contains(p))
            .Select(p => new TopicPartitionOffset(topics.Bills, p, Offset.Stored)).ToList());
    }

    private static void BacklogChanged(int delta)
    {
        if (delta >= 0)
        {
            SenderMetrics.Deferred.Inc(delta);
        }
        else
        {
            SenderMetrics.Deferred.Dec(-delta);
        }
    }

    private void PruneIfDue()
    {
        var now = time.GetUtcNow();
        if (now - _lastPrune < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _lastPrune = now;
        var oldestDay = rules.QuietHours.LocalDay(now).AddDays(-1);
        foreach (var book in _books.Values)
        {
            book.Prune(now - options.DedupWindow, oldestDay);
        }
    }
}
