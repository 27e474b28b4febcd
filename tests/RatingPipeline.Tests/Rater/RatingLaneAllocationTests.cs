using System.Buffers;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Testing;
using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// The allocation budget of the rater's Kafka loop: rating a batch of consumed CDRs and handing its outputs to the
/// producer allocates nothing per CDR with the rater's own producer (a <see cref="DirectProducer"/>), and with a
/// Confluent.Kafka producer alone one <c>byte[]</c> per produced value — the copy its <c>Produce</c> takes — and
/// nothing else (keys reused, one message instance, cached targets, no per-record collections). Measured on
/// the rating thread over batches after a warm-up, with an in-memory producer that acknowledges at once. (A dead
/// letter also carries headers — source, reason, detail, under 1 KiB — so the stream is kept free of them here.)
/// </summary>
[TestFixture]
public sealed class RatingLaneAllocationTests
{
    private const int Subscribers = 500;
    private const int BatchSize = 2_000;

    private static readonly HashSet<int> Assigned = [0];

    [Test]
    public void A_batch_allocates_only_the_produced_values()
    {
        var (lane, batches, targets) = Prepare();
        var producer = new InstantProducer();
        using var acknowledged = new AcknowledgedProducer(producer);

        Measure(lane, batches.Take(4), acknowledged, targets); // warm-up: states, buffers, dictionaries of changed subscribers grow to size
        var valueBytes = producer.ArrayBytes;
        var producedBefore = producer.Produced;
        var deadLettersBefore = producer.DeadLetters;
        var (allocated, produced, _) = Measure(lane, batches.Skip(4), acknowledged, targets);
        var values = producer.ArrayBytes - valueBytes;
        var deadLetters = producer.DeadLetters - deadLettersBefore;
        var cdrs = batches.Skip(4).Sum(b => b.Count);

        TestContext.Out.WriteLine($"{cdrs} CDRs, {produced} records produced ({deadLetters} dead letters): {allocated} B allocated, {values} B of them the produced values, {allocated - values} B besides");
        Assert.Multiple(() =>
        {
            Assert.That(produced, Is.GreaterThanOrEqualTo(cdrs), "a rated record per CDR, and reminders");
            Assert.That(producer.Produced - producedBefore, Is.EqualTo(produced), "every output went to the producer");
            Assert.That(allocated, Is.GreaterThanOrEqualTo(values), "the values are allocated on the rating thread (the measure sees them)");
            Assert.That(deadLetters, Is.Zero, "no dead letters in the measured stream");
            Assert.That(allocated - values, Is.LessThanOrEqualTo(1024), "nothing else per CDR: at most a one-off");
        });
    }

    /// <summary>
    /// The rater's own set-up: its outputs go through a <see cref="DirectProducer"/> to the embedded cluster, which takes
    /// each value as a slice of the batch's output buffer, so not even the values are allocated.
    /// </summary>
    [Test]
    [Category("kafka")]
    public void With_the_direct_producer_a_batch_allocates_nothing_per_CDR()
    {
        var (lane, batches, targets) = Prepare();
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        var config = KafkaClientTuning.Producer(cluster.BootstrapServers);
        config.QueueBufferingMaxMessages = 1_000_000;
        using var acknowledged = new AcknowledgedProducer(
            new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build(), DirectProducer.Build(config));
        var warm = Measure(lane, batches.Take(4), acknowledged, targets);
        acknowledged.Await(warm.Epoch, TimeSpan.FromSeconds(60), "warm-up outputs");

        var (allocated, produced, epoch) = Measure(lane, batches.Skip(4), acknowledged, targets);
        acknowledged.Await(epoch, TimeSpan.FromSeconds(60), "measured outputs");
        var cdrs = batches.Skip(4).Sum(b => b.Count);

        TestContext.Out.WriteLine($"{cdrs} CDRs, {produced} records produced and acknowledged: {allocated} B allocated");
        Assert.Multiple(() =>
        {
            Assert.That(produced, Is.GreaterThanOrEqualTo(cdrs), "a rated record per CDR, and reminders");
            Assert.That(epoch.Failed, Is.Zero);
            Assert.That(allocated, Is.LessThanOrEqualTo(1024), "nothing per CDR, not even the values: at most a one-off");
        });
    }

    /// <summary>
    /// A lane with 500 subscribers' profiles and eight batches of their well-formed CDRs, less those the lane would
    /// reject (so the measured stream has no dead letters, whose headers allocate).
    /// </summary>
    private static (RatingLane Lane, List<List<ConsumeResult<byte[], byte[]>>> Batches, OutputTargets Targets) Prepare()
    {
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        // 16,000 CDRs 4 s apart from 2026-11-29 00:00 (+08:00): no subscriber's cycle starts in them (cycle days 1-28),
        // so no state makes its extras (the fee list and the open previous cycle, a one-off per subscriber) while measured.
        var start = (Time.Instant.DaysFromCivil(2026, 11, 29) * Time.Instant.TicksPerDay) - (8 * Time.Instant.TicksPerHour);
        var data = new SyntheticData(seed: 5, subscribers: Subscribers, startTicks: start);
        var lane = LaneWithProfiles(tariff, data, Subscribers);
        var buffer = new ArrayBufferWriter<byte>();

        // Well-formed CDRs only (the generator also writes broken ones on purpose).
        var decoder = new CdrDecoder();
        long offset = 0;
        List<ConsumeResult<byte[], byte[]>> NextBatch()
        {
            var batch = new List<ConsumeResult<byte[], byte[]>>(BatchSize);
            while (batch.Count < BatchSize)
            {
                buffer.Clear();
                data.WriteNextCdr(buffer);
                var value = buffer.WrittenSpan.ToArray();
                if (decoder.Decode(value, out var cdr) != InvalidCause.None)
                {
                    continue;
                }

                batch.Add(new ConsumeResult<byte[], byte[]>
                {
                    Topic = "cdrs",
                    Partition = 0,
                    Offset = offset++,
                    Message = new Message<byte[], byte[]> { Key = cdr.Msisdn.ToArray(), Value = value },
                });
            }

            return batch;
        }

        var batches = Enumerable.Range(0, 8).Select(_ => NextBatch()).ToList();
        var targets = new OutputTargets(new TopicNames(), partitions: 1, preserve: true);

        // The generator's late and repeated CDRs become dead letters: a scout lane with the same profiles finds them,
        // and they are taken out (a rejected CDR changes no state, so the rest rates the same without them).
        var scout = new RatingLane(tariff);
        foreach (var profile in lane.Engine.Profiles)
        {
            scout.Engine.SetProfile(profile, clockGroup: 0);
        }

        using (var scouting = new AcknowledgedProducer(new InstantProducer()))
        {
            foreach (var batch in batches)
            {
                scout.Batch.Clear();
                scout.Batch.AddRange(batch);
                scout.Rate(Assigned, scouting, new AcknowledgementGroup(), targets, "cdrs");
                var rejected = scout.Outputs.Records.Where(o => o.Kind == OutputKind.Rejected).Select(o => o.Offset).ToHashSet();
                batch.RemoveAll(r => rejected.Contains(r.Offset.Value));
            }
        }

        return (lane, batches, targets);
    }

    /// <summary>Rates <paramref name="run"/> through <paramref name="lane"/> in one epoch; only the lane's loop is measured (each batch is put in its list outside the measure).</summary>
    private static (long Allocated, long Produced, AcknowledgementGroup Epoch) Measure(RatingLane lane, IEnumerable<List<ConsumeResult<byte[], byte[]>>> run,
        AcknowledgedProducer producer, OutputTargets targets)
    {
        var epoch = new AcknowledgementGroup();
        long allocated = 0;
        using var window = new AllocationWindow(); // the values alone take 3.5 MB of its 64
        foreach (var batch in run)
        {
            lane.Batch.Clear();
            lane.Batch.AddRange(batch);
            var before = window.Allocated;
            lane.Rate(Assigned, producer, epoch, targets, "cdrs");
            allocated += window.Allocated - before;
        }

        return (allocated, epoch.Produced, epoch);
    }

    /// <summary>A lane with the profiles of the first <paramref name="subscribers"/> subscribers of <paramref name="data"/>, all in clock group 0.</summary>
    internal static RatingLane LaneWithProfiles(Tariff tariff, SyntheticData data, int subscribers)
    {
        var lane = new RatingLane(tariff);
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < subscribers; i++)
        {
            buffer.Clear();
            data.WriteProfile(i, buffer);
            lane.Engine.SetProfile(SubscriberProfile.TryParse(buffer.WrittenSpan, tariff, out var error)
                ?? throw new InvalidOperationException(error), clockGroup: 0);
        }

        return lane;
    }
}
