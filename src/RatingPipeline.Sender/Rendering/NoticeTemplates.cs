using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using RatingPipeline.Sender.Reminders;

namespace RatingPipeline.Sender.Rendering;

/// <summary>A template file that cannot be used; the message lists every problem found.</summary>
public sealed class TemplateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The fixed notice templates: one text per notice kind (each reminder kind and <c>bill</c>) and language
/// (<c>zh</c>, the default, and <c>en</c>) plus an e-mail subject per language, with <c>{placeholder}</c>s for
/// the figures. Checked once when loaded: every placeholder must be one the kind knows, the mandatory figures
/// must be there (the price beyond the plan and how to check usage in an allowance notice; the country and
/// all four rates in a roaming notice; the price, the charge time and how to cancel — reply <c>0000</c> or
/// <c>TD</c> — in a service pre-charge notice; …), no link but the configured self-service address, and no
/// more SMS segments than configured even with the widest figures. The same file holds the answers to
/// mobile-originated SMS (<see cref="MoReplyKinds"/>), checked by the same rules.
/// </summary>
public sealed partial class NoticeTemplates
{
    public static readonly IReadOnlyList<string> Languages = ["zh", "en"];

    public const string SubjectKey = "subject";

    /// <summary>Placeholders every text may use.</summary>
    public static readonly IReadOnlyList<string> CommonPlaceholders = ["selfServiceUrl", "usageCheckHint"];

    /// <summary>Placeholders by kind (besides <see cref="CommonPlaceholders"/>).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> KindPlaceholders = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [ReminderKinds.Allowance] = ["service", "threshold", "used", "allowance", "remaining", "overagePrice"],
        [ReminderKinds.DataCap] = ["cap", "charged"],
        [ReminderKinds.HighSpend] = ["threshold", "spend"],
        [ReminderKinds.LowBalance] = ["threshold", "remaining"],
        [ReminderKinds.Roaming] = ["country", "mcc", "zone", "voiceMo", "voiceMt", "smsMo", "data"],
        [ReminderKinds.PlanChange] = ["from", "to", "monthlyFee"],
        [ReminderKinds.VasPrecharge] = ["serviceName", "serviceId", "price", "chargeAt"],
        [ReminderKinds.PlanExpiry] = ["plan", "endsAt", "monthlyFee"],
        [NoticeKinds.Bill] = ["period", "plan", "total", "usageCharge", "feeCharge", "minimum", "topUp"],
    };

    /// <summary>Placeholders a kind's text must contain (what the regulation asks the notice to say).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> RequiredPlaceholders = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [ReminderKinds.Allowance] = ["overagePrice", "usageCheckHint"],
        [ReminderKinds.DataCap] = ["cap"],
        [ReminderKinds.HighSpend] = ["spend"],
        [ReminderKinds.LowBalance] = ["remaining"],
        [ReminderKinds.Roaming] = ["country", "voiceMo", "voiceMt", "smsMo", "data"],
        [ReminderKinds.PlanChange] = ["from", "to", "monthlyFee"],
        [ReminderKinds.VasPrecharge] = ["serviceName", "price", "chargeAt"],
        [ReminderKinds.PlanExpiry] = ["plan", "endsAt", "monthlyFee"],
        [NoticeKinds.Bill] = ["period", "total", "usageCharge", "feeCharge", "topUp"],
    };

    /// <summary>Words a kind's text must contain as written: how to cancel a service before it is charged.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> RequiredWords = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        [ReminderKinds.VasPrecharge] = ["0000", "TD"],
    };

    /// <summary>
    /// The keys of a language's texts: the notice kinds, the e-mail subject, and the answers to
    /// mobile-originated SMS (<see cref="MoReplyKinds"/>).
    /// </summary>
    public static IEnumerable<string> Keys => NoticeKinds.All.Append(SubjectKey).Concat(MoReplyKinds.All);

    private readonly Dictionary<(string Language, string Key), string> _texts;

    private NoticeTemplates(Dictionary<(string, string), string> texts) => _texts = texts;

    public string Text(string language, string kind) => _texts[(Normalise(language), kind)];

    public string Subject(string language) => _texts[(Normalise(language), SubjectKey)];

    /// <summary>The language a profile's value maps to: <c>en</c>, else the default <c>zh</c>.</summary>
    public static string Normalise(string? language) => language == "en" ? "en" : "zh";

    /// <summary>Loads and checks <paramref name="path"/>; throws <see cref="TemplateException"/> naming every problem.</summary>
    public static NoticeTemplates Load(string path, SenderOptions options)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TemplateException($"{path}: cannot read the notice templates: {e.Message}", e);
        }

        return Parse(bytes, options, path);
    }

    public static NoticeTemplates Parse(ReadOnlySpan<byte> json, SenderOptions options, string source = "templates")
    {
        var errors = new List<string>();
        var texts = new Dictionary<(string, string), string>();
        try
        {
            using var document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TemplateException($"{source}: must be a JSON object with one member per language ({string.Join(", ", Languages)})");
            }

            foreach (var language in root.EnumerateObject())
            {
                if (!Languages.Contains(language.Name))
                {
                    errors.Add($"{language.Name}: unknown language (known: {string.Join(", ", Languages)})");
                    continue;
                }

                if (language.Value.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{language.Name}: must be an object of texts by kind");
                    continue;
                }

                foreach (var entry in language.Value.EnumerateObject())
                {
                    if (!Keys.Contains(entry.Name))
                    {
                        errors.Add($"{language.Name}.{entry.Name}: unknown kind (known: {string.Join(", ", Keys)})");
                    }
                    else if (entry.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(entry.Value.GetString()))
                    {
                        errors.Add($"{language.Name}.{entry.Name}: must be a non-empty string");
                    }
                    else
                    {
                        texts[(language.Name, entry.Name)] = entry.Value.GetString()!;
                    }
                }
            }
        }
        catch (JsonException e)
        {
            throw new TemplateException($"{source}: not valid JSON: {e.Message}", e);
        }

        foreach (var language in Languages)
        {
            foreach (var key in Keys)
            {
                if (!texts.ContainsKey((language, key)) && !errors.Any(e => e.StartsWith($"{language}.{key}:", StringComparison.Ordinal)))
                {
                    errors.Add($"{language}.{key}: missing");
                }
            }
        }

        CheckSelfServiceUrl(options, errors);
        foreach (var ((language, key), text) in texts)
        {
            Check(language, key, text, options, errors);
        }

        foreach (var language in Languages)
        {
            var hint = options.HintFor(language);
            CheckPlaceholders($"Sender:UsageCheckHint:{language}", hint, ["selfServiceUrl"], [], options, errors);
            CheckLinks($"Sender:UsageCheckHint:{language}", hint, options, errors);
        }

        if (errors.Count > 0)
        {
            throw new TemplateException($"{source}: the notice templates are refused:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", errors));
        }

        var templates = new NoticeTemplates(texts);
        foreach (var language in Languages)
        {
            foreach (var kind in NoticeKinds.All)
            {
                var widest = NoticeRenderer.RenderWorstCase(templates, options, kind, language);
                var length = SmsSegments.Measure(widest);
                if (length.Segments > options.MaxSmsSegments)
                {
                    errors.Add($"{language}.{kind}: with the widest figures the text needs {length.Segments} SMS segments "
                        + $"({length.Units} {(length.Gsm7 ? "GSM-7 characters, 160 in one segment or 153 per segment" : "UCS-2 characters, 70 in one segment or 67 per segment")}), "
                        + $"more than Sender:MaxSmsSegments = {options.MaxSmsSegments}: \"{widest}\"");
                }
            }
        }

        foreach (var language in Languages)
        {
            foreach (var (key, widest) in MoRenderer.WorstCases(templates, options, language))
            {
                var length = SmsSegments.Measure(widest);
                if (length.Segments > options.MaxSmsSegments)
                {
                    errors.Add($"{language}.{key}: with the widest figures (a list: one service) the text needs {length.Segments} SMS segments "
                        + $"({length.Units} {(length.Gsm7 ? "GSM-7" : "UCS-2")} characters), more than Sender:MaxSmsSegments = {options.MaxSmsSegments}: \"{widest}\"");
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new TemplateException($"{source}: the notice templates are refused:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", errors));
        }

        return templates;
    }

    /// <summary>The placeholder names in <paramref name="text"/>, in order; a stray brace is reported as an error.</summary>
    internal static IEnumerable<string> Placeholders(string text, List<string>? errors = null, string? where = null)
    {
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOfAny(['{', '}'], i);
            if (open < 0)
            {
                yield break;
            }

            if (text[open] == '}')
            {
                errors?.Add($"{where}: '}}' without '{{' at character {open + 1}");
                i = open + 1;
                continue;
            }

            var close = text.IndexOf('}', open + 1);
            var nextOpen = text.IndexOf('{', open + 1);
            if (close < 0 || (nextOpen >= 0 && nextOpen < close))
            {
                errors?.Add($"{where}: '{{' without '}}' at character {open + 1}");
                i = open + 1;
                continue;
            }

            yield return text[(open + 1)..close];
            i = close + 1;
        }
    }

    private static void Check(string language, string key, string text, SenderOptions options, List<string> errors)
    {
        var where = $"{language}.{key}";
        if (key == SubjectKey)
        {
            CheckPlaceholders(where, text, [], [], options, errors);
        }
        else
        {
            var mo = MoReplyKinds.All.Contains(key);
            var allowed = mo ? MoReplyKinds.Placeholders[key] : KindPlaceholders[key];
            var required = mo ? MoReplyKinds.RequiredPlaceholders[key] : RequiredPlaceholders[key];
            var words = mo ? MoReplyKinds.RequiredWords.GetValueOrDefault(key, []) : RequiredWords.GetValueOrDefault(key, []);
            CheckPlaceholders(where, text, [.. CommonPlaceholders, .. allowed], required, options, errors);
            foreach (var word in words)
            {
                if (!text.Contains(word, StringComparison.Ordinal))
                {
                    errors.Add($"{where}: must say how to cancel, with the words {string.Join(" and ", words.Select(w => $"'{w}'"))} (missing '{word}')");
                }
            }
        }

        CheckLinks(where, text, options, errors);
    }

    private static void CheckPlaceholders(string where, string text, string[] allowed, string[] required, SenderOptions options, List<string> errors)
    {
        var found = Placeholders(text, errors, where).ToList();
        foreach (var name in found.Distinct(StringComparer.Ordinal))
        {
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(allowed.Length == 0
                    ? $"{where}: unknown placeholder {{{name}}} (none is allowed here)"
                    : $"{where}: unknown placeholder {{{name}}} (allowed: {string.Join(", ", allowed.Select(a => "{" + a + "}"))})");
            }
        }

        foreach (var name in required)
        {
            if (!found.Contains(name, StringComparer.Ordinal))
            {
                errors.Add($"{where}: must contain {{{name}}}");
            }
        }

        if (found.Contains("selfServiceUrl", StringComparer.Ordinal) && string.IsNullOrWhiteSpace(options.SelfServiceUrl))
        {
            errors.Add($"{where}: uses {{selfServiceUrl}} but Sender:SelfServiceUrl is empty");
        }
    }

    private static void CheckSelfServiceUrl(SenderOptions options, List<string> errors)
    {
        var url = options.SelfServiceUrl;
        if (url.Length > 0 && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || url.Any(char.IsWhiteSpace)))
        {
            errors.Add($"Sender:SelfServiceUrl: '{url}' is not an absolute http(s) address");
        }
    }

    /// <summary>Refuses any link except the configured self-service address (as placeholder or literally).</summary>
    private static void CheckLinks(string where, string text, SenderOptions options, List<string> errors)
    {
        var rest = new StringBuilder(text).Replace("{selfServiceUrl}", " ");
        if (options.SelfServiceUrl.Length > 0)
        {
            rest.Replace(options.SelfServiceUrl, " ");
        }

        foreach (Match link in LinkPattern().Matches(rest.ToString()))
        {
            errors.Add($"{where}: contains the link '{link.Value}'; the only link allowed is Sender:SelfServiceUrl "
                + $"('{options.SelfServiceUrl}'), written as {{selfServiceUrl}}");
        }
    }

    // Schemes (http://, mailto:), www.-names, and bare domain names with a common top-level domain. The
    // boundaries are ASCII-only on purpose: Chinese characters count as word characters for \b.
    [GeneratedRegex(@"(?i)(?<![a-z0-9+.-])(?:[a-z][a-z0-9+.-]*://\S*|mailto:\S+|www\.\S+|(?:[a-z0-9-]+\.)+(?:com|net|org|cn|info|biz|io|co|me|app|top|xyz|vip|shop|site|online|club|ly|gl|tk|example)(?![a-z0-9-])\S*)", RegexOptions.CultureInvariant)]
    private static partial Regex LinkPattern();
}
