using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Rendering;

namespace RatingPipeline.Tests.Sender;

[TestFixture]
[Category("sender")]
public sealed class RenderingTests
{
    private const string M = "8613800001234";
    private const string Url = "https://my.operator.example";

    private static readonly string ShippedTemplates = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "templates.json"));

    private static NoticeRenderer Renderer(SenderOptions? options = null)
    {
        options ??= new SenderOptions();
        return new NoticeRenderer(NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), options), options);
    }

    private static string Render(string reminderJson, string language) => Renderer().Render(ReminderJson.Parse(reminderJson), language);

    [Test]
    public void Voice_allowance_at_80_percent_in_english_reads_minutes_and_the_price_per_minute() =>
        Assert.That(Render(ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60), "en"), Is.EqualTo(
            $"Usage reminder: you have used 80% of your voice allowance (80 min of 100 min). Beyond the plan: 0.15 yuan/min. Check your usage at {Url}"));

    [Test]
    public void Voice_allowance_at_80_percent_in_chinese_reads_minutes_and_the_price_per_minute() =>
        Assert.That(Render(ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60), "zh"), Is.EqualTo(
            $"【用量提醒】您的套餐通话已使用80%（已用80分钟，共100分钟）。超出套餐部分按0.15元/分钟收费。查询用量请访问{Url}"));

    [Test]
    public void Sms_allowance_at_100_percent_reads_messages_and_the_price_per_message()
    {
        var reminder = ReminderJson.Allowance(M, "sms", 100, 100, 100, 100000, 1);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                $"Usage reminder: you have used 100% of your SMS allowance (100 messages of 100 messages). Beyond the plan: 0.10 yuan/message. Check your usage at {Url}"));
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                $"【用量提醒】您的套餐短信已使用100%（已用100条，共100条）。超出套餐部分按0.10元/条收费。查询用量请访问{Url}"));
        });
    }

    [Test]
    public void Data_allowance_reads_gigabytes_and_the_price_per_megabyte()
    {
        // 8 GiB of 10 GiB; 0.29 yuan per 1,048,576 bytes.
        var reminder = ReminderJson.Allowance(M, "data", 80, 8_589_934_592, 10_737_418_240, 290000, 1_048_576);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                $"Usage reminder: you have used 80% of your data allowance (8 GB of 10 GB). Beyond the plan: 0.29 yuan/MB. Check your usage at {Url}"));
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                $"【用量提醒】您的套餐流量已使用80%（已用8GB，共10GB）。超出套餐部分按0.29元/MB收费。查询用量请访问{Url}"));
        });
    }

    [Test]
    public void Data_cap_reads_yuan_with_two_decimals()
    {
        var reminder = ReminderJson.DataCap(M, 100_000_000, 100_000_000);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                $"Data cap reminder: your data charges this cycle reached your chosen cap of 100.00 yuan (100.00 yuan charged). No further data is charged this cycle. Check your usage at {Url}"));
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                $"【流量封顶提醒】您本计费周期的流量费用已达到您选择的封顶额100.00元（已计100.00元），本周期超出部分不再收取流量费。查询用量请访问{Url}"));
        });
    }

    [Test]
    public void High_spend_reads_spend_and_threshold_in_yuan()
    {
        var reminder = ReminderJson.HighSpend(M, 200_000_000, 200_150_000);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                $"Spending reminder: your spending this cycle is 200.15 yuan, above 200.00 yuan. Check your usage at {Url}"));
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                $"【消费提醒】您本计费周期的消费已达200.15元，超过200.00元。查询用量请访问{Url}"));
        });
    }

    [Test]
    public void Low_balance_rounds_micros_half_up_to_cents()
    {
        // 9,855,000 micros = 9.855 yuan → 9.86.
        var reminder = ReminderJson.LowBalance(M, 10_000_000, 9_855_000);
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                $"Balance reminder: your prepaid balance is 9.86 yuan, below 10.00 yuan. Please top up. Check your usage at {Url}"));
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                $"【余额提醒】您的账户余额为9.86元，低于10.00元，请及时充值。查询用量请访问{Url}"));
        });
    }

    [Test]
    public void Roaming_names_the_country_and_lists_the_zone_rates_saying_not_available_for_a_null_rate()
    {
        // 2,990,000 per 60 s = 2.99/min; 5,000 per 1,024 bytes = 5,120,000 per MB = 5.12/MB.
        var reminder = ReminderJson.Roaming(M, "454", "HMT", """{"price":2990000,"unit":60}""", "null", """{"price":1000000,"unit":1}""", """{"price":5000,"unit":1024}""");
        Assert.Multiple(() =>
        {
            Assert.That(Render(reminder, "en"), Is.EqualTo(
                "Roaming reminder: you are now in Hong Kong, China (MCC 454, zone HMT). Rates there: calls made 2.99 yuan/min, calls received not available, SMS sent 1.00 yuan/message, data 5.12 yuan/MB."));
            Assert.That(Render(reminder, "zh"), Is.EqualTo(
                "【漫游提醒】您已抵达中国香港（MCC 454，漫游区域HMT）。当地资费：拨打电话2.99元/分钟，接听电话暂不提供，发送短信1.00元/条，上网流量5.12元/MB。"));
        });
    }

    [Test]
    public void Unknown_or_absent_language_renders_chinese() =>
        Assert.That(Render(ReminderJson.HighSpend(M, 200_000_000, 200_150_000), "fr"), Does.StartWith("【消费提醒】"));

    [Test]
    public void The_usage_check_hint_is_configurable_per_language()
    {
        var options = new SenderOptions { UsageCheckHint = { ["en"] = "Text USAGE to 10000 for free." } };
        var text = Renderer(options).Render(ReminderJson.Parse(ReminderJson.Allowance(M, "voice", 80, 4800, 6000, 150000, 60)), "en");
        Assert.That(text, Does.EndWith("Beyond the plan: 0.15 yuan/min. Text USAGE to 10000 for free."));
    }

    [Test]
    public void The_shipped_templates_fit_three_sms_segments_even_with_the_widest_figures()
    {
        Assert.DoesNotThrow(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions { MaxSmsSegments = 3 }));
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), new SenderOptions { MaxSmsSegments = 1 }));
        Assert.That(error!.Message, Does.Contain("zh.roaming: with the widest figures the text needs 2 SMS segments").And.Contain("UCS-2"));
    }

    [TestCase("en", "high-spend", "Spent {spend} of {threshold}, balance {balance}.", "en.high-spend: unknown placeholder {balance}")] // not a placeholder of high-spend
    [TestCase("zh", "data-cap", "封顶{cap}，{spend}", "zh.data-cap: unknown placeholder {spend}")] // spend belongs to high-spend
    [TestCase("en", "subject", "Usage {kind}", "en.subject: unknown placeholder {kind} (none is allowed here)")] // subjects take no figures
    [TestCase("en", "high-spend", "Spent {spend. Deals at https://promo.example.com/x", "'{' without '}'")] // stray brace
    [TestCase("en", "high-spend", "Spent {spend}. Deals at https://promo.example.com/x", "contains the link 'https://promo.example.com/x'")] // link other than the self-service one
    [TestCase("en", "high-spend", "Spent {spend}. See www.deals.cn", "contains the link 'www.deals.cn'")] // www link without a scheme
    [TestCase("zh", "high-spend", "消费{spend}，优惠详见deals.com", "contains the link 'deals.com'")] // bare domain inside Chinese text
    [TestCase("en", "allowance", "Used {threshold}% of {service}. {usageCheckHint}", "en.allowance: must contain {overagePrice}")] // the price beyond the plan is mandatory
    [TestCase("en", "roaming", "Welcome to {zone}: calls {voiceMo}, SMS {smsMo}, data {data}.", "en.roaming: must contain {voiceMt}")] // every zone rate is mandatory
    [TestCase("en", "promo", "Buy now", "en.promo: unknown kind")] // no kind of that name
    public void A_template_breaking_a_rule_is_refused_with_a_clear_message(string language, string key, string text, string expected)
    {
        var json = JsonNode.Parse(ShippedTemplates)!;
        json[language]![key] = text;
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
        Assert.That(error!.Message, Does.Contain(expected));
    }

    [Test]
    public void A_template_that_could_exceed_the_segment_limit_is_refused()
    {
        var json = JsonNode.Parse(ShippedTemplates)!;
        json["en"]!["high-spend"] = "Spending reminder: " + string.Concat(Enumerable.Repeat("your spending this cycle is {spend}. ", 12));
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions { MaxSmsSegments = 3 }));
        Assert.That(error!.Message, Does.Contain("en.high-spend: with the widest figures the text needs").And.Contain("GSM-7").And.Contain("Sender:MaxSmsSegments = 3"));
    }

    [Test]
    public void The_self_service_address_is_the_one_link_allowed_written_literally_or_as_placeholder()
    {
        var json = JsonNode.Parse(ShippedTemplates)!;
        json["en"]!["high-spend"] = $"Spent {{spend}} (limit {{threshold}}). Details: {Url} or {{selfServiceUrl}}";
        Assert.DoesNotThrow(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
    }

    [Test]
    public void A_usage_check_hint_with_another_link_is_refused()
    {
        var options = new SenderOptions { UsageCheckHint = { ["zh"] = "详情见 http://ads.example.cn/offer" } };
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(ShippedTemplates), options));
        Assert.That(error!.Message, Does.Contain("Sender:UsageCheckHint:zh: contains the link 'http://ads.example.cn/offer'"));
    }

    [Test]
    public void A_missing_template_is_refused_by_name()
    {
        var json = JsonNode.Parse(ShippedTemplates)!;
        json["zh"]!.AsObject().Remove("roaming");
        var error = Assert.Throws<TemplateException>(() => NoticeTemplates.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()), new SenderOptions()));
        Assert.That(error!.Message, Does.Contain("zh.roaming: missing"));
    }
}
