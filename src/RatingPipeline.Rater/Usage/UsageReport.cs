using System.Buffers;
using System.Text;
using System.Text.Json;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Rater.Usage;

/// <summary>
/// A subscriber's current cycle as the usage query API answers it (<c>schemas/usage.schema.json</c>): made on the
/// rating thread from the profile, the state and the tariff in force at that moment (a copy: nothing in it changes
/// afterwards), written as JSON on the HTTP side.
/// </summary>
public sealed class UsageReport
{
    public required string Msisdn { get; init; }

    /// <summary>The <c>cdrs</c> partition the subscriber belongs to.</summary>
    public required int Partition { get; init; }

    /// <summary>Input offset (in <see cref="Partition"/>) of the last record applied to the state; -1 when none.</summary>
    public required long OffsetTag { get; init; }

    public required string TariffVersion { get; init; }

    public string? Currency { get; init; }

    /// <summary>The profile's plan.</summary>
    public required string Plan { get; init; }

    /// <summary>Whether the profile's plan is in the tariff in force (if not, its CDRs are rejected <c>unknown-plan</c>).</summary>
    public required bool PlanKnown { get; init; }

    /// <summary>The state's cycle (<c>yyyy-MM-dd</c>), null while the subscriber has no state yet.</summary>
    public string? Cycle { get; init; }

    /// <summary>The end of the state's cycle (the next cycle's start date), null without a state.</summary>
    public string? CycleEnd { get; init; }

    /// <summary>Voice, SMS, data: used, allowance and remaining, in the type's allowance unit.</summary>
    public required IReadOnlyList<TypeUsage> Usage { get; init; }

    /// <summary>Cycle spend S: CDR charges and fees (micros).</summary>
    public required long Spend { get; init; }

    /// <summary>Capped data charges D of the cycle (micros).</summary>
    public required long CappedDataCharges { get; init; }

    /// <summary>The subscriber's data cap K (profile, else the plan's default), null when none.</summary>
    public long? DataCap { get; init; }

    /// <summary>The high-spend threshold (profile, else plan), null when none.</summary>
    public long? HighSpendThreshold { get; init; }

    /// <summary>Prepaid balance figures, null for a postpaid profile.</summary>
    public PrepaidBalance? Prepaid { get; init; }

    public required FiredReminders Reminders { get; init; }

    public required IReadOnlyList<FeeLine> Fees { get; init; }

    public required IReadOnlyList<ServiceLine> Services { get; init; }

    /// <summary>The open previous cycle of the late grace (SPEC §7.11), null when none.</summary>
    public string? OpenPreviousCycle { get; init; }

    public static readonly string[] TypeNames = ["voice", "sms", "data"];

    public static readonly string[] UnitNames = ["seconds", "messages", "bytes"];

    /// <summary>
    /// The report of a subscriber: its profile, its state if it has one, the tariff in force. Reads the state as it is
    /// (the counters of the state's cycle; no clock is applied), so <see cref="OffsetTag"/> says which input it reflects.
    /// </summary>
    public static UsageReport Build(SubscriberProfile profile, bool hasState, in UsageState state, Tariff tariff, int partition)
    {
        var planKnown = tariff.TryGetPlan(profile.Plan, out var plan);
        var usage = new List<TypeUsage>(3);
        for (var type = 0; type < 3; type++)
        {
            long? allowance = planKnown ? plan.Allowance((CdrType)type) : null;
            var used = hasState ? state.Counters.Used[type] : 0;
            var thresholds = new List<long>();
            if (hasState && planKnown)
            {
                foreach (var t in plan.ReminderThresholds)
                {
                    if (state.Counters.HasFired((CdrType)type, t))
                    {
                        thresholds.Add(t);
                    }
                }
            }

            usage.Add(new TypeUsage(TypeNames[type], UnitNames[type], used, allowance,
                allowance is { } a ? Math.Max(0, a - used) : null, thresholds));
        }

        var cycleStart = hasState ? state.CycleDay : 0;
        var cycleEnd = hasState ? BillingCycle.EndDay(cycleStart, profile.CycleDay) : 0;
        var services = new List<ServiceLine>(profile.Services.Count);
        foreach (var service in profile.Services)
        {
            services.Add(Service(service, hasState, in state, tariff, cycleEnd));
        }

        var dataCap = profile.DataCap ?? (planKnown ? plan.DefaultDataCap : null);
        return new UsageReport
        {
            Msisdn = profile.Msisdn,
            Partition = partition,
            OffsetTag = hasState ? state.OffsetTag : -1,
            TariffVersion = tariff.Version,
            Currency = tariff.Currency,
            Plan = profile.Plan,
            PlanKnown = planKnown,
            Cycle = hasState ? BillingCycle.ToText(cycleStart) : null,
            CycleEnd = hasState ? BillingCycle.ToText(cycleEnd) : null,
            Usage = usage,
            Spend = hasState ? state.Counters.Spend : 0,
            CappedDataCharges = hasState ? state.Counters.Capped : 0,
            DataCap = dataCap,
            HighSpendThreshold = profile.HighSpendThreshold ?? (planKnown ? plan.HighSpendThreshold : null),
            Prepaid = profile.Prepaid ? PrepaidOf(profile, hasState, in state, planKnown ? plan.LowBalanceThreshold : null) : null,
            Reminders = new FiredReminders(
                hasState && state.Counters.DataCapFired,
                hasState && state.Counters.HighSpendFired,
                profile.Prepaid && hasState && state.PrepaidTracked && state.PrepaidAsOfTicks == profile.BalanceAsOfTicks && state.LowBalanceFired),
            Fees = hasState ? [.. state.Fees.ToArray().Select(f => new FeeLine(
                f.Kind == FeeKind.Monthly ? "monthly" : "service",
                f.Kind == FeeKind.Service ? NameTable.Services[f.ServiceId] : null,
                f.Amount))] : [],
            Services = services,
            OpenPreviousCycle = hasState && state.Previous is { } previous ? BillingCycle.ToText(previous.Cycle) : null,
        };
    }

    /// <summary>
    /// Remaining = balance − charges since <c>balanceAsOf</c>; a profile whose <c>balanceAsOf</c> the state does not
    /// count from yet (a new top-up not seen by an event) has no charges since it (SPEC §4 step 8).
    /// </summary>
    private static PrepaidBalance PrepaidOf(SubscriberProfile profile, bool hasState, in UsageState state, long? lowBalanceThreshold)
    {
        var charges = hasState && state.PrepaidTracked && state.PrepaidAsOfTicks == profile.BalanceAsOfTicks ? state.PrepaidCharges : 0;
        return new PrepaidBalance(profile.Balance, profile.BalanceAsOf ?? "", charges, profile.Balance - charges, lowBalanceThreshold);
    }

    /// <summary>
    /// A service's next charge (SPEC §7.4, §7.5): its first charge at due = <c>orderedAt</c> + <c>vasNoticeLeadHours</c>
    /// while that item is still ahead of the state's clock mark and not charged; otherwise at the start of the next
    /// cycle. None when the service is cancelled at that instant.
    /// </summary>
    private static ServiceLine Service(SubscribedService service, bool hasState, in UsageState state, Tariff tariff, int cycleEnd)
    {
        var charged = hasState && state.Extras is { } extras && extras.HasFee(service.NameId);
        var dueTicks = service.OrderedAtTicks + tariff.Schedule.VasNoticeLeadTicks;
        var buffer = new byte[48];
        string? next;
        long nextTicks;
        var mark = !hasState ? long.MinValue
            : state.Mark == UsageState.NoMark ? BillingCycle.StartTicks(state.CycleDay, tariff.UtcOffsetTicks) - 1 : state.Mark;
        if (!charged && dueTicks > mark)
        {
            nextTicks = dueTicks;
            next = Encoding.ASCII.GetString(buffer, 0, Instant.WriteShifted(Encoding.ASCII.GetBytes(service.OrderedAt), tariff.Schedule.VasNoticeLeadHours, buffer));
        }
        else
        {
            nextTicks = BillingCycle.StartTicks(cycleEnd, tariff.UtcOffsetTicks);
            next = Encoding.ASCII.GetString(buffer, 0, Instant.WriteLocalMidnight(cycleEnd, Encoding.ASCII.GetBytes(tariff.UtcOffset), buffer));
        }

        if (service.IsCancelledAt(nextTicks))
        {
            next = null;
        }

        return new ServiceLine(service.Id, service.NameZh, service.NameEn, service.Price, service.OrderedAt, service.CancelledAt, charged, next);
    }

    /// <summary>The answer's JSON (<c>schemas/usage.schema.json</c>).</summary>
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("msisdn", Msisdn);
            w.WriteNumber("partition", Partition);
            w.WriteNumber("offsetTag", OffsetTag);
            w.WriteString("tariffVersion", TariffVersion);
            WriteNullable(w, "currency", Currency);
            w.WriteString("plan", Plan);
            w.WriteBoolean("planKnown", PlanKnown);
            WriteNullable(w, "cycle", Cycle);
            WriteNullable(w, "cycleEnd", CycleEnd);
            w.WriteStartObject("usage");
            foreach (var u in Usage)
            {
                w.WriteStartObject(u.Type);
                w.WriteString("unit", u.Unit);
                w.WriteNumber("used", u.Used);
                WriteNullable(w, "allowance", u.Allowance);
                WriteNullable(w, "remaining", u.Remaining);
                w.WriteStartArray("remindersFired");
                foreach (var t in u.RemindersFired)
                {
                    w.WriteNumberValue(t);
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteNumber("spend", Spend);
            WriteNullable(w, "highSpendThreshold", HighSpendThreshold);
            w.WriteStartObject("data");
            w.WriteNumber("cappedCharges", CappedDataCharges);
            WriteNullable(w, "cap", DataCap);
            WriteNullable(w, "capRemaining", DataCap is { } cap ? Math.Max(0, cap - CappedDataCharges) : null);
            w.WriteEndObject();
            if (Prepaid is { } p)
            {
                w.WriteStartObject("prepaid");
                w.WriteNumber("balance", p.Balance);
                w.WriteString("balanceAsOf", p.BalanceAsOf);
                w.WriteNumber("chargesSince", p.ChargesSince);
                w.WriteNumber("remaining", p.Remaining);
                WriteNullable(w, "lowBalanceThreshold", p.LowBalanceThreshold);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("prepaid");
            }

            w.WriteStartObject("reminders");
            w.WriteBoolean("dataCap", Reminders.DataCap);
            w.WriteBoolean("highSpend", Reminders.HighSpend);
            w.WriteBoolean("lowBalance", Reminders.LowBalance);
            w.WriteEndObject();
            w.WriteStartArray("fees");
            foreach (var f in Fees)
            {
                w.WriteStartObject();
                w.WriteString("fee", f.Fee);
                WriteNullable(w, "serviceId", f.ServiceId);
                w.WriteNumber("amount", f.Amount);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("services");
            foreach (var s in Services)
            {
                w.WriteStartObject();
                w.WriteString("id", s.Id);
                w.WriteStartObject("name");
                w.WriteString("zh", s.NameZh);
                w.WriteString("en", s.NameEn);
                w.WriteEndObject();
                w.WriteNumber("price", s.Price);
                w.WriteString("orderedAt", s.OrderedAt);
                WriteNullable(w, "cancelledAt", s.CancelledAt);
                w.WriteBoolean("chargedThisCycle", s.ChargedThisCycle);
                WriteNullable(w, "nextChargeAt", s.NextChargeAt);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            WriteNullable(w, "openPreviousCycle", OpenPreviousCycle);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}

/// <summary>One type's usage in its allowance unit (voice seconds, SMS messages, data bytes); thresholds fired this cycle.</summary>
public sealed record TypeUsage(string Type, string Unit, long Used, long? Allowance, long? Remaining, IReadOnlyList<long> RemindersFired);

/// <summary>Prepaid figures: balance at <c>balanceAsOf</c>, charges since, remaining, the low-balance threshold.</summary>
public sealed record PrepaidBalance(long Balance, string BalanceAsOf, long ChargesSince, long Remaining, long? LowBalanceThreshold);

/// <summary>The once-per-cycle reminders fired (low balance: once per <c>balanceAsOf</c>).</summary>
public sealed record FiredReminders(bool DataCap, bool HighSpend, bool LowBalance);

/// <summary>A fee charged in the cycle.</summary>
public sealed record FeeLine(string Fee, string? ServiceId, long Amount);

/// <summary>A monthly service of the profile, whether it was charged this cycle and its next charge (null: none, cancelled).</summary>
public sealed record ServiceLine(string Id, string NameZh, string NameEn, long Price, string OrderedAt, string? CancelledAt, bool ChargedThisCycle, string? NextChargeAt);
