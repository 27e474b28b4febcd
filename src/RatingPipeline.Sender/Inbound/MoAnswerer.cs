using Microsoft.Extensions.Logging;
using RatingPipeline.Hosting;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Sender.Rules;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Sender.Inbound;

/// <summary>The <c>notice-log</c> kinds of mobile-originated SMS.</summary>
public static class MoKinds
{
    /// <summary>The inbound SMS: <c>received</c>, then <c>answered</c> (or <c>failed</c>).</summary>
    public const string Mo = "mo";

    /// <summary>One reply SMS: <c>sent</c> or <c>failed</c>.</summary>
    public const string Reply = "mo-reply";
}

/// <summary>
/// A mobile-originated SMS as taken in: from whom (<see cref="Msisdn"/>, the gateway's <c>from</c>), to which
/// number, its text, the gateway's id and when it came. Its <see cref="EventId"/> <c>msisdn:mo:id</c> makes a
/// replayed id the same event.
/// </summary>
public sealed record MoReceived(string Msisdn, string MoId, string Text, string ServiceNumber, DateTimeOffset ReceivedAt)
{
    public string EventId => EventIdOf(Msisdn, MoId);

    public static string EventIdOf(string msisdn, string moId) => $"{msisdn}:mo:{moId}";

    /// <summary>The <c>received</c> record of <c>notice-log</c>.</summary>
    public NoticeRecord ToRecord() => new()
    {
        EventId = EventId,
        Msisdn = Msisdn,
        Kind = MoKinds.Mo,
        Channel = NoticeRecordChannels.None,
        Outcome = NoticeOutcomes.Received,
        Text = Text,
        MoId = MoId,
        ServiceNumber = ServiceNumber,
        LoggedAt = ReceivedAt,
    };

    /// <summary>The SMS of a <c>received</c> record, or null for any other record.</summary>
    public static MoReceived? Of(NoticeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record is { Kind: MoKinds.Mo, Outcome: NoticeOutcomes.Received, MoId: { Length: > 0 } id, Msisdn.Length: > 0 }
            ? new MoReceived(record.Msisdn, id, record.Text ?? "", record.ServiceNumber ?? "", record.LoggedAt)
            : null;
    }
}

/// <summary>
/// What answering one SMS does: the command, the reply texts in the subscriber's language, and for a
/// cancellation the profile record to publish on <c>subscribers</c> (null when nothing changes).
/// </summary>
public sealed record MoPlan(MoReceived Mo, MoCommand Command, string Language, IReadOnlyList<string> Replies, byte[]? Profile, IReadOnlyList<string> Cancelled, string? Reason)
{
    /// <summary>Whether the plan cannot be carried out (the profile could not be changed): nothing is sent.</summary>
    public bool Failed => Replies.Count == 0;
}

/// <summary>
/// Answers mobile-originated SMS, without Kafka: <see cref="Plan"/> decides from the subscriber's current profile,
/// <see cref="ReplyAsync"/> sends the replies through the SMS channel and returns the <c>notice-log</c> records
/// (each reply, then the inbound SMS <c>answered</c>). Replies are answers the subscriber asked for: quiet hours,
/// the daily limit and the reminders opt-out do not apply to them.
/// </summary>
public sealed class MoAnswerer(MoRenderer renderer, NoticeDelivery delivery, UsageApiClient usageApi, SenderOptions options, TimeProvider time, ILogger<MoAnswerer> logger)
{
    private readonly TimeSpan _utcOffset = QuietHours.TryParseOffset(options.UtcOffset, out var offset) ? offset : TimeSpan.Zero;

    /// <summary>The reply's event id: <c>msisdn:mo:id:reply:n</c>, n from 1.</summary>
    public static string ReplyEventId(MoReceived mo, int n)
    {
        ArgumentNullException.ThrowIfNull(mo);
        return $"{mo.EventId}:reply:{n}";
    }

    /// <summary>
    /// <see cref="Plan"/>, for <c>查询</c> / <c>CXLL</c> with the usage summary asked of the rater's usage query API first.
    /// </summary>
    public async Task<MoPlan> PlanAsync(MoReceived mo, SubscriberProfile? profile, byte[]? profileJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mo);
        var usage = MoCommand.Parse(mo.Text).Kind == MoCommandKind.Usage ? await usageApi.LookUpAsync(mo.Msisdn, cancellationToken) : null;
        return Plan(mo, profile, profileJson, usage);
    }

    /// <summary>
    /// What to answer. <paramref name="usage"/> is what the usage query API gave for <c>查询</c> / <c>CXLL</c>: the
    /// summary, or when there is none (not configured, refused, no answer in time) a short text saying so, with the
    /// reason for <c>notice-log</c>; the SMS is answered either way.
    /// </summary>
    public MoPlan Plan(MoReceived mo, SubscriberProfile? profile, byte[]? profileJson, UsageLookup? usage = null)
    {
        ArgumentNullException.ThrowIfNull(mo);
        var command = MoCommand.Parse(mo.Text);
        var language = NoticeTemplates.Normalise(profile?.Language);
        var active = MonthlyServices.Active(profile, mo.ReceivedAt, _utcOffset, options.Mo.VasNoticeLeadHours);
        switch (command.Kind)
        {
            case MoCommandKind.List:
                return new MoPlan(mo, command, language, renderer.List(active, language), null, [], null);
            case MoCommandKind.Cancel or MoCommandKind.CancelAll:
                var numbers = command.Kind == MoCommandKind.CancelAll ? active.Select(s => s.Number).ToList() : command.Numbers;
                if (command.Kind == MoCommandKind.CancelAll && numbers.Count == 0)
                {
                    return new MoPlan(mo, command, language, [renderer.NoServices(language)], null, [], "no monthly services to cancel");
                }

                var unknown = numbers.Where(n => active.All(s => s.Number != n)).ToList();
                if (unknown.Count > 0)
                {
                    return new MoPlan(mo, command, language, [renderer.UnknownNumbers(unknown, language)], null, [],
                        $"no monthly service numbered {string.Join(",", unknown)}: nothing cancelled");
                }

                var profileBytes = MonthlyServices.Cancel(profileJson!, profile!, numbers, mo.ReceivedAt, _utcOffset, out var error);
                if (profileBytes is null)
                {
                    return new MoPlan(mo, command, language, [], null, [], error);
                }

                var cancelled = active.Where(s => numbers.Contains(s.Number)).ToList();
                return new MoPlan(mo, command, language, renderer.Cancelled(cancelled, language), profileBytes,
                    [.. cancelled.Select(s => profile!.Services[s.Number - 1].Id)], null);
            case MoCommandKind.Usage:
                usage ??= new UsageLookup(UsageLookupResult.NotConfigured, null, "the usage query API was not asked");
                return new MoPlan(mo, command, language,
                    [usage.Summary is { } summary ? renderer.Usage(summary, language) : renderer.UsageUnavailable(usage.Result == UsageLookupResult.Later, language)],
                    null, [], usage.Reason);
            default:
                return new MoPlan(mo, command, language, [renderer.Help(language)], null, [], null);
        }
    }

    /// <summary>Sends the plan's replies, one after the other; returns the records to write, the inbound SMS's last.</summary>
    public async Task<IReadOnlyList<NoticeRecord>> ReplyAsync(MoPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var mo = plan.Mo;
        var records = new List<NoticeRecord>(plan.Replies.Count + 1);
        for (var i = 0; i < plan.Replies.Count; i++)
        {
            var eventId = ReplyEventId(mo, i + 1);
            var text = plan.Replies[i];
            var result = await delivery.DeliverAsync(new Notice(eventId, ChannelNames.Sms, mo.Msisdn, text, ""), cancellationToken);
            var record = new NoticeRecord
            {
                EventId = eventId,
                Msisdn = mo.Msisdn,
                Kind = MoKinds.Reply,
                Channel = ChannelNames.Sms,
                Outcome = result.Accepted ? NoticeOutcomes.Sent : NoticeOutcomes.Failed,
                IdempotencyKey = Notice.KeyOf(eventId, ChannelNames.Sms),
                Urgent = true,
                Text = text,
                Language = plan.Language,
                Attempts = result.Attempts,
                Reason = result.Accepted ? null : result.FailureReason,
                MoId = mo.MoId,
                LoggedAt = result.At,
                SentAt = result.Accepted ? result.At : null,
            };
            records.Add(record);
            SenderMetrics.MoReplies.WithLabels(record.Outcome).Inc();
        }

        var sent = records.Count(r => r.Outcome == NoticeOutcomes.Sent);
        var answered = new NoticeRecord
        {
            EventId = mo.EventId,
            Msisdn = mo.Msisdn,
            Kind = MoKinds.Mo,
            Channel = NoticeRecordChannels.None,
            Outcome = plan.Failed ? NoticeOutcomes.Failed : NoticeOutcomes.Answered,
            Text = mo.Text,
            MoId = mo.MoId,
            Command = plan.Command.Name,
            Cancelled = plan.Cancelled.Count > 0 ? plan.Cancelled : null,
            Replies = records.Count,
            Reason = plan.Failed ? $"not answered: {plan.Reason}" : sent < records.Count ? $"{records.Count - sent} of {records.Count} replies failed" : plan.Reason,
            LoggedAt = time.GetUtcNow(),
        };
        records.Add(answered);
        SenderMetrics.MoCommands.WithLabels(answered.Command, answered.Outcome).Inc();
        var level = plan.Failed || sent < records.Count - 1 ? LogLevel.Warning : LogLevel.Information;
        if (logger.IsEnabled(level))
        {
            logger.Log(level, "SMS {MoId} from {Msisdn}: {Command} {Outcome}, {Sent} of {Replies} replies sent{Detail}",
                mo.MoId, Msisdns.Mask(mo.Msisdn), answered.Command, answered.Outcome, sent, records.Count - 1,
                answered.Reason is null ? "" : $" ({answered.Reason})");
        }

        return records;
    }
}
