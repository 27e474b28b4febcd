using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// The engine's counters add in 64 bits and stop at the ends of the range instead of wrapping: the branch-light
/// addition must give what the exact sum held to the range gives, for every sign and at every edge; the charge of a
/// count in 64 bits must give what the 128-bit formula held to the range gives, and so must the allowance threshold test.
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

    [Test]
    public void The_64_bit_threshold_test_is_the_128_bit_one()
    {
        const long Below56 = (1L << 56) - 1;
        long[] values = [.. Edges, Below56, Below56 + 1, Below56 - 1, 1L << 55, 100, 99, 80, 81];
        int[] thresholds = [0, 1, 50, 80, 99, 100, 101, 127, 128, -1];
        var random = new Random(20261206);
        IEnumerable<long> sample = [.. values, .. Enumerable.Range(0, 60).Select(_ => random.NextInt64(-1_000, Below56 + 1_000))];
        var samples = sample.ToArray();
        foreach (var threshold in thresholds)
        {
            foreach (var used in samples)
            {
                foreach (var allowance in samples)
                {
                    Assert.That(RatingEngine.ThresholdReached(used, threshold, allowance),
                        Is.EqualTo(RatingEngine.ThresholdReached128(used, threshold, allowance)), $"{used} used of {allowance} at {threshold} %");
                }
            }
        }
    }

    [Test]
    public void The_rated_record_has_the_fields_the_engine_fills_on_both_paths()
    {
        // The engine fills a rated CDR without clearing it first; a new field must be assigned in
        // RatingEngine.ProcessSubscriberRecord on the zero-rated and the charged path, then counted here.
        Assert.That(typeof(RatedCdr).GetFields().Length, Is.EqualTo(29));
    }
}
