using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Subscribers;
using RatingPipeline.Tests.Schemas;

namespace RatingPipeline.Tests.Sender;

/// <summary>The commands of a mobile-originated SMS, the answers' texts and limits, and their notice-log records.</summary>
[TestFixture]
[Category("sender")]
public sealed class MoSmsTests
{
    private const string M = "8613800001234";
    private static readonly string ShippedTemplates = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "templates.json"));

    private static MoRenderer Renderer(SenderOptions? options = null)
    {
        options ??= new SenderOptions();
        return new MoRenderer(NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), options), options);
    }

    [TestCase("0000", "list", new int[0])]
    [TestCase(" ０００００ ", "help", new int[0], Description = "five zeros is not the command")]
    [TestCase("００００", "list", new int[0])]
    [TestCase("TD 1", "cancel", new[] { 1 })]
    [TestCase("td1", "cancel", new[] { 1 })]
    [TestCase("TD 1 3,2", "cancel", new[] { 1, 3, 2 })]
    [TestCase("TD 2 2", "cancel", new[] { 2 })]
    [TestCase("退订 1、3", "cancel", new[] { 1, 3 })]
    [TestCase("ＴＤ　１", "cancel", new[] { 1 })]
    [TestCase("TD ALL", "cancel-all", new int[0])]
    [TestCase("td all", "cancel-all", new int[0])]
    [TestCase("退订全部", "cancel-all", new int[0])]
    [TestCase("TD", "help", new int[0], Description = "no number")]
    [TestCase("TD 0", "help", new int[0], Description = "numbers start at 1")]
    [TestCase("TD 1x", "help", new int[0], Description = "not a number")]
    [TestCase("TD 1000", "help", new int[0], Description = "more than three digits")]
    [TestCase("查询", "usage", new int[0])]
    [TestCase(" CXLL ", "usage", new int[0])]
    [TestCase("cxll", "usage", new int[0])]
    [TestCase("ＣＸＬＬ", "usage", new int[0])]
    [TestCase("查询 1", "help", new int[0], Description = "nothing may follow the keyword")]
    [TestCase("", "help", new int[0])]
    public void An_SMS_text_reads_as_its_command(string text, string command, int[] numbers)
    {
        var parsed = MoCommand.Parse(text);
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Name, Is.EqualTo(command));
            Assert.That(parsed.Numbers, Is.EqualTo(numbers));
        });
    }

    [Test]
    public void Sixteen_services_with_long_names_are_listed_in_several_SMS_each_within_the_segment_limit_and_none_left_out()
    {
        var options = new SenderOptions { MaxSmsSegments = 2 };
        var services = Enumerable.Range(1, SubscriberProfile.MaxServices)
            .Select(i => new ListedService(i, new string('长', 30) + i, "Very long service name " + i, 999_999_000_000, new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.FromHours(8))))
            .ToList();
        foreach (var language in new[] { "zh", "en" })
        {
            var pages = Renderer(options).List(services, language);
            Assert.That(pages, Has.Count.GreaterThan(1), language);
            Assert.That(pages.Select(p => SmsSegments.Measure(p).Segments), Has.All.LessThanOrEqualTo(2), language);
            Assert.That(Enumerable.Range(1, 16).All(i => pages.Count(p => p.Contains(language == "en" ? $"{i}. " : $"{i}.", StringComparison.Ordinal)) >= 1), Is.True, $"{language}: every number is listed");
            Assert.That(pages, Has.All.Contain("TD"), $"{language}: every page says how to cancel");
        }
    }

    [Test]
    public void The_shipped_MO_texts_fit_one_segment_less_than_the_default_but_not_a_single_one()
    {
        Assert.DoesNotThrow(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions { MaxSmsSegments = 2 }));
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions { MaxSmsSegments = 1 }));
        Assert.That(error!.Message, Does.Contain("zh.mo-list: with the widest figures (a list: one service)"));
    }

    [TestCase("mo-list", "您订购的包月业务：{services}", "must say how to cancel", Description = "no TD: the list must say how to cancel")]
    [TestCase("mo-list-item", "{number}.{serviceName}", "must contain {price}", Description = "the price is missing")]
    [TestCase("mo-help", "回复0000查询，详见 www.ads.example.com", "contains the link", Description = "advertising link")]
    public void An_MO_text_that_breaks_a_rule_is_refused_at_load(string key, string text, string message)
    {
        var json = JsonNode.Parse(ShippedTemplates)!;
        json["zh"]![key] = text;
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
        Assert.That(error!.Message, Does.Contain($"zh.{key}").And.Contain(message));
    }

    /// <summary>An answer of the rater's usage query API as docs/self-service.md shows it, with a prepaid balance.</summary>
    private const string RaterAnswer = """
        {"msisdn":"8613800001234","partition":3,"offsetTag":1784,"tariffVersion":"2026-11-01.1","currency":"CNY",
         "plan":"basic-58","planKnown":true,"cycle":"2026-11-01","cycleEnd":"2026-12-01",
         "usage":{"voice":{"unit":"seconds","used":300,"allowance":6000,"remaining":5700,"remindersFired":[]},
                  "sms":{"unit":"messages","used":1,"allowance":100,"remaining":99,"remindersFired":[]},
                  "data":{"unit":"bytes","used":142336,"allowance":10737418240,"remaining":10737275904,"remindersFired":[]}},
         "spend":1980000,"highSpendThreshold":200000000,
         "data":{"cappedCharges":0,"cap":100000000,"capRemaining":100000000},
         "prepaid":{"balance":50000000,"balanceAsOf":"2026-11-01T00:00:00+08:00","chargesSince":1980000,"remaining":48020000,"lowBalanceThreshold":null},
         "reminders":{"dataCap":false,"highSpend":false,"lowBalance":false},
         "fees":[],"services":[],"openPreviousCycle":null}
        """;

    [Test]
    public void The_usage_reply_shows_the_raters_figures_in_minutes_messages_MB_GB_and_yuan_with_the_prepaid_balance()
    {
        var summary = UsageSummary.TryParse(Encoding.UTF8.GetBytes(RaterAnswer));
        Assert.That(summary, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(Renderer().Usage(summary!, "zh"), Is.EqualTo(
                "【用量查询】2026-11-01至2026-11-30：通话已用5分钟剩95分钟，短信已用1条剩99条，流量已用0.14MB剩10GB，消费1.98元。余额48.02元。"));
            Assert.That(Renderer().Usage(summary!, "en"), Is.EqualTo(
                "Usage 2026-11-01 to 2026-11-30: voice 5 min used, 95 min left; SMS 1 message used, 99 messages left; data 0.14 MB used, 10 GB left; spend 1.98 yuan. Balance 48.02 yuan."));
            var postpaid = summary! with { PrepaidRemaining = null, Cycle = null, CycleEnd = null };
            Assert.That(Renderer().Usage(postpaid, "zh"), Does.StartWith("【用量查询】本计费周期：").And.EndWith("消费1.98元。"), "no balance for postpaid, no cycle yet");
            Assert.That(Renderer().Usage(postpaid, "en"), Does.EndWith("spend 1.98 yuan."));
        });
    }

    [TestCase("{}", Description = "no members")]
    [TestCase("""{"usage":{"voice":{"used":1,"remaining":2}},"spend":3}""", Description = "a type missing")]
    [TestCase("not json", Description = "not JSON")]
    [TestCase("""{"usage":{"voice":{"used":"1","remaining":2},"sms":{"used":1,"remaining":2},"data":{"used":1,"remaining":2}},"spend":3}""", Description = "a figure as a string")]
    public void An_answer_that_is_not_a_usage_summary_is_read_as_none(string body) =>
        Assert.That(UsageSummary.TryParse(Encoding.UTF8.GetBytes(body)), Is.Null);

    [Test]
    public void Without_a_summary_the_usage_reply_says_try_again_later_or_not_available_with_no_figures()
    {
        var options = new SenderOptions { SelfServiceUrl = "https://my.operator.example" };
        Assert.Multiple(() =>
        {
            Assert.That(Renderer(options).UsageUnavailable(later: true, "zh"), Is.EqualTo("【用量查询】暂时无法查询您的用量，请稍后再试。查询用量请访问https://my.operator.example"));
            Assert.That(Renderer(options).UsageUnavailable(later: false, "zh"), Is.EqualTo("【用量查询】短信查询用量暂不可用。查询用量请访问https://my.operator.example"));
            Assert.That(Renderer(options).UsageUnavailable(later: true, "en"), Does.Contain("try again later"));
            Assert.That(Renderer(options).UsageUnavailable(later: false, "en"), Does.StartWith("Usage by SMS is not available."));
        });
    }

    [Test]
    public void The_usage_reply_with_the_widest_figures_fits_two_segments_and_a_longer_text_is_refused_at_load()
    {
        var widest = MoRenderer.WorstCases(NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions()), new SenderOptions(), "zh")
            .Single(c => c.Key == MoReplyKinds.Usage).Text;
        Assert.That(widest, Does.Contain("9999999.99元").And.Contain("-9999999.99元").And.Contain("1023.99GB"), "the widest figures are in the worst case");
        Assert.That(SmsSegments.Measure(widest).Segments, Is.EqualTo(2));

        var json = JsonNode.Parse(ShippedTemplates)!;
        json["zh"]![MoReplyKinds.Usage] = "【用量查询】" + new string('长', 100) + "{period}{voiceUsed}{voiceRemaining}{smsUsed}{smsRemaining}{dataUsed}{dataRemaining}{spend}{balance}";
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
        Assert.That(error!.Message, Does.Contain("zh.mo-usage: with the widest figures"));

        json = JsonNode.Parse(ShippedTemplates)!;
        json["en"]![MoReplyKinds.Usage] = "Usage {period}: {voiceUsed} used, spend {spend}.{balance}";
        error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
        Assert.That(error!.Message, Does.Contain("en.mo-usage: must contain {voiceRemaining}"));
    }

    [TestCase("", "", true, Description = "not configured")]
    [TestCase("http://rater:9464", "0123456789abcdef", true)]
    [TestCase("http://rater:9464", "", false, Description = "the raters refuse a query without the token")]
    [TestCase("http://rater:9464", "short", false, Description = "shorter than the raters accept")]
    [TestCase("rater:9464", "0123456789abcdef", false, Description = "not an absolute http(s) address")]
    [TestCase("ftp://rater", "0123456789abcdef", false)]
    public void The_usage_API_options_are_checked_at_start(string url, string token, bool valid)
    {
        var errors = SenderOptionsValidator.Check(new SenderOptions { Sms = { Url = "http://127.0.0.1:1/sms" }, UsageApi = { Url = url, Token = token } });
        Assert.That(errors.Where(e => e.StartsWith("Sender:UsageApi", StringComparison.Ordinal)), valid ? Is.Empty : Is.Not.Empty, string.Join("; ", errors));
    }

    [Test]
    public void The_next_charge_is_the_first_charge_while_it_is_ahead_then_the_next_cycle_start_and_none_once_cancelled_before()
    {
        // Asked on 2026-11-20 10:00 +08:00, cycle day 5, lead 24 h.
        var at = new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.FromHours(8));
        var profile = ProfileJson.Parse("""
            {"msisdn":"8613800001234","plan":"p","cycleDay":5,"services":[
              {"id":"a","name":{"zh":"甲","en":"A"},"price":1000000,"orderedAt":"2026-11-20T09:00:00+08:00"},
              {"id":"b","name":{"zh":"乙","en":"B"},"price":2000000,"orderedAt":"2026-11-01T09:00:00+08:00"},
              {"id":"c","name":{"zh":"丙","en":"C"},"price":3000000,"orderedAt":"2026-11-01T09:00:00+08:00","cancelledAt":"2026-11-20T09:59:59+08:00"},
              {"id":"d","name":{"zh":"丁","en":"D"},"price":4000000,"orderedAt":"2026-11-01T09:00:00+08:00","cancelledAt":"2026-11-30T00:00:00+08:00"}]}
            """);
        var listed = MonthlyServices.Active(profile, at, TimeSpan.FromHours(8), 24);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Select(s => s.Number), Is.EqualTo(new[] { 1, 2, 4 }), "c is cancelled already; numbers are positions in the profile");
            Assert.That(listed[0].NextCharge, Is.EqualTo(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.FromHours(8))), "a: its first charge, 24 h after the order");
            Assert.That(listed[1].NextCharge, Is.EqualTo(new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.FromHours(8))), "b: the next cycle's start");
            Assert.That(listed[2].NextCharge, Is.Null, "d: cancelled before its next charge");
        });
    }

    [Test]
    public void A_cancel_sets_cancelledAt_only_and_never_before_orderedAt()
    {
        var json = """{"msisdn":"8613800001234","plan":"p","cycleDay":1,"x-bss":{"k":[1,2]},"services":[{"id":"a","name":{"zh":"甲","en":"A"},"price":1,"orderedAt":"2026-11-20T09:00:00.5+08:00","note":"n"},{"id":"b","name":{"zh":"乙","en":"B"},"price":2,"orderedAt":"2026-11-01T09:00:00Z"}]}""";
        var bytes = Encoding.UTF8.GetBytes(json);
        var profile = ProfileJson.Parse(json);
        var at = new DateTimeOffset(2026, 11, 20, 1, 0, 0, 200, TimeSpan.Zero); // 09:00:00.2 at +08:00: 09:00:00 once rounded down, before a's order at 09:00:00.5
        var cancelled = MonthlyServices.Cancel(bytes, profile, [1, 2], at, TimeSpan.FromHours(8), out var error);
        Assert.That(cancelled, Is.Not.Null, error);
        var node = JsonNode.Parse(cancelled!)!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)node["services"]![0]!["cancelledAt"], Is.EqualTo("2026-11-20T09:00:00.5+08:00"), "not before its orderedAt (ordered after the instant rounded down)");
            Assert.That((string?)node["services"]![1]!["cancelledAt"], Is.EqualTo("2026-11-20T09:00:00+08:00"), "the instant rounded down to the second");
            Assert.That(node["x-bss"]!.ToJsonString(), Is.EqualTo("""{"k":[1,2]}"""));
            Assert.That((string?)node["services"]![0]!["note"], Is.EqualTo("n"));
            Assert.That(SubscriberProfile.TryParse(cancelled, null, out _)!.Services.All(s => s.CancelledAt is not null), Is.True);
        });
    }

    [Test]
    public async Task The_records_of_an_inbound_SMS_and_its_replies_pass_the_notice_log_schema()
    {
        var mo = new MoReceived(M, "gw-1", "TD 1", "10086", new DateTimeOffset(2026, 11, 3, 9, 0, 0, TimeSpan.Zero));
        var records = new List<NoticeRecord>
        {
            mo.ToRecord(),
            new() { EventId = MoAnswerer.ReplyEventId(mo, 1), Msisdn = M, Kind = MoKinds.Reply, Channel = "sms", Outcome = NoticeOutcomes.Sent, IdempotencyKey = MoAnswerer.ReplyEventId(mo, 1) + ":sms", Urgent = true, Text = "t", Language = "zh", Attempts = 1, MoId = "gw-1", LoggedAt = mo.ReceivedAt, SentAt = mo.ReceivedAt },
            new() { EventId = mo.EventId, Msisdn = M, Kind = MoKinds.Mo, Channel = "none", Outcome = NoticeOutcomes.Answered, Text = "TD 1", MoId = "gw-1", Command = "cancel", Cancelled = ["news"], Replies = 1, LoggedAt = mo.ReceivedAt },
            new() { EventId = mo.EventId, Msisdn = M, Kind = MoKinds.Mo, Channel = "none", Outcome = NoticeOutcomes.Failed, Text = "TD 1", MoId = "gw-1", Command = "cancel", Replies = 0, Reason = "not answered: x", LoggedAt = mo.ReceivedAt },
        };
        foreach (var record in records)
        {
            var check = await RecordSchemas.CheckAsync(RecordSchemas.NoticeRecord, record.ToUtf8Json());
            Assert.That(check.Verdict, Is.EqualTo(Verdict.Pass), $"{check} for {Encoding.UTF8.GetString(record.ToUtf8Json())}");
        }

        var withoutId = mo.ToRecord() with { MoId = null };
        Assert.That((await RecordSchemas.CheckAsync(RecordSchemas.NoticeRecord, withoutId.ToUtf8Json())).Verdict, Is.EqualTo(Verdict.SchemaFail), "a received SMS without its id");
        Assert.That(MoReceived.Of(NoticeRecord.TryParse(mo.ToRecord().ToUtf8Json())!), Is.EqualTo(mo), "read back as written");
    }
}
