using NUnit.Framework;
using RatingPipeline.Records;
using RatingPipeline.Rerating;

namespace RatingPipeline.Tests.Rerating;

/// <summary>The re-rate's subscribers by msisdn key: found again after growing, listed in the order they were added.</summary>
[TestFixture]
public sealed class SubscriberMapTests
{
    [Test]
    public void Every_key_added_finds_its_object_after_the_table_grew_and_the_objects_list_in_the_order_added()
    {
        var map = new SubscriberMap<string>();
        var keys = Enumerable.Range(0, 20_000).Select(i => Key(8613800000000L + (i * 7919L % 1_000_000))).Distinct().ToList();

        foreach (var key in keys)
        {
            map.PrefetchSlot(key);
            Assert.That(map.GetOrAdd(key, () => key.ToString()), Is.EqualTo(key.ToString()));
        }

        Assert.That(map.Count, Is.EqualTo(keys.Count));
        Assert.That(map.Values, Is.EqualTo(keys.Select(k => k.ToString())));
        foreach (var key in keys)
        {
            Assert.That(map.TryGetValue(key, out var value) ? value : null, Is.EqualTo(key.ToString()));
            Assert.That(map.GetOrAdd(key, () => "made again"), Is.EqualTo(key.ToString()));
            Assert.That(map.Peek(key), Is.EqualTo(key.ToString()));
        }

        Assert.That(map.Count, Is.EqualTo(keys.Count));
    }

    [Test]
    public void A_key_never_added_is_not_found()
    {
        var map = new SubscriberMap<string>();
        map.GetOrAdd(Key(8613800000001), () => "one");

        Assert.That(map.TryGetValue(Key(8613800000002), out _), Is.False);
        Assert.That(map.Peek(Key(8613800000002)), Is.Null);
        Assert.That(map.Peek(0), Is.Null, "0: no key known");
        Assert.That(() => map[Key(8613800000002)], Throws.TypeOf<KeyNotFoundException>());
        Assert.That(map[Key(8613800000001)], Is.EqualTo("one"));
    }

    private static ulong Key(long msisdn)
    {
        Assert.That(MsisdnKey.TryCompute(msisdn.ToString(System.Globalization.CultureInfo.InvariantCulture), out var key), Is.True);
        return key;
    }
}
