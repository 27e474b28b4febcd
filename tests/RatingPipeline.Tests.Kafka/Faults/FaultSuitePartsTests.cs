using System.Buffers;
using NUnit.Framework;
using RatingPipeline.FaultSuite;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Faults;

/// <summary>The pieces the fault suite's proof rests on.</summary>
[TestFixture]
public sealed class FaultSuitePartsTests
{
    [Test]
    public void Switched_tariff_changes_the_version_and_no_charge_of_the_synthetic_stream()
    {
        var v1 = TariffLoader.Load(SyntheticData.DemoTariff());
        var (bytes, version) = SuiteTariffs.Next(SyntheticData.DemoTariff());
        var v2 = TariffLoader.Load(bytes);

        var under1 = Rate(v1, seed: 3);
        var under2 = Rate(v2, seed: 3);

        Assert.That(v2.Version, Is.EqualTo(version).And.Not.EqualTo(v1.Version));
        Assert.That(v2.ZeroRating.Rules, Has.Count.EqualTo(v1.ZeroRating.Rules.Count + 1));
        Assert.That(under1, Does.Contain($"\"tariffVersion\":\"{v1.Version}\""));
        Assert.That(under2.Replace($"\"tariffVersion\":\"{v2.Version}\"", $"\"tariffVersion\":\"{v1.Version}\"", StringComparison.Ordinal), Is.EqualTo(under1));
    }

    [Test]
    public void Fault_plan_holds_each_planned_fault_once_in_order_across_the_stream()
    {
        var options = FaultSuiteOptions.Ci with { RaterKills = 4, SenderKills = 2, BrokerFaults = 7 };

        var plan = FaultPlan.Create(options, sender: true, new Random(5));

        var kinds = plan.Select(p => p.Kind).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(kinds.Count(k => k == FaultKind.KillRater), Is.EqualTo(4));
            Assert.That(kinds.Count(k => k == FaultKind.KillSender), Is.EqualTo(2));
            Assert.That(kinds.Count(k => k is FaultKind.ProduceErrors or FaultKind.FetchErrors or FaultKind.CommitErrors or FaultKind.BrokerDown or FaultKind.Latency), Is.EqualTo(7));
            Assert.That(kinds.Distinct().Count(), Is.EqualTo(Enum.GetValues<FaultKind>().Length), "every kind of fault at least once");
            Assert.That(kinds.IndexOf(FaultKind.SecondRater), Is.LessThan(kinds.IndexOf(FaultKind.StopOneRater)));
            Assert.That(plan.Select(p => p.DueAtShare), Is.Ordered.Ascending.And.All.InRange(0.0, 1.0));
        });
    }

    [TestCase("240s", 240)]
    [TestCase("4m", 240)]
    [TestCase("1.5h", 5400)]
    [TestCase("00:04:00", 240)]
    public void Duration_cap_reads_seconds_minutes_hours_and_clock_time(string text, int seconds)
    {
        Assert.That(Program.TryParseDuration(text, out var value), Is.True);
        Assert.That(value, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase("240")] // a bare number: no unit
    [TestCase("4x")] // unknown unit
    [TestCase("-3s")] // negative
    [TestCase("00:00:00")] // zero
    [TestCase("")] // empty
    public void Duration_cap_refuses_what_is_not_a_positive_duration(string text)
    {
        Assert.That(Program.TryParseDuration(text, out _), Is.False);
    }

    private static string Rate(Tariff tariff, int seed)
    {
        var data = new SyntheticData(seed, 500);
        var engine = new RatingEngine(tariff);
        var profile = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 500; i++)
        {
            profile.ResetWrittenCount();
            data.WriteProfile(i, profile);
            engine.SetProfile(Subscribers.SubscriberProfile.TryParse(profile.WrittenSpan, tariff, out _)!);
        }

        var rated = new ArrayBufferWriter<byte>();
        var reminders = new ArrayBufferWriter<byte>();
        var rejected = new ArrayBufferWriter<byte>();
        var sink = new JsonlSink(new RecordWriter(), rated, reminders, rejected, new ArrayBufferWriter<byte>());
        var cdr = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 20_000; i++)
        {
            cdr.ResetWrittenCount();
            data.WriteNextCdr(cdr);
            engine.Process(cdr.WrittenSpan, ref sink);
        }

        return System.Text.Encoding.UTF8.GetString(rated.WrittenSpan) + System.Text.Encoding.UTF8.GetString(reminders.WrittenSpan)
            + System.Text.Encoding.UTF8.GetString(rejected.WrittenSpan);
    }
}
