using System.Text.Json;
using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Reminders;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Sender.Rules;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Sender;

/// <summary>
/// One reminder (or bill) to handle: from <c>reminders</c> or <c>bills</c> (every channel of the profile), or a
/// deferred notice due now (its one <paramref name="Channel"/>), with the subscriber's current profile and the
/// partition's book.
/// </summary>
public sealed record NoticeInput(Reminder Reminder, SubscriberProfile? Profile, NoticeBook Book, string? Channel = null);

/// <summary>An outcome to write to <c>notice-log</c> (and, when failed, the reminder to <c>notices-dlq</c>).</summary>
public sealed record NoticeOutput(NoticeRecord Record, Reminder? Reminder, byte[] ReminderBytes, NoticeBook? Book, DateOnly? SentDay)
{
    public bool IsDeadLetter => Record.Outcome == NoticeOutcomes.Failed;

    /// <summary>The output of a change of a profile's <c>reminders</c> setting, for <paramref name="book"/>.</summary>
    public static NoticeOutput Of(SettingChange change, NoticeBook? book)
    {
        ArgumentNullException.ThrowIfNull(change);
        return new NoticeOutput(change.ToRecord(), null, [], book, null);
    }
}

/// <summary>
/// Turns reminders into notices, without Kafka: claims each (eventId, channel) once (duplicates are skipped),
/// applies the rules, renders, delivers concurrently, and returns the outcomes to record. The book and the
/// metrics change only in <see cref="Apply"/>, called once the outcomes are durably recorded.
/// </summary>
public sealed class NoticeProcessor(
    NoticeRenderer renderer,
    NoticeRules rules,
    NoticeDelivery delivery,
    SenderOptions options,
    TimeProvider time,
    ILogger<NoticeProcessor> logger)
{
    private sealed record Work(NoticeInput Input, string Channel, RuleDecision Decision, string Language);

    public async Task<IReadOnlyList<NoticeOutput>> ProcessAsync(IReadOnlyList<NoticeInput> inputs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var now = time.GetUtcNow();
        var work = new List<Work>();
        foreach (var input in inputs)
        {
            Decide(input, now, work);
        }

        var outputs = new NoticeOutput[work.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, work.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxConcurrentDeliveries), CancellationToken = cancellationToken },
            async (i, token) => outputs[i] = await CompleteAsync(work[i], token));
        return outputs;
    }

    /// <summary>Takes a recorded outcome into the book and the metrics.</summary>
    public void Apply(NoticeOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var record = output.Record;
        output.Book?.Apply(record, output.Reminder, output.SentDay);
        SenderMetrics.Notices.WithLabels(record.Kind, record.Channel, record.Outcome).Inc();
        if (record.Outcome == NoticeOutcomes.SuppressedOptOut)
        {
            SenderMetrics.SuppressedOptOut.Inc();
        }

        if (NoticeOutcomes.IsSettingChange(record.Outcome))
        {
            logger.LogInformation("Reminders setting of {Msisdn} changed: {Outcome}", Msisdns.Mask(record.Msisdn), record.Outcome);
            return;
        }

        var level = record.Outcome == NoticeOutcomes.Failed ? LogLevel.Warning : LogLevel.Information;
        if (logger.IsEnabled(level))
        {
            logger.Log(level, "Notice {EventKind} for {Msisdn} on {Channel}: {Outcome} after {Attempts} attempt(s){Detail}",
                record.Kind, Msisdns.Mask(record.Msisdn), record.Channel, record.Outcome, record.Attempts,
                record.Reason is null ? "" : $" ({record.Reason}{(record.DueAt is { } due ? $", due {due:O}" : "")})");
        }
    }

    /// <summary>The outcome for a record of <c>reminders</c> (or of <c>bills</c>: <paramref name="bill"/>) that the sender cannot read.</summary>
    public NoticeOutput Unreadable(byte[] raw, string msisdn, string error, bool bill = false)
    {
        SenderMetrics.RemindersInvalid.Inc();
        string eventId = "", kind = "unknown";
        try
        {
            using var document = JsonDocument.Parse(raw);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                eventId = document.RootElement.TryGetProperty("eventId", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() ?? "" : "";
                kind = bill ? NoticeKinds.Bill
                    : document.RootElement.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String && ReminderKinds.All.Contains(k.GetString()) ? k.GetString()! : "unknown";
            }
        }
        catch (JsonException)
        {
            // Not JSON at all: the error says so already.
        }

        var record = new NoticeRecord
        {
            EventId = eventId.Length > 0 ? eventId : "unreadable",
            Msisdn = msisdn,
            Kind = kind,
            Channel = NoticeRecordChannels.None,
            Outcome = NoticeOutcomes.Failed,
            Reason = bill ? $"unreadable bill: {error}" : $"unreadable reminder: {error}",
            LoggedAt = time.GetUtcNow(),
        };
        return new NoticeOutput(record, null, raw, null, null);
    }

    private void Decide(NoticeInput input, DateTimeOffset now, List<Work> work)
    {
        var reminder = input.Reminder;
        IReadOnlyList<string> channels = input.Channel is { } only ? [only] : input.Profile?.Channels ?? [ChannelNames.Sms];
        var claimed = new List<string>(channels.Count);
        foreach (var channel in channels)
        {
            if (input.Book.TryClaim(reminder.EventId, channel, fromBacklog: input.Channel is not null))
            {
                claimed.Add(channel);
            }
            else
            {
                SenderMetrics.Notices.WithLabels(reminder.Kind, channel, "duplicate").Inc();
                logger.LogInformation("Notice {EventKind} for {Msisdn} on {Channel} already handled: skipped",
                    reminder.Kind, Msisdns.Mask(reminder.Msisdn), channel);
            }
        }

        if (claimed.Count == 0)
        {
            return;
        }

        var decision = rules.Decide(reminder, input.Profile, input.Book, now);
        var language = NoticeTemplates.Normalise(input.Profile?.Language);
        foreach (var channel in claimed)
        {
            var forChannel = rules.ForChannel(decision, channel, now);
            if (decision.Action is NoticeAction.Send or NoticeAction.Defer)
            {
                if (channel == ChannelNames.Email && string.IsNullOrWhiteSpace(input.Profile?.Email))
                {
                    forChannel = decision with { Action = NoticeAction.Fail, Reason = "the profile has no e-mail address for the email channel" };
                }
                else if (!delivery.IsConfigured(channel))
                {
                    forChannel = decision with { Action = NoticeAction.Fail, Reason = $"channel {channel} is not configured" };
                }
            }

            work.Add(new Work(input, channel, forChannel, language));
        }
    }

    private async Task<NoticeOutput> CompleteAsync(Work work, CancellationToken cancellationToken)
    {
        var reminder = work.Input.Reminder;
        var text = renderer.Render(reminder, work.Language);
        var record = new NoticeRecord
        {
            EventId = reminder.EventId,
            Msisdn = reminder.Msisdn,
            Kind = reminder.Kind,
            Channel = work.Channel,
            Outcome = NoticeOutcomes.Failed,
            IdempotencyKey = Notice.KeyOf(reminder.EventId, work.Channel),
            Urgent = work.Decision.Urgent,
            Text = text,
            Language = work.Language,
            At = reminder.At.Length > 0 ? reminder.At : null,
            Reason = work.Decision.Reason,
            LoggedAt = time.GetUtcNow(),
        };

        switch (work.Decision.Action)
        {
            case NoticeAction.SuppressOptOut:
                record = record with { Outcome = NoticeOutcomes.SuppressedOptOut };
                break;
            case NoticeAction.Defer:
                using (var document = JsonDocument.Parse(reminder.Raw))
                {
                    record = record with { Outcome = NoticeOutcomes.Deferred, DueAt = work.Decision.DueAt, Reminder = document.RootElement.Clone() };
                }

                break;
            case NoticeAction.Send:
                var to = work.Channel == ChannelNames.Email ? work.Input.Profile!.Email! : reminder.Msisdn;
                var result = await delivery.DeliverAsync(new Notice(reminder.EventId, work.Channel, to, text, renderer.Subject(work.Language)), cancellationToken);
                record = result.Accepted
                    ? record with { Outcome = NoticeOutcomes.Sent, Attempts = result.Attempts, SentAt = result.At, LoggedAt = result.At }
                    : record with { Outcome = NoticeOutcomes.Failed, Attempts = result.Attempts, Reason = result.FailureReason, LoggedAt = result.At };
                break;
        }

        DateOnly? sentDay = record.SentAt is { } sentAt ? rules.QuietHours.LocalDay(sentAt) : null;
        return new NoticeOutput(record, reminder, reminder.Raw, work.Input.Book, sentDay);
    }
}
