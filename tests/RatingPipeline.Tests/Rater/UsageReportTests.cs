using System.Text;
using System.Text.Json;
using NUnit.Framework;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rater.Usage;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// What the usage answer says about a subscriber's state (docs/self-service.md): remaining allowance and balance, and
/// each service's next charge by SPEC §7.4 and §7.5 — the first charge while it is ahead of the clock mark, then the
/// next cycle's start, none once cancelled by then.
/// </summary>
[TestFixture]
public sealed class UsageReportTests
{
    private const string Msisdn = "8613800000001";

    private const string Profile = """
        {"msisdn":"8613800000001","plan":"basic-58","cycleDay":1,"prepaid":true,"balance":50000000,"balanceAsOf":"2026-11-01T00:00:00+08:00",
         "services":[{"id":"music","name":{"zh":"音乐","en":"Music"},"price":5000000,"orderedAt":"2026-11-03T12:00:00+08:00"},
                     {"id":"news","name":{"zh":"新闻","en":"News"},"price":2000000,"orderedAt":"2026-11-03T12:00:00+08:00","cancelledAt":"2026-11-20T00:00:00+08:00"}]}
        """;

    private static readonly Tariff Tariff = TariffLoader.Load(SyntheticData.DemoTariff());

    [Test]
    public void Before_its_first_charge_a_service_is_next_charged_at_ordered_at_plus_the_lead_hours_as_written()
    {
        var engine = Run("""{"type":"clock","at":"2026-11-03T13:00:00+08:00"}""");
        var services = Answer(engine).GetProperty("services");

        Assert.That(services[0].GetProperty("chargedThisCycle").GetBoolean(), Is.False);
        Assert.That(services[0].GetProperty("nextChargeAt").GetString(), Is.EqualTo("2026-11-04T12:00:00+08:00"), "due = orderedAt + 24 h");
        Assert.That(services[1].GetProperty("nextChargeAt").GetString(), Is.EqualTo("2026-11-04T12:00:00+08:00"), "not cancelled at its due instant");
    }

    [Test]
    public void Once_charged_a_service_is_next_charged_at_the_next_cycles_start_and_a_service_cancelled_by_then_never()
    {
        var engine = Run("""{"type":"clock","at":"2026-11-05T00:00:00+08:00"}""");
        var answer = Answer(engine);
        var services = answer.GetProperty("services");

        Assert.That(services[0].GetProperty("chargedThisCycle").GetBoolean(), Is.True);
        Assert.That(services[0].GetProperty("nextChargeAt").GetString(), Is.EqualTo("2026-12-01T00:00:00+08:00"), "the next cycle's start");
        Assert.That(services[1].GetProperty("chargedThisCycle").GetBoolean(), Is.True);
        Assert.That(services[1].GetProperty("nextChargeAt").ValueKind, Is.EqualTo(JsonValueKind.Null), "cancelled on 2026-11-20, before the next cycle");
        Assert.That(answer.GetProperty("fees").EnumerateArray().Select(f => (f.GetProperty("serviceId").GetString(), f.GetProperty("amount").GetInt64())),
            Is.EqualTo(new[] { ("music", 5_000_000L), ("news", 2_000_000L) }));
        Assert.That(answer.GetProperty("spend").GetInt64(), Is.EqualTo(7_000_000), "the fees (the call was inside the allowance)");
        var prepaid = answer.GetProperty("prepaid");
        Assert.That(prepaid.GetProperty("chargesSince").GetInt64(), Is.EqualTo(7_000_000));
        Assert.That(prepaid.GetProperty("remaining").GetInt64(), Is.EqualTo(43_000_000), "balance - charges since balanceAsOf");
    }

    [Test]
    public void Remaining_allowance_is_the_plans_allowance_less_the_units_used_and_the_offset_tag_is_the_last_applied_record()
    {
        var engine = Run("""{"type":"clock","at":"2026-11-05T00:00:00+08:00"}""");
        var answer = Answer(engine);
        var voice = answer.GetProperty("usage").GetProperty("voice");

        Assert.That(Tariff.TryGetPlan("basic-58", out var plan), Is.True);
        Assert.That(voice.GetProperty("used").GetInt64(), Is.EqualTo(120), "a 120 s call");
        Assert.That(voice.GetProperty("allowance").GetInt64(), Is.EqualTo(plan.Allowance(CdrType.Voice)));
        Assert.That(voice.GetProperty("remaining").GetInt64(), Is.EqualTo(plan.Allowance(CdrType.Voice) - 120));
        Assert.That(answer.GetProperty("offsetTag").GetInt64(), Is.EqualTo(1), "the clock at offset 1");
        Assert.That(answer.GetProperty("cycle").GetString(), Is.EqualTo("2026-11-01"));
        Assert.That(answer.GetProperty("cycleEnd").GetString(), Is.EqualTo("2026-12-01"));
    }

    [Test]
    public void A_subscriber_without_a_state_has_no_cycle_and_nothing_used()
    {
        var engine = new RatingEngine(Tariff);
        engine.SetProfile(SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(Profile), Tariff, out _)!);
        var answer = Answer(engine);

        Assert.That(answer.GetProperty("cycle").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(answer.GetProperty("offsetTag").GetInt64(), Is.EqualTo(-1));
        Assert.That(answer.GetProperty("usage").GetProperty("sms").GetProperty("used").GetInt64(), Is.Zero);
        Assert.That(answer.GetProperty("prepaid").GetProperty("remaining").GetInt64(), Is.EqualTo(50_000_000));
    }

    [Test]
    public void The_demo_prints_one_curl_line_with_the_token_header_and_a_fresh_token_each_run()
    {
        var token = DemoUsageQuery.NewToken();
        var line = DemoUsageQuery.SampleCurl("http://127.0.0.1:9464/", token, Msisdn);

        Assert.That(token, Does.Match("^[0-9a-f]{32}$"));
        Assert.That(DemoUsageQuery.NewToken(), Is.Not.EqualTo(token), "random per run");
        Assert.That(line, Is.EqualTo($"curl -H 'Authorization: Bearer {token}' http://127.0.0.1:9464/v1/subscribers/{Msisdn}/usage"));
        Assert.That(line, Does.Not.Contain("\n"));
    }

    /// <summary>A 120 s national call on 2026-11-02 (offset 0), then <paramref name="clock"/> (offset 1).</summary>
    private static RatingEngine Run(string clock)
    {
        var engine = new RatingEngine(Tariff);
        var profile = SubscriberProfile.TryParse(Encoding.UTF8.GetBytes(Profile), Tariff, out var error);
        Assert.That(profile, Is.Not.Null, error);
        engine.SetProfile(profile!);
        var sink = new NoSink();
        var call = $$"""{"id":"c1","type":"voice","msisdn":"{{Msisdn}}","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00","durationSec":120}""";
        Assert.That(engine.Process(Encoding.UTF8.GetBytes(call), ref sink, 0), Is.EqualTo(RatingResult.Rated));
        engine.Process(Encoding.UTF8.GetBytes(clock), ref sink, 1);
        return engine;
    }

    private static JsonElement Answer(RatingEngine engine)
    {
        Assert.That(MsisdnKey.TryCompute(Msisdn, out var key), Is.True);
        var hasState = engine.TryGetState(key, out var state);
        return JsonDocument.Parse(UsageReport.Build(engine.ProfileOf(key)!, hasState, in state, Tariff, 0).ToJson()).RootElement;
    }

    private struct NoSink : IRatingSink
    {
        public readonly void Rated(in RatedCdr rated)
        {
        }

        public readonly void Reminder(in ReminderEvent reminder)
        {
        }

        public readonly void Rejected(in RejectedCdr rejected)
        {
        }

        public readonly void Bill(in BillRecord bill)
        {
        }
    }
}
