using System.Runtime.CompilerServices;
using RatingPipeline.Records;

namespace RatingPipeline.Tariffs;

/// <summary>
/// The pricing of one record under one rate, written once and used by the engine, the tariff checks, the
/// zero-rating audit and re-rating: billable units B from the record's duration or volume, then the charge of
/// the overage O, exactly, half up: C = (O × price + unit / 2) / unit.
/// </summary>
public static class Pricing
{
    /// <summary>
    /// Billable units B: voice 0 when the call lasted 0 s, else the first increment plus the rest rounded up to
    /// whole increments; SMS 1; data the bytes rounded up to whole increments.
    /// </summary>
    public static long BillableUnits(CdrType type, long durationSec, long bytes, Rate rate) => type switch
    {
        CdrType.Voice when durationSec == 0 => 0,
        CdrType.Voice => rate.FirstIncrement + (CeilDiv(Math.Max(0, durationSec - rate.FirstIncrement), rate.Increment) * rate.Increment),
        CdrType.Sms => 1,
        _ => CeilDiv(bytes, rate.Increment) * rate.Increment,
    };

    /// <summary>The charge of <paramref name="overage"/> units: (O × price + unit / 2) / unit with a 128-bit product.</summary>
    public static Int128 Charge(Int128 overage, Rate rate) => ((overage * rate.Price) + (rate.Unit / 2)) / rate.Unit;

    /// <summary>
    /// <see cref="Charge"/> of a 64-bit count held to the range of a long: in 64-bit arithmetic when the product and the
    /// rounding term fit (every real CDR), else through the 128-bit form. The same result either way: both divisions
    /// truncate toward zero.
    /// </summary>
    public static long ChargeSaturated(long overage, Rate rate)
    {
        var high = Math.BigMul(overage, rate.Price, out long low);
        var unit = rate.Unit;
        var half = unit / 2;
        if (high == (low >> 63) && unit > 0 && low <= long.MaxValue - half)
        {
            return (low + half) / unit;
        }

        return Saturate(Charge(overage, rate));
    }

    /// <summary>A 128-bit value held to the range of a long.</summary>
    internal static long Saturate(Int128 value) => value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;

    /// <summary>
    /// A minimum stated at a reference per-minute price, scaled to the rate's per-minute price (price × 60 / unit):
    /// (N + D / 2) / D with N = amount × price × 60 and D = unit × atPricePerMinute, in integers, half up.
    /// </summary>
    public static Int128 ScaledMinimum(long amount, long atPricePerMinute, Rate rate)
    {
        var n = (Int128)amount * rate.Price * 60;
        var d = (Int128)rate.Unit * atPricePerMinute;
        return (n + (d / 2)) / d;
    }

    /// <summary>⌈a / b⌉ for a ≥ 0, b &gt; 0, with one division (quotient and remainder of the same instruction).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long CeilDiv(long a, long b)
    {
        var quotient = Math.DivRem(a, b, out var remainder);
        return remainder == 0 ? quotient : quotient + 1;
    }
}
