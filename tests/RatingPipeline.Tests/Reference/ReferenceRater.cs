using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RatingPipeline.Tests.Reference;

/// <summary>The §6 summary counts.</summary>
public sealed record ReferenceSummary(long Rated, long Rejected, long Reminders, long Bills, long Located, long Fees, long Clocks, long Profiles)
{
    public override string ToString() =>
        $"{Rated} rated, {Rejected} rejected, {Reminders} reminders, {Bills} bills, {Located} located, {Fees} fees, {Clocks} clocks, {Profiles} profiles";
}

/// <summary>
/// What <c>ratingctl rate</c> gives for one input: the four output files' records in processing order and the summary
/// line, or the refusal that stops the command (a bad tariff, or a bad line of the subscriber file, §2.2, §6).
/// </summary>
public sealed class ReferenceOutput
{
    public string? Refusal { get; init; }

    public List<JsonObject> Rated { get; } = [];

    public List<JsonObject> Reminders { get; } = [];

    public List<JsonObject> Rejected { get; } = [];

    public List<JsonObject> Bills { get; } = [];

    public ReferenceSummary? Summary { get; set; }
}

/// <summary>
/// A second, deliberately plain and slow reading of SPEC.md (§2–§7): the offline <c>rate</c> command as a function
/// from the three input files to its outputs. JSON through <see cref="JsonDocument"/>, instants as ticks, charges in
/// <see cref="BigInteger"/>, everything in lists scanned in order. Each rule cites its section. It shares no code with
/// the engine; it exists to check the engine on generated streams.
/// </summary>
public sealed partial class ReferenceRater
{
    private const int DuplicateMemory = 32;
    private static readonly string[] Types = ["voice", "sms", "data"];

    private readonly RefTariff _tariff;
    private readonly Dictionary<string, RefProfile> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, State> _states = new(StringComparer.Ordinal);
    private readonly ReferenceOutput _out = new();
    private long _located;
    private long _fees;
    private long _clocks;
    private long _profileLines;

    private ReferenceRater(RefTariff tariff) => _tariff = tariff;

    /// <summary>Runs the offline command on the three files' text (UTF-8).</summary>
    public static ReferenceOutput Run(string tariffJson, string subscribersJsonl, string cdrFile) =>
        Run(Encoding.UTF8.GetBytes(tariffJson), Encoding.UTF8.GetBytes(subscribersJsonl), Encoding.UTF8.GetBytes(cdrFile));

    /// <summary>Runs the offline command on the three files' bytes.</summary>
    public static ReferenceOutput Run(byte[] tariffJson, byte[] subscribersJsonl, byte[] cdrFile)
    {
        ReferenceRater rater;
        try
        {
            rater = new ReferenceRater(RefTariff.Load(tariffJson));
            rater.ReadSubscriberFile(subscribersJsonl);
        }
        catch (RefRefusal refusal)
        {
            return new ReferenceOutput { Refusal = refusal.Message };
        }

        // §6: the CDR file line by line in file order; lines end at \n; a trailing \r is JSON whitespace;
        // a blank line is skipped; a bad line is rejected, never fatal.
        foreach (var line in Lines(cdrFile))
        {
            if (IsBlank(line))
            {
                continue;
            }

            rater.ProcessLine(line);
        }

        var o = rater._out;
        o.Summary = new ReferenceSummary(o.Rated.Count, o.Rejected.Count, o.Reminders.Count, o.Bills.Count, rater._located, rater._fees,
            rater._clocks, rater._profileLines);
        return o;
    }

    // ---------------------------------------------------------------- input files

    private static List<byte[]> Lines(byte[] file)
    {
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i <= file.Length; i++)
        {
            if (i == file.Length || file[i] == (byte)'\n')
            {
                if (i > start || i < file.Length)
                {
                    lines.Add(file[start..i]);
                }

                start = i + 1;
            }
        }

        return lines;
    }

    /// <summary>Nothing but JSON whitespace (space, tab, CR).</summary>
    private static bool IsBlank(byte[] line) => line.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r');

    /// <summary>
    /// §2.2 offline: the subscriber file is read before the CDRs; for an msisdn given twice the later line wins; a profile
    /// that breaks §2.2 stops the command with its line number.
    /// </summary>
    private void ReadSubscriberFile(byte[] file)
    {
        var number = 0;
        foreach (var line in Lines(file))
        {
            number++;
            if (IsBlank(line))
            {
                continue;
            }

            using var document = RefJson.TryParseObject(line, out var why)
                ?? throw new RefRefusal($"subscribers line {number}: {why}");
            var profile = RefProfile.Parse(document.RootElement, _tariff, out why)
                ?? throw new RefRefusal($"subscribers line {number}: {why}");
            _profiles[profile.Msisdn] = profile;
        }
    }

    // ---------------------------------------------------------------- one line of the CDR file

    private void ProcessLine(byte[] line)
    {
        var raw = Encoding.UTF8.GetString(line);
        using var document = RefJson.TryParseObject(line, out var why);
        if (document is null)
        {
            Reject("invalid", why, raw, null);
            return;
        }

        // §7.1: the top-level type decides what the record is, looked at only after §2.1's JSON rules.
        var root = document.RootElement;
        switch (RefJson.StringMember(root, "type"))
        {
            case "clock":
                ProcessClock(root, raw);
                break;
            case "profile":
                ProcessProfileLine(root, raw);
                break;
            case "location":
                ProcessLocation(root, raw);
                break;
            default:
                ProcessCdr(root, raw);
                break;
        }
    }

    /// <summary>§5 rejected record: <c>id</c> and <c>msisdn</c> copied when the line is one JSON object and they are strings.</summary>
    private void Reject(string reason, string detail, string raw, JsonElement? root)
    {
        var record = new JsonObject { ["reason"] = reason, ["detail"] = detail };
        if (root is { } r)
        {
            if (RefJson.StringMember(r, "id") is { } id)
            {
                record["id"] = id;
            }

            if (RefJson.StringMember(r, "msisdn") is { } msisdn)
            {
                record["msisdn"] = msisdn;
            }
        }

        record["raw"] = raw;
        _out.Rejected.Add(record);
    }

    // ---------------------------------------------------------------- §7.1 profile lines

    /// <summary>
    /// §7.1: the line's other members form a profile (§2.2) that replaces the msisdn's from here on; one that breaks §2.2
    /// is rejected invalid and the previous profile stays. The line touches no state (a changed plan is noticed at the
    /// subscriber's next event, §7.3).
    /// </summary>
    private void ProcessProfileLine(JsonElement root, string raw)
    {
        if (RefProfile.Parse(root, _tariff, out var why) is not { } profile)
        {
            Reject("invalid", "profile line: " + why, raw, root);
            return;
        }

        _profiles[profile.Msisdn] = profile;
        _profileLines++;
    }

    // ---------------------------------------------------------------- §7.1, §7.4 clock records

    private void ProcessClock(JsonElement root, string raw)
    {
        // §7.1: at must be an instant; every other member is ignored.
        var at = RefInstant.Parse(RefJson.StringMember(root, "at"));
        if (at is null)
        {
            Reject("invalid", "clock record without an instant at", raw, root);
            return;
        }

        _clocks++;
        var t = at.UtcTicks;

        // §7.1: to every subscriber with a profile at this point, in ascending msisdn order (byte by byte);
        // a profile whose plan is not in the tariff is skipped.
        foreach (var msisdn in _profiles.Keys.Order(StringComparer.Ordinal).ToList())
        {
            var profile = _profiles[msisdn];
            if (!_tariff.Plans.ContainsKey(profile.Plan))
            {
                continue;
            }

            if (!_states.TryGetValue(msisdn, out var state))
            {
                // §7.4: no state — a new state in the cycle containing T (§7.2), advanced to T, then the plan-expiry check.
                state = NewState(profile, CycleContaining(t, profile.CycleDay), t);
                _states[msisdn] = state;
            }
            else
            {
                // §7.4: T ≤ M is a no-op; M none means just before the start of the state's cycle (§7.2).
                var mark = state.M ?? (StartOf(state.Cycle.Name) - 1);
                if (t <= mark)
                {
                    continue;
                }

                EventStart(state, profile, msisdn, t, trigger: at.Text, cdrId: null, atText: at.Text);
            }

            Advance(state, profile, msisdn, t);
            PlanExpiryCheck(state, profile, msisdn, at);
        }
    }

    // ---------------------------------------------------------------- §2.1 CDRs, §4 rating

    private sealed record Cdr(string Id, string Type, string Msisdn, string? Direction, string? Peer, RefInstant Start, long? DurationSec,
        long? Bytes, string? VisitedMcc);

    /// <summary>§2.1 field rules; the reason when one is broken.</summary>
    private static string? ValidateCdr(JsonElement r, out Cdr? cdr)
    {
        cdr = null;
        if (CommonFields(r, out var id, out var msisdn, out var start, out var mcc) is { } broken)
        {
            return broken;
        }

        var type = RefJson.Member(r, "type") is { ValueKind: JsonValueKind.String } t ? t.GetString() : null;
        if (type is not ("voice" or "sms" or "data"))
        {
            return "type is not voice, sms or data";
        }

        string? direction = null, peer = null;
        long? duration = null, bytes = null;
        if (type is "voice" or "sms")
        {
            direction = RefJson.Member(r, "direction") is { ValueKind: JsonValueKind.String } d ? d.GetString() : null;
            if (direction is not ("mo" or "mt"))
            {
                return "direction is not mo or mt";
            }

            // peer: 1–32 ASCII digits with an optional leading +, validated as written; then + becomes 00.
            var written = RefJson.Member(r, "peer") is { ValueKind: JsonValueKind.String } p ? p.GetString() : null;
            if (written is null || !PeerShape().IsMatch(written))
            {
                return "peer is not 1–32 digits with an optional +";
            }

            peer = written.StartsWith('+') ? "00" + written[1..] : written;
        }

        if (type == "voice")
        {
            duration = RefJson.Member(r, "durationSec") is { } ds ? RefJson.IntegerIn(ds, 0, 86_400) : null;
            if (duration is null)
            {
                return "durationSec is no integer 0–86400";
            }
        }

        if (type == "data")
        {
            bytes = RefJson.Member(r, "bytes") is { } b ? RefJson.IntegerIn(b, 0, 1_000_000_000_000) : null;
            if (bytes is null)
            {
                return "bytes is no integer 0–10^12";
            }
        }

        cdr = new Cdr(id!, type, msisdn!, direction, peer, start!, duration, bytes, mcc);
        return null;
    }

    /// <summary>The members CDRs and location records share (§2.1, §7.12): id, msisdn, start, optional visitedMcc.</summary>
    private static string? CommonFields(JsonElement r, out string? id, out string? msisdn, out RefInstant? start, out string? mcc)
    {
        id = RefJson.Member(r, "id") is { ValueKind: JsonValueKind.String } i ? i.GetString() : null;
        msisdn = RefJson.Member(r, "msisdn") is { ValueKind: JsonValueKind.String } m ? m.GetString() : null;
        start = RefJson.Member(r, "start") is { ValueKind: JsonValueKind.String } s ? RefInstant.Parse(s.GetString()) : null;
        mcc = null;
        if (id is null || id.Length is < 1 or > 64 || id.Any(c => c is < (char)0x20 or > (char)0x7E))
        {
            return "id is not 1–64 printable ASCII characters";
        }

        if (msisdn is null || !RefJson.IsAsciiDigits(msisdn, 5, 15))
        {
            return "msisdn is not 5–15 digits";
        }

        if (start is null)
        {
            return "start is no instant";
        }

        if (RefJson.Member(r, "visitedMcc") is { } v)
        {
            mcc = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            if (mcc is null || !RefJson.IsAsciiDigits(mcc, 3, 3))
            {
                return "visitedMcc is not 3 digits";
            }
        }

        return null;
    }

    private void ProcessCdr(JsonElement root, string raw)
    {
        // §4 step 1: validate (§2.1).
        if (ValidateCdr(root, out var cdr) is { } broken)
        {
            Reject("invalid", broken, raw, root);
            return;
        }

        // §4 steps 1–3: unknown-subscriber, unknown-plan, late, duplicate (in this order of precedence).
        if (!Admissible(cdr!.Id, cdr.Msisdn, cdr.Start, raw, root, out var profile, out var plan, out var cycle, out var ofPrevious))
        {
            return;
        }

        // §4 step 4: a zero-rated entry that applies means no rate is looked up; otherwise no rate → no-rate.
        var zone = _tariff.ZoneOf(cdr.VisitedMcc);
        var zeroRule = _tariff.ZeroRuleFor(cdr.Type, cdr.Peer, cdr.Start.UtcTicks, zone);
        RefRate? rate = null;
        if (zeroRule is null)
        {
            var dest = cdr.Peer is null ? null : DestOf(cdr.Peer);
            rate = plan.FirstRate(cdr.Type, zone, cdr.Type == "data" ? null : cdr.Direction, dest);
            if (rate is null)
            {
                Reject("no-rate", $"no rate for {cdr.Type} {zone} {cdr.Direction} {dest}", raw, root);
                return;
            }
        }

        // Accepted.
        var (state, counters) = Accept(cdr.Id, cdr.Msisdn, profile, cycle, ofPrevious, cdr.Start);
        var type = cdr.Type;
        var usage = counters.Usage[type];

        if (zeroRule is not null)
        {
            // §4 step 4: output with B = A = O = C = 0, counts only in the bill's count, skips to the roaming reminder.
            usage.Count++;
            _out.Rated.Add(RatedRecord(cdr, counters, state.Plan, zone, 0, 0, 0, 0, zeroRule.Reason));
            Roaming(state, plan, cdr.Msisdn, counters.Name, cdr.VisitedMcc, zone, cdr.Start, cdr.Id);
            return;
        }

        // §4 step 5: billable units B.
        var b = (long)(type switch
        {
            "voice" => BillableVoice(rate!, cdr.DurationSec!.Value),
            "sms" => BigInteger.One,
            _ => BillableData(rate!, cdr.Bytes!.Value),
        });

        // §4 step 6: allowance. R = allowance − used; A = min(R, B); used += A. Read literally: after a change to a plan
        // whose allowance is below what the cycle already used, R and so A are negative (O > B) — see the README of
        // this folder.
        long a = 0;
        if (rate!.UseAllowance)
        {
            var remaining = plan.AllowanceOf(type) - counters.Used[type];
            a = Math.Min(remaining, b);
            counters.Used[type] += a;
        }

        var o = b - a;

        // §4 step 7: C = (O × price + unit / 2) / unit; a capped rate: C = min(C, max(0, K − D)) when there is a cap K
        // ("no cap if neither" leaves C as it is), and D += C either way; then S += C, the bill sums, prepaid.
        var c = (long)Charge(o, rate);
        var cap = profile.DataCap ?? plan.DefaultDataCap;
        if (rate.Capped)
        {
            if (cap is { } k)
            {
                c = Math.Min(c, Math.Max(0, k - counters.D));
            }

            counters.D += c;
        }

        counters.S += c;
        usage.Count++;
        usage.Billable += b;
        usage.Charge += c;
        if (profile.Prepaid && state.CountsFrom is { } asOf && cdr.Start.UtcTicks >= asOf.UtcTicks)
        {
            state.ChargesSince += c;
        }

        _out.Rated.Add(RatedRecord(cdr, counters, state.Plan, zone, b, a, o, c, null));

        // §4 step 8, in order: allowance, data-cap, high-spend, low-balance, roaming.
        var allowance = plan.AllowanceOf(type);
        if (allowance > 0)
        {
            foreach (var t in plan.Thresholds.Distinct().Order())
            {
                var key = $"{type}:{t}";
                if (!counters.AllowanceFired.Contains(key) && (BigInteger)counters.Used[type] * 100 >= (BigInteger)t * allowance)
                {
                    counters.AllowanceFired.Add(key);
                    var reminder = Reminder(cdr.Msisdn, counters.Name, "allowance", key, cdr.Id, cdr.Start.Text);
                    reminder["type"] = type;
                    reminder["threshold"] = t;
                    reminder["used"] = counters.Used[type];
                    reminder["allowance"] = allowance;
                    reminder["overagePrice"] = rate.Price;
                    reminder["overageUnit"] = rate.Unit;
                }
            }
        }

        if (rate.Capped && cap is { } capK && counters.D == capK && !counters.DataCapFired)
        {
            counters.DataCapFired = true;
            var reminder = Reminder(cdr.Msisdn, counters.Name, "data-cap", capK.ToString(CultureInfo.InvariantCulture), cdr.Id, cdr.Start.Text);
            reminder["cap"] = capK;
            reminder["charged"] = counters.D;
        }

        HighSpendCheck(profile, plan, cdr.Msisdn, counters, cdr.Id, cdr.Start.Text);
        if (c > 0)
        {
            LowBalanceCheck(state, profile, plan, cdr.Msisdn, counters.Name, cdr.Id, cdr.Start.Text);
        }

        Roaming(state, plan, cdr.Msisdn, counters.Name, cdr.VisitedMcc, zone, cdr.Start, cdr.Id);
    }

    /// <summary>§3: intl when the normalised peer starts with 00 and not with 0086; otherwise national.</summary>
    private static string DestOf(string normalisedPeer) =>
        normalisedPeer.StartsWith("00", StringComparison.Ordinal) && !normalisedPeer.StartsWith("0086", StringComparison.Ordinal) ? "intl" : "national";

    /// <summary>§4 step 5, voice: 0 if the duration is 0, else first + ceil(max(0, d − first) / increment) × increment.</summary>
    public static BigInteger BillableVoice(RefRate rate, long durationSec) =>
        durationSec == 0 ? 0 : rate.FirstIncrement + (CeilDiv(Math.Max(0, durationSec - rate.FirstIncrement), rate.Increment) * rate.Increment);

    /// <summary>§4 step 5, data: ceil(bytes / increment) × increment.</summary>
    public static BigInteger BillableData(RefRate rate, long bytes) => CeilDiv(bytes, rate.Increment) * rate.Increment;

    /// <summary>§4 step 7: (O × price + unit / 2) / unit, exactly.</summary>
    public static BigInteger Charge(BigInteger overage, RefRate rate) => ((overage * rate.Price) + (rate.Unit / 2)) / rate.Unit;

    private static BigInteger CeilDiv(BigInteger a, BigInteger b) => (a + b - 1) / b;

    private JsonObject RatedRecord(Cdr cdr, CycleCounters counters, string plan, string zone, long b, long a, long o, long c, string? zeroRated) => new()
    {
        // §5: the rated record, its per-call details and the running totals of its cycle after it.
        ["id"] = cdr.Id,
        ["msisdn"] = cdr.Msisdn,
        ["type"] = cdr.Type,
        ["start"] = cdr.Start.Text,
        ["cycle"] = counters.Name.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ["plan"] = plan,
        ["tariffVersion"] = _tariff.Version,
        ["zone"] = zone,
        ["billableUnits"] = b,
        ["allowanceUnits"] = a,
        ["overageUnits"] = o,
        ["charge"] = c,
        ["zeroRated"] = zeroRated,
        ["direction"] = cdr.Type == "data" ? null : cdr.Direction,
        ["peer"] = cdr.Type == "data" ? null : cdr.Peer,
        ["durationSec"] = cdr.DurationSec,
        ["bytes"] = cdr.Bytes,
        ["visitedMcc"] = cdr.VisitedMcc,
        ["usedAfter"] = counters.Used[cdr.Type],
        ["cappedAfter"] = counters.D,
        ["spendAfter"] = counters.S,
    };

    // ---------------------------------------------------------------- §7.12 location records

    private void ProcessLocation(JsonElement root, string raw)
    {
        if (CommonFields(root, out var id, out var msisdn, out var start, out var mcc) is { } broken)
        {
            Reject("invalid", "location record: " + broken, raw, root);
            return;
        }

        // §7.12: the same rejection precedence as a CDR, except that no-rate never applies.
        if (!Admissible(id!, msisdn!, start!, raw, root, out var profile, out var plan, out var cycle, out var ofPrevious))
        {
            return;
        }

        var (state, counters) = Accept(id!, msisdn!, profile, cycle, ofPrevious, start!);
        _located++;

        // §7.12: charges nothing, no rated record; only the roaming reminder, with its cycle.
        Roaming(state, plan, msisdn!, counters.Name, mcc, _tariff.ZoneOf(mcc), start!, id!);
    }

    // ---------------------------------------------------------------- §4 steps 1–4, shared by CDRs and location records

    private bool Admissible(string id, string msisdn, RefInstant start, string raw, JsonElement root, out RefProfile profile, out RefPlan plan,
        out DateOnly cycle, out bool ofPrevious)
    {
        plan = null!;
        cycle = default;
        ofPrevious = false;

        // §4 step 1.
        if (!_profiles.TryGetValue(msisdn, out profile!))
        {
            Reject("unknown-subscriber", "no profile for " + msisdn, raw, root);
            return false;
        }

        if (!_tariff.Plans.TryGetValue(profile.Plan, out plan!))
        {
            Reject("unknown-plan", "plan " + profile.Plan + " is not in the tariff", raw, root);
            return false;
        }

        // §4 step 2: the cycle containing start (the profile's cycleDay), compared by name with the state's; older and
        // not the open previous cycle (§7.11) → late.
        cycle = CycleContaining(start.UtcTicks, profile.CycleDay);
        _states.TryGetValue(msisdn, out var state);
        if (state is not null && cycle < state.Cycle.Name)
        {
            // A record of P by name is accepted into P — unless its own start is at or past P's close instant, which
            // only a changed cycleDay allows (P then ended before the start of the cycle the record's name says): its
            // event's step 0 would close P before it is rated, so it cannot be rated into P, and it is late (§7.11:
            // "a November CDR that arrives after that is late"). SPEC does not say this case (README.md).
            if (state.Previous is { } p && p.Counters.Name == cycle && Math.Max(state.Tau, start.UtcTicks) < p.CloseAt)
            {
                ofPrevious = true;
            }
            else
            {
                Reject("late", $"cycle {cycle:yyyy-MM-dd} is older than {state.Cycle.Name:yyyy-MM-dd}", raw, root);
                return false;
            }
        }

        // §4 step 3: one of the subscriber's last 32 accepted ids (CDRs and location records; across cycles).
        if (state is not null && state.RecentIds.Contains(id))
        {
            Reject("duplicate", "id " + id + " was accepted recently", raw, root);
            return false;
        }

        return true;
    }

    /// <summary>
    /// §4 step 4 once the record is accepted: a new state in its cycle, or the event start (§7.3) and, when its cycle
    /// is newer, the advance to the start of its cycle (§7.4, without the plan-expiry check). The id joins the duplicate
    /// memory. Returns the counters of the record's cycle: the state's, or the open previous cycle's (§7.11).
    /// </summary>
    private (State State, CycleCounters Counters) Accept(string id, string msisdn, RefProfile profile, DateOnly cycle, bool ofPrevious, RefInstant start)
    {
        if (!_states.TryGetValue(msisdn, out var state))
        {
            state = NewState(profile, cycle, start.UtcTicks);
            _states[msisdn] = state;
        }
        else
        {
            EventStart(state, profile, msisdn, start.UtcTicks, trigger: id, cdrId: id, atText: start.Text);
            if (cycle > state.Cycle.Name)
            {
                Advance(state, profile, msisdn, StartOf(cycle));
            }
        }

        state.RecentIds.Add(id);
        if (state.RecentIds.Count > DuplicateMemory)
        {
            state.RecentIds.RemoveAt(0);
        }

        var counters = ofPrevious ? state.Previous?.Counters : state.Cycle;
        if (counters is null || counters.Name != cycle)
        {
            throw new InvalidOperationException($"{msisdn}: record of cycle {cycle:yyyy-MM-dd} found the state in {state.Cycle.Name:yyyy-MM-dd}");
        }

        return (state, counters);
    }

    // ---------------------------------------------------------------- §7.2 state, §7.3 events

    private sealed class Usage
    {
        public long Count;
        public long Billable;
        public long Charge;
    }

    private sealed record Fee(string Id, string Kind, string? ServiceId, long Charge);

    /// <summary>The counters of one cycle (the state's, or the open previous one's, §7.11).</summary>
    private sealed class CycleCounters(DateOnly name)
    {
        public DateOnly Name { get; } = name;

        public Dictionary<string, long> Used { get; } = new() { ["voice"] = 0, ["sms"] = 0, ["data"] = 0 };

        public long D;
        public long S;

        public Dictionary<string, Usage> Usage { get; } = new() { ["voice"] = new(), ["sms"] = new(), ["data"] = new() };

        public List<Fee> Fees { get; } = [];

        public HashSet<string> AllowanceFired { get; } = [];

        public bool DataCapFired;
        public bool HighSpendFired;
    }

    /// <summary>§7.6: the bill's members fixed when the cycle ends.</summary>
    private sealed record BillMembers(DateOnly CycleEnd, string Plan, string TariffVersion, long Minimum);

    private sealed record PreviousCycle(CycleCounters Counters, BillMembers Bill, long CloseAt);

    private sealed class State
    {
        public required CycleCounters Cycle;
        public required string Plan;
        public long? M;
        public long Tau;
        public PreviousCycle? Previous;
        public string? PlanEndsNoticed;
        public RefInstant? CountsFrom;
        public long ChargesSince;
        public bool LowBalanceFired;
        public List<string> RecentIds { get; } = [];
        public (string Mcc, long Start)? LastRoaming;
    }

    /// <summary>§7.2: a new state: plan = the profile's, M none, τ = the record's instant, no previous cycle, counters 0;
    /// the prepaid counters start from the profile's balanceAsOf. Nothing is charged or billed.</summary>
    private static State NewState(RefProfile profile, DateOnly cycle, long tau) => new()
    {
        Cycle = new CycleCounters(cycle),
        Plan = profile.Plan,
        Tau = tau,
        CountsFrom = profile.Prepaid ? profile.BalanceAsOf : null,
    };

    /// <summary>§7.3 steps 0–2 of every event.</summary>
    private void EventStart(State state, RefProfile profile, string msisdn, long instant, string trigger, string? cdrId, string atText)
    {
        // 0. Stream time; close the open previous cycle once τ reaches its close instant (§7.11).
        state.Tau = Math.Max(state.Tau, instant);
        if (state.Previous is { } previous && state.Tau >= previous.CloseAt)
        {
            state.Previous = null;
            OutputBill(msisdn, previous.Counters, previous.Bill);
        }

        // 1. Plan change: a plan-change notice (§7.7) in the state's cycle before any move; plan becomes the profile's.
        if (profile.Plan != state.Plan)
        {
            var reminder = Reminder(msisdn, state.Cycle.Name, "plan-change", $"{state.Plan}:{profile.Plan}:{trigger}", cdrId, atText);
            reminder["from"] = state.Plan;
            reminder["to"] = profile.Plan;
            reminder["monthlyFee"] = _tariff.Plans[profile.Plan].MonthlyFee;
            state.Plan = profile.Plan;
        }

        // 2. Prepaid re-arm: a prepaid profile whose balanceAsOf differs from the one the state counts from restarts the
        // charges since it at 0 and re-arms the low-balance reminder (§4 step 8). balanceAsOf is an instant, compared as
        // one (where SPEC compares text it says "as written", as for planEndsAt): the same instant written another way
        // is no new balanceAsOf.
        if (profile.Prepaid && profile.BalanceAsOf!.UtcTicks != state.CountsFrom?.UtcTicks)
        {
            state.CountsFrom = profile.BalanceAsOf;
            state.ChargesSince = 0;
            state.LowBalanceFired = false;
        }
    }

    // ---------------------------------------------------------------- §7.4 advancing, §7.5 opening and fees, §7.6 ending

    private sealed record Item(long H, int Order, int Index, RefService Service, bool IsNotice, RefInstant Due);

    /// <summary>§7.4: advancing the state to T (a clock's at, or the start of a newer record's cycle).</summary>
    private void Advance(State state, RefProfile profile, string msisdn, long t)
    {
        // The pending items, from the profile now: a notice at orderedAt and a charge at due(s) per service, with
        // M < h ≤ T (M none: start of the state's cycle ≤ h ≤ T), in the order (instant, notice before charge, index).
        var cycleStart = StartOf(state.Cycle.Name);
        var m = state.M;
        bool Pending(long h) => (m is { } mark ? h > mark : h >= cycleStart) && h <= t;
        var items = new List<Item>();
        for (var i = 0; i < profile.Services.Count; i++)
        {
            var s = profile.Services[i];
            var due = Due(s);
            if (Pending(s.OrderedAt.UtcTicks))
            {
                items.Add(new Item(s.OrderedAt.UtcTicks, 0, i, s, IsNotice: true, due));
            }

            if (Pending(due.UtcTicks))
            {
                items.Add(new Item(due.UtcTicks, 1, i, s, IsNotice: false, due));
            }
        }

        items = [.. items.OrderBy(x => x.H).ThenBy(x => x.Order).ThenBy(x => x.Index)];

        var cycleEnds = 0;
        while (true)
        {
            // 1. A cycle end when end(state's cycle) ≤ T and no pending item is before that end.
            var end = EndOf(state.Cycle.Name, profile.CycleDay);
            if (end <= t && !items.Any(x => x.H < end))
            {
                cycleEnds++;
                EndCycle(state, profile, msisdn, end);

                // Bound: the 12th cycle end opens the cycle containing T; the cycles between are skipped and the
                // pending items before the opened cycle's start are dropped.
                DateOnly next;
                if (cycleEnds == 12)
                {
                    next = CycleContaining(t, profile.CycleDay);
                    var opened = StartOf(next);
                    items.RemoveAll(x => x.H < opened);
                }
                else
                {
                    next = LocalDate(end);
                }

                OpenCycle(state, profile, msisdn, next);
                continue;
            }

            // 2. Otherwise the first pending item.
            if (items.Count > 0)
            {
                var item = items[0];
                items.RemoveAt(0);
                if (item.Service.IsCancelledAt(item.H))
                {
                    continue;
                }

                if (item.IsNotice)
                {
                    // §7.7 vas-precharge: cdrId null, at = orderedAt as given.
                    var s = item.Service;
                    var reminder = Reminder(msisdn, state.Cycle.Name, "vas-precharge", $"{s.Id}:{s.OrderedAt.Text}", null, s.OrderedAt.Text);
                    reminder["serviceId"] = s.Id;
                    reminder["name"] = RefProfile.NameOf(s);
                    reminder["price"] = s.Price;
                    reminder["chargeAt"] = item.Due.Text;
                }
                else
                {
                    FeeCharge(state, profile, msisdn, item.Service.Id, item.Service.Price, item.H, item.Due.Text);
                }

                continue;
            }

            // 3. Otherwise stop.
            break;
        }

        // Then M becomes T, unless it is already later.
        state.M = state.M is { } later && later > t ? later : t;
    }

    /// <summary>§7.4: due(s) = orderedAt + vasNoticeLeadHours, written like orderedAt (§7.5).</summary>
    private RefInstant Due(RefService s) => s.OrderedAt.PlusHoursAsWritten(_tariff.VasNoticeLeadHours);

    /// <summary>§7.6 ending the state's cycle, with §7.11: close an open previous cycle first, fix the bill's members,
    /// then close the cycle at once when τ ≥ its close instant end + G, else keep it open as the previous cycle.</summary>
    private void EndCycle(State state, RefProfile profile, string msisdn, long end)
    {
        if (state.Previous is { } previous)
        {
            state.Previous = null;
            OutputBill(msisdn, previous.Counters, previous.Bill);
        }

        var plan = _tariff.Plans[state.Plan];
        var bill = new BillMembers(LocalDate(end), state.Plan, _tariff.Version, Math.Max(plan.ScaledMinimum, profile.MonthlyMinimum ?? 0));
        var closeAt = end + (_tariff.LateGraceHours * RefInstant.TicksPerHour);
        if (state.Tau >= closeAt)
        {
            OutputBill(msisdn, state.Cycle, bill);
        }
        else
        {
            state.Previous = new PreviousCycle(state.Cycle, bill, closeAt);
        }
    }

    /// <summary>§7.5: the state moves into cycle C with fresh counters, then at start(C): the plan's monthly fee (also
    /// when 0), then each service, in array order, with due(s) &lt; start(C) not cancelled at start(C).</summary>
    private void OpenCycle(State state, RefProfile profile, string msisdn, DateOnly cycle)
    {
        state.Cycle = new CycleCounters(cycle);
        var h = StartOf(cycle);
        var text = cycle.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "T00:00:00" + _tariff.UtcOffsetText;
        if (_tariff.Plans[state.Plan].MonthlyFee is { } fee)
        {
            FeeCharge(state, profile, msisdn, null, fee, h, text);
        }

        foreach (var s in profile.Services)
        {
            if (Due(s).UtcTicks < h && !s.IsCancelledAt(h))
            {
                FeeCharge(state, profile, msisdn, s.Id, s.Price, h, text);
            }
        }
    }

    /// <summary>§7.5 a fee charge of amount F at instant h, always in the state's cycle; a service at most once per cycle.</summary>
    private void FeeCharge(State state, RefProfile profile, string msisdn, string? serviceId, long amount, long h, string startText)
    {
        var counters = state.Cycle;
        if (serviceId is not null && counters.Fees.Any(f => f.ServiceId == serviceId))
        {
            return;
        }

        var name = counters.Name.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var id = serviceId is null ? $"{msisdn}:{name}:fee:monthly" : $"{msisdn}:{name}:fee:service:{serviceId}";
        var kind = serviceId is null ? "monthly" : "service";
        counters.Fees.Add(new Fee(id, kind, serviceId, amount));
        counters.S += amount;
        if (profile.Prepaid && state.CountsFrom is { } asOf && h >= asOf.UtcTicks)
        {
            state.ChargesSince += amount;
        }

        _fees++;
        _out.Rated.Add(new JsonObject
        {
            ["id"] = id,
            ["msisdn"] = msisdn,
            ["type"] = "fee",
            ["start"] = startText,
            ["cycle"] = name,
            ["plan"] = state.Plan,
            ["tariffVersion"] = _tariff.Version,
            ["zone"] = null,
            ["billableUnits"] = 0,
            ["allowanceUnits"] = 0,
            ["overageUnits"] = 0,
            ["charge"] = amount,
            ["zeroRated"] = null,
            ["fee"] = kind,
            ["serviceId"] = serviceId,
            ["direction"] = null,
            ["peer"] = null,
            ["durationSec"] = null,
            ["bytes"] = null,
            ["visitedMcc"] = null,
            ["usedAfter"] = null,
            ["cappedAfter"] = null,
            ["spendAfter"] = counters.S,
        });

        // Then the reminders of §4 step 8 with cdrId = the fee record's id: high-spend, then low-balance (prepaid, F > 0).
        var plan = _tariff.Plans[state.Plan];
        HighSpendCheck(profile, plan, msisdn, counters, id, startText);
        if (amount > 0)
        {
            LowBalanceCheck(state, profile, plan, msisdn, counters.Name, id, startText);
        }
    }

    /// <summary>§7.6 closing a cycle: its bill (§7.8) from the fixed members and the counters now.</summary>
    private void OutputBill(string msisdn, CycleCounters counters, BillMembers members)
    {
        var usage = new JsonObject();
        long usageCharge = 0;
        foreach (var type in Types)
        {
            var u = counters.Usage[type];
            usage[type] = new JsonObject
            {
                ["count"] = u.Count,
                ["billableUnits"] = u.Billable,
                ["allowanceUnits"] = counters.Used[type],
                ["charge"] = u.Charge,
            };
            usageCharge += u.Charge;
        }

        var fees = new JsonArray();
        foreach (var f in counters.Fees)
        {
            fees.Add(new JsonObject { ["id"] = f.Id, ["fee"] = f.Kind, ["serviceId"] = f.ServiceId, ["charge"] = f.Charge });
        }

        var feeCharge = counters.Fees.Sum(f => f.Charge);
        var topUp = Math.Max(0, members.Minimum - usageCharge);
        var name = counters.Name.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        _out.Bills.Add(new JsonObject
        {
            ["eventId"] = $"{msisdn}:{name}:bill",
            ["msisdn"] = msisdn,
            ["cycle"] = name,
            ["cycleEnd"] = members.CycleEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["plan"] = members.Plan,
            ["tariffVersion"] = members.TariffVersion,
            ["usage"] = usage,
            ["usageCharge"] = usageCharge,
            ["fees"] = fees,
            ["feeCharge"] = feeCharge,
            ["minimum"] = members.Minimum,
            ["topUp"] = topUp,
            ["total"] = usageCharge + feeCharge + topUp,
        });
    }

    // ---------------------------------------------------------------- reminders (§4 step 8, §5, §7.7)

    private JsonObject Reminder(string msisdn, DateOnly cycle, string kind, string detail, string? cdrId, string at)
    {
        var name = cycle.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var reminder = new JsonObject
        {
            ["eventId"] = $"{msisdn}:{name}:{kind}:{detail}",
            ["msisdn"] = msisdn,
            ["kind"] = kind,
            ["cycle"] = name,
            ["cdrId"] = cdrId,
            ["at"] = at,
        };
        _out.Reminders.Add(reminder);
        return reminder;
    }

    /// <summary>§4 step 8 high-spend: H from the profile, else the plan; once per cycle, the first time S ≥ H.</summary>
    private void HighSpendCheck(RefProfile profile, RefPlan plan, string msisdn, CycleCounters counters, string cdrId, string at)
    {
        if ((profile.HighSpendThreshold ?? plan.HighSpendThreshold) is { } h && counters.S >= h && !counters.HighSpendFired)
        {
            counters.HighSpendFired = true;
            var reminder = Reminder(msisdn, counters.Name, "high-spend", h.ToString(CultureInfo.InvariantCulture), cdrId, at);
            reminder["threshold"] = h;
            reminder["spend"] = counters.S;
        }
    }

    /// <summary>§4 step 8 low-balance: prepaid, remaining = balance − charges since balanceAsOf &lt; L, once per balanceAsOf.</summary>
    private void LowBalanceCheck(State state, RefProfile profile, RefPlan plan, string msisdn, DateOnly cycle, string cdrId, string at)
    {
        if (!profile.Prepaid || plan.LowBalanceThreshold is not { } l || state.LowBalanceFired)
        {
            return;
        }

        var remaining = profile.Balance - state.ChargesSince;
        if (remaining < l)
        {
            state.LowBalanceFired = true;
            // eventId detail: balanceAsOf as given in the profile.
            var reminder = Reminder(msisdn, cycle, "low-balance", profile.BalanceAsOf!.Text, cdrId, at);
            reminder["threshold"] = l;
            reminder["remaining"] = remaining;
        }
    }

    /// <summary>§4 step 8 roaming, for CDRs (zero-rated included) and location records (§7.12).</summary>
    private void Roaming(State state, RefPlan plan, string msisdn, DateOnly cycle, string? mcc, string zone, RefInstant start, string id)
    {
        if (zone == "domestic")
        {
            return;
        }

        if (state.LastRoaming is { } last && last.Mcc == mcc && start.UtcTicks - last.Start < 24 * RefInstant.TicksPerHour)
        {
            return;
        }

        state.LastRoaming = (mcc!, start.UtcTicks);
        JsonNode? RateOf(string type, string? direction, string? dest) =>
            plan.FirstRate(type, zone, direction, dest) is { } r ? new JsonObject { ["price"] = r.Price, ["unit"] = r.Unit } : null;

        var reminder = Reminder(msisdn, cycle, "roaming", $"{mcc}:{id}", id, start.Text);
        reminder["mcc"] = mcc;
        reminder["zone"] = zone;
        reminder["rates"] = new JsonObject
        {
            ["voiceMo"] = RateOf("voice", "mo", "national"),
            ["voiceMt"] = RateOf("voice", "mt", "national"),
            ["smsMo"] = RateOf("sms", "mo", "national"),
            ["data"] = RateOf("data", null, null),
        };
    }

    /// <summary>§7.7 the plan-expiry check after a clock's advance.</summary>
    private void PlanExpiryCheck(State state, RefProfile profile, string msisdn, RefInstant at)
    {
        if (profile.PlanEndsAt is not { } e)
        {
            return;
        }

        var windowOpens = e.UtcTicks - (_tariff.PlanExpiryNoticeDays * 24 * RefInstant.TicksPerHour);
        if (windowOpens <= at.UtcTicks && at.UtcTicks < e.UtcTicks && state.PlanEndsNoticed != e.Text)
        {
            state.PlanEndsNoticed = e.Text;
            var reminder = Reminder(msisdn, state.Cycle.Name, "plan-expiry", e.Text, null, at.Text);
            reminder["plan"] = state.Plan;
            reminder["endsAt"] = e.Text;
            reminder["monthlyFee"] = _tariff.Plans[state.Plan].MonthlyFee;
        }
    }

    // ---------------------------------------------------------------- §1, §4 step 2, §7.4 cycles in local time

    private DateOnly LocalDate(long utcTicks) => DateOnly.FromDateTime(new DateTime(utcTicks + _tariff.UtcOffsetTicks, DateTimeKind.Unspecified));

    /// <summary>§4 step 2: the latest 00:00 local on cycleDay that is ≤ the instant.</summary>
    private DateOnly CycleContaining(long utcTicks, int cycleDay)
    {
        var date = LocalDate(utcTicks);
        var candidate = new DateOnly(date.Year, date.Month, cycleDay);
        return candidate <= date ? candidate : candidate.AddMonths(-1);
    }

    /// <summary>start(c): 00:00 local on date c.</summary>
    private long StartOf(DateOnly cycle) => cycle.ToDateTime(TimeOnly.MinValue).Ticks - _tariff.UtcOffsetTicks;

    /// <summary>§7.4 end(c): 00:00 local on the first date after c whose day of the month is the profile's current cycleDay.</summary>
    private long EndOf(DateOnly cycle, int cycleDay)
    {
        var date = cycle.AddDays(1);
        while (date.Day != cycleDay)
        {
            date = date.AddDays(1);
        }

        return StartOf(date);
    }

    [GeneratedRegex(@"\A\+?[0-9]{1,32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex PeerShape();
}
