using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Rating;

/// <summary>
/// Rates CDRs in arrival order against the tariff, the subscribers' profiles and their usage state, and
/// emits rated records, reminder events and rejected records to a sink. One engine serves one thread; the
/// per-record path (decode, look up, rate, remind) allocates nothing.
/// </summary>
public sealed class RatingEngine(Tariff tariff)
{
    private static readonly long Day = Instant.TicksPerDay;

    private readonly CdrDecoder _decoder = new();
    private readonly Dictionary<ulong, SubscriberProfile> _profiles = [];
    private readonly Dictionary<ulong, UsageState> _states = [];

    /// <summary>The tariff in force; replacing it applies from the next record on.</summary>
    public Tariff Tariff { get; set; } = tariff;

    public int ProfileCount => _profiles.Count;

    public int StateCount => _states.Count;

    public IReadOnlyDictionary<ulong, SubscriberProfile> Profiles => _profiles;

    public void SetProfile(SubscriberProfile profile) => _profiles[profile.MsisdnKey] = profile;

    /// <summary>
    /// Makes room for this many profiles and usage states at once, instead of growing the tables step by step
    /// (each step copies every entry, and a state is a few hundred bytes).
    /// </summary>
    public void EnsureCapacity(int profiles, int states)
    {
        _profiles.EnsureCapacity(profiles);
        _states.EnsureCapacity(states);
    }

    public bool RemoveProfile(ulong msisdnKey) => _profiles.Remove(msisdnKey);

    public bool TryGetState(ulong msisdnKey, out UsageState state) => _states.TryGetValue(msisdnKey, out state);

    public void SetState(ulong msisdnKey, in UsageState state) => _states[msisdnKey] = state;

    public bool RemoveState(ulong msisdnKey) => _states.Remove(msisdnKey);

    public IEnumerable<ulong> StateKeys => _states.Keys;

    /// <summary>Rates one record (the bytes of one CDR). <paramref name="offset"/> ≥ 0 tags the state it changes.</summary>
    [SkipLocalsInit]
    public RatingResult Process<TSink>(ReadOnlySpan<byte> record, ref TSink sink, long offset = -1)
        where TSink : struct, IRatingSink
    {
        var cause = _decoder.Decode(record, out var cdr);
        if (cause != InvalidCause.None)
        {
            var rejected = new RejectedCdr
            {
                Reason = RejectReason.Invalid,
                Detail = InvalidCauses.Detail(cause),
                Raw = record,
                HasId = _decoder.HasRejectedId,
                Id = _decoder.HasRejectedId ? _decoder.RejectedId : default,
                HasMsisdn = _decoder.HasRejectedMsisdn,
                Msisdn = _decoder.HasRejectedMsisdn ? _decoder.RejectedMsisdn : default,
            };
            sink.Rejected(in rejected);
            return RatingResult.Rejected;
        }

        var tariff = Tariff;
        if (!_profiles.TryGetValue(cdr.MsisdnKey, out var profile))
        {
            return Reject(ref sink, in cdr, record, RejectReason.UnknownSubscriber, "no profile for this msisdn");
        }

        var plan = profile.ResolvePlan(tariff);
        if (plan is null)
        {
            return Reject(ref sink, in cdr, record, RejectReason.UnknownPlan, "the subscriber's plan is not in the tariff");
        }

        var cycle = BillingCycle.StartDay(cdr.StartTicks, tariff.UtcOffsetTicks, profile.CycleDay);
        ref var existing = ref CollectionsMarshal.GetValueRefOrNullRef(_states, cdr.MsisdnKey);
        var isNew = Unsafe.IsNullRef(ref existing);
        if (!isNew)
        {
            if (offset >= 0 && offset <= existing.OffsetTag)
            {
                return RatingResult.Skipped;
            }

            if (existing.HasCycle && cycle < existing.CycleDay)
            {
                return Reject(ref sink, in cdr, record, RejectReason.Late, "the CDR belongs to a billing cycle older than the subscriber's current one");
            }
        }

        var idHash = XxHash3.HashToUInt64(cdr.Id);
        if (!isNew && existing.RecentIds.Contains(idHash))
        {
            return Reject(ref sink, in cdr, record, RejectReason.Duplicate, "the id is one of the subscriber's last 32 accepted CDR ids");
        }

        var zone = tariff.ZoneOf(cdr.VisitedMcc);
        var zeroRule = cdr.Type == CdrType.Data ? -1 : tariff.ZeroRating.Match(cdr.Peer, cdr.Type, cdr.StartTicks);
        var rateIndex = -1;
        if (zeroRule < 0)
        {
            var dest = cdr.Type == CdrType.Data ? Dest.None : Tariff.DestOf(cdr.Peer);
            rateIndex = plan.FindRate(cdr.Type, zone, cdr.Direction, dest);
            if (rateIndex < 0)
            {
                return Reject(ref sink, in cdr, record, RejectReason.NoRate, "no rate of the plan matches this type, zone, direction and destination");
            }
        }

        // Accepted: only now does state change.
        ref var state = ref isNew ? ref CollectionsMarshal.GetValueRefOrAddDefault(_states, cdr.MsisdnKey, out _) : ref existing;
        if (isNew)
        {
            state = UsageState.New();
        }

        if (!state.HasCycle || cycle > state.CycleDay)
        {
            state.StartCycle(cycle);
        }

        state.RecentIds.Add(idHash);
        if (offset >= 0)
        {
            state.OffsetTag = offset;
        }

        if (profile.Prepaid && (!state.PrepaidTracked || state.PrepaidAsOfTicks != profile.BalanceAsOfTicks))
        {
            // A new balanceAsOf re-arms the low-balance reminder and restarts the charges since it.
            state.PrepaidTracked = true;
            state.PrepaidAsOfTicks = profile.BalanceAsOfTicks;
            state.PrepaidCharges = 0;
            state.LowBalanceFired = false;
        }

        var rated = new RatedCdr
        {
            Id = cdr.Id,
            Msisdn = cdr.Msisdn,
            MsisdnKey = cdr.MsisdnKey,
            Type = cdr.Type,
            Start = cdr.Start,
            StartTicks = cdr.StartTicks,
            CycleDay = cycle,
            Plan = plan.IdUtf8,
            TariffVersion = tariff.VersionUtf8,
            Zone = tariff.ZoneIdsUtf8[zone],
            ZeroRuleIndex = zeroRule,
        };

        if (zeroRule >= 0)
        {
            // Zero-rated: counts against nothing; only the roaming reminder applies.
            rated.IsZeroRated = true;
            rated.ZeroRated = tariff.ZeroRating[zeroRule].ReasonUtf8;
            sink.Rated(in rated);
            RoamingReminder(ref sink, ref state, in cdr, cycle, zone, plan, tariff);
            return RatingResult.Rated;
        }

        var rate = plan.RateAt(rateIndex);
        var billable = BillableUnits(in cdr, rate);
        long allowanceUnits = 0;
        var type = (int)cdr.Type;
        if (rate.UseAllowance)
        {
            // As specified: R = allowance − used (negative after a move to a smaller allowance), A = min(R, B).
            var remaining = plan.Allowance(cdr.Type) - state.Used[type];
            allowanceUnits = Math.Min(remaining, billable);
            state.Used[type] += allowanceUnits;
        }

        var overage = billable - allowanceUnits;
        var charge = Saturate(TariffLoader.ChargeFor(overage, rate));
        long? cap = null;
        if (rate.Capped)
        {
            cap = profile.DataCap ?? plan.DefaultDataCap;
            if (cap is { } k)
            {
                charge = Math.Min(charge, Math.Max(0, k - state.CappedCharges));
            }

            state.CappedCharges = SaturatingAdd(state.CappedCharges, charge);
        }

        state.Spend = SaturatingAdd(state.Spend, charge);
        if (profile.Prepaid && cdr.StartTicks >= profile.BalanceAsOfTicks)
        {
            state.PrepaidCharges = SaturatingAdd(state.PrepaidCharges, charge);
        }

        rated.BillableUnits = billable;
        rated.AllowanceUnits = allowanceUnits;
        rated.OverageUnits = overage;
        rated.Charge = charge;
        sink.Rated(in rated);

        var reminder = new ReminderEvent
        {
            Msisdn = cdr.Msisdn,
            MsisdnKey = cdr.MsisdnKey,
            CycleDay = cycle,
            CdrId = cdr.Id,
            At = cdr.Start,
        };

        var allowance = plan.Allowance(cdr.Type);
        if (allowance > 0)
        {
            var used = state.Used[type];
            foreach (var threshold in plan.ReminderThresholdSpan)
            {
                var bit = UInt128.One << threshold;
                if ((state.AllowanceFired[type] & bit) == 0 && (Int128)used * 100 >= (Int128)threshold * allowance)
                {
                    state.AllowanceFired[type] |= bit;
                    reminder.Kind = ReminderKind.Allowance;
                    reminder.Type = cdr.Type;
                    reminder.Threshold = threshold;
                    reminder.Amount = used;
                    reminder.Limit = allowance;
                    reminder.OveragePrice = rate.Price;
                    reminder.OverageUnit = rate.Unit;
                    sink.Reminder(in reminder);
                }
            }
        }

        if (cap is { } capValue && !state.DataCapFired && state.CappedCharges == capValue)
        {
            state.DataCapFired = true;
            reminder.Kind = ReminderKind.DataCap;
            reminder.Limit = capValue;
            reminder.Amount = state.CappedCharges;
            sink.Reminder(in reminder);
        }

        if ((profile.HighSpendThreshold ?? plan.HighSpendThreshold) is { } highSpend && !state.HighSpendFired && state.Spend >= highSpend)
        {
            state.HighSpendFired = true;
            reminder.Kind = ReminderKind.HighSpend;
            reminder.Threshold = highSpend;
            reminder.Amount = state.Spend;
            sink.Reminder(in reminder);
        }

        if (profile.Prepaid && charge > 0 && plan.LowBalanceThreshold is { } low && !state.LowBalanceFired)
        {
            var left = SaturatingAdd(profile.Balance, -state.PrepaidCharges);
            if (left < low)
            {
                state.LowBalanceFired = true;
                reminder.Kind = ReminderKind.LowBalance;
                reminder.Threshold = low;
                reminder.Amount = left;
                reminder.BalanceAsOf = profile.BalanceAsOfUtf8;
                sink.Reminder(in reminder);
            }
        }

        RoamingReminder(ref sink, ref state, in cdr, cycle, zone, plan, tariff);
        return RatingResult.Rated;
    }

    /// <summary>Billable units B of a CDR under a rate (voice in increments after the first, data in increments).</summary>
    public static long BillableUnits(in Cdr cdr, Rate rate)
    {
        switch (cdr.Type)
        {
            case CdrType.Voice:
                if (cdr.DurationSec == 0)
                {
                    return 0;
                }

                var rest = Math.Max(0, cdr.DurationSec - rate.FirstIncrement);
                return rate.FirstIncrement + (CeilDiv(rest, rate.Increment) * rate.Increment);
            case CdrType.Sms:
                return 1;
            default:
                return CeilDiv(cdr.Bytes, rate.Increment) * rate.Increment;
        }
    }

    private static void RoamingReminder<TSink>(ref TSink sink, ref UsageState state, in Cdr cdr, int cycle, int zone,
        RatePlan plan, Tariff tariff)
        where TSink : struct, IRatingSink
    {
        if (zone == Tariff.Domestic)
        {
            return; // domestic CDRs neither notify nor clear the memory
        }

        var fires = state.RoamingMcc != cdr.VisitedMcc || cdr.StartTicks - state.RoamingStartTicks >= Day;
        if (!fires)
        {
            return;
        }

        state.RoamingMcc = cdr.VisitedMcc;
        state.RoamingStartTicks = cdr.StartTicks;
        var reminder = new ReminderEvent
        {
            Kind = ReminderKind.Roaming,
            Msisdn = cdr.Msisdn,
            MsisdnKey = cdr.MsisdnKey,
            CycleDay = cycle,
            CdrId = cdr.Id,
            At = cdr.Start,
            Mcc = cdr.VisitedMcc,
            ZoneIndex = zone,
            Zone = tariff.ZoneIdsUtf8[zone],
            Plan = plan,
        };
        sink.Reminder(in reminder);
    }

    private static RatingResult Reject<TSink>(ref TSink sink, in Cdr cdr, ReadOnlySpan<byte> record, RejectReason reason, string detail)
        where TSink : struct, IRatingSink
    {
        var rejected = new RejectedCdr
        {
            Reason = reason,
            Detail = detail,
            Raw = record,
            Id = cdr.Id,
            HasId = true,
            Msisdn = cdr.Msisdn,
            HasMsisdn = true,
            MsisdnKey = cdr.MsisdnKey,
        };
        sink.Rejected(in rejected);
        return RatingResult.Rejected;
    }

    private static long CeilDiv(long a, long b) => (a / b) + (a % b == 0 ? 0 : 1);

    private static long Saturate(Int128 value) => value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;

    private static long SaturatingAdd(long a, long b) => Saturate((Int128)a + b);
}
