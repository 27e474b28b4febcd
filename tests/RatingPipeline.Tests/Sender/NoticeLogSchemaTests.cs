using System.Text;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Tests.Schemas;

namespace RatingPipeline.Tests.Sender;

/// <summary><c>schemas/notice-record.schema.json</c> describes every record the sender writes to <c>notice-log</c>.</summary>
[TestFixture]
[Category("sender")]
public sealed class NoticeLogSchemaTests
{
    private const string M = "8613800001234";

    private static async Task AssertPassesAsync(NoticeRecord record)
    {
        var check = await RecordSchemas.CheckAsync(RecordSchemas.NoticeRecord, record.ToUtf8Json());
        Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), $"{check} for {Encoding.UTF8.GetString(record.ToUtf8Json())}");
    }

    [Test]
    public async Task Every_outcome_the_sender_writes_passes_the_schema()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 3, 23, 0, 0, TimeSpan.FromHours(8)));
        await using var rig = await SenderRig.StartAsync(o => o.Voice.Url = new Uri(new Uri(o.Sms.Url), "voice").ToString(), clock);
        var records = new List<NoticeRecord>();
        // sent (urgent SMS) and deferred (the voice call in quiet hours), a deferred bill
        records.AddRange((await rig.HandleAsync(ProfileJson.Of(M, channels: """["sms","voice"]"""), ReminderJson.DataCap(M, 100_000_000, 100_000_000))).Select(o => o.Record));
        records.AddRange((await rig.HandleBillsAsync(ProfileJson.Of(M), BillJson.Make(M))).Select(o => o.Record));
        // suppressed, and failed (no profile)
        records.AddRange((await rig.HandleAsync(ProfileJson.Of("8613800009999", reminders: false), ReminderJson.HighSpend("8613800009999", 1, 2))).Select(o => o.Record));
        records.AddRange((await rig.HandleAsync(null, ReminderJson.HighSpend("8613800008888", 1, 2))).Select(o => o.Record));
        // an unreadable record, and the two setting changes
        records.Add(rig.Processor.Unreadable("not json"u8.ToArray(), M, "not JSON").Record);
        records.Add(SettingChange.Detect(ProfileJson.Of(M), ProfileJson.Of(M, reminders: false), "subscribers", 0, 7, clock.GetUtcNow(), clock.GetUtcNow(), false)!.ToRecord());
        records.Add(SettingChange.Detect(ProfileJson.Of(M, reminders: false), ProfileJson.Of(M), "subscribers", 0, 8, null, clock.GetUtcNow(), false)!.ToRecord());

        Assert.That(records.Select(r => r.Outcome).Distinct(), Is.EquivalentTo(new[]
        {
            NoticeOutcomes.Sent, NoticeOutcomes.Deferred, NoticeOutcomes.SuppressedOptOut, NoticeOutcomes.Failed, NoticeOutcomes.OptOutRecorded, NoticeOutcomes.OptInRecorded,
        }));
        foreach (var record in records)
        {
            await AssertPassesAsync(record);
        }
    }

    [Test]
    public async Task A_sent_record_without_its_idempotency_key_fails_the_schema()
    {
        var record = new NoticeRecord
        {
            EventId = "e",
            Msisdn = M,
            Kind = "roaming",
            Channel = "sms",
            Outcome = NoticeOutcomes.Sent,
            Text = "t",
            Language = "en",
            LoggedAt = DateTimeOffset.UnixEpoch,
            SentAt = DateTimeOffset.UnixEpoch,
        };
        var check = await RecordSchemas.CheckAsync(RecordSchemas.NoticeRecord, record.ToUtf8Json());
        Assert.That(check.Verdict, Is.EqualTo(Verdict.SchemaFail));
    }
}
