using System.Text;
using System.Text.Json.Nodes;
using NUnit.Framework;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Support;

/// <summary>What one record produced.</summary>
public sealed record Step(RatingResult Result, List<JsonObject> Rated, List<JsonObject> Reminders, List<JsonObject> Rejected)
{
    /// <summary>The single rated record (fails the test when the CDR was not rated).</summary>
    public JsonObject Single
    {
        get
        {
            Assert.That(Rated, Has.Count.EqualTo(1), () => $"expected one rated record; rejected: {string.Join(" ", Rejected)}");
            return Rated[0];
        }
    }

    /// <summary>The reason of the single rejected record (fails the test when the CDR was not rejected).</summary>
    public string Reason
    {
        get
        {
            Assert.That(Rejected, Has.Count.EqualTo(1), () => $"expected one rejected record; rated: {string.Join(" ", Rated)}");
            return (string)Rejected[0]["reason"]!;
        }
    }

    public long Billable => (long)Single["billableUnits"]!;

    public long Allowance => (long)Single["allowanceUnits"]!;

    public long Overage => (long)Single["overageUnits"]!;

    public long Charge => (long)Single["charge"]!;

    public IEnumerable<string> Kinds => Reminders.Select(r => (string)r["kind"]!);
}

/// <summary>A rating engine with a recording sink; <see cref="Process(string)"/> returns what one record produced.</summary>
public sealed class EngineHarness
{
    private readonly RecordedOutputs _outputs = new();
    private RecordingSink _sink;

    public EngineHarness(Tariff tariff, params SubscriberProfile[] profiles)
        : this(tariff, acceptsProfileLines: false, profiles)
    {
    }

    /// <summary>An engine that takes <c>profile</c> lines in the stream when <paramref name="acceptsProfileLines"/>, as offline (SPEC §7.1).</summary>
    public EngineHarness(Tariff tariff, bool acceptsProfileLines, params SubscriberProfile[] profiles)
    {
        Engine = new RatingEngine(tariff) { AcceptsProfileLines = acceptsProfileLines };
        foreach (var profile in profiles)
        {
            Engine.SetProfile(profile);
        }

        _sink = new RecordingSink(_outputs);
    }

    public RatingEngine Engine { get; }

    public RecordedOutputs All => _outputs;

    public Step Process(string json) => Process(Encoding.UTF8.GetBytes(json));

    public Step Process(byte[] record)
    {
        var (rated, reminders, rejected) = (_outputs.Rated.Count, _outputs.Reminders.Count, _outputs.Rejected.Count);
        var result = Engine.Process(record, ref _sink);
        return new Step(result, _outputs.Rated[rated..], _outputs.Reminders[reminders..], _outputs.Rejected[rejected..]);
    }

    /// <summary>Processes one record as the Kafka rater does: tagged with its input offset, checked against its key's msisdn.</summary>
    public Step Process(string json, long offset, ulong keyMsisdn)
    {
        var (rated, reminders, rejected) = (_outputs.Rated.Count, _outputs.Reminders.Count, _outputs.Rejected.Count);
        var result = Engine.Process(Encoding.UTF8.GetBytes(json), ref _sink, offset, keyMsisdn: keyMsisdn);
        return new Step(result, _outputs.Rated[rated..], _outputs.Reminders[reminders..], _outputs.Rejected[rejected..]);
    }

    /// <summary>Processes each record and returns the last one's step.</summary>
    public Step ProcessAll(params string[] records)
    {
        Step? last = null;
        foreach (var record in records)
        {
            last = Process(record);
        }

        return last!;
    }

    public UsageState State(string msisdn = Cdrs.Msisdn)
    {
        Assert.That(MsisdnKey.TryCompute(msisdn, out var key), Is.True);
        Assert.That(Engine.TryGetState(key, out var state), Is.True, $"no usage state for {msisdn}");
        return state;
    }

    public bool HasState(string msisdn = Cdrs.Msisdn) =>
        MsisdnKey.TryCompute(msisdn, out var key) && Engine.TryGetState(key, out _);
}
