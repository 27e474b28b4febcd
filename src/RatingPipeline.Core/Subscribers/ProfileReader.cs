using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using RatingPipeline.Json;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;
using RatingPipeline.Time;

namespace RatingPipeline.Subscribers;

/// <summary>
/// Reads one subscriber profile (SPEC §2.2 and the §7 members) in a single pass of <see cref="Utf8JsonReader"/>
/// over its UTF-8 bytes, with no document model: the subscriber file, profile lines of the CDR stream and the
/// <c>subscribers</c> topic all come through here.
/// <para>
/// The verdict is the strict document check's first (<see cref="StrictJson"/>: valid UTF-8, JSON syntax, the depth
/// bound, no member name twice in one object at any depth, escapes that decode), found in document order, and
/// only then the first broken profile rule, in a fixed order of members that does not depend on the order they
/// are written in. So the pass notes what each member holds (absent, wrong, a value) and judges the notes after
/// the last token. Member names are told apart by length and one comparison; repeats of the profile's own names
/// by one bit each; only unknown names are compared with each other. Strings are made only for what the profile
/// keeps (msisdn, dates as given, e-mail, services); a plan id already known is taken from <see cref="NameTable.Plans"/>.
/// Stateless and thread-safe.
/// </para>
/// </summary>
internal static class ProfileReader
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = StrictJson.MaxDepth };

    // Unknown names of one object compared in place before a set is made for them (profile lines carry "type").
    private const int InlineNames = 8;

    private const string InstantRule = "must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM)";

    private const long MaxMonthlyMinimum = 1_000_000_000_000_000;
    private const long MaxServicePrice = 1_000_000_000_000;

    public static SubscriberProfile? TryRead(ReadOnlySpan<byte> utf8, Tariff? tariff, out string error) => TryRead(utf8, tariff, null, out error);

    /// <summary>Reads a profile; the texts it keeps are shared with earlier profiles through <paramref name="shared"/> when given.</summary>
    public static SubscriberProfile? TryRead(ReadOnlySpan<byte> utf8, Tariff? tariff, SharedTexts? shared, out string error)
    {
        if (!Utf8.IsValid(utf8))
        {
            error = "not valid UTF-8";
            return null;
        }

        var notes = default(ProfileNotes);
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                notes.Profile.IsObject = true;
                var scratch = default(Scratch);
                if (!ReadMembers<ProfileMembers, ProfileNotes>(ref reader, utf8, ref notes, Place.Profile, ref scratch, out error))
                {
                    return null;
                }
            }
            else if (!SkipValue(ref reader, "", out error))
            {
                return null;
            }

            // Anything but whitespace after the value is a syntax error of the reader's.
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            error = e.Message;
            return null;
        }
        catch (InvalidOperationException)
        {
            error = $"a string holds an escape that is not valid Unicode (e.g. a lone surrogate) at byte {reader.TokenStartIndex}";
            return null;
        }

        return Judge(utf8, tariff, ref notes.Profile, ref notes.Services, shared, out error);
    }

    // ------------------------------------------------------------------ the pass

    /// <summary>
    /// Reads the members of an object (the reader on its start): each name told apart by <typeparamref name="T"/>, a name
    /// given twice refused (the object's own names by one bit each, others compared with each other), each value read by
    /// <typeparamref name="T"/>, a container nothing is read from checked for structure.
    /// </summary>
    private static bool ReadMembers<T, TNotes>(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ref TNotes notes, Place place, ref Scratch scratch,
        out string error)
        where T : IObjectMembers<TNotes>
        where TNotes : struct
    {
        var seen = 0;
        var unknown = default(UnknownNames);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var nameAt = (int)reader.TokenStartIndex + 1;
            var nameLength = reader.ValueSpan.Length;
            var escapedName = reader.ValueIsEscaped ? reader.GetString() : null;
            var member = escapedName is null ? T.Identify(reader.ValueSpan) : T.Identify(Encoding.UTF8.GetBytes(escapedName));
            if (member == 0 ? !unknown.Add(utf8, nameAt, nameLength, escapedName) : (seen & (1 << member)) != 0)
            {
                error = $"{place.Of(escapedName ?? Encoding.UTF8.GetString(utf8.Slice(nameAt, nameLength)))}: is given twice in one object";
                return false;
            }

            seen |= 1 << member;
            reader.Read();
            var container = T.Read(member, ref reader, utf8, ref notes, place, ref scratch);
            if (container is Container.Check
                && !SkipValue(ref reader, place.Of(escapedName ?? Encoding.UTF8.GetString(utf8.Slice(nameAt, nameLength))), out error))
            {
                return false;
            }

            if (container is Container.Refused)
            {
                error = scratch.Error!;
                return false;
            }
        }

        error = "";
        return true;
    }

    /// <summary>The profile object's members.</summary>
    private readonly struct ProfileMembers : IObjectMembers<ProfileNotes>
    {
        public static int Identify(ReadOnlySpan<byte> name) => (int)ProfileReader.Identify(name);

        public static Container Read(int member, ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ref ProfileNotes notes, Place place,
            ref Scratch scratch) => (Member)member switch
            {
                Member.Msisdn => ReadText(ref reader, ref notes.Profile.Msisdn),
                Member.Plan => ReadText(ref reader, ref notes.Profile.Plan),
                Member.CycleDay => ReadInteger(ref reader, ref notes.Profile.CycleDay, 1, 28),
                Member.Prepaid => ReadBool(ref reader, ref notes.Profile.Prepaid),
                Member.Balance => ReadInteger(ref reader, ref notes.Profile.Balance, long.MinValue, long.MaxValue),
                Member.BalanceAsOf => ReadText(ref reader, ref notes.Profile.BalanceAsOf),
                Member.HighSpendThreshold => ReadInteger(ref reader, ref notes.Profile.HighSpendThreshold, 0, long.MaxValue),
                Member.DataCap => ReadInteger(ref reader, ref notes.Profile.DataCap, 0, long.MaxValue),
                Member.Language => ReadText(ref reader, ref notes.Profile.Language),
                Member.Reminders => ReadText(ref reader, ref notes.Profile.Reminders),
                Member.Email => ReadText(ref reader, ref notes.Profile.Email),
                Member.MonthlyMinimum => ReadInteger(ref reader, ref notes.Profile.MonthlyMinimum, 0, MaxMonthlyMinimum),
                Member.PlanEndsAt => ReadText(ref reader, ref notes.Profile.PlanEndsAt),
                Member.Channels => reader.TokenType == JsonTokenType.StartArray ? ReadChannels(ref reader, ref notes.Profile, ref scratch) : Wrong(ref reader, ref notes.Profile.ChannelsKind),
                Member.Services => reader.TokenType == JsonTokenType.StartArray ? ReadServices(ref reader, utf8, ref notes.Services, ref scratch) : Wrong(ref reader, ref notes.Services.Kind),
                _ => Skip(ref reader),
            };
    }

    private static Member Identify(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 => name.SequenceEqual("plan"u8) ? Member.Plan : Member.Unknown,
        5 => name.SequenceEqual("email"u8) ? Member.Email : Member.Unknown,
        6 => name.SequenceEqual("msisdn"u8) ? Member.Msisdn : Member.Unknown,
        7 => name[0] switch
        {
            (byte)'p' => name.SequenceEqual("prepaid"u8) ? Member.Prepaid : Member.Unknown,
            (byte)'b' => name.SequenceEqual("balance"u8) ? Member.Balance : Member.Unknown,
            _ => name.SequenceEqual("dataCap"u8) ? Member.DataCap : Member.Unknown,
        },
        8 => name[0] switch
        {
            (byte)'c' => name.SequenceEqual("cycleDay"u8) ? Member.CycleDay : name.SequenceEqual("channels"u8) ? Member.Channels : Member.Unknown,
            (byte)'l' => name.SequenceEqual("language"u8) ? Member.Language : Member.Unknown,
            _ => name.SequenceEqual("services"u8) ? Member.Services : Member.Unknown,
        },
        9 => name.SequenceEqual("reminders"u8) ? Member.Reminders : Member.Unknown,
        10 => name.SequenceEqual("planEndsAt"u8) ? Member.PlanEndsAt : Member.Unknown,
        11 => name.SequenceEqual("balanceAsOf"u8) ? Member.BalanceAsOf : Member.Unknown,
        14 => name.SequenceEqual("monthlyMinimum"u8) ? Member.MonthlyMinimum : Member.Unknown,
        18 => name.SequenceEqual("highSpendThreshold"u8) ? Member.HighSpendThreshold : Member.Unknown,
        _ => Member.Unknown,
    };

    /// <summary>A string member: its place in the input (or its unescaped text); <c>null</c> is absent.</summary>
    private static Container ReadText(ref Utf8JsonReader reader, ref Text text)
    {
        text = default;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                text.Kind = Kind.Value;
                text.At = (int)reader.TokenStartIndex + 1;
                text.Length = reader.ValueSpan.Length;
                text.Unescaped = reader.ValueIsEscaped ? reader.GetString() : null;
                return Container.None;
            case JsonTokenType.Null:
                return Container.None;
            default:
                return Wrong(ref reader, ref text.Kind);
        }
    }

    /// <summary>An integer member as written (no fraction, no exponent) within its range; <c>null</c> is absent.</summary>
    private static Container ReadInteger(ref Utf8JsonReader reader, ref Number number, long min, long max)
    {
        number = default;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                // Judged as written: an integer token only (no fraction, no exponent), then the range.
                var n = 0L;
                number.Kind = reader.ValueSpan.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0
                    && reader.TryGetInt64(out n) && n >= min && n <= max
                    ? Kind.Value
                    : Kind.Wrong;
                number.Value = number.Kind == Kind.Value ? n : 0;
                return Container.None;
            case JsonTokenType.Null:
                return Container.None;
            default:
                return Wrong(ref reader, ref number.Kind);
        }
    }

    private static Container ReadBool(ref Utf8JsonReader reader, ref Flag flag)
    {
        flag = default;
        switch (reader.TokenType)
        {
            case JsonTokenType.True:
            case JsonTokenType.False:
                flag.Kind = Kind.Value;
                flag.Value = reader.TokenType == JsonTokenType.True;
                return Container.None;
            case JsonTokenType.Null:
                return Container.None;
            default:
                return Wrong(ref reader, ref flag.Kind);
        }
    }

    /// <summary>A value of the wrong JSON type: noted; a container in its place is still checked for structure.</summary>
    private static Container Wrong(ref Utf8JsonReader reader, ref Kind kind)
    {
        kind = reader.TokenType == JsonTokenType.Null ? Kind.Absent : Kind.Wrong;
        return Skip(ref reader);
    }

    /// <summary>A value nothing is read from: a scalar is done (an escaped string must decode); a container is checked by the caller.</summary>
    private static Container Skip(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            case JsonTokenType.StartArray:
                return Container.Check;
            case JsonTokenType.String when reader.ValueIsEscaped:
                _ = reader.GetString();
                return Container.None;
            default:
                return Container.None;
        }
    }

    /// <summary>The channels array: each name once, in the order first given.</summary>
    private static Container ReadChannels(ref Utf8JsonReader reader, ref Members m, ref Scratch scratch)
    {
        var index = -1;
        var bad = false;
        var order = 0;
        var used = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            index++;
            if (reader.TokenType == JsonTokenType.String)
            {
                var channel = reader.ValueIsEscaped ? ChannelId(Encoding.UTF8.GetBytes(reader.GetString()!)) : ChannelId(reader.ValueSpan);
                if (channel < 0)
                {
                    bad = true;
                }
                else if ((used & (1 << channel)) == 0)
                {
                    used |= 1 << channel;
                    order = (order * 4) + channel + 1;
                }

                continue;
            }

            bad = true;
            if (Skip(ref reader) == Container.Check && !SkipValue(ref reader, $"channels[{index}]", out var error))
            {
                scratch.Error = error;
                return Container.Refused;
            }
        }

        m.ChannelsKind = bad ? Kind.Wrong : Kind.Value;
        m.ChannelOrder = order;
        return Container.None;
    }

    private static int ChannelId(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("sms"u8) ? 0 : name.SequenceEqual("email"u8) ? 1 : name.SequenceEqual("voice"u8) ? 2 : -1;

    /// <summary>The services array: every item read for structure, the first 16 judged as services, in order.</summary>
    private static Container ReadServices(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ref ServiceList services, ref Scratch scratch)
    {
        services.Kind = Kind.Value;
        var index = -1;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            index++;
            services.Count = index + 1;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                services.ItemError ??= $"services[{index}] must be an object";
                if (Skip(ref reader) == Container.Check && !SkipValue(ref reader, $"services[{index}]", out var error))
                {
                    scratch.Error = error;
                    return Container.Refused;
                }

                continue;
            }

            var item = default(ServiceItem);
            if (!ReadMembers<ServiceMembers, ServiceItem>(ref reader, utf8, ref item, Place.Service(index), ref scratch, out var structure))
            {
                scratch.Error = structure;
                return Container.Refused;
            }

            if (services.ItemError is null && index < SubscriberProfile.MaxServices)
            {
                services.ItemError = JudgeService(utf8, index, ref item, ref services);
                if (services.ItemError is null)
                {
                    services.Items[index] = item;
                }
            }
        }

        return Container.None;
    }

    /// <summary>A service object's members.</summary>
    private readonly struct ServiceMembers : IObjectMembers<ServiceItem>
    {
        public static int Identify(ReadOnlySpan<byte> name) => (int)(name.Length switch
        {
            2 => name.SequenceEqual("id"u8) ? ServiceMember.Id : ServiceMember.Unknown,
            4 => name.SequenceEqual("name"u8) ? ServiceMember.Name : ServiceMember.Unknown,
            5 => name.SequenceEqual("price"u8) ? ServiceMember.Price : ServiceMember.Unknown,
            9 => name.SequenceEqual("orderedAt"u8) ? ServiceMember.OrderedAt : ServiceMember.Unknown,
            11 => name.SequenceEqual("cancelledAt"u8) ? ServiceMember.CancelledAt : ServiceMember.Unknown,
            _ => ServiceMember.Unknown,
        });

        public static Container Read(int member, ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ref ServiceItem item, Place place,
            ref Scratch scratch)
        {
            switch ((ServiceMember)member)
            {
                case ServiceMember.Id:
                    return ReadText(ref reader, ref item.Id);
                case ServiceMember.Price:
                    return ReadInteger(ref reader, ref item.Price, 0, MaxServicePrice);
                case ServiceMember.OrderedAt:
                    return ReadText(ref reader, ref item.OrderedAt);
                case ServiceMember.CancelledAt:
                    return ReadText(ref reader, ref item.CancelledAt);
                case ServiceMember.Name when reader.TokenType == JsonTokenType.StartObject:
                    item.NameKind = Kind.Value;
                    if (!ReadMembers<ServiceNameMembers, ServiceItem>(ref reader, utf8, ref item, place.Name, ref scratch, out var error))
                    {
                        scratch.Error = error;
                        return Container.Refused;
                    }

                    return Container.None;
                case ServiceMember.Name:
                    item.NameKind = Kind.Wrong; // null included: the name is required
                    return Skip(ref reader);
                default:
                    return Skip(ref reader);
            }
        }
    }

    /// <summary>A service's name object: <c>zh</c> and <c>en</c>; other members ignored.</summary>
    private readonly struct ServiceNameMembers : IObjectMembers<ServiceItem>
    {
        public static int Identify(ReadOnlySpan<byte> name) => name.SequenceEqual("zh"u8) ? 1 : name.SequenceEqual("en"u8) ? 2 : 0;

        public static Container Read(int member, ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ref ServiceItem item, Place place,
            ref Scratch scratch) => member switch
            {
                1 => ReadText(ref reader, ref item.Zh),
                2 => ReadText(ref reader, ref item.En),
                _ => Skip(ref reader),
            };
    }

    /// <summary>
    /// The members of one kind of object: how its names are told apart and how a member's value is read into the notes
    /// of the pass (<typeparamref name="TNotes"/>).
    /// </summary>
    private interface IObjectMembers<TNotes>
        where TNotes : struct
    {
        /// <summary>The member a name is: 0 for a name that is not one of the object's own, else its number (1-31).</summary>
        static abstract int Identify(ReadOnlySpan<byte> name);

        /// <summary>
        /// Reads a member's value (the reader on its first token) into the notes; a structural error inside it is put in
        /// the scratch. <paramref name="place"/> is the object's own, for the paths of messages.
        /// </summary>
        static abstract Container Read(int member, ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, ref TNotes notes, Place place, ref Scratch scratch);
    }

    /// <summary>Which object the members are read from, for the paths of messages: the profile, a service or a service's name.</summary>
    private readonly struct Place
    {
        private readonly int _service;
        private readonly bool _name;

        private Place(int service, bool name)
        {
            _service = service;
            _name = name;
        }

        public static Place Profile => new(-1, false);

        public static Place Service(int index) => new(index, false);

        /// <summary>The name object of this place's service.</summary>
        public Place Name => new(_service, true);

        /// <summary>The path of a member of the object.</summary>
        public string Of(string name) => _service < 0 ? name : _name ? $"services[{_service}].name.{name}" : $"services[{_service}].{name}";
    }

    /// <summary>
    /// Reads a value nothing is taken from, checking its structure: no name twice in one of its objects (named by
    /// its path after <paramref name="path"/>) and escapes that decode. Rare: it may allocate.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SkipValue(ref Utf8JsonReader reader, string path, out string error)
    {
        error = "";
        if (Skip(ref reader) != Container.Check)
        {
            return true;
        }

        var open = new List<Open> { new(reader.TokenType == JsonTokenType.StartObject) };
        while (open.Count > 0 && reader.Read())
        {
            var token = reader.TokenType;
            var top = open[^1];
            if (top.Names is null && token is not (JsonTokenType.EndArray or JsonTokenType.EndObject))
            {
                top.Index++;
            }

            switch (token)
            {
                case JsonTokenType.StartObject:
                case JsonTokenType.StartArray:
                    open.Add(new Open(token == JsonTokenType.StartObject));
                    break;
                case JsonTokenType.EndObject:
                case JsonTokenType.EndArray:
                    open.RemoveAt(open.Count - 1);
                    break;
                case JsonTokenType.PropertyName:
                    var name = reader.GetString()!;
                    top.Name = name;
                    if (!top.Names!.Add(name))
                    {
                        error = $"{PathOf(path, open)}: is given twice in one object";
                        return false;
                    }

                    break;
                case JsonTokenType.String when reader.ValueIsEscaped:
                    _ = reader.GetString();
                    break;
            }
        }

        return true;
    }

    /// <summary>The path of a member as the strict document check names it: names joined by '.', positions as [i].</summary>
    private static string PathOf(string prefix, List<Open> open)
    {
        var path = new StringBuilder(prefix);
        foreach (var container in open)
        {
            if (container.Names is null)
            {
                path.Append('[').Append(container.Index).Append(']');
            }
            else if (container.Name is not null)
            {
                if (path.Length > 0)
                {
                    path.Append('.');
                }

                path.Append(container.Name);
            }
        }

        return path.ToString();
    }

    // ------------------------------------------------------------------ the rules, in their fixed order

    private static SubscriberProfile? Judge(ReadOnlySpan<byte> utf8, Tariff? tariff, ref Members m, ref ServiceList services, SharedTexts? shared,
        out string error)
    {
        error = JudgeMembers(utf8, tariff, ref m, ref services, out var msisdnKey, out var plan);
        return error.Length > 0 ? null : Build(utf8, ref m, ref services, msisdnKey, plan!, shared);
    }

    private static string JudgeMembers(ReadOnlySpan<byte> utf8, Tariff? tariff, ref Members m, ref ServiceList services,
        out ulong msisdnKey, out string? plan)
    {
        msisdnKey = 0;
        plan = null;
        if (!m.IsObject)
        {
            return "profile must be a JSON object";
        }

        switch (m.Msisdn.Kind)
        {
            case Kind.Wrong:
                return "msisdn must be a string";
            case Kind.Absent:
                return "msisdn is required";
        }

        if (!MsisdnKey.TryCompute(m.Msisdn.Bytes(utf8), out msisdnKey))
        {
            return "msisdn must be 5-15 ASCII digits";
        }

        switch (m.Plan.Kind)
        {
            case Kind.Wrong:
                return "plan must be a string";
            case Kind.Absent:
                return "plan is required";
        }

        switch (m.CycleDay.Kind)
        {
            case Kind.Wrong:
                return "cycleDay must be an integer 1..28";
            case Kind.Absent:
                return "cycleDay is required";
        }

        if (m.Prepaid.Kind == Kind.Wrong)
        {
            return "prepaid must be true or false";
        }

        if (m.Balance.Kind == Kind.Wrong)
        {
            return "balance must be a 64-bit integer";
        }

        if (m.BalanceAsOf.Kind == Kind.Wrong)
        {
            return "balanceAsOf must be a string";
        }

        if (m.BalanceAsOf.Kind == Kind.Value && !Instant.TryParse(m.BalanceAsOf.Bytes(utf8), out m.BalanceAsOfTicks))
        {
            return "balanceAsOf " + InstantRule;
        }

        if (m.Prepaid.Value && (m.Balance.Kind == Kind.Absent || m.BalanceAsOf.Kind == Kind.Absent))
        {
            return "a prepaid profile needs balance and balanceAsOf";
        }

        if (m.HighSpendThreshold.Kind == Kind.Wrong)
        {
            return "highSpendThreshold must be an integer ≥ 0";
        }

        if (m.DataCap.Kind == Kind.Wrong)
        {
            return "dataCap must be an integer ≥ 0";
        }

        RatePlan? ratePlan = null;
        if (tariff is not null && (m.DataCap.Kind == Kind.Value || m.MonthlyMinimum.Kind == Kind.Value))
        {
            plan = PlanId(utf8, in m.Plan);
            ratePlan = tariff.TryGetPlan(plan, out var found) ? found : null;
        }

        if (m.DataCap.Kind == Kind.Value && ratePlan is not null && !ratePlan.DataCapTiers.Contains(m.DataCap.Value))
        {
            return $"dataCap {m.DataCap.Value} is not one of plan {plan}'s dataCapTiers";
        }

        switch (m.Language.Kind)
        {
            case Kind.Wrong:
                return "language must be a string";
            case Kind.Value when !IsOneOf(m.Language.Bytes(utf8), "zh"u8, "en"u8):
                return "language must be \"zh\" or \"en\"";
        }

        switch (m.Reminders.Kind)
        {
            case Kind.Wrong:
                return "reminders must be a string";
            case Kind.Value when !IsOneOf(m.Reminders.Bytes(utf8), "on"u8, "off"u8):
                return "reminders must be \"on\" or \"off\"";
        }

        if (m.ChannelsKind == Kind.Wrong)
        {
            return "channels must be an array of \"sms\", \"email\", \"voice\"";
        }

        if (m.ChannelsKind == Kind.Value && m.ChannelOrder == 0)
        {
            return "channels must name at least one channel (omit it for the default [\"sms\"])";
        }

        if (m.Email.Kind == Kind.Wrong)
        {
            return "email must be a string";
        }

        if (m.MonthlyMinimum.Kind == Kind.Wrong)
        {
            return $"monthlyMinimum must be an integer 0..{MaxMonthlyMinimum}";
        }

        if (m.MonthlyMinimum.Kind == Kind.Value && ratePlan is not null && m.MonthlyMinimum.Value < ratePlan.ScaledMinimum)
        {
            return $"monthlyMinimum {m.MonthlyMinimum.Value} is below plan {plan}'s scaled minimum {ratePlan.ScaledMinimum}: a profile may raise the minimum, never lower it";
        }

        if (services.Kind == Kind.Wrong)
        {
            return "services must be an array of service objects";
        }

        if (services.Count > SubscriberProfile.MaxServices)
        {
            return $"services may list at most {SubscriberProfile.MaxServices} services";
        }

        if (services.ItemError is not null)
        {
            return services.ItemError;
        }

        if (m.PlanEndsAt.Kind == Kind.Wrong)
        {
            return "planEndsAt must be a string";
        }

        if (m.PlanEndsAt.Kind == Kind.Value && !Instant.TryParse(m.PlanEndsAt.Bytes(utf8), out m.PlanEndsAtTicks))
        {
            return "planEndsAt " + InstantRule;
        }

        plan ??= PlanId(utf8, in m.Plan);
        return "";
    }

    /// <summary>One service's rules, in the fixed order; null when it keeps them all.</summary>
    private static string? JudgeService(ReadOnlySpan<byte> utf8, int index, ref ServiceItem item, ref ServiceList services)
    {
        switch (item.Id.Kind)
        {
            case Kind.Wrong:
                return $"services[{index}].id must be a string";
            case Kind.Absent:
                return $"services[{index}].id is required";
        }

        var id = item.Id.Bytes(utf8);
        if (!IsValidServiceId(id))
        {
            return $"services[{index}].id must be 1-32 characters from A-Z a-z 0-9 . _ -";
        }

        for (var i = 0; i < index; i++)
        {
            if (services.Items[i].Id.Bytes(utf8).SequenceEqual(id))
            {
                return $"services[{index}].id \"{Encoding.UTF8.GetString(id)}\" is listed twice";
            }
        }

        var nameRule = $"services[{index}].name must be an object with non-empty strings zh and en";
        if (item.NameKind != Kind.Value)
        {
            return nameRule;
        }

        if (item.Zh.Kind == Kind.Wrong)
        {
            return $"services[{index}].name.zh must be a string";
        }

        if (item.En.Kind == Kind.Wrong)
        {
            return $"services[{index}].name.en must be a string";
        }

        if (item.Zh.Kind == Kind.Absent || item.Zh.IsEmpty || item.En.Kind == Kind.Absent || item.En.IsEmpty)
        {
            return nameRule;
        }

        switch (item.Price.Kind)
        {
            case Kind.Wrong:
                return $"services[{index}].price must be an integer 0..{MaxServicePrice}";
            case Kind.Absent:
                return $"services[{index}].price is required";
        }

        switch (item.OrderedAt.Kind)
        {
            case Kind.Wrong:
                return $"services[{index}].orderedAt must be a string";
            case Kind.Absent:
                return $"services[{index}].orderedAt is required";
        }

        if (!Instant.TryParse(item.OrderedAt.Bytes(utf8), out item.OrderedAtTicks))
        {
            return $"services[{index}].orderedAt {InstantRule}";
        }

        item.CancelledAtTicks = long.MaxValue;
        switch (item.CancelledAt.Kind)
        {
            case Kind.Wrong:
                return $"services[{index}].cancelledAt must be a string";
            case Kind.Value when !Instant.TryParse(item.CancelledAt.Bytes(utf8), out item.CancelledAtTicks):
                return $"services[{index}].cancelledAt {InstantRule}";
            case Kind.Value when item.CancelledAtTicks < item.OrderedAtTicks:
                return $"services[{index}].cancelledAt must not be before orderedAt";
        }

        return null;
    }

    /// <summary>1–32 characters from A–Z a–z 0–9 . _ -</summary>
    private static bool IsValidServiceId(ReadOnlySpan<byte> id)
    {
        if (id.Length is < 1 or > 32)
        {
            return false;
        }

        foreach (var b in id)
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'.' or (byte)'_' or (byte)'-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsOneOf(ReadOnlySpan<byte> value, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => value.SequenceEqual(a) || value.SequenceEqual(b);

    /// <summary>The plan id: the table's own string when the id is known already, else a new one.</summary>
    private static string PlanId(ReadOnlySpan<byte> utf8, in Text plan) =>
        plan.Unescaped ?? (NameTable.Plans.TryFind(plan.Bytes(utf8), out var known) ? known : Encoding.UTF8.GetString(plan.Bytes(utf8)));

    // ------------------------------------------------------------------ the profile

    private static SubscriberProfile Build(ReadOnlySpan<byte> utf8, ref Members m, ref ServiceList services, ulong msisdnKey, string plan,
        SharedTexts? shared)
    {
        var planId = NameTable.Plans.Intern(plan);
        var prepaid = m.Prepaid.Value;
        var (balanceAsOf, balanceAsOfUtf8) = prepaid ? Share(utf8, in m.BalanceAsOf, shared) : (null, []);
        var (planEndsAt, planEndsAtUtf8) = m.PlanEndsAt.Kind == Kind.Value ? Share(utf8, in m.PlanEndsAt, shared) : (null, []);
        return new SubscriberProfile(m.Msisdn.Bytes(utf8), msisdnKey, NameTable.Plans[planId], planId, (int)m.CycleDay.Value)
        {
            Prepaid = prepaid,
            Balance = prepaid ? m.Balance.Value : 0,
            BalanceAsOf = balanceAsOf,
            BalanceAsOfTicks = prepaid ? m.BalanceAsOfTicks : 0,
            BalanceAsOfUtf8 = balanceAsOfUtf8,
            HighSpendThreshold = m.HighSpendThreshold.Kind == Kind.Value ? m.HighSpendThreshold.Value : null,
            DataCap = m.DataCap.Kind == Kind.Value ? m.DataCap.Value : null,
            Language = m.Language.Kind == Kind.Value && m.Language.Bytes(utf8).SequenceEqual("en"u8) ? "en" : "zh",
            RemindersOn = m.Reminders.Kind != Kind.Value || m.Reminders.Bytes(utf8).SequenceEqual("on"u8),
            Channels = m.ChannelsKind == Kind.Value ? ChannelLists.Of(m.ChannelOrder) : ChannelLists.Default,
            Email = m.Email.Kind == Kind.Value ? m.Email.String(utf8) : null,
            MonthlyMinimum = m.MonthlyMinimum.Kind == Kind.Value ? m.MonthlyMinimum.Value : null,
            Services = services.Count == 0 ? [] : BuildServices(utf8, ref services, shared),
            PlanEndsAt = planEndsAt,
            PlanEndsAtTicks = planEndsAt is null ? 0 : m.PlanEndsAtTicks,
            PlanEndsAtUtf8 = planEndsAtUtf8,
        };
    }

    /// <summary>A text the profile keeps with its UTF-8 bytes: shared with equal ones read before when <paramref name="shared"/> is given.</summary>
    private static (string Text, byte[] Utf8) Share(ReadOnlySpan<byte> utf8, in Text text, SharedTexts? shared)
    {
        var bytes = text.Bytes(utf8);
        return shared is not null ? shared.Text(bytes) : (text.String(utf8), bytes.ToArray());
    }

    private static SubscribedService[] BuildServices(ReadOnlySpan<byte> utf8, ref ServiceList services, SharedTexts? shared)
    {
        var list = new SubscribedService[services.Count];
        for (var i = 0; i < list.Length; i++)
        {
            ref var s = ref services.Items[i];
            var (id, idUtf8) = Share(utf8, in s.Id, shared);
            var (zh, zhUtf8) = Share(utf8, in s.Zh, shared);
            var (en, enUtf8) = Share(utf8, in s.En, shared);
            var (orderedAt, orderedAtUtf8) = Share(utf8, in s.OrderedAt, shared);
            var cancelledAt = s.CancelledAt.Kind != Kind.Value ? null : shared is null ? s.CancelledAt.String(utf8) : shared.Text(s.CancelledAt.Bytes(utf8)).Text;
            list[i] = shared is null
                ? new SubscribedService(id, idUtf8, zh, zhUtf8, en, enUtf8, s.Price.Value, orderedAt, orderedAtUtf8, s.OrderedAtTicks, cancelledAt,
                    s.CancelledAtTicks)
                : shared.Service(id, idUtf8, zh, zhUtf8, en, enUtf8, s.Price.Value, orderedAt, orderedAtUtf8, s.OrderedAtTicks, cancelledAt,
                    s.CancelledAtTicks);
        }

        return shared is null ? list : shared.List(list);
    }

    // ------------------------------------------------------------------ notes of the pass

    private enum Kind : byte
    {
        Absent,
        Wrong,
        Value,
    }

    private enum Container : byte
    {
        None,
        Check,
        Refused,
    }

    private enum Member
    {
        Unknown,
        Msisdn,
        Plan,
        CycleDay,
        Prepaid,
        Balance,
        BalanceAsOf,
        HighSpendThreshold,
        DataCap,
        Language,
        Reminders,
        Channels,
        Email,
        MonthlyMinimum,
        Services,
        PlanEndsAt,
    }

    private enum ServiceMember
    {
        Unknown,
        Id,
        Name,
        Price,
        OrderedAt,
        CancelledAt,
    }

    /// <summary>A string member: where its text is in the input, or its unescaped text when it was written with escapes.</summary>
    private struct Text
    {
        public Kind Kind;
        public int At;
        public int Length;
        public string? Unescaped;

        public readonly bool IsEmpty => Unescaped is null ? Length == 0 : Unescaped.Length == 0;

        public readonly ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> utf8) => Unescaped is null ? utf8.Slice(At, Length) : Encoding.UTF8.GetBytes(Unescaped);

        public readonly string String(ReadOnlySpan<byte> utf8) => Unescaped ?? Encoding.UTF8.GetString(utf8.Slice(At, Length));
    }

    private struct Number
    {
        public Kind Kind;
        public long Value;
    }

    private struct Flag
    {
        public Kind Kind;
        public bool Value;
    }

    private struct Members
    {
        public bool IsObject;
        public Text Msisdn, Plan, BalanceAsOf, Language, Reminders, Email, PlanEndsAt;
        public Number CycleDay, Balance, HighSpendThreshold, DataCap, MonthlyMinimum;
        public Flag Prepaid;
        public Kind ChannelsKind;
        public int ChannelOrder;
        public long BalanceAsOfTicks, PlanEndsAtTicks;
    }

    /// <summary>What the pass notes of a profile: its own members and its services.</summary>
    private struct ProfileNotes
    {
        public Members Profile;
        public ServiceList Services;
    }

    private struct ServiceItem
    {
        public Text Id, Zh, En, OrderedAt, CancelledAt;
        public Kind NameKind;
        public Number Price;
        public long OrderedAtTicks, CancelledAtTicks;
    }

    [InlineArray(SubscriberProfile.MaxServices)]
    private struct ServiceItems
    {
        private ServiceItem _first;
    }

    private struct ServiceList
    {
        public Kind Kind;
        public int Count;
        public string? ItemError;
        public ServiceItems Items;
    }

    /// <summary>The structural error found inside an array.</summary>
    private struct Scratch
    {
        public string? Error;
    }

    [InlineArray(2 * InlineNames)]
    private struct NameRanges
    {
        private int _first;
    }

    /// <summary>An open container of a skipped value: an object's names so far and its current one, or an array's position.</summary>
    private sealed class Open(bool isObject)
    {
        public HashSet<string>? Names { get; } = isObject ? new(StringComparer.Ordinal) : null;

        public string? Name { get; set; }

        public int Index { get; set; } = -1;
    }

    /// <summary>
    /// The unknown member names of one object: compared in place while few and written without escapes, else kept in a
    /// set (a hostile object of 10^5 names stays linear).
    /// </summary>
    private struct UnknownNames
    {
        private NameRanges _ranges; // (start, length) of each name in the input
        private int _count;
        private HashSet<string>? _spill;

        /// <summary>False when the name was given before in this object.</summary>
        public bool Add(ReadOnlySpan<byte> utf8, int at, int length, string? unescaped)
        {
            if (_spill is null && unescaped is null && _count < InlineNames)
            {
                var name = utf8.Slice(at, length);
                for (var i = 0; i < _count; i++)
                {
                    if (utf8.Slice(_ranges[2 * i], _ranges[(2 * i) + 1]).SequenceEqual(name))
                    {
                        return false;
                    }
                }

                _ranges[2 * _count] = at;
                _ranges[(2 * _count) + 1] = length;
                _count++;
                return true;
            }

            if (_spill is null)
            {
                _spill = new HashSet<string>(StringComparer.Ordinal);
                for (var i = 0; i < _count; i++)
                {
                    _spill.Add(Encoding.UTF8.GetString(utf8.Slice(_ranges[2 * i], _ranges[(2 * i) + 1])));
                }
            }

            return _spill.Add(unescaped ?? Encoding.UTF8.GetString(utf8.Slice(at, length)));
        }
    }
}
