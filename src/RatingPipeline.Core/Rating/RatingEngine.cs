using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Rating;

/// <summary>
/// Rates the records of the CDR stream in arrival order against the tariff, the subscribers' profiles and their
/// state, and emits rated records, fee records, reminders, bills and rejected records to a sink (SPEC §4, §7).
/// CDRs and location records act on their subscriber; a clock record acts on every subscriber of its clock group
/// (offline: every profile; on Kafka: the profiles of the same-numbered <c>subscribers</c> partition), in
/// ascending msisdn order. One engine serves one thread; the per-record path allocates nothing.
/// </summary>
public sealed partial class RatingEngine(Tariff tariff)
{
    private static readonly long Day = Instant.TicksPerDay;

    /// <summary>At most this many cycles end in one advance (SPEC §7.4's bound).</summary>
    public const int MaxCycleEndsPerAdvance = 12;

    private readonly CdrDecoder _decoder = new();

    /// <summary>The tariff last checked by <see cref="TariffTextsVerbatim"/>, and its verdict.</summary>
    private Tariff? _textsChecked;
    private bool _textsVerbatim;
    private readonly SubscriberTable _subscribers = new();
    private readonly Dictionary<int, ClockGroup> _groups = [];

    /// <summary>
    /// The cycle last worked out for each <c>cycleDay</c> (1-28) under the UTC offset <see cref="_cycleWindowsOffset"/>:
    /// the instants of [<see cref="CycleWindow.From"/>, <see cref="CycleWindow.To"/>) are all in that cycle, so most
    /// records find theirs with two comparisons instead of a civil-date computation (see <see cref="CycleOf"/>).
    /// </summary>
    private readonly CycleWindow[] _cycleWindows = new CycleWindow[29];
    private long _cycleWindowsOffset = long.MinValue;

    /// <summary>The tariff in force; replacing it applies from the next record on.</summary>
    public Tariff Tariff { get; set; } = tariff;

    /// <summary>
    /// Whether <c>profile</c> lines in the stream change profiles (offline, SPEC §7.1). On Kafka profiles travel only
    /// on <c>subscribers</c>, and a profile record in the CDR stream is rejected <c>invalid</c>.
    /// </summary>
    public bool AcceptsProfileLines { get; init; }

    /// <summary>
    /// When set, the msisdn key of every state the engine makes or changes is appended to it, once per change (the
    /// Kafka rater writes those states at its next checkpoint; a key may come more than once). A location record or a
    /// clock changes a state without a rated record.
    /// </summary>
    public List<ulong>? ChangedStates { get; init; }

    public int ProfileCount => _subscribers.ProfileCount;

    public int StateCount => _subscribers.StateCount;

    /// <summary>The profiles held, in no particular order.</summary>
    public IEnumerable<SubscriberProfile> Profiles => _subscribers.Profiles;

    /// <summary>The subscriber's profile, or null.</summary>
    public SubscriberProfile? ProfileOf(ulong msisdnKey) => _subscribers.ProfileOf(msisdnKey);

    /// <summary>How many records ahead <see cref="Prefetch"/> wants to hear of.</summary>
    public const int PrefetchDepth = 3;

    /// <summary>
    /// A hint, before each record, of the subscribers of the next <see cref="PrefetchDepth"/> records
    /// (<paramref name="ahead"/>[0] the next one; 0 where not known): the engine asks the processor for their data step
    /// by step, so that rating does not wait for memory on a table larger than the cache. Changes nothing.
    /// </summary>
    public void Prefetch(ReadOnlySpan<ulong> ahead)
    {
        if (ahead.Length >= PrefetchDepth)
        {
            _subscribers.Prefetch(ahead[0], ahead[1], ahead[2]);
        }
    }

    /// <summary>Sets a subscriber's profile; <paramref name="clockGroup"/> is the group its clocks come from (Kafka: the partition).</summary>
    public void SetProfile(SubscriberProfile profile, int clockGroup = 0)
    {
        ref var entry = ref _subscribers.SetProfile(profile.MsisdnKey, profile, out var known);
        if (known && entry.ClockGroup == clockGroup)
        {
            return;
        }

        if (known)
        {
            Group(entry.ClockGroup).Changed();
        }

        entry.ClockGroup = clockGroup;
        Group(clockGroup).Changed();
    }

    /// <summary>
    /// Hints that the profile of <paramref name="msisdnKey"/> is set soon (<see cref="SetProfile"/>): its place in the
    /// subscriber table is fetched into the cache meanwhile. A bulk load of many profiles into a table larger than the
    /// cache waits on one miss per profile without it.
    /// </summary>
    public void PrefetchProfile(ulong msisdnKey) => _subscribers.PrefetchPlace(msisdnKey);

    /// <summary>
    /// Makes room for this many profiles and usage states at once, instead of growing the tables step by step
    /// (each step copies every entry, and a state is a few hundred bytes).
    /// </summary>
    public void EnsureCapacity(int profiles, int states)
    {
        _subscribers.EnsureCapacity(profiles, states);
    }

    public bool RemoveProfile(ulong msisdnKey)
    {
        if (!_subscribers.RemoveProfile(msisdnKey, out var group))
        {
            return false;
        }

        Group(group).Changed();
        return true;
    }

    public bool TryGetState(ulong msisdnKey, out UsageState state)
    {
        ref var held = ref _subscribers.GetStateOrNullRef(msisdnKey);
        state = Unsafe.IsNullRef(ref held) ? default : held;
        return !Unsafe.IsNullRef(ref held);
    }

    /// <summary>The subscriber's usage state in place, or a null reference (test with <see cref="Unsafe.IsNullRef{T}(ref readonly T)"/>): no copy of the state; valid until the next state is added.</summary>
    internal ref UsageState StateOrNullRef(ulong msisdnKey) => ref _subscribers.GetStateOrNullRef(msisdnKey);

    public void SetState(ulong msisdnKey, in UsageState state) => _subscribers.SetState(msisdnKey, in state);

    public bool RemoveState(ulong msisdnKey) => _subscribers.RemoveState(msisdnKey);

    /// <summary>The keys of the subscribers with a usage state.</summary>
    public IEnumerable<ulong> StateKeys => _subscribers.StateKeys;

    /// <summary>Whether the tariff's texts go out as written (checked once per tariff).</summary>
    private bool TariffTextsVerbatim(Tariff tariff)
    {
        if (!ReferenceEquals(tariff, _textsChecked))
        {
            _textsVerbatim = Output.RecordWriter.TariffTextsVerbatim(tariff);
            _textsChecked = tariff;
        }

        return _textsVerbatim;
    }

    /// <summary><c>keyMsisdn</c> of <see cref="Process"/> for a record whose key is there but is no msisdn.</summary>
    public const ulong KeyNotMsisdn = ulong.MaxValue;

    /// <summary>
    /// Processes one record (the bytes of one line or message): a CDR, a location record, a clock record or an
    /// offline profile line. <paramref name="offset"/> ≥ 0 tags the states it changes and skips states that hold it
    /// already; <paramref name="clockGroup"/> names the subscribers a clock applies to. <paramref name="keyMsisdn"/> is
    /// the msisdn key of the record's Kafka key (0: no key, or none to check; <see cref="KeyNotMsisdn"/>: a key that is
    /// no msisdn): a CDR or location record keyed by anything but its own msisdn is refused <c>invalid</c>. Only a
    /// subscriber's own key keeps all its records on one partition, in order, and its state's offset tag meaningful:
    /// rated from another partition such a record could be skipped as applied, or make its subscriber's later records
    /// look applied, without a word.
    /// </summary>
    [SkipLocalsInit]
    public RatingResult Process<TSink>(ReadOnlySpan<byte> record, ref TSink sink, long offset = -1, int clockGroup = 0, ulong keyMsisdn = 0)
        where TSink : struct, IRatingSink
    {
        var cause = _decoder.Decode(record, out var cdr);
        if (cause == InvalidCause.None)
        {
            switch (cdr.Kind)
            {
                case RecordKind.Cdr:
                case RecordKind.Location:
                    if (keyMsisdn != 0 && keyMsisdn != cdr.MsisdnKey)
                    {
                        return Reject(ref sink, in cdr, record, RejectReason.Invalid, keyMsisdn == KeyNotMsisdn
                            ? "the record's Kafka key is no msisdn: cdrs must be keyed by the record's msisdn"
                            : "the record's Kafka key is another msisdn: cdrs must be keyed by the record's msisdn");
                    }

                    return ProcessSubscriberRecord(in cdr, record, ref sink, offset, _decoder.LastDecodeScanned);
                case RecordKind.Clock:
                    ApplyClock(cdr.StartTicks, cdr.Start, ref sink, offset, clockGroup);
                    return RatingResult.Clock;
                default:
                    return ProcessProfileLine(record, ref sink, clockGroup);
            }
        }

        RejectInvalid(ref sink, record, InvalidCauses.Detail(cause));
        return RatingResult.Rejected;
    }

    /// <summary>
    /// <see cref="Process"/> of a record that <paramref name="decoder"/> has just decoded into <paramref name="cdr"/>
    /// without a fault, so it is not decoded again: for a caller that must read a record before the engine does (whose
    /// it is, which record of an earlier run it is). Neither an offset nor a clock group nor a key to check.
    /// </summary>
    public RatingResult ProcessDecoded<TSink>(CdrDecoder decoder, in Cdr cdr, ReadOnlySpan<byte> record, ref TSink sink)
        where TSink : struct, IRatingSink =>
        cdr.Kind is RecordKind.Cdr or RecordKind.Location
            ? ProcessSubscriberRecord(in cdr, record, ref sink, offset: -1, decoder.LastDecodeScanned)
            : Process(record, ref sink);

    private RatingResult ProcessProfileLine<TSink>(ReadOnlySpan<byte> record, ref TSink sink, int clockGroup)
        where TSink : struct, IRatingSink
    {
        if (!AcceptsProfileLines)
        {
            RejectInvalid(ref sink, record, "a profile record is not accepted in the CDR stream: profiles travel on the subscribers topic");
            return RatingResult.Rejected;
        }

        // Rare and offline only: the profile reader may allocate.
        var profile = SubscriberProfile.TryParse(record, Tariff, out var error);
        if (profile is null)
        {
            RejectInvalid(ref sink, record, "profile line refused: " + error);
            return RatingResult.Rejected;
        }

        SetProfile(profile, clockGroup);
        return RatingResult.Profile;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RejectInvalid<TSink>(ref TSink sink, ReadOnlySpan<byte> record, string detail)
        where TSink : struct, IRatingSink
    {
        var rejected = new RejectedCdr
        {
            Reason = RejectReason.Invalid,
            Detail = detail,
            Raw = record,
            HasId = _decoder.HasRejectedId,
            Id = _decoder.HasRejectedId ? _decoder.RejectedId : default,
            HasMsisdn = _decoder.HasRejectedMsisdn,
            Msisdn = _decoder.HasRejectedMsisdn ? _decoder.RejectedMsisdn : default,
        };
        if (rejected.HasMsisdn)
        {
            MsisdnKey.TryCompute(rejected.Msisdn, out rejected.MsisdnKey);
        }

        sink.Rejected(in rejected);
    }

    /// <summary>A CDR or a location record (SPEC §4, §7.12).</summary>
    private RatingResult ProcessSubscriberRecord<TSink>(in Cdr cdr, ReadOnlySpan<byte> record, ref TSink sink, long offset, bool scanned)
        where TSink : struct, IRatingSink
    {
        var tariff = Tariff;
        ref var subscriber = ref _subscribers.Find(cdr.MsisdnKey);
        var profile = Unsafe.IsNullRef(ref subscriber) ? null : subscriber.Profile;
        if (profile is null)
        {
            return Reject(ref sink, in cdr, record, RejectReason.UnknownSubscriber, "no profile for this msisdn");
        }

        var plan = profile.ResolvePlan(tariff);
        if (plan is null)
        {
            return Reject(ref sink, in cdr, record, RejectReason.UnknownPlan, "the subscriber's plan is not in the tariff");
        }

        var cycle = CycleOf(cdr.StartTicks, tariff.UtcOffsetTicks, profile.CycleDay);
        ref var existing = ref _subscribers.StateOf(in subscriber);
        var isNew = Unsafe.IsNullRef(ref existing);
        if (!isNew)
        {
            if (offset >= 0 && offset <= existing.OffsetTag)
            {
                return RatingResult.Skipped;
            }

            // Late: older than the state's cycle and not the open previous cycle P (SPEC §7.11). A record of P by name
            // whose event would close P at its step 0 (its start at or past P's close instant, reachable only after a
            // cycleDay change shortened P) is late too: P closes before the record could be rated into it.
            if (cycle < existing.CycleDay
                && (existing.Previous is not { } open || open.Cycle != cycle
                    || Math.Max(existing.StreamTime, cdr.StartTicks) >= open.CloseTicks))
            {
                return Reject(ref sink, in cdr, record, RejectReason.Late,
                    "the record belongs to a billing cycle older than the subscriber's current one and not open for late records");
            }
        }

        var idHash = XxHash3.HashToUInt64(cdr.Id);
        if (!isNew && existing.RecentIds.Contains(idHash))
        {
            return Reject(ref sink, in cdr, record, RejectReason.Duplicate, "the id is one of the subscriber's last 32 accepted ids");
        }

        var isCdr = cdr.Kind == RecordKind.Cdr;
        var zone = tariff.ZoneOf(cdr.VisitedMcc);
        var zeroRule = -1;
        var rateIndex = -1;
        if (isCdr)
        {
            zeroRule = cdr.Type == CdrType.Data ? -1 : tariff.ZeroRating.Match(cdr.Peer, cdr.Type, cdr.StartTicks, zone);
            if (zeroRule < 0)
            {
                var dest = cdr.Type == CdrType.Data ? Dest.None : Tariff.DestOf(cdr.Peer);
                rateIndex = plan.FindRate(cdr.Type, zone, cdr.Direction, dest);
                if (rateIndex < 0)
                {
                    return Reject(ref sink, in cdr, record, RejectReason.NoRate, "no rate of the plan matches this type, zone, direction and destination");
                }
            }
        }

        // Accepted: only now does state change.
        var context = new Context(profile, plan, tariff);
        ref var state = ref isNew ? ref _subscribers.AddState(ref subscriber) : ref existing;
        if (isNew)
        {
            NewState(ref state, in context, cycle, cdr.StartTicks);
        }
        else
        {
            StartEvent(ref state, in context, ref sink, cdr.StartTicks, cdr.Start, cdr.Id, hasRecordId: true);
            if (cycle > state.CycleDay)
            {
                Advance(ref state, in context, ref sink, BillingCycle.StartTicks(cycle, tariff.UtcOffsetTicks));
            }
        }

        state.RecentIds.Add(idHash);
        if (offset >= 0)
        {
            state.OffsetTag = offset;
        }

        ChangedStates?.Add(cdr.MsisdnKey);

        // The counters of the record's cycle: the state's, or the open previous cycle's (SPEC §7.11).
        var previous = cycle < state.CycleDay ? state.Previous : null;
        ref var counters = ref previous is null ? ref state.Counters : ref previous.Counters;
        if (!isCdr)
        {
            RoamingReminder(ref sink, ref state, in cdr, cycle, zone, plan);
            return RatingResult.Located;
        }

        var type = (int)cdr.Type;
        counters.Count[type]++;
        // Field by field, every field on every path below: an object initializer builds a temporary and copies its 280
        // bytes, spans and all, through the runtime's write-barrier helper, and `default` would clear the record a second
        // time after the prolog has (the runtime zeroes a local that holds spans when the method starts).
        Unsafe.SkipInit(out RatedCdr rated);
        rated.Id = cdr.Id;
        rated.Msisdn = cdr.Msisdn;
        rated.MsisdnKey = cdr.MsisdnKey;
        rated.Type = cdr.Type;
        rated.Start = cdr.Start;
        rated.StartTicks = cdr.StartTicks;
        rated.CycleDay = cycle;
        rated.Plan = plan.IdUtf8;
        rated.TariffVersion = tariff.VersionUtf8;
        rated.Zone = tariff.ZoneIdsUtf8[zone];
        rated.ZeroRuleIndex = zeroRule;
        rated.TextsVerbatim = scanned && TariffTextsVerbatim(tariff);
        rated.Direction = cdr.Direction;
        rated.Peer = cdr.Peer;
        rated.DurationSec = cdr.DurationSec;
        rated.Bytes = cdr.Bytes;
        rated.VisitedMcc = cdr.VisitedMcc;
        rated.IsFee = false;
        rated.FeeKind = default;
        rated.ServiceId = default;

        if (zeroRule >= 0)
        {
            // Zero-rated: counts against nothing but the bill's count; only the roaming reminder applies.
            rated.IsZeroRated = true;
            rated.ZeroRated = tariff.ZeroRating[zeroRule].ReasonUtf8;
            rated.BillableUnits = 0;
            rated.AllowanceUnits = 0;
            rated.OverageUnits = 0;
            rated.Charge = 0;
            rated.UsedAfter = counters.Used[type];
            rated.CappedAfter = counters.Capped;
            rated.SpendAfter = counters.Spend;
            sink.Rated(in rated);
            RoamingReminder(ref sink, ref state, in cdr, cycle, zone, plan);
            return RatingResult.Rated;
        }

        var rate = plan.RateAt(rateIndex);
        var billable = Pricing.BillableUnits(cdr.Type, cdr.DurationSec, cdr.Bytes, rate);
        long allowanceUnits = 0;
        var allowance = plan.Allowance(cdr.Type);
        if (rate.UseAllowance)
        {
            // As specified: R = allowance − used (negative after a move to a smaller allowance), A = min(R, B).
            allowanceUnits = Math.Min(allowance - counters.Used[type], billable);
            counters.Used[type] += allowanceUnits;
        }

        var overage = billable - allowanceUnits;
        var charge = Pricing.ChargeSaturated(overage, rate);
        long? cap = null;
        if (rate.Capped)
        {
            cap = profile.DataCap ?? plan.DefaultDataCap;
            if (cap is { } k)
            {
                charge = Math.Min(charge, Math.Max(0, k - counters.Capped));
            }

            counters.Capped = SaturatingAdd(counters.Capped, charge);
        }

        counters.Spend = SaturatingAdd(counters.Spend, charge);
        counters.Units[type] = SaturatingAdd(counters.Units[type], billable);
        counters.Charges[type] = SaturatingAdd(counters.Charges[type], charge);
        if (profile.Prepaid && cdr.StartTicks >= profile.BalanceAsOfTicks)
        {
            state.PrepaidCharges = SaturatingAdd(state.PrepaidCharges, charge);
        }

        rated.IsZeroRated = false;
        rated.ZeroRated = default;
        rated.BillableUnits = billable;
        rated.AllowanceUnits = allowanceUnits;
        rated.OverageUnits = overage;
        rated.Charge = charge;
        rated.UsedAfter = counters.Used[type];
        rated.CappedAfter = counters.Capped;
        rated.SpendAfter = counters.Spend;
        sink.Rated(in rated);

        if (UsageReminderDue(ref state, ref counters, in context, cdr.Type, cap, charge))
        {
            UsageReminders(ref sink, ref state, ref counters, in context, in cdr, cycle, rate, cap, charge);
        }

        RoamingReminder(ref sink, ref state, in cdr, cycle, zone, plan);
        return RatingResult.Rated;
    }

    /// <summary>
    /// <see cref="BillingCycle.StartDay"/> of a record's instant: from the window of the last cycle worked out for the
    /// same cycle day and UTC offset when the instant is inside it (records of a cycle come together), otherwise worked
    /// out and kept as that cycle day's window.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int CycleOf(long utcTicks, long utcOffsetTicks, int cycleDay)
    {
        if ((uint)(cycleDay - 1) < 28u && utcOffsetTicks == _cycleWindowsOffset)
        {
            ref var window = ref _cycleWindows[cycleDay];
            if (utcTicks >= window.From && utcTicks < window.To)
            {
                return window.Day;
            }
        }

        return NewCycleWindow(utcTicks, utcOffsetTicks, cycleDay);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int NewCycleWindow(long utcTicks, long utcOffsetTicks, int cycleDay)
    {
        var day = BillingCycle.StartDay(utcTicks, utcOffsetTicks, cycleDay);
        if ((uint)(cycleDay - 1) < 28u)
        {
            if (utcOffsetTicks != _cycleWindowsOffset)
            {
                Array.Clear(_cycleWindows);
                _cycleWindowsOffset = utcOffsetTicks;
            }

            // The cycle runs from its start day's local midnight to the next cycle's: every instant between is in it.
            _cycleWindows[cycleDay] = new CycleWindow(
                BillingCycle.StartTicks(day, utcOffsetTicks),
                BillingCycle.StartTicks(BillingCycle.EndDay(day, cycleDay), utcOffsetTicks),
                day);
        }

        return day;
    }

    /// <summary>The instants [<see cref="From"/>, <see cref="To"/>) of cycle <see cref="Day"/> (UTC ticks; a day number).</summary>
    private readonly record struct CycleWindow(long From, long To, int Day);

    /// <summary>
    /// Whether a rated CDR fires any of the reminders of <see cref="UsageReminders"/>: the same tests, without the event
    /// record, so that the few records that fire one pay for the call and its zeroed record and the rest do not.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool UsageReminderDue(ref UsageState state, ref CycleCounters counters, in Context context, CdrType type,
        long? cap, long charge)
    {
        var allowance = context.Plan.Allowance(type);
        if (allowance > 0)
        {
            var used = counters.Used[(int)type];
            foreach (var threshold in context.Plan.ReminderThresholdSpan)
            {
                if (ThresholdDue(in counters, type, threshold, used, allowance))
                {
                    return true;
                }
            }
        }

        return DataCapDue(in counters, cap) || HighSpendDue(in counters, in context) || (charge > 0 && LowBalanceDue(in state, in context, out _));
    }

    /// <summary>An allowance threshold not yet fired whose share of the allowance is used: used × 100 ≥ threshold × allowance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ThresholdDue(in CycleCounters counters, CdrType type, long threshold, long used, long allowance) =>
        !counters.HasFired(type, threshold) && ThresholdReached(used, threshold, allowance);

    /// <summary>
    /// used × 100 ≥ threshold × allowance, exactly: in 64 bits when both operands are in [0, 2^56) and the threshold in
    /// [0, 128) (so neither product overflows), otherwise in 128 bits out of line (a negative used after a move to a
    /// smaller allowance, a threshold outside 0–127, or absurd values; |threshold × allowance| &lt; 2^126).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool ThresholdReached(long used, long threshold, long allowance) =>
        ((ulong)used | (ulong)allowance) < 1UL << 56 && (ulong)threshold < 128
            ? used * 100 >= threshold * allowance
            : ThresholdReached128(used, threshold, allowance);

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static bool ThresholdReached128(long used, long threshold, long allowance) => (Int128)used * 100 >= (Int128)threshold * allowance;

    /// <summary>The data cap's reminder: not yet fired and the capped charges exactly at the cap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool DataCapDue(in CycleCounters counters, long? cap) => cap is { } capValue && !counters.DataCapFired && counters.Capped == capValue;

    /// <summary>High spend: not yet fired this cycle and the cycle's spend at or above the profile's (else the plan's) threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool HighSpendDue(in CycleCounters counters, in Context context) =>
        !counters.HighSpendFired && HighSpendThreshold(in context) is { } highSpend && counters.Spend >= highSpend;

    /// <summary>The high-spend threshold in force: the profile's, else the plan's (none: no such reminder).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long? HighSpendThreshold(in Context context) => context.Profile.HighSpendThreshold ?? context.Plan.HighSpendThreshold;

    /// <summary>Low balance (prepaid, asked after a charge &gt; 0): not yet fired since balanceAsOf and balance − charges since it below the plan's threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool LowBalanceDue(in UsageState state, in Context context, out long left)
    {
        left = 0;
        var profile = context.Profile;
        if (!profile.Prepaid || state.LowBalanceFired || context.Plan.LowBalanceThreshold is not { } low)
        {
            return false;
        }

        left = SaturatingAdd(profile.Balance, -state.PrepaidCharges);
        return left < low;
    }

    /// <summary>
    /// The reminders a rated CDR may fire (SPEC §5): allowance thresholds, data cap, high spend, low balance. Out of line
    /// with its event record, which the frame of every rated record would otherwise zero; called only when
    /// <see cref="UsageReminderDue"/> says one fires.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UsageReminders<TSink>(ref TSink sink, ref UsageState state, ref CycleCounters counters, in Context context,
        in Cdr cdr, int cycle, Rate rate, long? cap, long charge)
        where TSink : struct, IRatingSink
    {
        var type = (int)cdr.Type;
        var allowance = context.Plan.Allowance(cdr.Type);
        var reminder = default(ReminderEvent); // field by field, like the rated record: no temporary to copy
        reminder.Msisdn = cdr.Msisdn;
        reminder.MsisdnKey = cdr.MsisdnKey;
        reminder.CycleDay = cycle;
        reminder.CdrId = cdr.Id;
        reminder.HasCdrId = true;
        reminder.At = cdr.Start;
        if (allowance > 0)
        {
            var used = counters.Used[type];
            foreach (var threshold in context.Plan.ReminderThresholdSpan)
            {
                if (ThresholdDue(in counters, cdr.Type, threshold, used, allowance))
                {
                    counters.Fire(cdr.Type, threshold);
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

        if (DataCapDue(in counters, cap))
        {
            counters.DataCapFired = true;
            reminder.Kind = ReminderKind.DataCap;
            reminder.Limit = counters.Capped;
            reminder.Amount = counters.Capped;
            sink.Reminder(in reminder);
        }

        HighSpendReminder(ref sink, ref counters, in context, ref reminder);
        if (charge > 0)
        {
            LowBalanceReminder(ref sink, ref state, in context, ref reminder);
        }
    }

    /// <summary>Billable units B of a CDR under a rate (voice in increments after the first, data in increments).</summary>
    public static long BillableUnits(in Cdr cdr, Rate rate) => Pricing.BillableUnits(cdr.Type, cdr.DurationSec, cdr.Bytes, rate);

    private static void HighSpendReminder<TSink>(ref TSink sink, ref CycleCounters counters, in Context context, ref ReminderEvent reminder)
        where TSink : struct, IRatingSink
    {
        if (HighSpendDue(in counters, in context))
        {
            counters.HighSpendFired = true;
            reminder.Kind = ReminderKind.HighSpend;
            reminder.Threshold = HighSpendThreshold(in context).GetValueOrDefault();
            reminder.Amount = counters.Spend;
            sink.Reminder(in reminder);
        }
    }

    /// <summary>Prepaid only, after a charge &gt; 0: fires once per balanceAsOf when balance − charges since it &lt; the plan's threshold.</summary>
    private static void LowBalanceReminder<TSink>(ref TSink sink, ref UsageState state, in Context context, ref ReminderEvent reminder)
        where TSink : struct, IRatingSink
    {
        if (LowBalanceDue(in state, in context, out var left))
        {
            state.LowBalanceFired = true;
            reminder.Kind = ReminderKind.LowBalance;
            reminder.Threshold = context.Plan.LowBalanceThreshold.GetValueOrDefault();
            reminder.Amount = left;
            reminder.BalanceAsOf = context.Profile.BalanceAsOfUtf8;
            sink.Reminder(in reminder);
        }
    }

    private void RoamingReminder<TSink>(ref TSink sink, ref UsageState state, in Cdr cdr, int cycle, int zone, RatePlan plan)
        where TSink : struct, IRatingSink
    {
        if (zone == Tariff.Domestic)
        {
            return; // domestic records neither notify nor clear the memory
        }

        var fires = state.RoamingMcc != cdr.VisitedMcc || cdr.StartTicks - state.RoamingStartTicks >= Day;
        if (fires)
        {
            RoamingNotice(ref sink, ref state, in cdr, cycle, zone, plan);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RoamingNotice<TSink>(ref TSink sink, ref UsageState state, in Cdr cdr, int cycle, int zone, RatePlan plan)
        where TSink : struct, IRatingSink
    {
        state.RoamingMcc = cdr.VisitedMcc;
        state.RoamingStartTicks = cdr.StartTicks;
        var reminder = new ReminderEvent
        {
            Kind = ReminderKind.Roaming,
            Msisdn = cdr.Msisdn,
            MsisdnKey = cdr.MsisdnKey,
            CycleDay = cycle,
            CdrId = cdr.Id,
            HasCdrId = true,
            At = cdr.Start,
            Mcc = cdr.VisitedMcc,
            ZoneIndex = zone,
            Zone = Tariff.ZoneIdsUtf8[zone],
            Plan = plan,
        };
        sink.Reminder(in reminder);
    }

    /// <summary>
    /// A refused record to the sink. Out of line like every rare path of <see cref="ProcessSubscriberRecord"/>: the
    /// runtime zeroes the event records (they hold spans) of every inlined path in the frame of each call, rare or not.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
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

    /// <summary>
    /// a + b held to the range of a long (the same as <see cref="Pricing.Saturate"/> of the exact sum): the sum overflows
    /// exactly when both terms have the same sign and the wrapped sum has the other, and then saturates toward that
    /// sign. Inlined: the engine adds five or six counters per rated record.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long SaturatingAdd(long a, long b)
    {
        var sum = unchecked(a + b);
        return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? long.MinValue : long.MaxValue) : sum;
    }

    private ClockGroup Group(int id)
    {
        ref var group = ref CollectionsMarshal.GetValueRefOrAddDefault(_groups, id, out _);
        return group ??= new ClockGroup(id);
    }

    /// <summary>What an event of one subscriber works with: its profile, the profile's plan and the tariff in force.</summary>
    private readonly ref struct Context(SubscriberProfile profile, RatePlan plan, Tariff tariff)
    {
        public readonly SubscriberProfile Profile = profile;
        public readonly RatePlan Plan = plan;
        public readonly Tariff Tariff = tariff;
    }
}
