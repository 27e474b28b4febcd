using System.Runtime.CompilerServices;
using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// The engine's subscriber index (profile, clock group and state slot under one key, open addressing with backward-shift
/// deletion) behaves as a dictionary of profiles and a dictionary of states would, through growth, deletion and reuse.
/// </summary>
public sealed class SubscriberTableTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Random_operations_agree_with_two_dictionaries(int seed)
    {
        var random = new Random(seed);
        var table = new SubscriberTable();
        var profiles = new Dictionary<ulong, SubscriberProfile>();
        var states = new Dictionary<ulong, long>();

        // Keys from a narrow range, so that entries collide, runs form and deletions shift them.
        for (var step = 0; step < 40_000; step++)
        {
            var key = 8613800000000UL + (ulong)random.Next(3_000);
            switch (random.Next(6))
            {
                case 0:
                case 1:
                    var profile = Profile(key);
                    table.SetProfile(key, profile, out var known);
                    Assert.That(known, Is.EqualTo(profiles.ContainsKey(key)));
                    profiles[key] = profile;
                    break;
                case 2:
                    Assert.That(table.RemoveProfile(key, out _), Is.EqualTo(profiles.Remove(key)));
                    break;
                case 3:
                    ref var state = ref table.GetOrAddState(key, out var exists);
                    Assert.That(exists, Is.EqualTo(states.ContainsKey(key)));
                    state.OffsetTag = step;
                    states[key] = step;
                    break;
                case 4:
                    Assert.That(table.RemoveState(key), Is.EqualTo(states.Remove(key)));
                    break;
                default:
                    table.Prefetch(key, key + 1, key + 2); // a hint: must change nothing
                    break;
            }
        }

        Assert.That(table.ProfileCount, Is.EqualTo(profiles.Count));
        Assert.That(table.StateCount, Is.EqualTo(states.Count));
        Assert.That(table.StateKeys.Order(), Is.EqualTo(states.Keys.Order()));
        Assert.That(table.Profiles.Select(p => p.MsisdnKey).Order(), Is.EqualTo(profiles.Keys.Order()));
        for (var key = 8613800000000UL; key < 8613800000000UL + 3_000; key++)
        {
            Assert.That(table.ProfileOf(key), Is.SameAs(profiles.GetValueOrDefault(key)), $"profile of {key}");
            ref var state = ref table.GetStateOrNullRef(key);
            Assert.That(Unsafe.IsNullRef(ref state) ? (long?)null : state.OffsetTag, Is.EqualTo(states.TryGetValue(key, out var tag) ? tag : null),
                $"state of {key}");
        }
    }

    [Test]
    public void A_state_keeps_its_place_while_the_index_grows()
    {
        var table = new SubscriberTable();
        ref var first = ref table.GetOrAddState(1, out _);
        first.OffsetTag = 42;
        for (var key = 2UL; key < 100_000; key++)
        {
            table.GetOrAddState(key, out _).OffsetTag = (long)key;
        }

        Assert.That(first.OffsetTag, Is.EqualTo(42), "a state lives in a chunk that never moves");
        Assert.That(table.StateCount, Is.EqualTo(99_999));
        Assert.That(table.GetStateOrNullRef(77_777).OffsetTag, Is.EqualTo(77_777));
    }

    [Test]
    public void An_entry_with_neither_profile_nor_state_is_gone()
    {
        var table = new SubscriberTable();
        table.SetProfile(5, Profile(5), out _);
        table.GetOrAddState(5, out _);
        Assert.That(table.RemoveState(5), Is.True);
        Assert.That(table.ProfileOf(5), Is.Not.Null, "the profile stays");
        Assert.That(table.RemoveProfile(5, out _), Is.True);
        Assert.That(Unsafe.IsNullRef(ref table.Find(5)), Is.True);
        Assert.That(table.RemoveProfile(5, out _), Is.False);
    }

    private static SubscriberProfile Profile(ulong key) =>
        new() { Msisdn = key.ToString(System.Globalization.CultureInfo.InvariantCulture), MsisdnKey = key, Plan = "basic-58", CycleDay = 1 };
}
