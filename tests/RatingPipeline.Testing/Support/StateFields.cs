using System.Globalization;
using System.Runtime.InteropServices;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Tests.Support;

/// <summary>
/// Every field of a <see cref="UsageState"/> by name, for comparing states field by field: the counters of the
/// state's cycle and of the open previous cycle, the fee lists, the marks, and the duplicate memory oldest first
/// (its meaning, not the ring's slot positions).
/// </summary>
public static class StateFields
{
    public static IReadOnlyList<KeyValuePair<string, string>> Of(in UsageState s)
    {
        var fields = new List<KeyValuePair<string, string>>();
        void Add(string name, object? value) => fields.Add(new(name, Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null"));

        Add("OffsetTag", s.OffsetTag);
        Add("HasCycle", s.HasCycle);
        Add("CycleDay", s.CycleDay);
        Add("Plan", s.PlanId < 0 ? "(unknown)" : NameTable.Plans[s.PlanId]);
        Add("Mark", s.Mark);
        Add("StreamTime", s.StreamTime);
        Counters("", s.Counters);
        Add("PrepaidTracked", s.PrepaidTracked);
        Add("PrepaidAsOfTicks", s.PrepaidAsOfTicks);
        Add("PrepaidCharges", s.PrepaidCharges);
        Add("LowBalanceFired", s.LowBalanceFired);
        Add("RoamingMcc", s.RoamingMcc);
        Add("RoamingStartTicks", s.RoamingStartTicks);
        Add("PlanEndsNoticed", s.PlanEndsNoticed);
        Add("Fees", Fees(s.Fees));
        if (s.Previous is { } p)
        {
            Add("Previous.Cycle", p.Cycle);
            Add("Previous.CloseTicks", p.CloseTicks);
            Add("Previous.CycleEnd", p.CycleEnd);
            Add("Previous.Plan", p.PlanId < 0 ? "(unknown)" : NameTable.Plans[p.PlanId]);
            Add("Previous.TariffVersion", NameTable.TariffVersions[p.TariffVersionId]);
            Add("Previous.Minimum", p.Minimum);
            Counters("Previous.", p.Counters);
            Add("Previous.Fees", Fees(CollectionsMarshal.AsSpan(p.Fees)));
        }
        else
        {
            Add("Previous", "none");
        }

        var ids = s.RecentIds;
        ReadOnlySpan<ulong> hashes = ids.Hashes;
        var oldest = ids.Count < IdMemory.Capacity ? 0 : ids.Next;
        Add("RecentIds.Count", ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            Add($"RecentIds[{i}]", hashes[(oldest + i) % IdMemory.Capacity]);
        }

        return fields;

        void Counters(string prefix, in CycleCounters c)
        {
            for (var t = 0; t < 3; t++)
            {
                Add($"{prefix}Used[{t}]", c.Used[t]);
                Add($"{prefix}Count[{t}]", c.Count[t]);
                Add($"{prefix}Units[{t}]", c.Units[t]);
                Add($"{prefix}Charges[{t}]", c.Charges[t]);
                Add($"{prefix}AllowanceFired[{t}]", c.AllowanceFired[t]);
            }

            Add($"{prefix}AllowanceFiredBeyond", c.AllowanceFiredBeyond is { } beyond
                ? string.Join(",", beyond.Select(f => $"{f.Type}:{f.Threshold}"))
                : "none");
            Add($"{prefix}Capped", c.Capped);
            Add($"{prefix}Spend", c.Spend);
            Add($"{prefix}DataCapFired", c.DataCapFired);
            Add($"{prefix}HighSpendFired", c.HighSpendFired);
        }
    }

    private static string Fees(ReadOnlySpan<FeeEntry> fees)
    {
        var parts = new List<string>();
        foreach (var fee in fees)
        {
            parts.Add(fee.Kind == FeeKind.Monthly ? $"monthly {fee.Amount}" : $"{NameTable.Services[fee.ServiceId]} {fee.Amount}");
        }

        return string.Join(", ", parts);
    }
}
