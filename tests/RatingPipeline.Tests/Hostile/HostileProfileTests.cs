using System.Buffers;
using System.Diagnostics;
using System.Text;
using NUnit.Framework;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.Rerating;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// Hostile profiles: the parser returns a profile or an error, never an exception; a flood of a million distinct
/// subscribers loads with a bounded cost per profile (reported in the test output).
/// </summary>
[TestFixture]
public sealed class HostileProfileTests
{
    private const string Head = "{\"msisdn\":\"8613800000001\",\"plan\":\"basic-58\",\"cycleDay\":1";

    private static IEnumerable<TestCaseData> Refused()
    {
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Head + ",\"x\":" + new string('[', 100_000) + "}")).SetArgDisplayNames("nesting-1e5");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Head + ",\"prepaid\":true,\"balance\":1" + new string('0', 1_000_000) + ",\"balanceAsOf\":\"2026-11-01T00:00:00Z\"}"))
            .SetArgDisplayNames("balance-of-1e6-digits");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Head.Replace("\"cycleDay\":1", "\"cycleDay\":1e0", StringComparison.Ordinal) + "}")).SetArgDisplayNames("cycle-day-exponent");
        yield return new TestCaseData((byte[])[.. Encoding.UTF8.GetBytes(Head + ",\"email\":\"a"), 0xF8, 0x88, 0x80, 0x80, 0x80, .. "\"}"u8.ToArray()])
            .SetArgDisplayNames("utf8-five-byte");
        yield return new TestCaseData((byte[])[.. Encoding.UTF8.GetBytes(Head + ",\"email\":\"a"), 0x00, .. "\"}"u8.ToArray()]).SetArgDisplayNames("nul-raw");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Head.Replace("8613800000001", new string('8', 1 << 20), StringComparison.Ordinal) + "}"))
            .SetArgDisplayNames("msisdn-1mib");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Head + ",\"channels\":[" + string.Join(",", Enumerable.Repeat("\"sms\"", 100_000)) + ",\"fax\"]}"))
            .SetArgDisplayNames("channels-1e5-then-unknown");
        yield return new TestCaseData(Encoding.UTF8.GetBytes(Head + ",\"msisdn\":\"8613800000002\"}")).SetArgDisplayNames("msisdn-twice");
    }

    [TestCaseSource(nameof(Refused))]
    public void A_hostile_profile_is_refused_with_an_error(byte[] profile)
    {
        var parsed = SubscriberProfile.TryParse(profile, TariffLoader.Load(SyntheticData.DemoTariff()), out var error);
        Assert.That(parsed, Is.Null);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public void A_profile_with_huge_free_text_members_is_kept()
    {
        // The e-mail address and unknown members are free text: 1 MiB each is kept (the sender judges the address).
        var json = Head + ",\"email\":\"" + new string('e', 1 << 20) + "\",\"note\":\"" + new string('n', 1 << 20) + "\"}";
        var parsed = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(json), null, out var error);
        Assert.That(parsed, Is.Not.Null, error);
        Assert.That(parsed!.Email, Has.Length.EqualTo(1 << 20));
    }

    [Test]
    public void A_flood_of_a_million_distinct_subscribers_costs_a_bounded_amount_per_profile()
    {
        // Through RatingEngine.SetProfile: profiles made as the parser makes them (fresh strings, a prepaid profile
        // every seventh), so the figure is what the engine holds per subscriber, without the parsing time.
        const int Subscribers = 1_000_000;
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        var engine = new RatingEngine(tariff);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Subscribers; i++)
        {
            engine.SetProfile(Profile(i));
        }

        var setTime = watch.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var perProfile = (after - before) / (double)Subscribers;
        TestContext.Out.WriteLine($"{Subscribers:N0} distinct profiles set in {setTime.TotalSeconds:F1} s: the engine holds "
            + $"{(after - before) / 1024.0 / 1024:F0} MiB = {perProfile:F0} bytes per profile");
        Assert.That(engine.ProfileCount, Is.EqualTo(Subscribers));
        Assert.That(perProfile, Is.LessThan(2048));

        // The first and the last subscriber of the flood are rated.
        var rated = new ArrayBufferWriter<byte>();
        var sink = new JsonlSink(new RecordWriter(), rated, rated, rated, new ArrayBufferWriter<byte>());
        foreach (var msisdn in (long[])[FirstMsisdn, FirstMsisdn + Subscribers - 1])
        {
            var result = engine.Process(Encoding.UTF8.GetBytes(
                $"{{\"id\":\"f1\",\"type\":\"sms\",\"msisdn\":\"{msisdn}\",\"direction\":\"mo\",\"peer\":\"13900000000\",\"start\":\"2026-11-20T10:00:00+08:00\"}}"), ref sink);
            Assert.That(result, Is.EqualTo(RatingResult.Rated), Encoding.UTF8.GetString(rated.WrittenSpan));
        }

        GC.KeepAlive(engine);
    }

    [Test]
    public async Task A_subscriber_file_of_100000_distinct_profiles_loads_with_a_bounded_cost_per_profile()
    {
        // The file path of the flood (parse and keep), at a tenth of the size to keep CI short.
        const int Subscribers = 100_000;
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        using var folder = new TestFolder();
        var path = folder.File("subscribers.jsonl");
        await using (var file = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20))
        {
            for (var i = 0; i < Subscribers; i++)
            {
                await file.WriteAsync(i % 7 == 3
                    ? $"{{\"msisdn\":\"{FirstMsisdn + i}\",\"plan\":\"basic-58\",\"cycleDay\":{1 + (i % 28)},\"prepaid\":true,\"balance\":5000000,\"balanceAsOf\":\"2026-11-01T00:00:00+08:00\"}}\n"
                    : $"{{\"msisdn\":\"{FirstMsisdn + i}\",\"plan\":\"{(i % 2 == 0 ? "basic-58" : "mini-18")}\",\"cycleDay\":{1 + (i % 28)}}}\n");
            }
        }

        var engine = new RatingEngine(tariff);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var watch = Stopwatch.StartNew();
        foreach (var profile in SubscriberFile.Load(path, tariff))
        {
            engine.SetProfile(profile);
        }

        var loadTime = watch.Elapsed;
        var perProfile = (GC.GetTotalMemory(forceFullCollection: true) - before) / (double)Subscribers;
        TestContext.Out.WriteLine($"subscriber file of {Subscribers:N0} profiles: loaded in {loadTime.TotalSeconds:F1} s "
            + $"({Subscribers / loadTime.TotalSeconds:N0}/s); the engine holds {perProfile:F0} bytes per profile");
        Assert.That(engine.ProfileCount, Is.EqualTo(Subscribers));
        Assert.That(perProfile, Is.LessThan(2048));
        GC.KeepAlive(engine);
    }

    private const long FirstMsisdn = 8_615_000_000_000L;

    /// <summary>Subscriber <paramref name="i"/> of the flood, with fresh strings as the parser gives them.</summary>
    private static SubscriberProfile Profile(int i)
    {
        var msisdn = (FirstMsisdn + i).ToString(System.Globalization.CultureInfo.InvariantCulture);
        global::RatingPipeline.Records.MsisdnKey.TryCompute(msisdn, out var key);
        var plan = string.Concat(i % 2 == 0 ? "basic" : "mini", i % 2 == 0 ? "-58" : "-18");
        if (i % 7 != 3)
        {
            return new SubscriberProfile { Msisdn = msisdn, MsisdnKey = key, Plan = plan, CycleDay = 1 + (i % 28) };
        }

        var asOf = string.Concat("2026-11-01T00:00:00", "+08:00");
        Time.Instant.TryParse(asOf, out var asOfTicks);
        return new SubscriberProfile
        {
            Msisdn = msisdn,
            MsisdnKey = key,
            Plan = string.Concat("basic", "-58"),
            CycleDay = 1 + (i % 28),
            Prepaid = true,
            Balance = 5_000_000,
            BalanceAsOf = asOf,
            BalanceAsOfTicks = asOfTicks,
            BalanceAsOfUtf8 = Encoding.UTF8.GetBytes(asOf),
        };
    }
}
