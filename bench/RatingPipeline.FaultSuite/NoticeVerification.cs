using System.Text.Json;
using RatingPipeline.Sender.Gateway;

namespace RatingPipeline.FaultSuite;

/// <summary>
/// Proves the sender's side of a run against the offline reminders and bills: every reminder and bill of a subscriber who has not
/// opted out reached the loopback SMS gateway exactly once (the gateway takes a repeated request with the same
/// <c>Idempotency-Key</c>, <c>eventId:sms</c>, once, as the design asks of it; the requests it took once are
/// counted too); opted-out
/// subscribers got nothing; and <c>notices-dlq</c> holds exactly the e-mail notices, the suite configuring no
/// SMTP server (each fails with the reason "channel email is not configured"), and nothing else. Repeated copies
/// of one dead letter (a sender killed after writing it, before committing) are allowed, as for every topic.
/// </summary>
internal static class NoticeVerification
{
    public static void Verify(IReadOnlyList<byte[]> offlineReminders, IReadOnlyList<byte[]> profiles, LoopbackGateway gateway, TopicContents noticesDlq,
        SuiteReport report)
    {
        var subscribers = profiles.Select(Profile.Parse).ToDictionary(p => p.Msisdn, StringComparer.Ordinal);
        var expectedSms = new HashSet<string>(StringComparer.Ordinal);
        var expectedEmail = new HashSet<string>(StringComparer.Ordinal);
        var optedOut = 0;
        foreach (var line in offlineReminders)
        {
            using var json = JsonDocument.Parse(line);
            var eventId = json.RootElement.GetProperty("eventId").GetString()!;
            var profile = subscribers.GetValueOrDefault(json.RootElement.GetProperty("msisdn").GetString()!);
            if (profile is { RemindersOff: true })
            {
                optedOut++;
                continue;
            }

            var channels = profile?.Channels ?? ["sms"];
            if (channels.Contains("sms"))
            {
                // The SMS notice's idempotency key: the event id and the channel.
                expectedSms.Add($"{eventId}:sms");
            }

            if (channels.Contains("email"))
            {
                expectedEmail.Add(eventId);
            }
        }

        var deliveries = gateway.DeliveriesByKey;
        var requests = gateway.RequestsByKey;
        var delivered = deliveries.Keys.ToHashSet(StringComparer.Ordinal);
        var missing = expectedSms.Except(delivered).ToList();
        var extra = delivered.Except(expectedSms).ToList();
        report.NoticesSent = deliveries.Count;
        report.NoticesSentTwice = deliveries.Values.Count(v => v > 1);
        report.NoticeRequestsRepeated = requests.Values.Sum(v => Math.Max(0, v - 1));
        report.NoticesExpected = expectedSms.Count;
        report.NoticesSuppressed = optedOut;
        report.RecordsLost += missing.Count;
        report.Unexpected += extra.Count;
        report.Check("every reminder and bill notified exactly once at the gateway (by eventId:sms)",
            missing.Count == 0 && extra.Count == 0 && report.NoticesSentTwice == 0,
            $"{expectedSms.Count} SMS notices expected ({optedOut} reminders of opted-out subscribers not), {delivered.Count} delivered, "
            + $"{missing.Count} missing, {extra.Count} unexpected, {report.NoticesSentTwice} delivered twice; "
            + $"{report.NoticeRequestsRepeated} repeated requests taken once by the idempotency key"
            + Examples(missing.Concat(extra)));

        // A notice dead letter is the reminder's own bytes (its eventId inside), the channel and reason in headers.
        var dlq = noticesDlq.Records
            .Select(r => (EventId: EventIdOf(r.Value), Channel: r.Header("notice-channel") ?? "", Reason: r.Header("notice-failure-reason") ?? ""))
            .ToList();
        var wrong = dlq.Where(d => d.Channel != "email" || d.Reason != "channel email is not configured")
            .Select(d => $"{d.EventId} {d.Channel}: {d.Reason}").ToList();
        var emailIds = dlq.Where(d => d.Channel == "email").Select(d => d.EventId).ToHashSet(StringComparer.Ordinal);
        var emailMissing = expectedEmail.Except(emailIds).ToList();
        report.NoticeDeadLetters = dlq.Count;
        report.Unexpected += wrong.Count + emailIds.Except(expectedEmail).Count();
        report.Check("notices-dlq holds exactly the e-mail notices (no SMTP server in the suite)",
            wrong.Count == 0 && emailMissing.Count == 0 && emailIds.SetEquals(expectedEmail),
            $"{dlq.Count} records for {emailIds.Count} e-mail notices, {expectedEmail.Count} expected; {emailMissing.Count} missing, {wrong.Count} that should not be there"
            + Examples(wrong.Concat(emailMissing)));
    }

    private static string EventIdOf(byte[]? value)
    {
        if (value is null)
        {
            return "";
        }

        try
        {
            using var json = JsonDocument.Parse(value);
            return Text(json, "eventId");
        }
        catch (JsonException)
        {
            return "";
        }
    }

    private static string Text(JsonDocument document, string name) =>
        document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    private static string Examples(IEnumerable<string> problems)
    {
        var shown = problems.Take(5).ToList();
        return shown.Count == 0 ? "" : "; e.g. " + string.Join(", ", shown);
    }

    /// <summary>What the sender reads of a profile: opt-out and channels (default: SMS).</summary>
    private sealed record Profile(string Msisdn, bool RemindersOff, string[]? Channels)
    {
        public static Profile Parse(byte[] line)
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var off = root.TryGetProperty("reminders", out var reminders)
                && ((reminders.ValueKind == JsonValueKind.String && reminders.GetString() == "off") || reminders.ValueKind == JsonValueKind.False);
            var channels = root.TryGetProperty("channels", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Select(c => c.GetString() ?? "").ToArray()
                : null;
            return new Profile(root.GetProperty("msisdn").GetString()!, off, channels);
        }
    }
}
