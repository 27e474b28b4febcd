using System.Globalization;
using System.Text;
using RatingPipeline.Sender.Reminders;

namespace RatingPipeline.Sender.Rendering;

/// <summary>Turns a reminder into the notice text of its kind in the subscriber's language. Nothing else is added.</summary>
public sealed class NoticeRenderer(NoticeTemplates templates, SenderOptions options)
{
    public string Render(Reminder reminder, string? language)
    {
        ArgumentNullException.ThrowIfNull(reminder);
        var lang = NoticeTemplates.Normalise(language);
        return Fill(templates.Text(lang, reminder.Kind), name => Value(reminder, name, lang, options));
    }

    public string Subject(string? language) => templates.Subject(NoticeTemplates.Normalise(language));

    /// <summary>The value of one placeholder for <paramref name="r"/>.</summary>
    private static string Value(Reminder r, string name, string lang, SenderOptions options) => (r.Kind, name) switch
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
        // Templates are checked at load: no other placeholder reaches here.
        _ => throw new InvalidOperationException($"placeholder {{{name}}} is not defined for {r.Kind}"),
    };

    private static string RoamingPrice(string type, RoamingRate? rate, string lang) =>
        rate is { } r ? Figures.Price(type, r.Price, r.Unit, lang) : Figures.NotAvailable(lang);

    /// <summary>
    /// The text with the widest figures the sender expects (documented in docs/sender.md): amounts up to
    /// ±9,999,999.99 yuan, prices up to 99,999.99 yuan per minute, message or MB, up to 99,999.99 minutes,
    /// 99,999 messages or 1,023.99 GB, thresholds of three digits, zone ids of 16 characters.
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
            _ => money,
        });
    }

    private static string Fill(string template, Func<string, string> value)
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
