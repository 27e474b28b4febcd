using System.Text.Json;
using RatingPipeline.Json;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Tests.ProfileReading;

/// <summary>
/// The profile reading the product had before its single-pass reader: the strict document check, then a
/// <see cref="JsonDocument"/> read member by member. Kept as the reference the single-pass reader is compared with
/// (verdicts, messages, values) and measured against; not used by the product.
/// </summary>
public static class DocumentProfileReader
{
    /// <summary>
    /// Parses and validates one profile. Returns null and an error for a profile that breaks the rules; a
    /// <c>dataCap</c> is checked against the plan's tiers when the plan is in <paramref name="tariff"/>.
    /// </summary>
    public static SubscriberProfile? TryParse(ReadOnlySpan<byte> utf8, Tariff? tariff, out string error)
    {
        if (!StrictJson.TryCheck(utf8, out error))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray(), StrictJson.DocumentOptions);
            return Parse(document.RootElement, tariff);
        }
        catch (ProfileException e)
        {
            error = e.Message;
            return null;
        }
        catch (JsonException e)
        {
            error = e.Message;
            return null;
        }
    }

    private static SubscriberProfile Parse(JsonElement root, Tariff? tariff)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ProfileException("profile must be a JSON object");
        }

        var msisdn = String(root, "msisdn") ?? throw new ProfileException("msisdn is required");
        if (!RatingPipeline.Records.MsisdnKey.TryCompute(msisdn, out var key))
        {
            throw new ProfileException("msisdn must be 5-15 ASCII digits");
        }

        var plan = String(root, "plan") ?? throw new ProfileException("plan is required");
        var cycleDay = Integer(root, "cycleDay", 1, 28) ?? throw new ProfileException("cycleDay is required");
        var prepaid = Bool(root, "prepaid") ?? false;
        var balance = Integer(root, "balance", long.MinValue, long.MaxValue);
        var balanceAsOf = String(root, "balanceAsOf");
        long asOfTicks = 0;
        if (balanceAsOf is not null && !Instant.TryParse(balanceAsOf, out asOfTicks))
        {
            throw new ProfileException("balanceAsOf must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)");
        }

        if (prepaid && (balance is null || balanceAsOf is null))
        {
            throw new ProfileException("a prepaid profile needs balance and balanceAsOf");
        }

        var highSpend = Integer(root, "highSpendThreshold", 0, long.MaxValue);
        var dataCap = Integer(root, "dataCap", 0, long.MaxValue);
        if (dataCap is { } cap && tariff is not null && tariff.TryGetPlan(plan, out var ratePlan) && !ratePlan.DataCapTiers.Contains(cap))
        {
            throw new ProfileException($"dataCap {cap} is not one of plan {plan}'s dataCapTiers");
        }

        var language = String(root, "language") ?? "zh";
        if (language is not ("zh" or "en"))
        {
            throw new ProfileException("language must be \"zh\" or \"en\"");
        }

        var reminders = String(root, "reminders") ?? "on";
        if (reminders is not ("on" or "off"))
        {
            throw new ProfileException("reminders must be \"on\" or \"off\"");
        }

        IReadOnlyList<string> channels = ["sms"];
        if (root.TryGetProperty("channels", out var c) && c.ValueKind != JsonValueKind.Null)
        {
            if (c.ValueKind != JsonValueKind.Array)
            {
                throw new ProfileException("channels must be an array of \"sms\", \"email\", \"voice\"");
            }

            var list = new List<string>();
            foreach (var item in c.EnumerateArray())
            {
                var name = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
                if (name is not ("sms" or "email" or "voice"))
                {
                    throw new ProfileException("channels must be an array of \"sms\", \"email\", \"voice\"");
                }

                if (!list.Contains(name))
                {
                    list.Add(name);
                }
            }

            if (list.Count == 0)
            {
                throw new ProfileException("channels must name at least one channel (omit it for the default [\"sms\"])");
            }

            channels = list;
        }

        var email = String(root, "email");
        var monthlyMinimum = Integer(root, "monthlyMinimum", 0, 1_000_000_000_000_000);
        if (monthlyMinimum is { } own && tariff is not null && tariff.TryGetPlan(plan, out var minimumPlan) && own < minimumPlan.ScaledMinimum)
        {
            throw new ProfileException(
                $"monthlyMinimum {own} is below plan {plan}'s scaled minimum {minimumPlan.ScaledMinimum}: a profile may raise the minimum, never lower it");
        }

        var services = ParseServices(root);
        var planEndsAt = String(root, "planEndsAt");
        long planEndsTicks = 0;
        if (planEndsAt is not null && !Instant.TryParse(planEndsAt, out planEndsTicks))
        {
            throw new ProfileException("planEndsAt must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)");
        }

        return new SubscriberProfile
        {
            Msisdn = msisdn,
            MsisdnKey = key,
            MsisdnUtf8 = System.Text.Encoding.UTF8.GetBytes(msisdn),
            PlanNameId = NameTable.Plans.Intern(plan),
            Plan = plan,
            CycleDay = (int)cycleDay,
            Prepaid = prepaid,
            Balance = prepaid ? balance!.Value : 0,
            BalanceAsOf = prepaid ? balanceAsOf : null,
            BalanceAsOfTicks = prepaid ? asOfTicks : 0,
            BalanceAsOfUtf8 = prepaid ? System.Text.Encoding.UTF8.GetBytes(balanceAsOf!) : [],
            HighSpendThreshold = highSpend,
            DataCap = dataCap,
            Language = language,
            RemindersOn = reminders == "on",
            Channels = channels,
            Email = email,
            MonthlyMinimum = monthlyMinimum,
            Services = services,
            PlanEndsAt = planEndsAt,
            PlanEndsAtTicks = planEndsTicks,
            PlanEndsAtUtf8 = planEndsAt is null ? [] : System.Text.Encoding.UTF8.GetBytes(planEndsAt),
        };
    }

    private static SubscribedService[] ParseServices(JsonElement root)
    {
        if (!root.TryGetProperty("services", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new ProfileException("services must be an array of service objects");
        }

        if (array.GetArrayLength() > SubscriberProfile.MaxServices)
        {
            throw new ProfileException($"services may list at most {SubscriberProfile.MaxServices} services");
        }

        var services = new List<SubscribedService>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var path = $"services[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new ProfileException($"{path} must be an object");
            }

            var id = Member(() => String(item, "id"), path) ?? throw new ProfileException($"{path}.id is required");
            if (!SubscribedService.IsValidId(id))
            {
                throw new ProfileException($"{path}.id must be 1-32 characters from A-Z a-z 0-9 . _ -");
            }

            if (services.Exists(s => s.Id == id))
            {
                throw new ProfileException($"{path}.id \"{id}\" is listed twice");
            }

            if (!item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.Object)
            {
                throw new ProfileException($"{path}.name must be an object with non-empty strings zh and en");
            }

            var zh = Member(() => String(name, "zh"), $"{path}.name");
            var en = Member(() => String(name, "en"), $"{path}.name");
            if (string.IsNullOrEmpty(zh) || string.IsNullOrEmpty(en))
            {
                throw new ProfileException($"{path}.name must be an object with non-empty strings zh and en");
            }

            var price = Member(() => Integer(item, "price", 0, 1_000_000_000_000), path)
                ?? throw new ProfileException($"{path}.price is required");
            var orderedAt = Member(() => String(item, "orderedAt"), path) ?? throw new ProfileException($"{path}.orderedAt is required");
            if (!Instant.TryParse(orderedAt, out var orderedTicks))
            {
                throw new ProfileException($"{path}.orderedAt must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)");
            }

            var cancelledAt = Member(() => String(item, "cancelledAt"), path);
            var cancelledTicks = long.MaxValue;
            if (cancelledAt is not null)
            {
                if (!Instant.TryParse(cancelledAt, out cancelledTicks))
                {
                    throw new ProfileException($"{path}.cancelledAt must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)");
                }

                if (cancelledTicks < orderedTicks)
                {
                    throw new ProfileException($"{path}.cancelledAt must not be before orderedAt");
                }
            }

            services.Add(new SubscribedService(id, zh, en, price, orderedAt, orderedTicks, cancelledAt, cancelledTicks));
        }

        return [.. services];
    }

    /// <summary>Reads one member of a nested object, naming the path in the refusal.</summary>
    private static T Member<T>(Func<T> read, string path)
    {
        try
        {
            return read();
        }
        catch (ProfileException e)
        {
            throw new ProfileException($"{path}.{e.Message}");
        }
    }

    private static string? String(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new ProfileException($"{name} must be a string");
    }

    private static bool? Bool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new ProfileException($"{name} must be true or false"),
        };
    }

    private static long? Integer(JsonElement root, string name, long min, long max)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var raw = value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "";
        var digits = raw.StartsWith('-') ? raw[1..] : raw;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) || !value.TryGetInt64(out var n) || n < min || n > max)
        {
            throw new ProfileException(min == long.MinValue
                ? $"{name} must be a 64-bit integer"
                : max == long.MaxValue ? $"{name} must be an integer ≥ {min}" : $"{name} must be an integer {min}..{max}");
        }

        return n;
    }

    private sealed class ProfileException(string message) : Exception(message);
}
