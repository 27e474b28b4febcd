using System.Buffers.Binary;
using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rating;

/// <summary>
/// The <c>rater-state</c> record: every state round-trips exactly through the written version (edge values included),
/// a typical subscriber's record stays small, and records of the earlier versions still load as the states they held.
/// </summary>
[TestFixture]
public sealed class UsageStateCodecTests
{
    /// <summary>A subscriber after about twenty CDRs of synthetic traffic: three types used, prepaid, a roaming notice, 20 ids.</summary>
    internal static UsageState Typical()
    {
        var state = UsageState.New();
        state.HasCycle = true;
        state.OffsetTag = 198_178;
        state.CycleDay = 20_751;
        state.PlanId = NameTable.Plans.Intern("basic-58");
        state.StreamTime = 17_942_556_820_000_000;
        state.Used[0] = 2_160;
        state.Used[1] = 2;
        state.Used[2] = 1_377_280;
        state.Counters.Count[0] = 15;
        state.Counters.Count[1] = 5;
        state.Counters.Count[2] = 1;
        state.Counters.Units[0] = 2_400;
        state.Counters.Units[1] = 5;
        state.Counters.Units[2] = 1_377_280;
        state.Counters.Charges[1] = 360_000;
        state.Counters.Spend = 360_000;
        state.AllowanceFired[0] = UInt128.One << 80;
        state.PrepaidTracked = true;
        state.PrepaidAsOfTicks = 17_934_624_000_000_000;
        state.PrepaidCharges = 360_000;
        state.RoamingMcc = 454;
        state.RoamingStartTicks = 17_940_350_170_000_000;
        for (var i = 1; i <= 20; i++)
        {
            state.RecentIds.Add((ulong)i * 0x9E3779B97F4A7C15UL);
        }

        return state;
    }

    /// <summary>
    /// The median record of the scale benchmark's synthetic traffic (10,000 subscribers after 200,000 CDRs): three types
    /// used, one allowance reminder, no prepaid or roaming, 20 ids (218 B in version 2).
    /// </summary>
    internal static UsageState Median()
    {
        var state = UsageState.New();
        state.HasCycle = true;
        state.OffsetTag = 194_303;
        state.CycleDay = 20_752;
        state.PlanId = NameTable.Plans.Intern("mini-18");
        state.StreamTime = 17_942_401_300_000_000;
        state.Used[0] = 480;
        state.Used[1] = 3;
        state.Used[2] = 46_178_304;
        state.Counters.Count[0] = 10;
        state.Counters.Count[1] = 4;
        state.Counters.Count[2] = 6;
        state.Counters.Units[0] = 1_512;
        state.Counters.Units[1] = 3;
        state.Counters.Units[2] = 46_178_304;
        state.Counters.Charges[0] = 8_358_000;
        state.Counters.Spend = 8_358_000;
        state.AllowanceFired[0] = UInt128.One << 80;
        for (var i = 1; i <= 20; i++)
        {
            state.RecentIds.Add((ulong)i * 0x9E3779B97F4A7C15UL);
        }

        return state;
    }

    /// <summary>Every part set, every number at an edge, the duplicate memory full and wrapped.</summary>
    internal static UsageState Extreme()
    {
        var state = UsageState.New();
        state.OffsetTag = long.MaxValue;
        state.HasCycle = true;
        state.CycleDay = int.MaxValue;
        state.PlanId = NameTable.Plans.Intern("basic-58");
        state.Mark = long.MaxValue;
        state.StreamTime = long.MinValue;
        state.Counters.Count[1] = long.MaxValue;
        state.Counters.Units[2] = long.MinValue;
        state.Counters.Charges[0] = 7;
        state.PlanEndsNoticed = ulong.MaxValue;
        var extras = state.EnsureExtras();
        extras.Fees.Add(new FeeEntry(FeeKind.Monthly, -1, 58_000_000));
        extras.Fees.Add(new FeeEntry(FeeKind.Service, NameTable.Services.Intern("news"), long.MaxValue));
        extras.Previous = new PreviousCycle
        {
            IsOpen = true,
            Cycle = 20_000,
            CloseTicks = long.MaxValue,
            CycleEnd = 20_030,
            PlanId = NameTable.Plans.Intern("mini-18"),
            TariffVersionId = NameTable.TariffVersions.Intern("v-1"),
            Minimum = 50_000_000,
        };
        extras.Previous.Counters.Spend = long.MinValue;
        extras.Previous.Counters.AllowanceFired[1] = UInt128.MaxValue;
        extras.Previous.Fees.Add(new FeeEntry(FeeKind.Service, NameTable.Services.Intern("weather"), 3));
        state.Used[0] = long.MaxValue;
        state.Used[1] = 1;
        state.Used[2] = long.MinValue;
        state.AllowanceFired[0] = UInt128.MaxValue;
        state.AllowanceFired[2] = UInt128.One << 100;
        state.Counters.Capped = -1;
        state.Counters.Spend = long.MaxValue;
        state.Counters.DataCapFired = true;
        state.Counters.HighSpendFired = true;
        state.PrepaidTracked = true;
        state.PrepaidAsOfTicks = long.MinValue;
        state.PrepaidCharges = 42;
        state.LowBalanceFired = true;
        state.RoamingMcc = 999;
        state.RoamingStartTicks = -5;
        for (var i = 0; i < 40; i++)
        {
            state.RecentIds.Add((ulong)i * 0x9E3779B97F4A7C15UL);
        }

        return state;
    }

    /// <summary>The two states above as the version 2 codec wrote them.</summary>
    private const string TypicalVersion2 =
        "0209C498189EC4020862617369632D353880B4F2D9A1AADF3F04E0211EC02500040A0A80F92B8090A801028090A801000080F92B0080800480809ACBC1DCDB3F"
        + "80F92B8C07FF89B7E9B8800114157C4A7FB979379E2AF894FE72F36E3C3F74DF7D2C6DA6DA54F029FDE5E6DD78696C747C9F6015177EE8BEFB58DA4CB59364097B"
        + "12548453A8E053FACBCDBBF1BD5C9E798547F38FD2D8E8F83EC12A2EE7543378F83A62CCFCD07DF7B1B4996A114DC8766B2ED10826C912F624A808A73B455D75DE"
        + "21404550C1A7F4979B77E3653DF2735115AF817AB93CF30A8FE61F8F358772C4081EBEA4B1D1F17D82555C";

    private const string ExtremeVersion2 =
        "027FFEFFFFFFFFFFFFFFFF01FEFFFFFF0F0862617369632D3538FFFFFFFFFFFFFFFFFF010117FEFFFFFFFFFFFFFFFF0100000E02FEFFFFFFFFFFFFFFFF010000"
        + "FFFFFFFFFFFFFFFFFF0100FFFFFFFFFFFFFFFFFF010001FEFFFFFFFFFFFFFFFF01FFFFFFFFFFFFFFFFFF01FFFFFFFFFFFFFFFFFF0100808080808002FFFFFFFF"
        + "FFFFFFFFFF0154CE0FF6FFFFFFFFFFFFFFFF01FFFFFFFFFFFFFFFF0200808AA83701046E657773FEFFFFFFFFFFFFFFFF01C0B802013C076D696E692D31380376"
        + "2D3180C2D72F0800000000000000000000000000FFFFFFFFFFFFFFFFFF01FFFFFFFFFFFFFFFFFF01FFFFFFFFFFFFFFFFFF01010107776561746865720620A8E0"
        + "53FACBCDBBF1BD5C9E798547F38FD2D8E8F83EC12A2EE7543378F83A62CCFCD07DF7B1B4996A114DC8766B2ED10826C912F624A808A73B455D75DE21404550C1"
        + "A7F4979B77E3653DF2735115AF817AB93CF30A8FE61F8F358772C4081EBEA4B1D1F17D82555CB92D1C7137FC8CFACEA966F0F075C498E325B16FAAEFFB36F8A1"
        + "FBEE636933D50D1E466E1DE36A73229A90EDD65CA2113716DB6C90D6D9AF4C9225EC4950114E610E706B03CA48EC768ABAEABC43808A8B06056A76BDB728A082"
        + "4FE92F37EFC6B5FE9968E9B02665CA7AE4E7A22A5E03DFF62E675CA495A1F47279E6151ECD3F09EFC365CF9704DE1E6B0EE588113C7C33E75864428B731A";

    private static readonly long[] EdgeNumbers =
    [
        0, 1, -1, 2, 999, 1_000, -1_000, 1_024, 60_000_000, 1_000_000_000_000, 0x3FFF_FFFF_FFFF_FFFF, -0x4000_0000_0000_0000,
        long.MaxValue, long.MinValue, long.MaxValue - 1, long.MinValue + 1, 1L << 62, -(1L << 62) - 1_024,
    ];

    [Test]
    public void Random_states_with_edge_values_round_trip_exactly()
    {
        var random = new Random(20_261_205);
        for (var i = 0; i < 3_000; i++)
        {
            var state = RandomState(random);
            var bytes = UsageStateCodec.ToArray(in state);
            var written = new byte[UsageStateCodec.MaxSize(in state)];
            Assert.That(UsageStateCodec.Write(in state, written), Is.EqualTo(bytes.Length), "Write and ToArray agree");
            Assert.That(bytes[0], Is.EqualTo(UsageStateCodec.Version));
            Assert.That(UsageStateCodec.TryRead(bytes, out var read), Is.True, $"state {i}");
            Assert.That(StateFields.Of(read), Is.EqualTo(StateFields.Of(state)), $"state {i}");
            Assert.That(UsageStateCodec.ToArray(in read), Is.EqualTo(bytes), $"state {i} is written again as the same bytes");
            if (i % 100 == 0)
            {
                AssertRefusals(bytes);
            }
        }
    }

    [Test]
    public void A_damaged_record_is_refused_or_read_never_thrown()
    {
        var random = new Random(17);
        var refused = 0;
        for (var i = 0; i < 300; i++)
        {
            var state = RandomState(random);
            var bytes = UsageStateCodec.ToArray(in state);
            for (var k = 0; k < 30; k++)
            {
                var damaged = (byte[])bytes.Clone();
                for (var d = random.Next(1, 4); d > 0; d--)
                {
                    damaged[random.Next(damaged.Length)] = (byte)random.Next(256);
                }

                refused += UsageStateCodec.TryRead(damaged, out _) ? 0 : 1;
            }
        }

        Assert.That(refused, Is.Positive, "some damage is detectable (lengths, counts, unknown parts)");
    }

    [Test]
    public void Edge_states_round_trip_exactly_and_within_the_size_bound()
    {
        foreach (var state in new[] { Extreme(), Typical(), Median(), UsageState.New(), WithFractionalInstants(), WithThresholdsBeyond() })
        {
            var bytes = UsageStateCodec.ToArray(in state);
            Assert.That(bytes, Has.Length.LessThanOrEqualTo(UsageStateCodec.MaxSize(in state)));
            Assert.That(UsageStateCodec.TryRead(bytes, out var read), Is.True);
            Assert.That(StateFields.Of(read), Is.EqualTo(StateFields.Of(state)));
            AssertRefusals(bytes);
        }
    }

    [Test]
    public void A_median_subscriber_record_is_at_most_200_bytes()
    {
        var state = Median();
        var bytes = UsageStateCodec.ToArray(in state);
        Assert.Multiple(() =>
        {
            Assert.That(bytes, Has.Length.LessThanOrEqualTo(200), "the pipeline's budget per rater-state record");
            Assert.That(bytes.Length - (8 * state.RecentIds.Count), Is.LessThanOrEqualTo(40), "beside the 20 remembered ids");
        });
    }

    [Test]
    public void A_record_is_smaller_than_its_version_2_form()
    {
        var state = Typical();
        Assert.That(UsageStateCodec.ToArray(in state), Has.Length.LessThan(Convert.FromHexString(TypicalVersion2).Length - 25));
    }

    [Test]
    public void Version_2_records_still_decode_to_the_states_they_were_written_from()
    {
        foreach (var (hex, expected) in new[] { (TypicalVersion2, Typical()), (ExtremeVersion2, Extreme()) })
        {
            var record = Convert.FromHexString(hex);
            Assert.That(record[0], Is.EqualTo(2));
            Assert.That(UsageStateCodec.TryRead(record, out var read), Is.True);
            Assert.That(StateFields.Of(read), Is.EqualTo(StateFields.Of(expected)));

            // Written again, the state is a version 3 record that reads back the same.
            Assert.That(UsageStateCodec.TryRead(UsageStateCodec.ToArray(in read), out var again), Is.True);
            Assert.That(StateFields.Of(again), Is.EqualTo(StateFields.Of(expected)));
            Assert.That(UsageStateCodec.TryRead(record.AsSpan(0, record.Length - 1), out _), Is.False, "a truncated version 2 record");
        }
    }

    [Test]
    public void A_version_1_record_still_loads_without_clock_mark_plan_or_fees()
    {
        var record = new byte[2 + 8 + 4 + 24 + 48 + 8 + 8 + 8 + 8 + 4 + 8 + 2 + (8 * 3)];
        record[0] = 1;
        record[1] = 1 | 2 | 8; // a cycle, the data cap fired, prepaid tracked
        var n = 2;
        Put64(4_711);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(n), 20_751);
        n += 4;
        Put64(600);
        Put64(3);
        Put64(1_048_576);
        BinaryPrimitives.WriteUInt128LittleEndian(record.AsSpan(n), UInt128.One << 80);
        n += 48;
        Put64(250_000);
        Put64(1_250_000);
        Put64(17_934_624_000_000_000);
        Put64(90_000);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(n), -1);
        n += 4;
        Put64(0);
        record[n++] = 3;
        record[n++] = 3;
        Put64(11);
        Put64(12);
        Put64(13);

        Assert.That(UsageStateCodec.TryRead(record, out var state), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(state.OffsetTag, Is.EqualTo(4_711));
            Assert.That(state.CycleDay, Is.EqualTo(20_751));
            Assert.That(state.Used[0], Is.EqualTo(600));
            Assert.That(state.Used[2], Is.EqualTo(1_048_576));
            Assert.That(state.AllowanceFired[0], Is.EqualTo(UInt128.One << 80));
            Assert.That(state.CappedCharges, Is.EqualTo(250_000));
            Assert.That(state.Spend, Is.EqualTo(1_250_000));
            Assert.That(state.DataCapFired, Is.True);
            Assert.That(state.PrepaidTracked, Is.True);
            Assert.That(state.PrepaidCharges, Is.EqualTo(90_000));
            Assert.That(state.RoamingMcc, Is.EqualTo(-1));
            Assert.That(state.Mark, Is.EqualTo(UsageState.NoMark));
            Assert.That(state.PlanId, Is.EqualTo(UsageState.UnknownPlan));
            Assert.That(state.Fees.Length, Is.Zero);
            Assert.That(state.StreamTime, Is.EqualTo(long.MinValue));
            Assert.That(state.RecentIds.Count, Is.EqualTo(3));
            Assert.That(state.RecentIds.Contains(12), Is.True);
        });

        // Loaded once, it is written as version 3 and reads back the same.
        Assert.That(UsageStateCodec.TryRead(UsageStateCodec.ToArray(in state), out var again), Is.True);
        Assert.That(StateFields.Of(again), Is.EqualTo(StateFields.Of(state)));

        void Put64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(n), value);
            n += 8;
        }
    }

    [Test]
    public void Writing_a_state_allocates_nothing()
    {
        var states = new[] { Typical(), Extreme(), WithFractionalInstants() };
        var buffer = new byte[4_096];
        var total = 0;
        foreach (var state in states)
        {
            total += UsageStateCodec.Write(in state, buffer) + UsageStateCodec.MaxSize(in state);
        }

        long allocated;
        using (var window = new AllocationWindow())
        {
            for (var round = 0; round < 100; round++)
            {
                foreach (var state in states)
                {
                    total += UsageStateCodec.Write(in state, buffer) + UsageStateCodec.MaxSize(in state);
                }
            }

            allocated = window.Allocated;
        }

        Assert.That(allocated, Is.Zero);
        Assert.That(total, Is.Positive);
    }

    /// <summary>Instants with a fraction of a second are written in ticks, and still exactly.</summary>
    private static UsageState WithFractionalInstants()
    {
        var state = Typical();
        state.Mark = state.StreamTime + 36_000_000_001;
        state.RoamingStartTicks = state.StreamTime - 7;
        return state;
    }

    /// <summary>Allowance thresholds outside 0–127 fired (a tariff may list any integer), in the cycle and the open previous one.</summary>
    private static UsageState WithThresholdsBeyond()
    {
        var state = Extreme();
        state.Counters.Fire(CdrType.Sms, 150);
        state.Counters.Fire(CdrType.Voice, -1);
        state.Counters.Fire(CdrType.Sms, long.MaxValue);
        state.Counters.Fire(CdrType.Data, 100);
        state.Previous!.Counters.Fire(CdrType.Data, long.MinValue);
        Assert.That(state.Counters.AllowanceFiredBeyond, Has.Length.EqualTo(3), "100 is a bit of the mask");
        return state;
    }

    private static UsageState RandomState(Random random)
    {
        long Number() => random.Next(4) switch
        {
            0 => EdgeNumbers[random.Next(EdgeNumbers.Length)],
            1 => random.Next(-1_000, 1_000_000),
            2 => random.NextInt64(-1_000_000, 1_000_000) * (random.Next(2) == 0 ? 1_000 : 1_024),
            _ => random.NextInt64(long.MinValue, long.MaxValue),
        };

        long Instant(long near) => random.Next(5) switch
        {
            0 => Number(),
            1 => near + (random.NextInt64(-100_000, 100_000) * TimeSpan.TicksPerSecond),
            2 => near + random.NextInt64(-1_000_000_000, 1_000_000_000),
            _ => near + (random.Next(-3_600, 3_600) * TimeSpan.TicksPerSecond),
        };

        int Day() => random.Next(4) switch
        {
            0 => int.MinValue,
            1 => int.MaxValue,
            _ => random.Next(-30_000, 60_000),
        };

        void Counters(ref CycleCounters c)
        {
            for (var t = 0; t < 3; t++)
            {
                if (random.Next(4) == 0)
                {
                    continue;
                }

                c.Used[t] = Number();
                c.Count[t] = Number();
                c.Units[t] = random.Next(2) == 0 ? c.Used[t] : Number();
                c.Charges[t] = random.Next(2) == 0 ? 0 : Number();
                c.AllowanceFired[t] = random.Next(3) switch
                {
                    0 => 0,
                    1 => (UInt128.One << 50) | (UInt128.One << 80) | (UInt128.One << 100),
                    _ => new UInt128((ulong)random.NextInt64(), (ulong)random.NextInt64()) | (UInt128.One << 127),
                };
            }

            for (var beyond = random.Next(4) == 0 ? random.Next(1, 4) : 0; beyond > 0; beyond--)
            {
                long[] thresholds = [128, 150, -1, long.MinValue, long.MaxValue, random.NextInt64(128, long.MaxValue), random.NextInt64(long.MinValue, 0)];
                c.Fire((CdrType)random.Next(3), thresholds[random.Next(thresholds.Length)]);
            }

            c.Capped = random.Next(3) == 0 ? Number() : 0;
            c.Spend = random.Next(2) == 0 ? c.Charges[0] + c.Charges[1] + c.Charges[2] : Number();
            c.DataCapFired = random.Next(2) == 0;
            c.HighSpendFired = random.Next(2) == 0;
        }

        void Fees(List<FeeEntry> fees)
        {
            for (var f = random.Next(4); f > 0; f--)
            {
                fees.Add(random.Next(2) == 0
                    ? new FeeEntry(FeeKind.Monthly, -1, Number())
                    : new FeeEntry(FeeKind.Service, NameTable.Services.Intern($"service-{random.Next(5)}"), Number()));
            }
        }

        var state = UsageState.New();
        state.HasCycle = random.Next(10) != 0;
        state.OffsetTag = random.Next(3) == 0 ? -1 : Number();
        state.CycleDay = Day();
        state.PlanId = random.Next(5) == 0 ? UsageState.UnknownPlan : NameTable.Plans.Intern($"plan-{random.Next(5)}");
        state.StreamTime = Instant(state.CycleDay * TimeSpan.TicksPerDay);
        state.Mark = random.Next(3) == 0 ? UsageState.NoMark : Instant(state.StreamTime);
        Counters(ref state.Counters);
        if (random.Next(2) == 0)
        {
            state.PrepaidTracked = true;
            state.PrepaidAsOfTicks = Instant(state.StreamTime);
            state.PrepaidCharges = Number();
        }

        state.LowBalanceFired = random.Next(3) == 0;
        if (random.Next(2) == 0)
        {
            state.RoamingMcc = random.Next(2) == 0 ? random.Next(1_000) : int.MaxValue;
            state.RoamingStartTicks = Instant(state.StreamTime);
        }

        state.PlanEndsNoticed = random.Next(3) == 0 ? (ulong)random.NextInt64() : 0;
        if (random.Next(2) == 0)
        {
            var extras = state.EnsureExtras();
            Fees(extras.Fees);
            if (random.Next(2) == 0)
            {
                var previous = extras.Previous = new PreviousCycle
                {
                    IsOpen = random.Next(5) != 0,
                    Cycle = Day(),
                    CloseTicks = Instant(state.StreamTime),
                    CycleEnd = Day(),
                    PlanId = random.Next(5) == 0 ? UsageState.UnknownPlan : NameTable.Plans.Intern($"plan-{random.Next(5)}"),
                    TariffVersionId = NameTable.TariffVersions.Intern($"2026-1{random.Next(3)}-01.1"),
                    Minimum = Number(),
                };
                Counters(ref previous.Counters);
                Fees(previous.Fees);
            }
        }

        var ids = random.Next(4) switch
        {
            0 => 0,
            1 => IdMemory.Capacity,
            2 => IdMemory.Capacity + random.Next(1, 40),
            _ => random.Next(1, IdMemory.Capacity),
        };
        for (var i = 0; i < ids; i++)
        {
            state.RecentIds.Add(random.Next(8) == 0 ? (random.Next(2) == 0 ? 0 : ulong.MaxValue) : (ulong)random.NextInt64() << 1);
        }

        return state;
    }

    /// <summary>Every truncation, an unknown version and a trailing byte are refused.</summary>
    internal static void AssertRefusals(byte[] bytes)
    {
        for (var n = 0; n < bytes.Length; n++)
        {
            Assert.That(UsageStateCodec.TryRead(bytes.AsSpan(0, n), out _), Is.False, $"truncated to {n} of {bytes.Length} bytes");
        }

        foreach (var version in new byte[] { 0, UsageStateCodec.Version + 1, 0xFF })
        {
            var other = (byte[])bytes.Clone();
            other[0] = version;
            Assert.That(UsageStateCodec.TryRead(other, out _), Is.False, $"version {version}");
        }

        Assert.That(UsageStateCodec.TryRead([.. bytes, 0], out _), Is.False, "a trailing byte");
    }
}
