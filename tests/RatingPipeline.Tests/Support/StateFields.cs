using RatingPipeline.Rating;

namespace RatingPipeline.Tests.Support;

/// <summary>Every field of a <see cref="UsageState"/> by name, for comparing states field by field.</summary>
public static class StateFields
{
    public static IReadOnlyList<KeyValuePair<string, string>> Of(in UsageState s)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("OffsetTag", s.OffsetTag.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("HasCycle", s.HasCycle.ToString()),
            new("CycleDay", s.CycleDay.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        for (var t = 0; t < 3; t++)
        {
            fields.Add(new($"Used[{t}]", s.Used[t].ToString(System.Globalization.CultureInfo.InvariantCulture)));
            fields.Add(new($"AllowanceFired[{t}]", s.AllowanceFired[t].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        fields.Add(new("CappedCharges", s.CappedCharges.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("Spend", s.Spend.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("DataCapFired", s.DataCapFired.ToString()));
        fields.Add(new("HighSpendFired", s.HighSpendFired.ToString()));
        fields.Add(new("PrepaidTracked", s.PrepaidTracked.ToString()));
        fields.Add(new("PrepaidAsOfTicks", s.PrepaidAsOfTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("PrepaidCharges", s.PrepaidCharges.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("LowBalanceFired", s.LowBalanceFired.ToString()));
        fields.Add(new("RoamingMcc", s.RoamingMcc.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("RoamingStartTicks", s.RoamingStartTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("RecentIds.Count", s.RecentIds.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        fields.Add(new("RecentIds.Next", s.RecentIds.Next.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        ReadOnlySpan<ulong> hashes = s.RecentIds.Hashes;
        for (var i = 0; i < hashes.Length; i++)
        {
            fields.Add(new($"RecentIds.Hashes[{i}]", hashes[i].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return fields;
    }
}
