using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Sender.Reminders;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Sender.Rules;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Tests.Sender;

/// <summary>Reminder records as the rater writes them (SPEC §5), for tests.</summary>
internal static class ReminderJson
{
    public static string Allowance(string msisdn, string type, long threshold, long used, long allowance, long overagePrice, long overageUnit, string cdrId = "c1") =>
        $$"""{"eventId":"{{msisdn}}:2026-11-01:allowance:{{type}}:{{threshold}}","msisdn":"{{msisdn}}","kind":"allowance","cycle":"2026-11-01","cdrId":"{{cdrId}}","at":"2026-11-03T09:15:00+08:00","type":"{{type}}","threshold":{{threshold}},"used":{{used}},"allowance":{{allowance}},"overagePrice":{{overagePrice}},"overageUnit":{{overageUnit}}}""";

    public static string DataCap(string msisdn, long cap, long charged) =>
        $$"""{"eventId":"{{msisdn}}:2026-11-01:data-cap:{{cap}}","msisdn":"{{msisdn}}","kind":"data-cap","cycle":"2026-11-01","cdrId":"c2","at":"2026-11-03T09:15:00+08:00","cap":{{cap}},"charged":{{charged}}}""";

    public static string HighSpend(string msisdn, long threshold, long spend) =>
        $$"""{"eventId":"{{msisdn}}:2026-11-01:high-spend:{{threshold}}","msisdn":"{{msisdn}}","kind":"high-spend","cycle":"2026-11-01","cdrId":"c3","at":"2026-11-03T09:15:00+08:00","threshold":{{threshold}},"spend":{{spend}}}""";

    public static string LowBalance(string msisdn, long threshold, long remaining) =>
        $$"""{"eventId":"{{msisdn}}:2026-11-01:low-balance:2026-11-01T00:00:00+08:00","msisdn":"{{msisdn}}","kind":"low-balance","cycle":"2026-11-01","cdrId":"c4","at":"2026-11-03T09:15:00+08:00","threshold":{{threshold}},"remaining":{{remaining}}}""";

    public static string Roaming(string msisdn, string mcc, string zone, string voiceMo, string voiceMt, string smsMo, string data, string cdrId = "c5") =>
        $$$"""{"eventId":"{{{msisdn}}}:2026-11-01:roaming:{{{mcc}}}:{{{cdrId}}}","msisdn":"{{{msisdn}}}","kind":"roaming","cycle":"2026-11-01","cdrId":"{{{cdrId}}}","at":"2026-11-03T09:15:00+08:00","mcc":"{{{mcc}}}","zone":"{{{zone}}}","rates":{"voiceMo":{{{voiceMo}}},"voiceMt":{{{voiceMt}}},"smsMo":{{{smsMo}}},"data":{{{data}}}}}""";

    public static string PlanChange(string msisdn, string from, string to, long? monthlyFee, string trigger = "c9") =>
        $$"""{"eventId":"{{msisdn}}:2026-11-15:plan-change:{{from}}:{{to}}:{{trigger}}","msisdn":"{{msisdn}}","kind":"plan-change","cycle":"2026-11-15","cdrId":"{{trigger}}","at":"2026-11-21T08:00:00+08:00","from":"{{from}}","to":"{{to}}","monthlyFee":{{Number(monthlyFee)}}}""";

    public static string VasPrecharge(string msisdn, string serviceId, string nameZh, string nameEn, long price, string orderedAt, string chargeAt) =>
        $$"""{"eventId":"{{msisdn}}:2026-11-01:vas-precharge:{{serviceId}}:{{orderedAt}}","msisdn":"{{msisdn}}","kind":"vas-precharge","cycle":"2026-11-01","cdrId":null,"at":"{{orderedAt}}","serviceId":"{{serviceId}}","name":{"zh":"{{nameZh}}","en":"{{nameEn}}"},"price":{{price}},"chargeAt":"{{chargeAt}}"}""";

    public static string PlanExpiry(string msisdn, string plan, string endsAt, long? monthlyFee) =>
        $$"""{"eventId":"{{msisdn}}:2026-11-01:plan-expiry:{{endsAt}}","msisdn":"{{msisdn}}","kind":"plan-expiry","cycle":"2026-11-01","cdrId":null,"at":"2026-11-28T00:00:00+08:00","plan":"{{plan}}","endsAt":"{{endsAt}}","monthlyFee":{{Number(monthlyFee)}}}""";

    private static string Number(long? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null";

    /// <summary>A distinct non-urgent reminder (allowance at 80 %) per <paramref name="n"/>.</summary>
    public static string Numbered(string msisdn, int n) =>
        Allowance(msisdn, "voice", 80, 4800, 6000, 150000, 60, cdrId: $"c{n}").Replace(":allowance:voice:80", $":allowance:voice:80:n{n}", StringComparison.Ordinal);

    public static Reminder Parse(string json) =>
        Reminder.TryParse(Encoding.UTF8.GetBytes(json), out var error) ?? throw new InvalidOperationException(error);
}

/// <summary>Bill records of <c>bills</c> (SPEC §7.8) for tests.</summary>
internal static class BillJson
{
    /// <summary>A bill with the shape of the worked example's (cycle-close, subscriber 8613800000011).</summary>
    public static string Make(string msisdn, string cycle = "2026-11-01", string cycleEnd = "2026-12-01", long usageCharge = 30_350_000, long feeCharge = 5_000_000,
        long minimum = 50_000_000, long topUp = 19_650_000, long total = 55_000_000) =>
        $$$"""{"eventId":"{{{msisdn}}}:{{{cycle}}}:bill","msisdn":"{{{msisdn}}}","cycle":"{{{cycle}}}","cycleEnd":"{{{cycleEnd}}}","plan":"basic-58","tariffVersion":"2026-11-01.7","usage":{"voice":{"count":3,"billableUnits":1380,"allowanceUnits":600,"charge":{{{usageCharge}}}},"sms":{"count":0,"billableUnits":0,"allowanceUnits":0,"charge":0},"data":{"count":0,"billableUnits":0,"allowanceUnits":0,"charge":0}},"usageCharge":{{{usageCharge}}},"fees":[{"id":"{{{msisdn}}}:{{{cycle}}}:fee:service:news","fee":"service","serviceId":"news","charge":{{{feeCharge}}}}],"feeCharge":{{{feeCharge}}},"minimum":{{{minimum}}},"topUp":{{{topUp}}},"total":{{{total}}}}""";

    public static Reminder Parse(string json) =>
        Reminder.TryParseBill(Encoding.UTF8.GetBytes(json), out var error) ?? throw new InvalidOperationException(error);
}

/// <summary>Subscriber profiles (SPEC §2.2) for tests.</summary>
internal static class ProfileJson
{
    public static string Make(string msisdn, string language = "zh", bool reminders = true, string channels = "[\"sms\"]", string? email = null) =>
        $$"""{"msisdn":"{{msisdn}}","plan":"basic-58","cycleDay":1,"language":"{{language}}","reminders":"{{(reminders ? "on" : "off")}}","channels":{{channels}}{{(email is null ? "" : $",\"email\":\"{email}\"")}}}""";

    public static SubscriberProfile Parse(string json) =>
        SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), null, out var error) ?? throw new InvalidOperationException(error);

    public static SubscriberProfile Of(string msisdn, string language = "zh", bool reminders = true, string channels = "[\"sms\"]", string? email = null) =>
        Parse(Make(msisdn, language, reminders, channels, email));
}

/// <summary>
/// The sender without Kafka: a processor wired to a real loopback gateway (and optionally SMTP), one book, and
/// the outcomes it recorded, applied as the worker applies them once acknowledged.
/// </summary>
internal sealed class SenderRig : IAsyncDisposable
{
    private SenderRig(LoopbackGateway gateway, SenderOptions options, NoticeProcessor processor, NoticeDelivery delivery, NoticeRules rules)
    {
        Gateway = gateway;
        Options = options;
        Processor = processor;
        Delivery = delivery;
        Rules = rules;
    }

    public LoopbackGateway Gateway { get; }

    public SenderOptions Options { get; }

    public NoticeProcessor Processor { get; }

    public NoticeDelivery Delivery { get; }

    public NoticeRules Rules { get; }

    public NoticeBook Book { get; } = new();

    public List<NoticeOutput> Recorded { get; } = [];

    /// <summary>Options with fast retries for tests; SMS pointed at the gateway.</summary>
    public static SenderOptions TestOptions(Uri gateway)
    {
        var options = new SenderOptions();
        options.Sms.Url = new Uri(gateway, "sms").ToString();
        options.Sms.RetryDelay = TimeSpan.FromMilliseconds(10);
        options.Sms.MaxRetryDelay = TimeSpan.FromMilliseconds(100);
        options.Sms.Timeout = TimeSpan.FromSeconds(5);
        options.Sms.RatePerSecond = 1000;
        return options;
    }

    public static async Task<SenderRig> StartAsync(Action<SenderOptions>? configure = null, TimeProvider? time = null)
    {
        var gateway = await LoopbackGateway.StartAsync();
        var options = TestOptions(gateway.Url);
        if (time is null)
        {
            // On the system clock an outcome must not depend on the hour the tests run at: no quiet hours
            // (a test of quiet hours sets its own clock, or its own window).
            options.QuietHours.Start = "00:00";
            options.QuietHours.End = "00:00";
        }

        configure?.Invoke(options);
        time ??= TimeProvider.System;
        var templates = NoticeTemplates.Load(Path.Combine(AppContext.BaseDirectory, "templates.json"), options);
        var quiet = QuietHours.TryCreate(options.QuietHours.Start, options.QuietHours.End, options.UtcOffset, out var error)
            ?? throw new InvalidOperationException(error);
        var rules = new NoticeRules(options, quiet);
        var delivery = SenderHost.CreateDelivery(options, time);
        var processor = new NoticeProcessor(new NoticeRenderer(templates, options), rules, delivery, options, time, NullLogger<NoticeProcessor>.Instance);
        return new SenderRig(gateway, options, processor, delivery, rules);
    }

    /// <summary>Handles reminders as they arrive from <c>reminders</c>.</summary>
    public Task<IReadOnlyList<NoticeOutput>> HandleAsync(SubscriberProfile? profile, params string[] reminders) =>
        RunAsync(reminders.Select(r => new NoticeInput(ReminderJson.Parse(r), profile, Book)).ToList());

    /// <summary>Handles bills as they arrive from <c>bills</c>.</summary>
    public Task<IReadOnlyList<NoticeOutput>> HandleBillsAsync(SubscriberProfile? profile, params string[] bills) =>
        RunAsync(bills.Select(b => new NoticeInput(BillJson.Parse(b), profile, Book)).ToList());

    /// <summary>Handles the deferred notices due now, as the worker does each loop.</summary>
    public Task<IReadOnlyList<NoticeOutput>> ReleaseDueAsync(DateTimeOffset now, SubscriberProfile? profile) =>
        RunAsync(Book.TakeDue(now).Select(d => new NoticeInput(d.Reminder, profile, Book, d.Channel)).ToList());

    public async ValueTask DisposeAsync()
    {
        Delivery.Dispose();
        await Gateway.DisposeAsync();
    }

    private async Task<IReadOnlyList<NoticeOutput>> RunAsync(List<NoticeInput> inputs)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var outputs = await Processor.ProcessAsync(inputs, timeout.Token);
        foreach (var output in outputs)
        {
            Processor.Apply(output);
            Recorded.Add(output);
        }

        return outputs;
    }
}
