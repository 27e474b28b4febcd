using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Rendering;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// The account notices of SPEC §7.7 (<c>plan-change</c>, <c>vas-precharge</c>, <c>plan-expiry</c>) and the monthly
/// bill of §7.8: their texts, and the rules they go by (not urgent; a service is announced before its charge).
/// </summary>
[TestFixture]
[Category("sender")]
public sealed class AccountNoticeTests
{
    private const string M = "8613800000011";
    private const string Hint = "Check your usage at https://my.operator.example";
    private const string HintZh = "查询用量请访问https://my.operator.example";
    private static readonly TimeSpan Beijing = TimeSpan.FromHours(8);

    private static readonly string ShippedTemplates = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "templates.json"));

    private static DateTimeOffset Local(int day, int hour, int minute = 0) => new(2026, 11, day, hour, minute, 0, Beijing);

    private static NoticeRenderer Renderer() =>
        new(NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions()), new SenderOptions());

    private static string Render(string reminderJson, string language) => Renderer().Render(ReminderJson.Parse(reminderJson), language);

    private static string News(string chargeAt) =>
        ReminderJson.VasPrecharge(M, "news", "手机报", "Mobile News", 5_000_000, "2026-11-10T09:00:00+08:00", chargeAt);

    // ------------------------------------------------------------------ texts

    [Test]
    public void Plan_change_names_both_plans_and_the_new_monthly_fee()
    {
        var reminder = ReminderJson.PlanChange(M, "mini-18", "basic-58", 58_000_000);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "zh"), Is.EqualTo($"【套餐变更提醒】您的套餐已由mini-18变更为basic-58，新套餐月费58.00元。{HintZh}"));
            Assert.That(Render(reminder, "en"), Is.EqualTo($"Plan change: your plan changed from mini-18 to basic-58. Monthly fee of the new plan: 58.00 yuan. {Hint}"));
        });
    }

    [Test]
    public void A_plan_without_a_monthly_fee_reads_none()
    {
        var reminder = ReminderJson.PlanChange(M, "basic-58", "pay-go", null);
        Assert.That(Render(reminder, "en"), Does.Contain("Monthly fee of the new plan: none."));
        Assert.That(Render(reminder, "zh"), Does.Contain("新套餐月费无。"));
    }

    [Test]
    public void Vas_precharge_says_the_price_when_it_is_charged_and_how_to_cancel()
    {
        var reminder = News("2026-11-11T09:00:00+08:00");
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                "【业务扣费提醒】您订购的手机报资费为每月5.00元，将于2026年11月11日09:00首次扣费。如不需要，请在此之前回复0000或TD取消，取消后不收费。"));
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                "Service charge notice: Mobile News costs 5.00 yuan a month and is first charged on 2026-11-11 09:00. To cancel free of charge, reply 0000 or TD before then."));
        });
    }

    [Test]
    public void Vas_precharge_shows_the_charge_time_in_local_time_to_the_minute()
    {
        // The worked example's video service: 20:00:00.5 UTC is 04:00 the next day at +08:00.
        var reminder = ReminderJson.VasPrecharge(M, "video", "视频会员", "Video membership", 15_000_000, "2026-12-20T20:00:00.5Z", "2026-12-21T20:00:00.5Z");
        Assert.That(Render(reminder, "en"), Does.Contain("Video membership costs 15.00 yuan a month and is first charged on 2026-12-22 04:00."));
        Assert.That(Render(reminder, "zh"), Does.Contain("将于2026年12月22日04:00首次扣费"));
    }

    [Test]
    public void A_long_service_name_is_cut_to_what_the_segment_check_allows()
    {
        var reminder = ReminderJson.VasPrecharge(M, "x", "超长名称超长名称超长名称超长名称超长名称超长名称", "An Extremely Long Service Name Indeed", 1_000_000,
            "2026-11-10T09:00:00+08:00", "2026-11-11T09:00:00+08:00");
        Assert.That(Render(reminder, "en"), Does.Contain("notice: An Extremely Long... costs"));
        Assert.That(Render(reminder, "zh"), Does.Contain("您订购的超长名称超长名称超长名称超长名称超...资费"));
    }

    [Test]
    public void Plan_expiry_names_the_plan_its_fee_and_its_end()
    {
        var reminder = ReminderJson.PlanExpiry(M, "basic-58", "2026-12-05T00:00:00+08:00", 58_000_000);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "zh"), Is.EqualTo($"【套餐到期提醒】您的套餐basic-58（月费58.00元）将于2026年12月5日00:00到期，如需续订或变更请在到期前办理。{HintZh}"));
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                $"Plan expiry reminder: your plan basic-58 (monthly fee 58.00 yuan) ends on 2026-12-05 00:00. To renew or change it, do so before then. {Hint}"));
        });
    }

    [Test]
    public void The_bill_notice_gives_the_total_usage_fees_top_up_and_the_cycle_from_its_first_to_its_last_day()
    {
        var bill = BillJson.Parse(BillJson.Make(M));
        Assert.Multiple(() =>
        {
            Assert.That(Renderer().Render(bill, "zh"), Is.EqualTo(
                $"【月度账单】您2026-11-01至2026-11-30的账单合计55.00元：通信费30.35元，月费及业务费5.00元，最低消费补足19.65元。{HintZh}"));
            Assert.That(Renderer().Render(bill, "en"), Is.EqualTo(
                $"Monthly bill for 2026-11-01 to 2026-11-30: total 55.00 yuan (usage 30.35 yuan, fees 5.00 yuan, minimum spend top-up 19.65 yuan). {Hint}"));
            Assert.That(bill.EventId, Is.EqualTo($"{M}:2026-11-01:bill"));
        });
    }

    [TestCase("""{"eventId":"x:2026-11-01:bill","msisdn":"x","cycle":"2026-11-01","cycleEnd":"2026-12-01","usageCharge":1,"feeCharge":0,"minimum":0,"topUp":0}""", "bill needs total as an integer")] // total missing
    [TestCase("""{"eventId":"x:2026-11-01:bill","msisdn":"x","cycle":"2026-11-01","cycleEnd":"2026-10-01","usageCharge":1,"feeCharge":0,"minimum":0,"topUp":0,"total":1}""", "is not after its cycle")] // ends before it starts
    [TestCase("""{"eventId":"x:2026-11-01:bill","msisdn":"x","cycle":"1.11.2026","cycleEnd":"2026-12-01","usageCharge":1,"feeCharge":0,"minimum":0,"topUp":0,"total":1}""", "bill cycle '1.11.2026' is not a date yyyy-MM-dd")] // not yyyy-MM-dd
    [TestCase("""[1,2]""", "bill must be a JSON object")] // not an object
    public void A_bill_the_sender_cannot_read_is_refused_with_the_reason(string json, string expected)
    {
        Assert.That(RatingPipeline.Sender.Reminders.Reminder.TryParseBill(Encoding.UTF8.GetBytes(json), out var error), Is.Null);
        Assert.That(error, Does.Contain(expected));
    }

    [TestCase("""{"eventId":"e","msisdn":"m","kind":"vas-precharge","serviceId":"news","name":{"zh":"手机报"},"price":1,"chargeAt":"2026-11-11T09:00:00+08:00"}""", "reminder needs name.en")] // a name in one language only
    [TestCase("""{"eventId":"e","msisdn":"m","kind":"vas-precharge","serviceId":"news","name":{"zh":"a","en":"a"},"price":1,"chargeAt":"tomorrow"}""", "chargeAt 'tomorrow' is not an instant")] // no instant
    [TestCase("""{"eventId":"e","msisdn":"m","kind":"plan-expiry","plan":"basic-58","endsAt":"2026-12-05T00:00:00","monthlyFee":null}""", "endsAt '2026-12-05T00:00:00' is not an instant")] // an instant needs its offset
    [TestCase("""{"eventId":"e","msisdn":"m","kind":"plan-change","from":"a","monthlyFee":1}""", "reminder needs to")] // no new plan
    public void An_account_notice_the_sender_cannot_read_is_refused_with_the_reason(string json, string expected)
    {
        Assert.That(RatingPipeline.Sender.Reminders.Reminder.TryParse(Encoding.UTF8.GetBytes(json), out var error), Is.Null);
        Assert.That(error, Does.Contain(expected));
    }

    [TestCase("zh", "【业务扣费提醒】{serviceName}每月{price}，{chargeAt}扣费。回复0000取消。", "'TD'")] // TD missing
    [TestCase("en", "{serviceName} costs {price} from {chargeAt}. Reply TD to cancel.", "'0000'")] // 0000 missing
    [TestCase("en", "{serviceName} costs {price}. Reply 0000 or TD to cancel.", "en.vas-precharge: must contain {chargeAt}")] // when is mandatory
    [TestCase("en", "Bill: {total}. {usageCheckHint}", "en.bill: must contain {period}")] // the cycle is mandatory
    public void An_account_notice_template_missing_what_the_rules_ask_is_refused(string language, string text, string expected)
    {
        var key = text.StartsWith("Bill", StringComparison.Ordinal) ? "bill" : "vas-precharge";
        var json = JsonNode.Parse(ShippedTemplates)!;
        json[language]![key] = text;
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
        Assert.That(error!.Message, Does.Contain(expected));
    }

    [Test]
    public void Every_notice_kind_fits_the_segment_limit_with_the_widest_figures()
    {
        var templates = NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions { MaxSmsSegments = 3 });
        foreach (var kind in RatingPipeline.Sender.Reminders.NoticeKinds.All)
        {
            foreach (var language in NoticeTemplates.Languages)
            {
                var widest = NoticeRenderer.RenderWorstCase(templates, new SenderOptions(), kind, language);
                Assert.That(SmsSegments.Measure(widest).Segments, Is.LessThanOrEqualTo(3), $"{language}.{kind}: {widest}");
            }
        }
    }

    // ------------------------------------------------------------------ rules

    [Test]
    public async Task Account_notices_and_bills_are_not_urgent_and_wait_for_the_end_of_quiet_hours()
    {
        await using var rig = await SenderRig.StartAsync(time: new FakeTimeProvider(Local(10, 23)));
        var profile = ProfileJson.Of(M);
        var outputs = (await rig.HandleAsync(profile,
                ReminderJson.PlanChange(M, "mini-18", "basic-58", 58_000_000),
                ReminderJson.PlanExpiry(M, "basic-58", "2026-12-05T00:00:00+08:00", 58_000_000),
                News("2026-11-12T09:00:00+08:00")))
            .Concat(await rig.HandleBillsAsync(profile, BillJson.Make(M)))
            .ToList();

        Assert.That(outputs.Select(o => (o.Record.Kind, o.Record.Outcome, o.Record.Urgent, o.Record.DueAt)), Is.EqualTo(new (string, string, bool, DateTimeOffset?)[]
        {
            ("plan-change", NoticeOutcomes.Deferred, false, Local(11, 8)),
            ("plan-expiry", NoticeOutcomes.Deferred, false, Local(11, 8)),
            ("vas-precharge", NoticeOutcomes.Deferred, false, Local(11, 8)),
            ("bill", NoticeOutcomes.Deferred, false, Local(11, 8)),
        }));
        Assert.That(rig.Gateway.Received, Is.Empty);
    }

    [Test]
    public async Task Their_urgency_is_configurable_like_every_kind()
    {
        await using var rig = await SenderRig.StartAsync(o => o.Urgent["bill"] = true, new FakeTimeProvider(Local(10, 23)));
        var output = (await rig.HandleBillsAsync(ProfileJson.Of(M), BillJson.Make(M))).Single().Record;
        Assert.That((output.Outcome, output.Urgent), Is.EqualTo((NoticeOutcomes.Sent, true)));
    }

    [Test]
    public async Task A_vas_precharge_deferred_by_quiet_hours_goes_out_when_they_end_before_its_charge()
    {
        var clock = new FakeTimeProvider(Local(10, 23));
        await using var rig = await SenderRig.StartAsync(time: clock);
        var profile = ProfileJson.Of(M);
        var deferred = (await rig.HandleAsync(profile, News("2026-11-11T09:00:00+08:00"))).Single().Record;
        Assert.That((deferred.Outcome, deferred.DueAt), Is.EqualTo((NoticeOutcomes.Deferred, (DateTimeOffset?)Local(11, 8))));

        clock.SetUtcNow(Local(11, 8));
        var sent = (await rig.ReleaseDueAsync(clock.GetUtcNow(), profile)).Single().Record;
        Assert.That(sent.Outcome, Is.EqualTo(NoticeOutcomes.Sent));
        Assert.That(sent.SentAt, Is.LessThan(Local(11, 9)), "before the charge");
    }

    [TestCase("2026-11-11T03:00:00+08:00")] // charged inside the quiet window
    [TestCase("2026-11-11T08:05:00+08:00")] // five minutes after the window: less than the 10-minute margin
    [TestCase("2026-11-10T22:30:00+08:00")] // already charged: the notice is late, so it is not held back any longer
    public async Task A_vas_precharge_that_quiet_hours_would_hold_past_its_charge_goes_at_once(string chargeAt)
    {
        await using var rig = await SenderRig.StartAsync(time: new FakeTimeProvider(Local(10, 23)));
        var output = (await rig.HandleAsync(ProfileJson.Of(M), News(chargeAt))).Single().Record;
        Assert.Multiple(() =>
        {
            Assert.That((output.Outcome, output.Urgent), Is.EqualTo((NoticeOutcomes.Sent, false)));
            Assert.That(output.Reason, Does.Contain($"charged at {chargeAt}"));
            Assert.That(rig.Gateway.Received.Single().Text, Does.Contain("0000").And.Contain("TD"));
        });
    }

    [Test]
    public async Task A_vas_precharge_beyond_the_daily_limit_goes_at_once_if_the_next_day_comes_after_its_charge()
    {
        var clock = new FakeTimeProvider(Local(10, 10));
        await using var rig = await SenderRig.StartAsync(o => o.DailyLimit = 1, clock);
        var profile = ProfileJson.Of(M);
        await rig.HandleAsync(profile, ReminderJson.Numbered(M, 1));

        var later = (await rig.HandleAsync(profile, ReminderJson.VasPrecharge(M, "weather", "天气预报", "Weather", 3_000_000,
            "2026-11-10T09:00:00+08:00", "2026-11-12T10:00:00+08:00"))).Single().Record;
        var soon = (await rig.HandleAsync(profile, News("2026-11-11T07:00:00+08:00"))).Single().Record;
        Assert.Multiple(() =>
        {
            Assert.That((later.Outcome, later.DueAt, later.Reason), Is.EqualTo((NoticeOutcomes.Deferred, (DateTimeOffset?)Local(11, 8), "daily limit")), "the next day is early enough");
            Assert.That(soon.Outcome, Is.EqualTo(NoticeOutcomes.Sent), "charged before the next day's window opens");
            Assert.That(soon.Reason, Does.StartWith("beyond the daily limit"));
        });
    }

    [Test]
    public async Task A_vas_precharge_that_cannot_wait_still_places_no_voice_call_in_quiet_hours()
    {
        await using var rig = await SenderRig.StartAsync(o => o.Voice.Url = new Uri(new Uri(o.Sms.Url), "voice").ToString(), new FakeTimeProvider(Local(10, 23)));
        var outputs = await rig.HandleAsync(ProfileJson.Of(M, channels: """["sms","voice"]"""), News("2026-11-11T03:00:00+08:00"));
        Assert.That(outputs.Select(o => (o.Record.Channel, o.Record.Outcome)), Is.EqualTo(new[] { ("sms", NoticeOutcomes.Sent), ("voice", NoticeOutcomes.Deferred) }));
        Assert.That(rig.Gateway.Received.Single().Path, Is.EqualTo("/sms"));
    }

    [Test]
    public async Task A_bill_notice_is_sent_once_in_the_day_and_counts_towards_the_daily_limit()
    {
        await using var rig = await SenderRig.StartAsync(o => o.DailyLimit = 1, new FakeTimeProvider(Local(10, 10)));
        var profile = ProfileJson.Of(M, language: "en");
        var first = (await rig.HandleBillsAsync(profile, BillJson.Make(M), BillJson.Make(M))).Single().Record;
        var next = (await rig.HandleAsync(profile, ReminderJson.Numbered(M, 1))).Single().Record;
        Assert.Multiple(() =>
        {
            Assert.That((first.Kind, first.Outcome, first.IdempotencyKey), Is.EqualTo(("bill", NoticeOutcomes.Sent, $"{M}:2026-11-01:bill:sms")), "the copy is skipped");
            Assert.That(rig.Gateway.Received.Single().Text, Does.StartWith("Monthly bill for 2026-11-01 to 2026-11-30: total 55.00 yuan"));
            Assert.That((next.Outcome, next.Reason), Is.EqualTo((NoticeOutcomes.Deferred, "daily limit")));
        });
    }
}
