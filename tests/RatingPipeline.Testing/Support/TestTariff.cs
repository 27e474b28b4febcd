using System.Text;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Support;

/// <summary>
/// Small purpose-built tariffs written inline in tests: one plan <c>p</c> with the given rates and plan members,
/// offset +08:00, home MCC 460, zones HMT (454, 455) and Z1 (440, 310), default roaming zone ROW.
/// </summary>
public static class TestTariff
{
    public const string Version = "test-1";

    /// <summary>One rate entry as JSON; a null argument leaves the member out (absent means "*").</summary>
    public static string Rate(string? type, string? zone = null, string? direction = null, string? dest = null,
        long price = 0, long unit = 1, long increment = 1, long? first = null, bool allowance = false, bool capped = false)
    {
        var members = new List<string>();
        if (type is not null) members.Add($"\"type\":\"{type}\"");
        if (zone is not null) members.Add($"\"zone\":\"{zone}\"");
        if (direction is not null) members.Add($"\"direction\":\"{direction}\"");
        if (dest is not null) members.Add($"\"dest\":\"{dest}\"");
        if (allowance) members.Add("\"useAllowance\":true");
        if (capped) members.Add("\"capped\":true");
        if (first is not null) members.Add($"\"firstIncrement\":{first}");
        members.Add($"\"increment\":{increment}");
        members.Add($"\"unit\":{unit}");
        members.Add($"\"price\":{price}");
        return "{" + string.Join(",", members) + "}";
    }

    /// <summary>A zero-rating entry as JSON.</summary>
    public static string Zero(string pattern, string reason, string types = "\"sms\",\"voice\"",
        string from = "2000-01-01T00:00:00Z", string? to = null) =>
        $"{{\"pattern\":\"{pattern}\",\"types\":[{types}],\"from\":\"{from}\"{(to is null ? "" : $",\"to\":\"{to}\"")},\"reason\":\"{reason}\"}}";

    /// <summary>The tariff document.</summary>
    /// <param name="rates">Rate entries of plan <c>p</c> (see <see cref="Rate"/>).</param>
    /// <param name="plan">Further members of plan <c>p</c>, e.g. <c>"allowances":{"voiceSec":600}</c>.</param>
    /// <param name="zeroRated">Zero-rating entries (see <see cref="Zero"/>).</param>
    /// <param name="utcOffset">The tariff's fixed offset from UTC.</param>
    /// <param name="top">Further top-level members, e.g. <c>"lateGraceHours":48</c>.</param>
    public static string Json(IEnumerable<string> rates, string plan = "", IEnumerable<string>? zeroRated = null,
        string utcOffset = "+08:00", string top = "")
    {
        var text = new StringBuilder();
        text.Append('{');
        if (top.Length > 0)
        {
            text.Append(top).Append(',');
        }

        text.Append("\"version\":\"").Append(Version).Append("\",\"currency\":\"CNY\",\"utcOffset\":\"").Append(utcOffset)
            .Append("\",\"homeMcc\":[\"460\"],\"zones\":{\"HMT\":[\"454\",\"455\"],\"Z1\":[\"440\",\"310\"]},")
            .Append("\"defaultRoamingZone\":\"ROW\",\"zeroRated\":[").AppendJoin(",", zeroRated ?? [])
            .Append("],\"plans\":{\"p\":{");
        if (plan.Length > 0)
        {
            text.Append(plan).Append(',');
        }

        text.Append("\"rates\":[").AppendJoin(",", rates).Append("]}}}");
        return text.ToString();
    }

    public static Tariff Build(IEnumerable<string> rates, string plan = "", IEnumerable<string>? zeroRated = null,
        string utcOffset = "+08:00", string top = "") =>
        TariffLoader.Load(Encoding.UTF8.GetBytes(Json(rates, plan, zeroRated, utcOffset, top)));
}
