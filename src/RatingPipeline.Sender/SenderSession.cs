using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Reminders;
using RatingPipeline.Sender.Rules;
using RatingPipeline.Subscribers;

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
    private const string DlqReasonHeader = "notice-failure-reason";

    private readonly KafkaOptions _kafka = kafka;
    private readonly SenderOptions _options = options;
    private readonly TopicNames _topics = topics;
    private readonly Dictionary<int, Dictionary<string, SubscriberProfile>> _profiles = [];
    private readonly Dictionary<int, Dictionary<string, byte[]>> _profileRecords = [];
    private readonly List<(int Partition, MoReceived Mo)> _pendingMo = [];
    private readonly Dictionary<int, NoticeBook> _books = [];
    private readonly List<SettingChange> _settingChanges = [];
    private IConsumer<string?, byte[]?>? _profileConsumer;
    private IConsumer<string?, byte[]?>? _billsConsumer;
    private IConsumer<string?, byte[]?>? _inboundConsumer;
    private DateTimeOffset _lastPrune;
    private CancellationToken _stopping;
    private PartitionOwningConsumer<string?, byte[]?>? _reminders;

    /// <summary>The consumer group whose committed offsets say which bills were handled.</summary>
    private string BillsGroup => _options.GroupId + "-bills";

    /// <summary>
    /// Runs until <paramref name="stoppingToken"/> is cancelled (then returns) or a Kafka fault ends the session (then
    /// throws, after closing its clients: the worker starts a new one).
    /// </summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        readiness.SetNotReady("joining the consumer group");
        using var producer = new ProducerBuilder<string?, byte[]>(KafkaClientTuning.Producer(_kafka))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka producer: {Reason}", e.Reason))
            .Build();
        using var profileConsumer = new ConsumerBuilder<string?, byte[]?>(RestoreConfig("-profiles", "timestamp"))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka profile consumer: {Reason}", e.Reason))
            .Build();
        _profileConsumer = profileConsumer;
        var billsConfig = KafkaClientTuning.Consumer(_kafka, BillsGroup, "none");
        using var billsConsumer = new ConsumerBuilder<string?, byte[]?>(billsConfig)
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka bills consumer: {Reason}", e.Reason))
            .Build();
        _billsConsumer = billsConsumer;
        using var inboundConsumer = new ConsumerBuilder<string?, byte[]?>(RestoreConfig("-inbound"))
            .SetErrorHandler((_, e) => logger.LogWarning("Kafka inbound SMS consumer: {Reason}", e.Reason))
            .Build();
        _inboundConsumer = inboundConsumer;
        _stopping = stoppingToken;
        using var consumer = new PartitionOwningConsumer<string?, byte[]?>(_kafka, new PartitionOwningConsumerSettings
        {
            Topic = _topics.Reminders,
            GroupId = _options.GroupId,
            ClientId = $"sender-{_options.InstanceId}",
            GroupInstanceId = _options.StaticMembership ? _options.InstanceId : null,
        }, this, logger);
        _reminders = consumer;

        // Deliveries in hand may finish for a while after stop is requested, then they are abandoned
        // (uncommitted: the next owner takes them again, and the gateways de-duplicate by event id).
        using var deliveries = new CancellationTokenSource();
        using var onStop = stoppingToken.Register(() => deliveries.CancelAfter(TimeSpan.FromSeconds(15)));

        consumer.Subscribe();
        logger.LogInformation("Sender consuming {Topic} as group {Group}", _topics.Reminders, _options.GroupId);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                FollowProfiles();
                var batch = ConsumeBatch(consumer, stoppingToken);
                var bills = ConsumeBills();
                await HandleAsync(consumer, producer, batch, bills, deliveries.Token);
                FollowInbound();
                await AnswerMoAsync(producer, deliveries.Token);
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

            _profileConsumer = null;
            _billsConsumer = null;
            _inboundConsumer = null;
            logger.LogInformation("Sender session ended");
        }
    }

    private List<ConsumeResult<string?, byte[]?>> ConsumeBatch(PartitionOwningConsumer<string?, byte[]?> consumer, CancellationToken stoppingToken)
    {
        var batch = new List<ConsumeResult<string?, byte[]?>>();
        consumer.Collect(batch, _options.BatchSize, _options.BatchWait, _options.BatchWait, stoppingToken);

        // A rebalance inside Consume may have taken partitions whose records are already in the batch.
        batch.RemoveAll(r => !_books.ContainsKey(r.Partition.Value));
        return batch;
    }

    /// <summary>The bills that arrived since the last batch, on the partitions owned (at most a batch's worth).</summary>
    private List<ConsumeResult<string?, byte[]?>> ConsumeBills()
    {
        var bills = new List<ConsumeResult<string?, byte[]?>>();
        while (bills.Count < _options.BatchSize && Consume(_billsConsumer!, TimeSpan.Zero) is { } result)
        {
            if (!result.IsPartitionEOF && _books.ContainsKey(result.Partition.Value))
            {
                bills.Add(result);
            }
        }

        return bills;
    }

    /// <summary>
    /// One record, or null. A non-fatal consume error (a fetch refused while the broker fails or moves a
    /// partition) is the client's to retry: what was read so far is handled and the loop goes on. Every
    /// consumer of the sender (reminders, profiles, notice-log restore) reads through here.
    /// </summary>
    private ConsumeResult<string?, byte[]?>? Consume(IConsumer<string?, byte[]?> consumer, TimeSpan timeout) =>
        PartitionReader.ConsumeOrRetry(consumer, timeout, ConsumeRetried, consumer.Name);

    private void ConsumeRetried(Error error) =>
        logger.LogWarning("Kafka consumer: {Reason} ({Code}); the client retries", error.Reason, error.Code);

    private async Task HandleAsync(
        PartitionOwningConsumer<string?, byte[]?> consumer,
        IProducer<string?, byte[]> producer,
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
            inputs.Add(new NoticeInput(reminder, Profile(partition, reminder.Msisdn), _books[partition]));
        }

        // Changes of the reminders setting, written like every outcome (at least once; again only if not acknowledged).
        foreach (var change in _settingChanges)
        {
            if (_books.TryGetValue(change.Partition, out var book) && !book.IsFinished(change.EventId, NoticeRecordChannels.None))
            {
                outputs.Add((NoticeOutput.Of(change, book), null));
            }
        }

        _settingChanges.Clear();

        var now = time.GetUtcNow();
        foreach (var (partition, book) in _books)
        {
            foreach (var due in book.TakeDue(now))
            {
                inputs.Add(new NoticeInput(due.Reminder, Profile(partition, due.Reminder.Msisdn), book, due.Channel));
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
        var writes = new List<Task>(outputs.Count * 2);
        var timestamp = new Timestamp(time.GetUtcNow());
        foreach (var (output, source) in outputs)
        {
            writes.Add(producer.ProduceAsync(_topics.NoticeLog, new Message<string?, byte[]>
            {
                Key = output.Record.Msisdn,
                Value = output.Record.ToUtf8Json(),
                Timestamp = timestamp,
            }));
            if (output.IsDeadLetter)
            {
                writes.Add(producer.ProduceAsync(_topics.NoticesDlq, new Message<string?, byte[]>
                {
                    Key = output.Record.EventId == "unreadable" ? null : output.Record.EventId,
                    Value = output.ReminderBytes,
                    Headers = DeadLetterHeaders(output.Record, source),
                    Timestamp = timestamp,
                }));
            }
        }

        await Task.WhenAll(writes);
        foreach (var (output, _) in outputs)
        {
            processor.Apply(output);
        }

        // Reminders: the group member's commit (put off while the group changes). Bills: a manually assigned reader's.
        foreach (var handled in batch.GroupBy(r => r.Partition.Value).Where(g => _books.ContainsKey(g.Key)))
        {
            consumer.Stage(handled.Key, handled.Max(r => r.Offset.Value) + 1);
        }

        // A refusal other than the group changing ends the session: the next one re-reads these reminders and skips
        // them as already handled (their outcomes are recorded).
        consumer.CommitStaged();

        Commit(_billsConsumer!, _topics.Bills, bills, "bill");
    }

    private void Commit(IConsumer<string?, byte[]?> consumer, string topic, List<ConsumeResult<string?, byte[]?>> handled, string what)
    {
        if (handled.Count == 0)
        {
            return;
        }

        // Records carry no topic name (consume.result.fields=none): each consumer reads one topic.
        var offsets = handled.GroupBy(r => r.Partition.Value)
            .Where(g => _books.ContainsKey(g.Key))
            .Select(g => new TopicPartitionOffset(topic, g.Key, new Offset(g.Max(r => r.Offset.Value) + 1)))
            .ToList();
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException e)
        {
            // The outcomes are recorded: a later owner skips these as already handled.
            logger.LogWarning("Committing {What} offsets failed: {Reason}", what, e.Error.Reason);
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

    private SubscriberProfile? Profile(int partition, string msisdn) =>
        _profiles.TryGetValue(partition, out var profiles) && profiles.TryGetValue(msisdn, out var profile) ? profile : null;

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

    private void Assign(IReadOnlyList<int> partitions, CancellationToken stoppingToken)
    {
        var numbers = partitions.Where(p => !_books.ContainsKey(p)).ToList();
        if (numbers.Count > 0)
        {
            readiness.SetNotReady("restoring profiles and notice log");
            var started = time.GetTimestamp();
            RestoreProfiles(numbers, stoppingToken);
            var inboundFrom = RestoreNoticeLog(numbers, stoppingToken);
            KeepSettingChangesToRecord(numbers);
            _inboundConsumer!.IncrementalAssign(inboundFrom.Select(e => new TopicPartitionOffset(_topics.NoticeLog, e.Key, new Offset(e.Value))).ToList());
            FollowBills(numbers);
            logger.LogInformation("Assigned {Topic} partitions [{Partitions}]: {Profiles} profiles, {Finished} finished and {Deferred} deferred notices restored in {Ms} ms",
                _topics.Reminders, string.Join(",", numbers), numbers.Sum(p => _profiles[p].Count), numbers.Sum(p => _books[p].FinishedCount),
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

            _profiles.Remove(p);
            _profileRecords.Remove(p);
        }

        if (numbers.Count > 0)
        {
            _settingChanges.RemoveAll(c => numbers.Contains(c.Partition));
            _pendingMo.RemoveAll(m => numbers.Contains(m.Partition));
            if (_inboundConsumer is { } inbound)
            {
                var following = inbound.Assignment.Where(tp => numbers.Contains(tp.Partition.Value)).ToList();
                if (following.Count > 0)
                {
                    inbound.IncrementalUnassign(following);
                }
            }

            _profileConsumer?.IncrementalUnassign(numbers.Select(p => new TopicPartition(_topics.Subscribers, p)).ToList());
            if (_billsConsumer is { } bills)
            {
                var following = bills.Assignment.Where(tp => numbers.Contains(tp.Partition.Value)).ToList();
                if (following.Count > 0)
                {
                    bills.IncrementalUnassign(following);
                }
            }
            logger.LogInformation("Partitions [{Partitions}] of {Topic} {Why}", string.Join(",", numbers), _topics.Reminders, why);
        }
    }

    private ConsumerConfig RestoreConfig(string suffix, string fields = "none")
    {
        var config = KafkaClientTuning.Consumer(_kafka, _options.GroupId + suffix, fields);
        config.EnablePartitionEof = true;
        return config;
    }

    private void RestoreProfiles(List<int> numbers, CancellationToken stoppingToken)
    {
        var consumer = _profileConsumer!;
        foreach (var p in numbers)
        {
            _profiles[p] = new Dictionary<string, SubscriberProfile>(StringComparer.Ordinal);
            _profileRecords[p] = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        }

        var ranges = PartitionReader.Whole(consumer, _topics.Subscribers, numbers);
        foreach (var result in PartitionReader.ReadToEnd(consumer, _topics.Subscribers, ranges, RestoreRead(follow: true), stoppingToken))
        {
            ApplyProfile(result, restoring: true);
        }
    }

    /// <summary>
    /// Of the setting changes found while restoring <paramref name="numbers"/>, keeps those still to be written:
    /// not in the rebuilt notice log, and made within the window it covers.
    /// </summary>
    private void KeepSettingChangesToRecord(List<int> numbers)
    {
        var horizon = time.GetUtcNow() - _options.DedupWindow;
        _settingChanges.RemoveAll(c => numbers.Contains(c.Partition) && !c.IsToRecord(_books[c.Partition], horizon));
    }

    /// <summary>
    /// Follows the <c>bills</c> partitions <paramref name="numbers"/> from their committed offsets (from the
    /// beginning when none). The client looks the offsets up itself, retrying while the broker is away: nothing
    /// here waits for it.
    /// </summary>
    private void FollowBills(List<int> numbers)
    {
        var assigned = _billsConsumer!.Assignment.Select(tp => tp.Partition.Value).ToHashSet();
        _billsConsumer.IncrementalAssign(numbers.Where(p => !assigned.Contains(p))
            .Select(p => new TopicPartitionOffset(_topics.Bills, p, Offset.Stored)).ToList());
    }

    /// <summary>
    /// Rebuilds the books of <paramref name="numbers"/> from <c>notice-log</c> (and finds the SMS taken in but not
    /// answered); returns per partition the offset up to which it was read, where following it goes on.
    /// </summary>
    private Dictionary<int, long> RestoreNoticeLog(List<int> numbers, CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(RestoreConfig("-restore")).Build();
        var now = time.GetUtcNow();
        var received = new List<(int Partition, MoReceived Mo)>();
        var since = consumer.OffsetsForTimes(
            numbers.Select(p => new TopicPartitionTimestamp(_topics.NoticeLog, p, new Timestamp(now - _options.DedupWindow))),
            TimeSpan.FromSeconds(30)).ToDictionary(t => t.Partition.Value, t => t.Offset);
        foreach (var p in numbers)
        {
            _books[p] = new NoticeBook(BacklogChanged);
        }

        // No record at or after the window start (or no answer): read from the beginning, to be safe.
        var ranges = PartitionReader.Ranges(consumer, numbers.Select(p => new TopicPartitionOffset(_topics.NoticeLog, p,
            since.TryGetValue(p, out var offset) && offset.Value >= 0 ? offset : Offset.Beginning)));
        var followFrom = ranges.ToDictionary(r => r.Partition, r => r.End);
        var horizon = now - _options.DedupWindow;
        foreach (var result in PartitionReader.ReadToEnd(consumer, _topics.NoticeLog, ranges, RestoreRead(), stoppingToken))
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
            _books[result.Partition.Value].Apply(record, reminder, sentDay);
        }

        consumer.Close();

        // Finished notices older than the window were read only so that they cancel older deferrals.
        var oldestDay = rules.QuietHours.LocalDay(now).AddDays(-1);
        foreach (var p in numbers)
        {
            _books[p].Prune(horizon, oldestDay);
        }

        // SMS taken in that no earlier owner answered: answered now, in the order they came.
        foreach (var (p, mo) in received)
        {
            if (!_books[p].IsFinished(mo.EventId, NoticeRecordChannels.None) && !_pendingMo.Any(m => m.Partition == p && m.Mo.EventId == mo.EventId))
            {
                _pendingMo.Add((p, mo));
            }
        }

        return followFrom;
    }

    /// <summary>A restore read: bounded by <see cref="SenderOptions.RestoreTimeout"/>; the client's own retries are logged.</summary>
    private ReadToEndOptions RestoreRead(bool follow = false) =>
        new() { Timeout = _options.RestoreTimeout, Follow = follow, OnRetriedError = ConsumeRetried };

    /// <summary>Applies the profile updates that arrived since the last batch.</summary>
    private void FollowProfiles()
    {
        var consumer = _profileConsumer!;
        for (var i = 0; i < 10_000; i++)
        {
            var result = Consume(consumer, TimeSpan.Zero);
            if (result is null)
            {
                return;
            }

            if (!result.IsPartitionEOF)
            {
                ApplyProfile(result, restoring: false);
            }
        }
    }

    /// <summary>Takes a profile record in; a change of its <c>reminders</c> setting is kept to be written to <c>notice-log</c>.</summary>
    private void ApplyProfile(ConsumeResult<string?, byte[]?> result, bool restoring)
    {
        if (!_profiles.TryGetValue(result.Partition.Value, out var profiles))
        {
            return;
        }

        if (result.Message.Value is null)
        {
            if (result.Message.Key is { } key)
            {
                profiles.Remove(key);
                _profileRecords[result.Partition.Value].Remove(key);
            }

            return;
        }

        var profile = SubscriberProfile.TryParse(result.Message.Value, null, out var error);
        if (profile is null)
        {
            SenderMetrics.ProfilesRefused.Inc();
            logger.LogWarning("Profile for {Msisdn} refused, previous one kept: {Error}", Msisdns.Mask(result.Message.Key), error);
            return;
        }

        var timestamp = result.Message.Timestamp;
        var change = SettingChange.Detect(profiles.GetValueOrDefault(profile.Msisdn), profile, _topics.Subscribers, result.Partition.Value, result.Offset.Value,
            timestamp.Type == TimestampType.NotAvailable ? null : new DateTimeOffset(timestamp.UtcDateTime), time.GetUtcNow(), restoring);
        if (change is not null)
        {
            _settingChanges.Add(change);
        }

        profiles[profile.Msisdn] = profile;
        _profileRecords[result.Partition.Value][profile.Msisdn] = result.Message.Value;
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

    /// <summary>Takes the SMS written to the owned <c>notice-log</c> partitions since the last batch (by any instance's <c>POST /v1/mo</c>).</summary>
    private void FollowInbound()
    {
        var consumer = _inboundConsumer!;
        for (var i = 0; i < 10_000; i++)
        {
            var result = Consume(consumer, TimeSpan.Zero);
            if (result is null)
            {
                return;
            }

            // Every notice of the partition passes here; only a received SMS is read in full.
            if (result.IsPartitionEOF || result.Message.Value is not { } value || value.AsSpan().IndexOf("\"received\""u8) < 0
                || !_books.TryGetValue(result.Partition.Value, out var book) || NoticeRecord.TryParse(value) is not { } record
                || MoReceived.Of(record) is not { } mo || book.IsFinished(mo.EventId, NoticeRecordChannels.None))
            {
                continue;
            }

            _pendingMo.Add((result.Partition.Value, mo));
        }
    }

    /// <summary>
    /// Answers the SMS taken in, at most a batch's worth: one subscriber's in the order they came, subscribers
    /// side by side. A replayed id (already answered, or twice in hand) is skipped. A cancellation's profile is
    /// acknowledged on <c>subscribers</c> before any reply is sent; when that fails, the SMS waits for the next
    /// batch, with the later ones of the same subscriber. The records are acknowledged on <c>notice-log</c> before
    /// the book takes them.
    /// </summary>
    private async Task AnswerMoAsync(IProducer<string?, byte[]> producer, CancellationToken deliveryToken)
    {
        if (_pendingMo.Count == 0)
        {
            return;
        }

        var taken = _pendingMo.Take(_options.BatchSize).ToList();
        _pendingMo.RemoveRange(0, taken.Count);
        var claimed = new List<(int Partition, MoReceived Mo)>();
        foreach (var (p, mo) in taken)
        {
            if (!_books.TryGetValue(p, out var book))
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
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxConcurrentDeliveries), CancellationToken = deliveryToken },
            async (g, token) =>
            {
                answers[g] = [];
                retries[g] = [];
                var (partition, msisdn) = (groups[g][0].Partition, groups[g][0].Mo.Msisdn);
                var profile = Profile(partition, msisdn);
                var record = _profileRecords.TryGetValue(partition, out var records) ? records.GetValueOrDefault(msisdn) : null;
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
                            await producer.ProduceAsync(new TopicPartition(_topics.Subscribers, new Partition(p)),
                                new Message<string?, byte[]> { Key = msisdn, Value = changed, Timestamp = new Timestamp(time.GetUtcNow()) }, token);
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
            if (update is { } u && _profiles.TryGetValue(u.Partition, out var profiles))
            {
                profiles[u.Msisdn] = u.Profile;
                _profileRecords[u.Partition][u.Msisdn] = u.Record;
            }
        }

        var done = answers.SelectMany(a => a).ToList();
        var writes = new List<Task>();
        var timestamp = new Timestamp(time.GetUtcNow());
        foreach (var record in done.SelectMany(a => a.Records))
        {
            writes.Add(producer.ProduceAsync(_topics.NoticeLog, new Message<string?, byte[]> { Key = record.Msisdn, Value = record.ToUtf8Json(), Timestamp = timestamp }));
        }

        await Task.WhenAll(writes);
        foreach (var (p, _, records) in done)
        {
            if (_books.TryGetValue(p, out var book))
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
            if (_books.TryGetValue(p, out var book))
            {
                book.Release(mo.EventId, NoticeRecordChannels.None);
            }
        }

        _pendingMo.InsertRange(0, again);
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
            book.Prune(now - _options.DedupWindow, oldestDay);
        }
    }
}
