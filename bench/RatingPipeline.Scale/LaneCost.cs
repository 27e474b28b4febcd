using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Testing;
using static RatingPipeline.Scale.Figures;

namespace RatingPipeline.Scale;

/// <summary>
/// The rater's own work per CDR, without a broker: CPU per CDR of one rater lane rating the throughput figure's CDRs
/// (10,000 subscribers, the same seed) in batches of <see cref="BatchRecords"/> consumed records, every output handed
/// through the product's producer wrapper to a producer that acknowledges at once, against the rated-size
/// passthrough's loop over the same batches (a new value of a rated record's size per record, handed to the same
/// wrapper). Both loops make each batch's consume results as they go, as the client does. The difference is what
/// decoding, rating, writing the outputs, tracking changed states and prefetching cost per CDR, measured without the
/// transport's variance that the throughput figure carries (its passthrough alone moves ±20 % between runs). The
/// checkpoint's taking of the changed states every <see cref="CheckpointRecords"/> CDRs (a second's worth) is kept;
/// the encoding of those states, and everything librdkafka does, are not in either loop. The loops alternate, a round
/// of each first as a warm-up; the medians are reported.
/// </summary>
internal static class LaneCost
{
    private const int Subscribers = 10_000;
    private const int BatchRecords = 5_000;
    private const int CheckpointRecords = 250_000;

    public static void Run(int cdrs, int rounds)
    {
        Section($"The rater lane without a broker ({N(cdrs)} CDRs over {N(Subscribers)} subscribers in batches of {N(BatchRecords)}; {rounds} round(s))");
        var (profiles, keys, values) = EmbeddedRun.Generate(7, Subscribers, cdrs);
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        var parsed = profiles.Select(p => SubscriberProfile.TryParse(p, tariff, out var error) ?? throw new InvalidOperationException(error)).ToArray();

        LaneRound(tariff, parsed, keys, values);
        PassthroughRound(keys, values);
        var lane = new List<double>();
        var passthrough = new List<double>();
        for (var round = 1; round <= rounds; round++)
        {
            var (laneCpu, produced) = LaneRound(tariff, parsed, keys, values);
            var passCpu = PassthroughRound(keys, values);
            lane.Add(laneCpu);
            passthrough.Add(passCpu);
            Row($"[{round}] rater lane", $"{laneCpu:F2} µs per CDR", $"(CPU; {produced / (double)cdrs:F3} records produced per CDR; load {LoadAverage()})");
            Row($"[{round}] rated-size passthrough loop", $"{passCpu:F2} µs per CDR", $"(lane − passthrough {laneCpu - passCpu:F2} µs, lane / passthrough {laneCpu / passCpu:F2})");
        }

        var laneMedian = Median(lane);
        var passMedian = Median(passthrough);
        Row("rater lane, median", $"{laneMedian:F2} µs per CDR",
            $"(passthrough loop {passMedian:F2} µs; the rater's own work {laneMedian - passMedian:F2} µs per CDR; lane / passthrough {laneMedian / passMedian:F2})");
    }

    /// <summary>One lane rating every CDR from empty states; returns the CPU per CDR and the records produced.</summary>
    private static (double CpuPerCdr, long Produced) LaneRound(Tariff tariff, SubscriberProfile[] profiles, byte[][] keys, byte[][] values)
    {
        var lane = new RatingLane(tariff);
        foreach (var profile in profiles)
        {
            lane.Engine.SetProfile(profile, clockGroup: 0);
        }

        using var producer = new AcknowledgedProducer(new InstantProducer());
        var targets = new OutputTargets(new TopicNames(), partitions: 1, preserve: true);
        HashSet<int> assigned = [0];
        var epoch = new AcknowledgementGroup();
        long produced = 0;
        var sinceMark = 0;
        Collect();
        var cpu = Cpu();
        for (var first = 0; first < values.Length; first += BatchRecords)
        {
            Consume(lane.Batch, keys, values, first);
            lane.Rate(assigned, producer, epoch, targets, "cdrs");
            lane.Outputs.Clear();
            lane.Batch.Clear();
            sinceMark += BatchRecords;
            if (sinceMark >= CheckpointRecords)
            {
                // The checkpoint's mark: the changed states and positions are taken, a new epoch begins.
                lane.Dirty.Clear();
                lane.Positions.Clear();
                produced += epoch.Produced;
                epoch = new AcknowledgementGroup();
                sinceMark = 0;
            }
        }

        var elapsed = Cpu() - cpu;
        return (elapsed.TotalMicroseconds / values.Length, produced + epoch.Produced);
    }

    /// <summary>The rated-size passthrough's loop (scale throughput) over the same batches; returns the CPU per record.</summary>
    private static double PassthroughRound(byte[][] keys, byte[][] values)
    {
        using var producer = new AcknowledgedProducer(new InstantProducer());
        var message = new Message<byte[], byte[]>();
        var batch = new List<ConsumeResult<byte[], byte[]>>(BatchRecords);
        Collect();
        var cpu = Cpu();
        for (var first = 0; first < values.Length; first += BatchRecords)
        {
            Consume(batch, keys, values, first);
            var group = new AcknowledgementGroup();
            foreach (var record in batch)
            {
                Throughput.ProduceRatedSized(producer, message, record, "rated-cdrs", group);
            }

            batch.Clear();
        }

        return (Cpu() - cpu).TotalMicroseconds / values.Length;
    }

    /// <summary>The next batch as the consumer hands it over: a result and a message per record (keys and values kept).</summary>
    private static void Consume(List<ConsumeResult<byte[], byte[]>> batch, byte[][] keys, byte[][] values, int first)
    {
        for (var i = first; i < Math.Min(first + BatchRecords, values.Length); i++)
        {
            batch.Add(new ConsumeResult<byte[], byte[]>
            {
                Topic = "cdrs",
                Partition = 0,
                Offset = i,
                Message = new Message<byte[], byte[]> { Key = keys[i], Value = values[i] },
            });
        }
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
