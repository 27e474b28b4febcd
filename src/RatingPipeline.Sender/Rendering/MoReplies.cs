using System.Globalization;
using RatingPipeline.Sender.Inbound;

namespace RatingPipeline.Sender.Rendering;

/// <summary>
/// The texts that answer a mobile-originated SMS (docs/mo-sms.md), kept in the template file beside the notice
/// kinds: the list of monthly services (<c>0000</c>), the confirmation of a cancellation (<c>TD</c>), and the
/// short answers (no services, no such number, help). A list and a confirmation are a head with
/// <c>{services}</c> filled by one item text per service.
/// </summary>
public static class MoReplyKinds
{
    public const string List = "mo-list";
    public const string ListItem = "mo-list-item";
    public const string NoServices = "mo-none";
    public const string Cancelled = "mo-cancelled";
    public const string CancelledItem = "mo-cancelled-item";
    public const string UnknownNumber = "mo-unknown-number";
    public const string Help = "mo-help";
    public const string Usage = "mo-usage";
    public const string UsageBalance = "mo-usage-balance";
    public const string UsageLater = "mo-usage-later";
    public const string UsageUnavailable = "mo-usage-unavailable";

    public static readonly IReadOnlyList<string> All = [List, ListItem, NoServices, Cancelled, CancelledItem, UnknownNumber, Help, Usage, UsageBalance, UsageLater, UsageUnavailable];

    private static readonly string[] UsageFigures = ["period", "voiceUsed", "voiceRemaining", "smsUsed", "smsRemaining", "dataUsed", "dataRemaining", "spend", "balance"];

    internal static readonly IReadOnlyDictionary<string, string[]> Placeholders = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [List] = ["services"],
        [ListItem] = ["number", "serviceName", "price", "nextCharge"],
        [NoServices] = [],
        [Cancelled] = ["services"],
        [CancelledItem] = ["number", "serviceName"],
        [UnknownNumber] = ["numbers"],
        [Help] = [],
        [Usage] = UsageFigures,
        [UsageBalance] = ["remaining"],
        [UsageLater] = [],
        [UsageUnavailable] = [],
    };

    internal static readonly IReadOnlyDictionary<string, string[]> RequiredPlaceholders = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [List] = ["services"],
        [ListItem] = ["number", "serviceName", "price", "nextCharge"],
        [NoServices] = [],
        [Cancelled] = ["services"],
        [CancelledItem] = ["serviceName"],
        [UnknownNumber] = ["numbers"],
        [Help] = [],
        [Usage] = UsageFigures,
        [UsageBalance] = ["remaining"],
        [UsageLater] = [],
        [UsageUnavailable] = [],
    };

    /// <summary>How to cancel, as written: the list and the help say it.</summary>
    internal static readonly IReadOnlyDictionary<string, string[]> RequiredWords = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [List] = ["TD"],
        [Help] = ["0000", "TD"],
    };
}

/// <summary>One monthly service as a list shows it: its number (its position in the profile), name, price and next charge.</summary>
/// <param name="Number">1-based position in the profile's <c>services</c>.</param>
/// <param name="NameZh">The service's Chinese name.</param>
/// <param name="NameEn">The service's English name.</param>
/// <param name="Price">Micros per cycle.</param>
/// <param name="NextCharge">When it is charged next; null when it is cancelled before then.</param>
public sealed record ListedService(int Number, string NameZh, string NameEn, long Price, DateTimeOffset? NextCharge)
{
    public string Name(string language) => language == "en" ? NameEn : NameZh;
}

/// <summary>
/// Renders the answers to a mobile-originated SMS. A list or a confirmation that does not fit
/// <c>Sender:MaxSmsSegments</c> in one SMS is split into several, each with the head and whole items only; the
/// template loader checks that one item with the widest figures fits.
/// </summary>
public sealed class MoRenderer(NoticeTemplates templates, SenderOptions options)
{
    /// <summary>Numbers shown in a "no such number" answer, at most (more are cut with <c>...</c>).</summary>
    public const int MaxNumbersShown = 5;

    private readonly TimeSpan _utcOffset = Rules.QuietHours.TryParseOffset(options.UtcOffset, out var offset) ? offset : TimeSpan.Zero;

    public IReadOnlyList<string> List(IReadOnlyList<ListedService> services, string language)
    {
        var lang = NoticeTemplates.Normalise(language);
        return services.Count == 0
            ? [Single(MoReplyKinds.NoServices, lang)]
            : Pages(MoReplyKinds.List, MoReplyKinds.ListItem, services, lang, (s, name) => ListItemValue(s, name, lang));
    }

    public IReadOnlyList<string> Cancelled(IReadOnlyList<ListedService> services, string language)
    {
        var lang = NoticeTemplates.Normalise(language);
        return Pages(MoReplyKinds.Cancelled, MoReplyKinds.CancelledItem, services, lang, (s, name) => ListItemValue(s, name, lang));
    }

    public string UnknownNumbers(IReadOnlyList<int> numbers, string language)
    {
        var lang = NoticeTemplates.Normalise(language);
        return Fill(templates.Text(lang, MoReplyKinds.UnknownNumber), lang, name => name == "numbers" ? NumberList(numbers) : "");
    }

    public string NoServices(string language) => Single(MoReplyKinds.NoServices, NoticeTemplates.Normalise(language));

    public string Help(string language) => Single(MoReplyKinds.Help, NoticeTemplates.Normalise(language));

    /// <summary>
    /// The usage summary (<c>查询</c>): the cycle, used and remaining allowance per type, the cycle's spend, and for a
    /// prepaid subscriber the balance left (<c>mo-usage-balance</c> in <c>{balance}</c>; empty for postpaid).
    /// </summary>
    public string Usage(UsageSummary usage, string language)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var lang = NoticeTemplates.Normalise(language);
        return Fill(templates.Text(lang, MoReplyKinds.Usage), lang, name => UsageValue(usage, name, lang));
    }

    /// <summary>No summary: "try again later" (<paramref name="later"/>) or "not available".</summary>
    public string UsageUnavailable(bool later, string language) =>
        Single(later ? MoReplyKinds.UsageLater : MoReplyKinds.UsageUnavailable, NoticeTemplates.Normalise(language));

    /// <summary>The numbers of a "no such number" answer: at most <see cref="MaxNumbersShown"/>, comma-separated.</summary>
    public static string NumberList(IReadOnlyList<int> numbers)
    {
        ArgumentNullException.ThrowIfNull(numbers);
        var shown = string.Join(",", numbers.Take(MaxNumbersShown).Select(n => n.ToString(CultureInfo.InvariantCulture)));
        return numbers.Count > MaxNumbersShown ? shown + "..." : shown;
    }

    /// <summary>Each MO text with the widest figures: a list and a confirmation with one widest service.</summary>
    internal static IEnumerable<(string Key, string Text)> WorstCases(NoticeTemplates templates, SenderOptions options, string language)
    {
        var renderer = new MoRenderer(templates, options);
        // A name in the script of the language at its shown maximum, the highest number and price, a time.
        var widest = new ListedService(Subscribers.SubscriberProfile.MaxServices, "", "", 1_000_000_000_000, new DateTimeOffset(2026, 12, 31, 23, 59, 0, TimeSpan.Zero));
        string ItemValue(ListedService s, string name) => name == "serviceName"
            ? new string(language == "en" ? 'W' : '名', NoticeRenderer.ServiceNameChars)
            : renderer.ListItemValue(s, name, language);
        string Head(string head, string item) =>
            renderer.Fill(templates.Text(language, head), language, n => n == "services" ? renderer.Fill(templates.Text(language, item), language, v => ItemValue(widest, v)) : "");
        yield return (MoReplyKinds.List, Head(MoReplyKinds.List, MoReplyKinds.ListItem));
        yield return (MoReplyKinds.Cancelled, Head(MoReplyKinds.Cancelled, MoReplyKinds.CancelledItem));
        yield return (MoReplyKinds.NoServices, renderer.NoServices(language));
        yield return (MoReplyKinds.Help, renderer.Help(language));
        yield return (MoReplyKinds.UnknownNumber, renderer.UnknownNumbers([.. Enumerable.Repeat(999, MaxNumbersShown + 1)], language));

        // The widest volumes of the notices (99,999.98 minutes, 99,999 messages, 1,023.99 GB), the widest money, a
        // prepaid balance, the widest cycle.
        var widestUsage = new UsageSummary("2026-12-28", "2027-01-28", [5_999_999, 99_999, 1_099_500_000_000], [5_999_999, 99_999, 1_099_500_000_000],
            9_999_999_990_000, -9_999_999_990_000);
        yield return (MoReplyKinds.Usage, renderer.Usage(widestUsage, language));
        yield return (MoReplyKinds.UsageLater, renderer.UsageUnavailable(later: true, language));
        yield return (MoReplyKinds.UsageUnavailable, renderer.UsageUnavailable(later: false, language));
    }

    private string UsageValue(UsageSummary usage, string name, string lang)
    {
        switch (name)
        {
            case "period":
                return usage is { Cycle: { } cycle, CycleEnd: { } end } ? Figures.Period(cycle, end, lang) : lang == "en" ? "this cycle" : "本计费周期";
            case "spend":
                return Figures.Money(usage.Spend, lang);
            case "balance":
                return usage.PrepaidRemaining is { } remaining
                    ? Fill(templates.Text(lang, MoReplyKinds.UsageBalance), lang, n => n == "remaining" ? Figures.Money(remaining, lang) : "")
                    : "";
            default:
                for (var t = 0; t < UsageSummary.Types.Count; t++)
                {
                    var type = UsageSummary.Types[t];
                    if (name == type + "Used")
                    {
                        return Figures.Volume(type, usage.Used[t], lang);
                    }

                    if (name == type + "Remaining")
                    {
                        return Figures.Volume(type, usage.Remaining[t], lang);
                    }
                }

                return "";
        }
    }

    private string ListItemValue(ListedService s, string name, string lang) => name switch
    {
        "number" => s.Number.ToString(CultureInfo.InvariantCulture),
        "serviceName" => Figures.Clip(s.Name(lang), NoticeRenderer.ServiceNameChars),
        "price" => Figures.Money(s.Price, lang),
        "nextCharge" => s.NextCharge is { } at ? Figures.LocalTime(at, _utcOffset, lang) : lang == "en" ? "none (cancelled before)" : "无（已预约退订）",
        _ => "",
    };

    private string Single(string key, string lang) => Fill(templates.Text(lang, key), lang, _ => "");

    /// <summary>The head filled with as many whole items as fit the segment limit, then the next SMS, …</summary>
    private List<string> Pages(string head, string item, IReadOnlyList<ListedService> services, string lang, Func<ListedService, string, string> value)
    {
        var pages = new List<string>();
        var itemTexts = services.Select(s => Fill(templates.Text(lang, item), lang, name => value(s, name))).ToList();
        var i = 0;
        while (i < itemTexts.Count)
        {
            // The loader checked that one item with the widest figures fits: a page always takes at least one.
            var taken = 1;
            while (i + taken < itemTexts.Count && Fits(Render(head, lang, itemTexts.Skip(i).Take(taken + 1))))
            {
                taken++;
            }

            pages.Add(Render(head, lang, itemTexts.Skip(i).Take(taken)));
            i += taken;
        }

        return pages;
    }

    private bool Fits(string text) => SmsSegments.Measure(text).Segments <= options.MaxSmsSegments;

    private string Render(string head, string lang, IEnumerable<string> items) =>
        Fill(templates.Text(lang, head), lang, name => name == "services" ? string.Concat(items) : "");

    /// <summary>Fills a text; the common placeholders (<c>{selfServiceUrl}</c>, <c>{usageCheckHint}</c>) as in a notice.</summary>
    private string Fill(string template, string lang, Func<string, string> value) => NoticeRenderer.Fill(template, name => name switch
    {
        "selfServiceUrl" => options.SelfServiceUrl,
        "usageCheckHint" => NoticeRenderer.Fill(options.HintFor(lang), n => n == "selfServiceUrl" ? options.SelfServiceUrl : ""),
        _ => value(name),
    });
}
