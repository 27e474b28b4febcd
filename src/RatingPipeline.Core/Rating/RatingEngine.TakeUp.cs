using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RatingPipeline.Records;
using RatingPipeline.Time;

namespace RatingPipeline.Rating;

/// <summary>
/// Re-rating only (never called by rating): taking a subscriber up where an earlier run stood, so a replay that begins
/// after a cycle began starts from that run's counters instead of 0. The caller (the re-rater of RatingPipeline.Offline) reads
/// those counters from the earlier run's rated records.
/// </summary>
public sealed partial class RatingEngine
{
    /// <summary>
    /// The counters of <paramref name="cycle"/> in the subscriber's state, made to exist as the earlier run had them, for
    /// the caller to set; a null reference when that cannot be (no profile, a plan the tariff lacks, or a state whose
    /// cycles leave no place for it). The earlier run made the cycle's start charges before the replay began, so nothing
    /// is charged, billed or noticed here:
    /// <list type="bullet">
    /// <item>no state: a new state in the cycle, stream time <paramref name="at"/>;</item>
    /// <item>the state's cycle, or its open previous cycle, is <paramref name="cycle"/>: its counters;</item>
    /// <item>the state is in an older cycle: the state moves into <paramref name="cycle"/> (stream time raised to
    /// <paramref name="at"/>), ending the cycles in between as an advance would — the one just before kept open as the
    /// previous cycle while the late grace lasts — with fresh counters and its clock mark at the cycle's start;</item>
    /// <item>the state is in the next cycle and keeps no previous cycle open: <paramref name="cycle"/> becomes its open
    /// previous cycle (the earlier run rated a record into it after moving on), with fresh counters.</item>
    /// </list>
    /// </summary>
    internal ref CycleCounters TakeUpCycle(ulong msisdnKey, int cycle, long at)
    {
        var tariff = Tariff;
        if (_subscribers.ProfileOf(msisdnKey) is not { } profile || profile.ResolvePlan(tariff) is not { } plan)
        {
            return ref Unsafe.NullRef<CycleCounters>();
        }

        var context = new Context(profile, plan, tariff);
        ref var state = ref _subscribers.GetOrAddState(msisdnKey, out var exists);
        if (!exists)
        {
            NewState(ref state, in context, cycle, at);
            return ref state.Counters;
        }

        if (state.CycleDay == cycle)
        {
            return ref state.Counters;
        }

        if (state.CycleDay < cycle)
        {
            if (at > state.StreamTime)
            {
                state.StreamTime = at;
            }

            var sink = default(NoOutputs);
            for (var ends = 0; state.CycleDay < cycle; ends++)
            {
                var end = BillingCycle.EndDay(state.CycleDay, profile.CycleDay);
                EndCycle(ref state, in context, ref sink, end);
                state.CycleDay = end > cycle || ends + 1 == MaxCycleEndsPerAdvance ? cycle : end;
                state.Counters = default;
                state.Extras?.Fees.Clear();
            }

            var startTicks = BillingCycle.StartTicks(cycle, tariff.UtcOffsetTicks);
            if (state.Mark == UsageState.NoMark || state.Mark < startTicks)
            {
                state.Mark = startTicks;
            }

            return ref state.Counters;
        }

        if (state.Extras?.Previous is { IsOpen: true } open)
        {
            return ref open.Cycle == cycle ? ref open.Counters : ref Unsafe.NullRef<CycleCounters>();
        }

        var next = BillingCycle.EndDay(cycle, profile.CycleDay);
        if (next != state.CycleDay)
        {
            return ref Unsafe.NullRef<CycleCounters>();
        }

        var previous = state.EnsureExtras().Previous ??= new PreviousCycle();
        previous.IsOpen = true;
        previous.Cycle = cycle;
        previous.CloseTicks = BillingCycle.StartTicks(next, tariff.UtcOffsetTicks) + tariff.Schedule.LateGraceTicks;
        previous.CycleEnd = next;
        previous.PlanId = state.PlanId;
        previous.TariffVersionId = tariff.VersionNameId;
        previous.Minimum = Math.Max(plan.ScaledMinimum, profile.MonthlyMinimum ?? 0);
        previous.Counters = default;
        previous.Fees.Clear();
        return ref previous.Counters;
    }

    /// <summary>
    /// Re-rating only: adds ids of the earlier run's accepted records to an existing state's duplicate memory
    /// (<paramref name="recentIds"/>, oldest first), raises its stream time to <paramref name="streamTime"/> and its clock
    /// mark to <paramref name="mark"/> (<see cref="UsageState.NoMark"/>: none). False when the subscriber has no state.
    /// </summary>
    internal bool TakeUpHistory(ulong msisdnKey, ReadOnlySpan<ulong> recentIds, long streamTime, long mark = UsageState.NoMark)
    {
        ref var state = ref _subscribers.GetStateOrNullRef(msisdnKey);
        if (Unsafe.IsNullRef(ref state))
        {
            return false;
        }

        foreach (var id in recentIds)
        {
            state.RecentIds.Add(id);
        }

        if (streamTime > state.StreamTime)
        {
            state.StreamTime = streamTime;
        }

        if (mark != UsageState.NoMark && (state.Mark == UsageState.NoMark || mark > state.Mark))
        {
            state.Mark = mark;
        }

        return true;
    }

    /// <summary>A sink that drops what taking up would output (the earlier run output it already).</summary>
    private struct NoOutputs : IRatingSink
    {
        public readonly void Rated(in RatedCdr rated)
        {
        }

        public readonly void Reminder(in ReminderEvent reminder)
        {
        }

        public readonly void Rejected(in RejectedCdr rejected)
        {
        }

        public readonly void Bill(in BillRecord bill)
        {
        }
    }
}
