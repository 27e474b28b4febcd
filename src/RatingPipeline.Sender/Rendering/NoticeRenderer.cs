using System.Globalization;
using System.Text;
using RatingPipeline.Sender.Reminders;
using RatingPipeline.Sender.Rules;

namespace RatingPipeline.Sender.Rendering;

/// <summary>Turns a reminder (or bill) into the notice text of its kind in the subscriber's language. Nothing else is added.</summary>
public sealed class NoticeRenderer(NoticeTemplates templates, SenderOptions options)
{
    /// <summary>Plan ids are shown up to this many characters (a longer one is cut with <c>...</c>).</summary>
    public const int PlanChars = 24;

    /// <summary>Service names are shown up to this many characters (a longer one is cut with <c>...</c>).</summary>
    public const int ServiceNameChars = 20;

    private readonly TimeSpan _utcOffset = QuietHours.TryParseOffset(options.UtcOffset, out var offset) ? offset : TimeSpan.Zero;

    public string Render(Reminder reminder, string? language)
    {
        ArgumentNullException.ThrowIfNull(reminder);
        var lang = NoticeTemplates.Normalise(language);
        return Fill(templates.Text(lang, reminder.Kind), name => Value(reminder, name, lang, options, _utcOffset));
    }

    public string Subject(string? language) => templates.Subject(NoticeTemplates.Normalise(language));

    /// <summary>The value of one placeholder for <paramref name="r"/>.</summary>
    private static string Value(Reminder r, string name, string lang, SenderOptions options, TimeSpan utcOffset) => (r.Kind, name) switch
    {
        (_, "selfServiceUrl") => options.SelfServiceUrl,
        (_, "usageCheckHint") => Fill(options.HintFor(lang), n => n == "selfServiceUrl" ? options.SelfServiceUrl : ""),
        (ReminderKinds.Allowance, "service") => Figures.Service(r.Type, lang),
        (ReminderKinds.Allowance, "threshold") => r.Threshold.ToString(CultureInfo.InvariantCulture),
        (ReminderKinds.Allowance, "used") => Figures.Volume(r.Type, r.Used, lang),
        (ReminderKinds.Allowance, "allowance") => Figures.Volume(r.Type, r.Allowance, lang),
        (ReminderKinds.Allowance, "remaining") => Figures.Volume(r.Type, Math.Max(0, r.Allowance - r.Used), lang),
        (ReminderKinds.Allowance, "overagePrice") => Figures.Price(r.Type, r.OveragePrice, r.OverageUnit, lang),
        (ReminderKinds.DataCap, "cap") => Figures.Money(r.Cap, lang),
        (ReminderKinds.DataCap, "charged") => Figures.Money(r.Charged, lang),
        (ReminderKinds.HighSpend, "threshold") => Figures.Money(r.Threshold, lang),
        (ReminderKinds.HighSpend, "spend") => Figures.Money(r.Spend, lang),
        (ReminderKinds.LowBalance, "threshold") => Figures.Money(r.Threshold, lang),
        (ReminderKinds.LowBalance, "remaining") => Figures.Money(r.Remaining, lang),
        (ReminderKinds.Roaming, "mcc") => r.Mcc,
        (ReminderKinds.Roaming, "zone") => r.Zone,
        (ReminderKinds.Roaming, "voiceMo") => RoamingPrice("voice", r.VoiceMo, lang),
        (ReminderKinds.Roaming, "voiceMt") => RoamingPrice("voice", r.VoiceMt, lang),
        (ReminderKinds.Roaming, "smsMo") => RoamingPrice("sms", r.SmsMo, lang),
        (ReminderKinds.Roaming, "data") => RoamingPrice("data", r.Data, lang),
        (ReminderKinds.Roaming, "country") => Countries.Name(r.Mcc, lang),
        (ReminderKinds.PlanChange, "from") => Figures.Clip(r.From, PlanChars),
        (ReminderKinds.PlanChange, "to") => Figures.Clip(r.To, PlanChars),
        (ReminderKinds.PlanChange or ReminderKinds.PlanExpiry, "monthlyFee") => Figures.MoneyOrNone(r.MonthlyFee, lang),
        (ReminderKinds.VasPrecharge, "serviceName") => Figures.Clip(r.ServiceName(lang), ServiceNameChars),
        (ReminderKinds.VasPrecharge, "serviceId") => r.ServiceId,
        (ReminderKinds.VasPrecharge, "price") => Figures.Money(r.Price, lang),
        (ReminderKinds.VasPrecharge, "chargeAt") => Figures.LocalTime(r.ChargeAtInstant!.Value, utcOffset, lang),
        (ReminderKinds.PlanExpiry, "plan") => Figures.Clip(r.Plan, PlanChars),
        (ReminderKinds.PlanExpiry, "endsAt") => Figures.LocalTime(r.EndsAtInstant!.Value, utcOffset, lang),
        (NoticeKinds.Bill, "period") => Figures.Period(r.Cycle, r.CycleEnd, lang),
        (NoticeKinds.Bill, "plan") => Figures.Clip(r.Plan, PlanChars),
        (NoticeKinds.Bill, "total") => Figures.Money(r.Total, lang),
        (NoticeKinds.Bill, "usageCharge") => Figures.Money(r.UsageCharge, lang),
        (NoticeKinds.Bill, "feeCharge") => Figures.Money(r.FeeCharge, lang),
        (NoticeKinds.Bill, "minimum") => Figures.Money(r.Minimum, lang),
        (NoticeKinds.Bill, "topUp") => Figures.Money(r.TopUp, lang),
        // Templates are checked at load: no other placeholder reaches here.
        _ => throw new InvalidOperationException($"placeholder {{{name}}} is not defined for {r.Kind}"),
    };

    private static string RoamingPrice(string type, RoamingRate? rate, string lang) =>
        rate is { } r ? Figures.Price(type, r.Price, r.Unit, lang) : Figures.NotAvailable(lang);

    /// <summary>
    /// The text with the widest figures the sender expects (documented in docs/sender.md): amounts up to
    /// ±9,999,999.99 yuan, prices up to 99,999.99 yuan per minute, message or MB, up to 99,999.99 minutes,
    /// 99,999 messages or 1,023.99 GB, thresholds of three digits, zone ids of 16 characters, the longest
    /// country name of the MCC table, plan ids and service names at their shown maximum, service ids of 32.
    /// </summary>
    internal static string RenderWorstCase(NoticeTemplates templates, SenderOptions options, string kind, string language)
    {
        const long WidestMoney = -9_999_999_990_000;
        const long WidestPricePerDisplayUnit = 99_999_990_000;
        string[] types = ["voice", "sms", "data"];
        string Widest(IEnumerable<string> candidates) => candidates.MaxBy(c => SmsSegments.Measure(c).Units)!;
        string WidestVolume() => Widest([Figures.Volume("voice", 5_999_999, language), Figures.Volume("sms", 99_999, language), Figures.Volume("data", 1_099_500_000_000, language)]);
        string WidestPrice(string[] ofTypes) => Widest(ofTypes.Select(t => Figures.Price(t, WidestPricePerDisplayUnit * (t == "data" ? Figures.BytesPerMb : t == "voice" ? 60 : 1), t == "data" ? Figures.BytesPerMb : t == "voice" ? 60 : 1, language))
            .Append(Figures.NotAvailable(language)));
        var money = Figures.Money(WidestMoney, language);
        // A name in the script of the language: Chinese characters in zh, GSM-7 letters in en.
        string WidestName(int chars) => new(language == "en" ? 'W' : '名', chars);
        return Fill(templates.Text(language, kind), name => (kind, name) switch
        {
            (_, "selfServiceUrl") => options.SelfServiceUrl,
            (_, "usageCheckHint") => Fill(options.HintFor(language), n => n == "selfServiceUrl" ? options.SelfServiceUrl : ""),
            (ReminderKinds.Allowance, "service") => Widest(types.Select(t => Figures.Service(t, language))),
            (ReminderKinds.Allowance, "threshold") => "100",
            (ReminderKinds.Allowance, "used" or "allowance" or "remaining") => WidestVolume(),
            (ReminderKinds.Allowance, "overagePrice") => WidestPrice(types),
            (ReminderKinds.Roaming, "mcc") => "000",
            (ReminderKinds.Roaming, "zone") => new string('Z', 16),
            (ReminderKinds.Roaming, "voiceMo" or "voiceMt") => WidestPrice(["voice"]),
            (ReminderKinds.Roaming, "smsMo") => WidestPrice(["sms"]),
            (ReminderKinds.Roaming, "data") => WidestPrice(["data"]),
            (ReminderKinds.Roaming, "country") => Widest(Countries.AllNames(language)),
            (ReminderKinds.PlanChange, "from" or "to") => WidestName(PlanChars),
            (ReminderKinds.PlanExpiry or NoticeKinds.Bill, "plan") => WidestName(PlanChars),
            (ReminderKinds.VasPrecharge, "serviceName") => WidestName(ServiceNameChars),
            (ReminderKinds.VasPrecharge, "serviceId") => new string('S', 32),
            (ReminderKinds.VasPrecharge or ReminderKinds.PlanExpiry, "chargeAt" or "endsAt") =>
                Figures.LocalTime(new DateTimeOffset(2026, 12, 31, 23, 59, 0, TimeSpan.Zero), TimeSpan.Zero, language),
            (NoticeKinds.Bill, "period") => Figures.Period("2026-12-28", "2027-01-28", language),
            _ => money,
        });
    }

    internal static string Fill(string template, Func<string, string> value)
    {
        var text = new StringBuilder(template.Length + 64);
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            var close = open < 0 ? -1 : template.IndexOf('}', open + 1);
            if (open < 0 || close < 0)
            {
                text.Append(template, i, template.Length - i);
                break;
            }

            text.Append(template, i, open - i).Append(value(template[(open + 1)..close]));
            i = close + 1;
        }

        return text.ToString();
    }
}
