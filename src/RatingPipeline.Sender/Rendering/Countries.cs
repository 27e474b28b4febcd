using System.Collections.Frozen;
using System.Reflection;

namespace RatingPipeline.Sender.Rendering;

/// <summary>
/// The country or area a mobile country code (MCC, ITU-T E.212) belongs to, in English and Chinese, from the
/// table embedded in the sender (<c>Rendering/countries.tsv</c>: every geographic MCC, and 901 for
/// international networks). An MCC the table lacks reads "an unlisted country" / "未列明的国家或地区".
/// </summary>
public static class Countries
{
    private const string Resource = "RatingPipeline.Sender.countries.tsv";

    private static readonly FrozenDictionary<string, (string En, string Zh)> Table = Load();

    /// <summary>Every MCC in the table.</summary>
    public static IReadOnlyCollection<string> Mccs => Table.Keys;

    /// <summary>The name of <paramref name="mcc"/>'s country in <paramref name="language"/>; false when the table lacks it.</summary>
    public static bool TryGetName(string mcc, string language, out string name)
    {
        if (Table.TryGetValue(mcc, out var names))
        {
            name = language == "en" ? names.En : names.Zh;
            return true;
        }

        name = Unlisted(language);
        return false;
    }

    /// <summary>The name of <paramref name="mcc"/>'s country, or the words for an unlisted one.</summary>
    public static string Name(string mcc, string language)
    {
        TryGetName(mcc, language, out var name);
        return name;
    }

    /// <summary>What a notice says for an MCC the table lacks.</summary>
    public static string Unlisted(string language) => language == "en" ? "an unlisted country" : "未列明的国家或地区";

    /// <summary>Every name in <paramref name="language"/>, the unlisted words included (for the widest-text check).</summary>
    internal static IEnumerable<string> AllNames(string language) =>
        Table.Values.Select(n => language == "en" ? n.En : n.Zh).Append(Unlisted(language));

    private static FrozenDictionary<string, (string En, string Zh)> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"the country table {Resource} is not embedded in the sender");
        using var reader = new StreamReader(stream);
        var table = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var fields = line.Split('\t');
            if (fields is not [var mcc, var en, var zh] || mcc.Length != 3 || !mcc.All(char.IsAsciiDigit) || en.Length == 0 || zh.Length == 0
                || !table.TryAdd(mcc, (en, zh)))
            {
                throw new InvalidOperationException($"{Resource} line {number}: expected a new MCC, an English and a Chinese name separated by tabs");
            }
        }

        return table.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
