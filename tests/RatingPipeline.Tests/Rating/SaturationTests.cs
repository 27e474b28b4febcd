using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// The engine's counters add in 64 bits and stop at the ends of the range instead of wrapping: the branch-light
/// addition must give what the exact sum held to the range gives, for every sign and at every edge; the charge of a
/// count in 64 bits must give what the 128-bit formula held to the range gives.
/// </summary>
[TestFixture]
public sealed class SaturationTests
{
    private static readonly long[] Edges =
    [
        0, 1, -1, 2, -2, 9, 10, long.MaxValue, long.MinValue, long.MaxValue - 1, long.MinValue + 1,
        long.MaxValue / 2, long.MinValue / 2, (long.MaxValue / 2) + 1, (long.MinValue / 2) - 1, 1_000_000_000_000_000,
    ];

    private static long Exact(long a, long b) => Pricing.Saturate((Int128)a + b);

    [Test]
    public void Every_pair_of_edge_values_adds_as_the_exact_sum_held_to_the_range()
    {
        foreach (var a in Edges)
        {
            foreach (var b in Edges)
            {
                Assert.That(RatingEngine.SaturatingAdd(a, b), Is.EqualTo(Exact(a, b)), $"{a} + {b}");
            }
        }
    }

    [Test]
    public void Overflow_stops_at_the_end_of_the_range_on_the_sign_of_the_terms()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RatingEngine.SaturatingAdd(long.MaxValue, 1), Is.EqualTo(long.MaxValue));
            Assert.That(RatingEngine.SaturatingAdd(long.MaxValue, long.MaxValue), Is.EqualTo(long.MaxValue));
            Assert.That(RatingEngine.SaturatingAdd(long.MinValue, -1), Is.EqualTo(long.MinValue));
            Assert.That(RatingEngine.SaturatingAdd(long.MinValue, long.MinValue), Is.EqualTo(long.MinValue));
            Assert.That(RatingEngine.SaturatingAdd(long.MaxValue, long.MinValue), Is.EqualTo(-1));
            Assert.That(RatingEngine.SaturatingAdd(40, 2), Is.EqualTo(42));
        });
    }

    [Test]
    public void Random_pairs_add_as_the_exact_sum_held_to_the_range()
    {
        var random = new Random(20261206);
        for (var i = 0; i < 200_000; i++)
        {
            // Half the pairs near the ends of the range, where overflow happens.
            var a = random.NextInt64(long.MinValue, long.MaxValue);
            var b = i % 2 == 0 ? random.NextInt64(long.MinValue, long.MaxValue)
                : a < 0 ? long.MinValue + random.Next(0, 1000) : long.MaxValue - random.Next(0, 1000);
            Assert.That(RatingEngine.SaturatingAdd(a, b), Is.EqualTo(Exact(a, b)), $"{a} + {b}");
        }
    }

    [Test]
    public void The_64_bit_charge_is_the_128_bit_charge_held_to_the_range()
    {
        long[] prices = [0, 1, 7, 999, 1_000_000, 123_456_789, long.MaxValue / 3, long.MaxValue];
        long[] units = [1, 2, 3, 60, 1_000, 1_048_576, long.MaxValue];
        var random = new Random(20261206);
        foreach (var price in prices)
        {
            foreach (var unit in units)
            {
                var rate = new Rate(CdrType.Data, null, null, null, UseAllowance: false, Capped: false, 1, 1, unit, price);
                IEnumerable<long> overages = [.. Edges, .. Enumerable.Range(0, 200).Select(_ => random.NextInt64(long.MinValue, long.MaxValue))];
                foreach (var overage in overages)
                {
                    Assert.That(Pricing.ChargeSaturated(overage, rate), Is.EqualTo(Pricing.Saturate(Pricing.Charge(overage, rate))),
                        $"{overage} units at {price} per {unit}");
                }
            }
        }
    }
}
