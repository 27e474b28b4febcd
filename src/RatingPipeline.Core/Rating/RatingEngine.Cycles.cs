using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Rating;

/// <summary>
/// The time-driven half of the engine (SPEC §7): clocks, events, advancing a state through cycle ends and the
/// services' notice and charge items, opening cycles with their fees, closing cycles with their bills, the late
/// grace's open previous cycle, and the account notices.
/// </summary>
public sealed partial class RatingEngine
{
    /// <summary>Longest fee record id: msisdn (15) + cycle (≥ 10) + ":fee:service:" + service id (32), with room.</summary>
    private const int FeeIdMax = 96;

    /// <summary>Longest instant as written (33 bytes), with room for a five-digit year.</summary>
    private const int InstantMax = 40;

    /// <summary>
    /// Applies a clock at <paramref name="at"/> to every subscriber of the clock group that has a profile whose plan is in
    /// the tariff, one after another in ascending msisdn order (SPEC §7.1, §7.4).
    /// </summary>
    private void ApplyClock<TSink>(long at, ReadOnlySpan<byte> atText, ref TSink sink, long offset, int clockGroup)
        where TSink : struct, IRatingSink
    {
        if (!_groups.TryGetValue(clockGroup, out var group))
        {
            return;
        }

        var tariff = Tariff;
        foreach (var key in group.InMsisdnOrder(_subscribers))
        {
            var profile = _subscribers.ProfileOf(key)!;
            var plan = profile.ResolvePlan(tariff);
            if (plan is null)
            {
                continue; // a plan not in the tariff: nothing changes for this subscriber
            }

            ApplyClock(key, new Context(profile, plan, tariff), at, atText, ref sink, offset);
        }
    }

    private void ApplyClock<TSink>(ulong key, in Context context, long at, ReadOnlySpan<byte> atText, ref TSink sink, long offset)
        where TSink : struct, IRatingSink
    {
        ref var state = ref _subscribers.GetOrAddState(key, out var exists);
        if (!exists)
        {
            // A new state in the cycle containing T, advanced to T (nothing charged for its first cycle's start).
            var cycle = BillingCycle.StartDay(at, context.Tariff.UtcOffsetTicks, context.Profile.CycleDay);
            NewState(ref state, in context, cycle, at);
        }
        else
        {
            if (offset >= 0 && offset <= state.OffsetTag)
            {
                return; // applied before a restart
            }

            if (at <= EffectiveMark(in state, context.Tariff))
            {
                return; // a repeated or late clock: a no-op that touches nothing
            }

            StartEvent(ref state, in context, ref sink, at, atText, default, hasRecordId: false);
        }

        Advance(ref state, in context, ref sink, at);
        PlanExpiryCheck(ref state, in context, ref sink, at, atText);
        if (offset >= 0)
        {
            state.OffsetTag = offset;
        }

        ChangedStates?.Add(key);
    }

    /// <summary>M, with "none" meaning just before the start of the state's cycle.</summary>
    private static long EffectiveMark(in UsageState state, Tariff tariff) =>
        state.Mark != UsageState.NoMark ? state.Mark : BillingCycle.StartTicks(state.CycleDay, tariff.UtcOffsetTicks) - 1;

    /// <summary>
    /// Makes <paramref name="state"/> a new state (SPEC §7.2): in <paramref name="cycle"/>, under the profile's plan, M
    /// none, τ the record's instant. Written in place: a state returned by value is a 600-byte temporary that the
    /// caller's every call zeroes and copies.
    /// </summary>
    private static void NewState(ref UsageState state, in Context context, int cycle, long at)
    {
        var profile = context.Profile;
        UsageState.Initialize(ref state);
        state.HasCycle = true;
        state.CycleDay = cycle;
        state.PlanId = profile.PlanNameId;
        state.StreamTime = at;
        if (profile.Prepaid)
        {
            state.PrepaidTracked = true;
            state.PrepaidAsOfTicks = profile.BalanceAsOfTicks;
        }
    }

    /// <summary>
    /// The start of an event (SPEC §7.3): stream time (which may close the open previous cycle), the plan-change
    /// notice, and the prepaid re-arm.
    /// </summary>
    private void StartEvent<TSink>(ref UsageState state, in Context context, ref TSink sink, long at, ReadOnlySpan<byte> atText,
        ReadOnlySpan<byte> recordId, bool hasRecordId)
        where TSink : struct, IRatingSink
    {
        var profile = context.Profile;
        if (at > state.StreamTime)
        {
            state.StreamTime = at;
        }

        if (state.Previous is { } previous && state.StreamTime >= previous.CloseTicks)
        {
            ClosePrevious(ref state, previous, profile, ref sink);
        }

        if (state.PlanId != profile.PlanNameId)
        {
            if (state.PlanId != UsageState.UnknownPlan)
            {
                PlanChangeNotice(state.PlanId, state.CycleDay, in context, ref sink, atText, recordId, hasRecordId);
            }

            // A state restored from a record that did not keep its plan adopts the profile's without a notice.
            state.PlanId = profile.PlanNameId;
        }

        if (profile.Prepaid && (!state.PrepaidTracked || state.PrepaidAsOfTicks != profile.BalanceAsOfTicks))
        {
            // A new balanceAsOf re-arms the low-balance reminder and restarts the charges since it.
            state.PrepaidTracked = true;
            state.PrepaidAsOfTicks = profile.BalanceAsOfTicks;
            state.PrepaidCharges = 0;
            state.LowBalanceFired = false;
        }
    }

    /// <summary>The plan-change notice (SPEC §7.3). Rare, so kept out of line: its event record would otherwise sit, zeroed, in the frame of every rated record.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PlanChangeNotice<TSink>(int fromPlan, int cycle, in Context context, ref TSink sink, ReadOnlySpan<byte> atText,
        ReadOnlySpan<byte> recordId, bool hasRecordId)
        where TSink : struct, IRatingSink
    {
        var reminder = Notice(ReminderKind.PlanChange, context.Profile, cycle, atText);
        reminder.CdrId = recordId;
        reminder.HasCdrId = hasRecordId;
        reminder.PlanFrom = NameTable.Plans.Utf8(fromPlan);
        reminder.PlanTo = context.Plan.IdUtf8;
        reminder.HasMonthlyFee = context.Plan.MonthlyFee.HasValue;
        reminder.MonthlyFee = context.Plan.MonthlyFee ?? 0;
        reminder.Trigger = hasRecordId ? recordId : atText;
        sink.Reminder(in reminder);
    }

    /// <summary>
    /// Advances a state to <paramref name="to"/> (SPEC §7.4): the services' notice and charge items after M up to T, in
    /// instant order, and every cycle end up to T (at most 12), then M = max(M, T).
    /// </summary>
    [SkipLocalsInit]
    private void Advance<TSink>(ref UsageState state, in Context context, ref TSink sink, long to)
        where TSink : struct, IRatingSink
    {
        var profile = context.Profile;
        var tariff = context.Tariff;
        var services = profile.Services;
        var lead = tariff.Schedule.VasNoticeLeadTicks;

        // The pending items, sorted by (instant, notice before charge, index): at most two per service.
        Span<PendingItem> items = stackalloc PendingItem[2 * SubscriberProfile.MaxServices];
        var count = 0;
        var after = EffectiveMark(in state, tariff);
        for (var i = 0; i < services.Count; i++)
        {
            var ordered = services[i].OrderedAtTicks;
            if (ordered > after && ordered <= to)
            {
                Insert(items, ref count, new PendingItem(ordered, 0, i));
            }

            var due = ordered + lead;
            if (due > after && due <= to)
            {
                Insert(items, ref count, new PendingItem(due, 1, i));
            }
        }

        var next = 0;
        var ends = 0;
        while (true)
        {
            var end = BillingCycle.EndDay(state.CycleDay, profile.CycleDay);
            var endTicks = BillingCycle.StartTicks(end, tariff.UtcOffsetTicks);
            if (endTicks <= to && (next == count || items[next].At >= endTicks))
            {
                EndCycle(ref state, in context, ref sink, end);
                var open = end;
                if (++ends == MaxCycleEndsPerAdvance)
                {
                    // The bound: open the cycle containing T; the cycles in between and their items are skipped.
                    open = BillingCycle.StartDay(to, tariff.UtcOffsetTicks, profile.CycleDay);
                    var openTicks = BillingCycle.StartTicks(open, tariff.UtcOffsetTicks);
                    while (next < count && items[next].At < openTicks)
                    {
                        next++;
                    }
                }

                OpenCycle(ref state, in context, ref sink, open);
                continue;
            }

            if (next < count)
            {
                var item = items[next++];
                var service = services[item.Index];
                if (!service.IsCancelledAt(item.At))
                {
                    if (item.Order == 0)
                    {
                        PrechargeNotice(ref state, in context, ref sink, service);
                    }
                    else
                    {
                        Span<byte> start = stackalloc byte[InstantMax];
                        var length = Instant.WriteShifted(service.OrderedAtUtf8, tariff.Schedule.VasNoticeLeadHours, start);
                        FeeCharge(ref state, in context, ref sink, FeeKind.Service, service, service.Price, item.At, start[..length]);
                    }
                }

                continue;
            }

            break;
        }

        if (state.Mark == UsageState.NoMark || to > state.Mark)
        {
            state.Mark = to;
        }
    }

    private static void Insert(Span<PendingItem> items, ref int count, PendingItem item)
    {
        var i = count++;
        while (i > 0 && item.CompareTo(items[i - 1]) < 0)
        {
            items[i] = items[i - 1];
            i--;
        }

        items[i] = item;
    }

    /// <summary>
    /// Ends the state's cycle (SPEC §7.6, §7.11): an open previous cycle is closed first; the ending cycle's bill
    /// members are fixed; it is closed at once when τ has passed its end plus the grace, else kept open.
    /// </summary>
    private void EndCycle<TSink>(ref UsageState state, in Context context, ref TSink sink, int end)
        where TSink : struct, IRatingSink
    {
        var profile = context.Profile;
        var tariff = context.Tariff;
        if (state.Previous is { } open)
        {
            ClosePrevious(ref state, open, profile, ref sink);
        }

        var minimum = Math.Max(context.Plan.ScaledMinimum, profile.MonthlyMinimum ?? 0);
        var closeTicks = BillingCycle.StartTicks(end, tariff.UtcOffsetTicks) + tariff.Schedule.LateGraceTicks;
        if (state.StreamTime >= closeTicks)
        {
            WriteBill(ref sink, profile, state.CycleDay, end, context.Plan.IdUtf8, tariff.VersionUtf8, minimum, in state.Counters, state.Fees);
            return;
        }

        var extras = state.EnsureExtras();
        var previous = extras.Previous ??= new PreviousCycle();
        previous.IsOpen = true;
        previous.Cycle = state.CycleDay;
        previous.CloseTicks = closeTicks;
        previous.CycleEnd = end;
        previous.PlanId = state.PlanId;
        previous.TariffVersionId = tariff.VersionNameId;
        previous.Minimum = minimum;
        previous.Counters = state.Counters;
        previous.Fees.Clear();
        previous.Fees.AddRange(extras.Fees);
    }

    private static void ClosePrevious<TSink>(ref UsageState state, PreviousCycle previous, SubscriberProfile profile, ref TSink sink)
        where TSink : struct, IRatingSink
    {
        WriteBill(ref sink, profile, previous.Cycle, previous.CycleEnd, NameTable.Plans.Utf8(previous.PlanId),
            NameTable.TariffVersions.Utf8(previous.TariffVersionId), previous.Minimum, in previous.Counters,
            CollectionsMarshal.AsSpan(previous.Fees));
        previous.IsOpen = false;
        previous.Fees.Clear();
        previous.Counters = default;
    }

    private static void WriteBill<TSink>(ref TSink sink, SubscriberProfile profile, int cycle, int cycleEnd, ReadOnlySpan<byte> plan,
        ReadOnlySpan<byte> tariffVersion, long minimum, in CycleCounters counters, ReadOnlySpan<FeeEntry> fees)
        where TSink : struct, IRatingSink
    {
        long usage = 0;
        for (var t = 0; t < 3; t++)
        {
            usage = SaturatingAdd(usage, counters.Charges[t]);
        }

        long feeCharge = 0;
        foreach (var fee in fees)
        {
            feeCharge = SaturatingAdd(feeCharge, fee.Amount);
        }

        var topUp = Math.Max(0, SaturatingAdd(minimum, -usage));
        var bill = new BillRecord
        {
            Msisdn = profile.MsisdnUtf8,
            MsisdnKey = profile.MsisdnKey,
            CycleDay = cycle,
            CycleEnd = cycleEnd,
            Plan = plan,
            TariffVersion = tariffVersion,
            Counters = counters,
            Fees = fees,
            UsageCharge = usage,
            FeeCharge = feeCharge,
            Minimum = minimum,
            TopUp = topUp,
            Total = SaturatingAdd(SaturatingAdd(usage, feeCharge), topUp),
        };
        sink.Bill(in bill);
    }

    /// <summary>
    /// Opens cycle <paramref name="cycle"/> (SPEC §7.5): fresh counters and fee list, then at its start the plan's
    /// monthly fee and each service due before it and not cancelled at it, in array order.
    /// </summary>
    [SkipLocalsInit]
    private void OpenCycle<TSink>(ref UsageState state, in Context context, ref TSink sink, int cycle)
        where TSink : struct, IRatingSink
    {
        var tariff = context.Tariff;
        state.CycleDay = cycle;
        state.Counters = default;
        state.Extras?.Fees.Clear();

        var at = BillingCycle.StartTicks(cycle, tariff.UtcOffsetTicks);
        Span<byte> start = stackalloc byte[InstantMax];
        var startText = start[..Instant.WriteLocalMidnight(cycle, tariff.UtcOffsetUtf8, start)];
        if (context.Plan.MonthlyFee is { } monthlyFee)
        {
            FeeCharge(ref state, in context, ref sink, FeeKind.Monthly, null, monthlyFee, at, startText);
        }

        var lead = tariff.Schedule.VasNoticeLeadTicks;
        var services = context.Profile.Services;
        for (var i = 0; i < services.Count; i++) // by index: a foreach over the interface would allocate an enumerator
        {
            var service = services[i];
            if (service.OrderedAtTicks + lead < at && !service.IsCancelledAt(at))
            {
                FeeCharge(ref state, in context, ref sink, FeeKind.Service, service, service.Price, at, startText);
            }
        }
    }

    /// <summary>
    /// A fee charge of <paramref name="amount"/> at <paramref name="at"/> in the state's cycle (SPEC §7.5): once per
    /// service per cycle; it adds to S (and the prepaid charges from balanceAsOf on), writes the fee record, then the
    /// high-spend and (prepaid, amount &gt; 0) low-balance reminders.
    /// </summary>
    [SkipLocalsInit]
    private void FeeCharge<TSink>(ref UsageState state, in Context context, ref TSink sink, FeeKind kind, SubscribedService? service,
        long amount, long at, ReadOnlySpan<byte> startText)
        where TSink : struct, IRatingSink
    {
        var extras = state.EnsureExtras();
        if (service is not null && extras.HasFee(service.NameId))
        {
            return; // a service is charged at most once per cycle
        }

        var profile = context.Profile;
        extras.Fees.Add(new FeeEntry(kind, service?.NameId ?? -1, amount));
        state.Counters.Spend = SaturatingAdd(state.Counters.Spend, amount);
        if (profile.Prepaid && at >= profile.BalanceAsOfTicks)
        {
            state.PrepaidCharges = SaturatingAdd(state.PrepaidCharges, amount);
        }

        Span<byte> id = stackalloc byte[FeeIdMax];
        var idLength = FeeId(profile.MsisdnUtf8, state.CycleDay, kind, service is null ? default : service.IdUtf8, id);
        var record = new RatedCdr
        {
            Id = id[..idLength],
            Msisdn = profile.MsisdnUtf8,
            MsisdnKey = profile.MsisdnKey,
            Start = startText,
            StartTicks = at,
            CycleDay = state.CycleDay,
            Plan = context.Plan.IdUtf8,
            TariffVersion = context.Tariff.VersionUtf8,
            Charge = amount,
            ZeroRuleIndex = -1,
            VisitedMcc = -1,
            SpendAfter = state.Counters.Spend,
            IsFee = true,
            FeeKind = kind,
            ServiceId = service is null ? default : service.IdUtf8,
        };
        sink.Rated(in record);

        var reminder = new ReminderEvent
        {
            Msisdn = profile.MsisdnUtf8,
            MsisdnKey = profile.MsisdnKey,
            CycleDay = state.CycleDay,
            CdrId = id[..idLength],
            HasCdrId = true,
            At = startText,
        };
        HighSpendReminder(ref sink, ref state.Counters, in context, ref reminder);
        if (amount > 0)
        {
            LowBalanceReminder(ref sink, ref state, in context, ref reminder);
        }
    }

    /// <summary>The fee record's id: <c>msisdn:cycle:fee:monthly</c> or <c>msisdn:cycle:fee:service:SERVICEID</c>.</summary>
    public static int FeeId(ReadOnlySpan<byte> msisdn, int cycle, FeeKind kind, ReadOnlySpan<byte> serviceId, Span<byte> destination)
    {
        var n = 0;
        msisdn.CopyTo(destination);
        n += msisdn.Length;
        destination[n++] = (byte)':';
        n += BillingCycle.Format(cycle, destination[n..]);
        var tail = kind == FeeKind.Monthly ? ":fee:monthly"u8 : ":fee:service:"u8;
        tail.CopyTo(destination[n..]);
        n += tail.Length;
        if (kind == FeeKind.Service)
        {
            serviceId.CopyTo(destination[n..]);
            n += serviceId.Length;
        }

        return n;
    }

    /// <summary>The <c>vas-precharge</c> notice at a service's notice item (SPEC §7.7).</summary>
    [SkipLocalsInit]
    private static void PrechargeNotice<TSink>(ref UsageState state, in Context context, ref TSink sink, SubscribedService service)
        where TSink : struct, IRatingSink
    {
        Span<byte> chargeAt = stackalloc byte[InstantMax];
        var length = Instant.WriteShifted(service.OrderedAtUtf8, context.Tariff.Schedule.VasNoticeLeadHours, chargeAt);
        scoped var reminder = Notice(ReminderKind.VasPrecharge, context.Profile, state.CycleDay, service.OrderedAtUtf8);
        reminder.ServiceId = service.IdUtf8;
        reminder.NameZh = service.NameZhUtf8;
        reminder.NameEn = service.NameEnUtf8;
        reminder.Amount = service.Price;
        reminder.ChargeAt = chargeAt[..length];
        sink.Reminder(in reminder);
    }

    /// <summary>
    /// After a clock's advance (SPEC §7.7): <c>plan-expiry</c> when the plan ends within the notice window after T and
    /// that end was not noticed before.
    /// </summary>
    private static void PlanExpiryCheck<TSink>(ref UsageState state, in Context context, ref TSink sink, long at, ReadOnlySpan<byte> atText)
        where TSink : struct, IRatingSink
    {
        var profile = context.Profile;
        if (profile.PlanEndsAt is null)
        {
            return;
        }

        var ends = profile.PlanEndsAtTicks;
        if (at < ends - context.Tariff.Schedule.PlanExpiryNoticeTicks || at >= ends)
        {
            return;
        }

        var noticed = XxHash3.HashToUInt64(profile.PlanEndsAtUtf8) | 1; // never 0, which means none
        if (state.PlanEndsNoticed == noticed)
        {
            return;
        }

        state.PlanEndsNoticed = noticed;
        var reminder = Notice(ReminderKind.PlanExpiry, profile, state.CycleDay, atText);
        reminder.PlanTo = NameTable.Plans.Utf8(state.PlanId);
        reminder.EndsAt = profile.PlanEndsAtUtf8;
        reminder.HasMonthlyFee = context.Plan.MonthlyFee.HasValue;
        reminder.MonthlyFee = context.Plan.MonthlyFee ?? 0;
        sink.Reminder(in reminder);
    }

    private static ReminderEvent Notice(ReminderKind kind, SubscriberProfile profile, int cycle, ReadOnlySpan<byte> at) => new()
    {
        Kind = kind,
        Msisdn = profile.MsisdnUtf8,
        MsisdnKey = profile.MsisdnKey,
        CycleDay = cycle,
        At = at,
    };

    /// <summary>A notice (order 0) or charge (order 1) item of service <see cref="Index"/> at instant <see cref="At"/>.</summary>
    private readonly record struct PendingItem(long At, int Order, int Index) : IComparable<PendingItem>
    {
        public int CompareTo(PendingItem other) =>
            At != other.At ? At.CompareTo(other.At) : Order != other.Order ? Order.CompareTo(other.Order) : Index.CompareTo(other.Index);
    }

    /// <summary>
    /// The subscribers a clock applies to — those whose profile came from this group — in ascending msisdn text order.
    /// Membership is the subscriber table's (each entry names its group); the group only keeps the order, made again
    /// from the table after a profile joined or left the group.
    /// </summary>
    private sealed class ClockGroup(int id)
    {
        private ulong[] _ordered = [];
        private bool _dirty;

        /// <summary>A profile joined or left the group.</summary>
        public void Changed() => _dirty = true;

        public ReadOnlySpan<ulong> InMsisdnOrder(SubscriberTable subscribers)
        {
            if (_dirty)
            {
                _ordered = subscribers.KeysOfGroup(id);
                Array.Sort(_ordered, (a, b) => MsisdnKey.OrderKey(a).CompareTo(MsisdnKey.OrderKey(b)));
                _dirty = false;
            }

            return _ordered;
        }
    }
}
