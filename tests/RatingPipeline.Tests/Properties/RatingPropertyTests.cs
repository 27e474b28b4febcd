using FsCheck;
using FsCheck.Fluent;
using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Properties;

/// <summary>Invariants of SPEC §4 over generated CDR streams against generated plans.</summary>
[TestFixture]
public sealed class RatingPropertyTests
{
    private const int Cases = 100;

    private static void Check(Action<StreamCase> property) =>
        FsCheck.Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true), Prop.ForAll(CdrStreams.Cases, property));

    private static (EngineHarness EngineHarness, List<Step> Steps) Run(StreamCase c)
    {
        var tariff = CdrStreams.TariffOf(c.Plan);
        var rater = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
        var steps = CdrStreams.Render(c).Select(l => CdrStreams.Feed(rater, l)).OfType<Step>().ToList();
        return (rater, steps);
    }

    private static IEnumerable<(int Subscriber, UsageState State)> States(EngineHarness rater)
    {
        for (var s = 0; s < 3; s++)
        {
            if (rater.HasState(CdrStreams.Msisdns[s]))
            {
                yield return (s, rater.State(CdrStreams.Msisdns[s]));
            }
        }
    }

    [Test]
    public void Every_CDR_is_either_rated_or_rejected_never_both() => Check(c =>
    {
        var (rater, steps) = Run(c);
        foreach (var step in steps)
        {
            Assert.That(step.Rated.Count + step.Rejected.Count, Is.EqualTo(1));
            Assert.That(step.Result, Is.EqualTo(step.Rated.Count == 1 ? RatingResult.Rated : RatingResult.Rejected));
        }

        var records = CdrStreams.Render(c).Count(l => !l.StartsWith(CdrStreams.ProfileLine, StringComparison.Ordinal));
        Assert.That(steps, Has.Count.EqualTo(records));
        Assert.That(rater.All.Rated.Count + rater.All.Rejected.Count, Is.EqualTo(records), "records in = rated + rejected");
    });

    [Test]
    public void Billable_units_split_into_allowance_and_overage_and_charges_are_never_negative() => Check(c =>
    {
        var (rater, _) = Run(c);
        foreach (var r in rater.All.Rated)
        {
            long b = (long)r["billableUnits"]!, a = (long)r["allowanceUnits"]!, o = (long)r["overageUnits"]!, charge = (long)r["charge"]!;
            Assert.That(b, Is.EqualTo(a + o), () => $"B = A + O in {r}");
            Assert.That(a, Is.GreaterThanOrEqualTo(0), () => r.ToJsonString());
            Assert.That(o, Is.GreaterThanOrEqualTo(0), () => r.ToJsonString());
            Assert.That(charge, Is.GreaterThanOrEqualTo(0), () => r.ToJsonString());
        }
    });

    [Test]
    public void Allowance_units_never_exceed_the_plans_allowance() => Check(c =>
    {
        var tariff = CdrStreams.TariffOf(c.Plan);
        var rater = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
        var plan = tariff.Plans["p"];
        foreach (var line in CdrStreams.Render(c))
        {
            CdrStreams.Feed(rater, line);
            foreach (var (_, state) in States(rater))
            {
                for (var t = 0; t < 3; t++)
                {
                    Assert.That(state.Used[t], Is.InRange(0, plan.Allowance((CdrType)t)), $"used of type {(CdrType)t}");
                }
            }
        }

        // The same from the output: A summed per subscriber, cycle and type.
        var allowances = new[] { c.Plan.VoiceAllowance, c.Plan.SmsAllowance, c.Plan.DataAllowance };
        foreach (var group in rater.All.Rated.GroupBy(r => ((string)r["msisdn"]!, (string)r["cycle"]!, (string)r["type"]!)))
        {
            var type = group.Key.Item3 switch { "voice" => 0, "sms" => 1, _ => 2 };
            Assert.That(group.Sum(r => (long)r["allowanceUnits"]!), Is.LessThanOrEqualTo(allowances[type]), group.Key.ToString());
        }
    });

    [Test]
    public void Capped_charges_never_exceed_the_cap() => Check(c =>
    {
        var tariff = CdrStreams.TariffOf(c.Plan);
        var rater = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
        foreach (var line in CdrStreams.Render(c))
        {
            CdrStreams.Feed(rater, line);
            foreach (var (subscriber, state) in States(rater))
            {
                if (CdrStreams.CapOf(c.Plan, subscriber) is { } cap)
                {
                    Assert.That(state.CappedCharges, Is.InRange(0, cap), $"D ≤ K for subscriber {subscriber}");
                }
            }
        }

        // From the output: domestic data is the only capped rate; its charges per subscriber and cycle stay within K.
        foreach (var group in rater.All.Rated.Where(r => (string?)r["type"] == "data" && (string?)r["zone"] == "domestic")
                     .GroupBy(r => ((string)r["msisdn"]!, (string)r["cycle"]!)))
        {
            var subscriber = Array.IndexOf(CdrStreams.Msisdns, group.Key.Item1);
            if (CdrStreams.CapOf(c.Plan, subscriber) is { } cap)
            {
                Assert.That(group.Sum(r => (long)r["charge"]!), Is.LessThanOrEqualTo(cap), group.Key.ToString());
            }
        }
    });

    [Test]
    public void A_rejected_CDR_changes_no_state_and_fires_nothing() => Check(c =>
    {
        var tariff = CdrStreams.TariffOf(c.Plan);
        var rater = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
        foreach (var line in CdrStreams.Render(c))
        {
            var before = States(rater).Select(s => StateFields.Of(s.State)).ToList();
            var step = CdrStreams.Feed(rater, line);
            if (step?.Rejected.Count == 1)
            {
                Assert.That(step.Reminders, Is.Empty, line);
                Assert.That(States(rater).Select(s => StateFields.Of(s.State)).ToList(), Is.EqualTo(before), line);
            }
        }
    });

    [Test]
    public void Rating_is_deterministic_byte_for_byte() => Check(c =>
    {
        var (first, _) = Run(c);
        var (second, _) = Run(c);
        Assert.That(second.All.Bytes.WrittenSpan.SequenceEqual(first.All.Bytes.WrittenSpan), Is.True);
        var records = first.All.Rated.Count + first.All.Rejected.Count;
        Assert.That(first.All.Bytes.WrittenCount, records > 0 ? Is.GreaterThan(0) : Is.Zero);
    });

    [Test]
    public void Usage_state_round_trips_through_the_codec() => Check(c =>
    {
        var (rater, _) = Run(c);
        foreach (var (_, state) in States(rater))
        {
            var bytes = UsageStateCodec.ToArray(in state);
            var written = new byte[UsageStateCodec.MaxSize(in state)];
            var length = UsageStateCodec.Write(in state, written);
            Assert.That(written.AsSpan(0, length).SequenceEqual(bytes), Is.True, "Write and ToArray agree");
            Assert.That(UsageStateCodec.TryRead(bytes, out var read), Is.True);
            Assert.That(StateFields.Of(read), Is.EqualTo(StateFields.Of(state)));
            Rating.UsageStateCodecTests.AssertRefusals(bytes);
        }
    });

    [Test]
    public void A_restored_state_rates_the_rest_of_the_stream_as_the_original_would() => Check(c =>
    {
        // Rate the first half, move every state through the codec into a fresh engine, rate the second half there:
        // the outputs of the second half are the same as without the move.
        var lines = CdrStreams.Render(c);
        var half = lines.Count / 2;
        var (whole, _) = Run(c);
        var tariff = CdrStreams.TariffOf(c.Plan);
        var before = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
        lines.Take(half).ToList().ForEach(l => CdrStreams.Feed(before, l));
        var after = new EngineHarness(tariff, CdrStreams.ProfilesOf(c.Plan, tariff));
        foreach (var key in before.Engine.StateKeys)
        {
            Assert.That(before.Engine.TryGetState(key, out var state), Is.True);
            Assert.That(UsageStateCodec.TryRead(UsageStateCodec.ToArray(in state), out var restored), Is.True);
            after.Engine.SetState(key, in restored);
        }

        // Profiles are not part of the state: the fresh engine gets the ones in force at the half.
        foreach (var profile in before.Engine.Profiles)
        {
            after.Engine.SetProfile(profile);
        }

        var rest = lines.Skip(half).Select(l => CdrStreams.Feed(after, l)).OfType<Step>().ToList();
        var expected = whole.All.Rated.Skip(before.All.Rated.Count).Concat(whole.All.Reminders.Skip(before.All.Reminders.Count))
            .Concat(whole.All.Rejected.Skip(before.All.Rejected.Count)).Select(n => n.ToJsonString());
        var actual = rest.SelectMany(s => s.Rated).Concat(rest.SelectMany(s => s.Reminders)).Concat(rest.SelectMany(s => s.Rejected))
            .Select(n => n.ToJsonString());
        Assert.That(actual, Is.EqualTo(expected));
    });

    [Test]
    public void Generated_streams_exercise_every_outcome()
    {
        // 60 generated cases together reach every reject reason, every reminder kind, zero-rating, roaming and clipping.
        var reasons = new HashSet<string>();
        var kinds = new HashSet<string>();
        var zones = new HashSet<string>();
        var zeroRated = 0;
        foreach (var c in Gen.Sample(CdrStreams.CaseGen, 60))
        {
            var (rater, _) = Run(c);
            reasons.UnionWith(rater.All.Rejected.Select(r => (string)r["reason"]!));
            kinds.UnionWith(rater.All.Reminders.Select(r => (string)r["kind"]!));
            zones.UnionWith(rater.All.Rated.Select(r => (string)r["zone"]!));
            zeroRated += rater.All.Rated.Count(r => r["zeroRated"] is not null);
        }

        Assert.Multiple(() =>
        {
            Assert.That(reasons, Is.EquivalentTo(RecordNames.AllReasons));
            Assert.That(kinds, Is.EquivalentTo(new[] { "allowance", "data-cap", "high-spend", "low-balance", "roaming" }));
            Assert.That(zones, Is.SupersetOf(new[] { "domestic", "HMT", "Z1", "ROW" }));
            Assert.That(zeroRated, Is.Positive);
        });
    }

    [Test]
    public void Codec_round_trips_a_full_duplicate_memory_and_extreme_values()
    {
        var state = Rating.UsageStateCodecTests.Extreme();

        var bytes = UsageStateCodec.ToArray(in state);
        Assert.Multiple(() =>
        {
            Assert.That(UsageStateCodec.TryRead(bytes, out var read), Is.True);
            Assert.That(StateFields.Of(read), Is.EqualTo(StateFields.Of(state)));
            Assert.That(bytes, Has.Length.LessThanOrEqualTo(UsageStateCodec.MaxSize(in state)), "MaxSize bounds every encoded state");
        });
        Rating.UsageStateCodecTests.AssertRefusals(bytes);
    }

    [Test]
    public void Codec_round_trips_a_new_state()
    {
        var state = UsageState.New();
        var bytes = UsageStateCodec.ToArray(in state);
        Assert.That(UsageStateCodec.TryRead(bytes, out var read), Is.True);
        Assert.That(StateFields.Of(read), Is.EqualTo(StateFields.Of(state)));
        Rating.UsageStateCodecTests.AssertRefusals(bytes);
    }

}
