using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Reference;

/// <summary>A monthly value-added service of a profile (SPEC §2.2).</summary>
public sealed record RefService(string Id, string NameZh, string NameEn, long Price, RefInstant OrderedAt, RefInstant? CancelledAt)
{
    /// <summary>SPEC §7.4: cancelled at instant h when <c>cancelledAt</c> is present and ≤ h.</summary>
    public bool IsCancelledAt(long h) => CancelledAt is { } c && c.UtcTicks <= h;
}

/// <summary>
/// A subscriber profile (SPEC §2.2), read plainly. <see cref="Parse"/> applies the rules a profile must keep; the
/// members used only by the sender (<c>language</c>, <c>reminders</c>, <c>channels</c>, <c>email</c>) are checked and dropped.
/// </summary>
public sealed partial record RefProfile(string Msisdn, string Plan, int CycleDay, bool Prepaid, long Balance, RefInstant? BalanceAsOf,
    long? HighSpendThreshold, long? DataCap, long? MonthlyMinimum, IReadOnlyList<RefService> Services, RefInstant? PlanEndsAt)
{
    /// <summary>The profile in <paramref name="obj"/> (its <c>type</c> member, if any, ignored), or null with the broken rule.</summary>
    public static RefProfile? Parse(JsonElement obj, RefTariff tariff, out string why)
    {
        var broken = Check(obj, tariff, out var profile);
        why = broken ?? "";
        return broken is null ? profile : null;
    }

    private static string? Check(JsonElement obj, RefTariff tariff, out RefProfile? profile)
    {
        profile = null;
        static string? Text(JsonElement obj, string name) =>
            RefJson.Member(obj, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

        var msisdn = Text(obj, "msisdn");
        if (msisdn is null || !RefJson.IsAsciiDigits(msisdn, 5, 15))
        {
            return "msisdn is not 5–15 digits";
        }

        var plan = Text(obj, "plan");
        if (plan is null)
        {
            return "plan is no string";
        }

        if (RefJson.Member(obj, "cycleDay") is not { } cd || RefJson.IntegerIn(cd, 1, 28) is not { } cycleDay)
        {
            return "cycleDay is no integer 1–28";
        }

        var prepaid = false;
        if (RefJson.Member(obj, "prepaid") is { } p)
        {
            if (p.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return "prepaid is no bool";
            }

            prepaid = p.ValueKind == JsonValueKind.True;
        }

        // balance / balanceAsOf: "prepaid only" — required for a prepaid profile; when given on a postpaid one they
        // must still have their types, and are not used.
        long? balance = null;
        if (RefJson.Member(obj, "balance") is { } b)
        {
            balance = RefJson.IntegerIn(b, long.MinValue, long.MaxValue);
            if (balance is null)
            {
                return "balance is no integer";
            }
        }

        RefInstant? asOf = null;
        if (RefJson.Member(obj, "balanceAsOf") is { } a)
        {
            asOf = RefInstant.Parse(a.ValueKind == JsonValueKind.String ? a.GetString() : null);
            if (asOf is null)
            {
                return "balanceAsOf is no instant";
            }
        }

        if (prepaid && (balance is null || asOf is null))
        {
            return "a prepaid profile needs balance and balanceAsOf";
        }

        long? highSpend = null;
        if (RefJson.Member(obj, "highSpendThreshold") is { } h)
        {
            highSpend = RefJson.IntegerIn(h, long.MinValue, long.MaxValue);
            if (highSpend is null)
            {
                return "highSpendThreshold is no integer";
            }
        }

        tariff.Plans.TryGetValue(plan, out var tariffPlan);
        long? dataCap = null;
        if (RefJson.Member(obj, "dataCap") is { } c)
        {
            dataCap = RefJson.IntegerIn(c, long.MinValue, long.MaxValue);
            if (dataCap is null)
            {
                return "dataCap is no integer";
            }

            // "must be one of the plan's dataCapTiers" — checkable only when the plan is in the tariff.
            if (tariffPlan is not null && !tariffPlan.DataCapTiers.Contains(dataCap.Value))
            {
                return "dataCap is not one of the plan's dataCapTiers";
            }
        }

        if (RefJson.Member(obj, "language") is { } language && (language.ValueKind != JsonValueKind.String || language.GetString() is not ("zh" or "en")))
        {
            return "language is not zh or en";
        }

        if (RefJson.Member(obj, "reminders") is { } reminders && (reminders.ValueKind != JsonValueKind.String || reminders.GetString() is not ("on" or "off")))
        {
            return "reminders is not on or off";
        }

        if (RefJson.Member(obj, "channels") is { } channels
            && (channels.ValueKind != JsonValueKind.Array
                || channels.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String || x.GetString() is not ("sms" or "email" or "voice"))))
        {
            return "channels is not an array of sms, email, voice";
        }

        if (RefJson.Member(obj, "email") is { } email && email.ValueKind != JsonValueKind.String)
        {
            return "email is no string";
        }

        long? monthlyMinimum = null;
        if (RefJson.Member(obj, "monthlyMinimum") is { } mm)
        {
            monthlyMinimum = RefJson.IntegerIn(mm, 0, 1_000_000_000_000_000);
            if (monthlyMinimum is null)
            {
                return "monthlyMinimum is no integer 0–10^15";
            }

            // §2.2 / §7.6: it may raise the plan's scaled minimum but never lower it, checked against the tariff in force.
            if (tariffPlan is not null && monthlyMinimum < tariffPlan.ScaledMinimum)
            {
                return $"monthlyMinimum {monthlyMinimum} is below the plan's scaled minimum {tariffPlan.ScaledMinimum}";
            }
        }

        var services = new List<RefService>();
        if (RefJson.Member(obj, "services") is { } s)
        {
            if (s.ValueKind != JsonValueKind.Array)
            {
                return "services is no array";
            }

            if (s.GetArrayLength() > 16)
            {
                return "more than 16 services";
            }

            foreach (var item in s.EnumerateArray())
            {
                if (Service(item) is not { } service)
                {
                    return "a service breaks §2.2";
                }

                if (services.Any(x => x.Id == service.Id))
                {
                    return $"service id {service.Id} given twice";
                }

                services.Add(service);
            }
        }

        RefInstant? planEndsAt = null;
        if (RefJson.Member(obj, "planEndsAt") is { } e)
        {
            planEndsAt = RefInstant.Parse(e.ValueKind == JsonValueKind.String ? e.GetString() : null);
            if (planEndsAt is null)
            {
                return "planEndsAt is no instant";
            }
        }

        profile = new RefProfile(msisdn, plan, (int)cycleDay, prepaid, balance ?? 0, asOf, highSpend, dataCap, monthlyMinimum, services, planEndsAt);
        return null;
    }

    /// <summary>
    /// A service: <c>id</c> (1–32 of <c>A–Z a–z 0–9 . _ -</c>), <c>name</c> with non-empty strings <c>zh</c> and <c>en</c>,
    /// <c>price</c> 0–10^12, <c>orderedAt</c>, optional <c>cancelledAt</c> ≥ <c>orderedAt</c>.
    /// </summary>
    private static RefService? Service(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var id = RefJson.Member(item, "id") is { ValueKind: JsonValueKind.String } i ? i.GetString() : null;
        if (id is null || !ServiceId().IsMatch(id))
        {
            return null;
        }

        if (RefJson.Member(item, "name") is not { ValueKind: JsonValueKind.Object } name)
        {
            return null;
        }

        var zh = RefJson.Member(name, "zh") is { ValueKind: JsonValueKind.String } z ? z.GetString() : null;
        var en = RefJson.Member(name, "en") is { ValueKind: JsonValueKind.String } n ? n.GetString() : null;
        if (string.IsNullOrEmpty(zh) || string.IsNullOrEmpty(en))
        {
            return null;
        }

        if (RefJson.Member(item, "price") is not { } p || RefJson.IntegerIn(p, 0, 1_000_000_000_000) is not { } price)
        {
            return null;
        }

        var ordered = RefInstant.Parse(RefJson.Member(item, "orderedAt") is { ValueKind: JsonValueKind.String } o ? o.GetString() : null);
        if (ordered is null)
        {
            return null;
        }

        RefInstant? cancelled = null;
        if (RefJson.Member(item, "cancelledAt") is { } c)
        {
            cancelled = RefInstant.Parse(c.ValueKind == JsonValueKind.String ? c.GetString() : null);
            if (cancelled is null || cancelled.UtcTicks < ordered.UtcTicks)
            {
                return null;
            }
        }

        return new RefService(id, zh, en, price, ordered, cancelled);
    }

    /// <summary>The service's <c>name</c> as the vas-precharge notice carries it (§7.7).</summary>
    public static JsonObject NameOf(RefService s) => new() { ["zh"] = s.NameZh, ["en"] = s.NameEn };

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex ServiceId();
}
