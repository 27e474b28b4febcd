using System.Buffers;
using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Records;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// A lane's share of a batch comes in runs of one partition: the lane asks once per run whether the partition is still
/// assigned and notes the run's next offset once. Records of a partition lost before rating are left for the next
/// owner (no output, no position, no changed state); each output of a consumed CDR goes out under the consumed
/// record's own key bytes, the first record of the batch included.
/// </summary>
[TestFixture]
public sealed class RatingLaneBatchTests
{
    private const int Subscribers = 50;

    [Test]
    public void Records_of_a_partition_no_longer_assigned_are_left_and_positions_are_per_partition()
    {
        var (lane, batch) = LaneWithBatch(partitions: [0, 0, 1, 1, 0, 1, 1, 0]);
        Rate(lane, batch, assigned: [0]);

        var fromZero = batch.Where(r => r.Partition.Value == 0).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(lane.Outputs.Records.Select(o => o.Partition).Distinct(), Is.EqualTo(new[] { 0 }), "outputs only of partition 0");
            Assert.That(lane.Outputs.Records.Select(o => o.Offset).Distinct(), Is.EquivalentTo(fromZero.Select(r => r.Offset.Value)),
                "an output for each record of partition 0");
            Assert.That(lane.Positions, Is.EqualTo(new Dictionary<int, long> { [0] = fromZero[^1].Offset.Value + 1 }));
            Assert.That(lane.Dirty.Values.Distinct(), Is.EqualTo(new[] { 0 }), "changed states only of partition 0");
            Assert.That(lane.Dirty.Keys, Is.EquivalentTo(fromZero.Select(r => KeyOf(r)).Distinct()));
        });
    }

    [Test]
    public void Every_assigned_partition_gets_its_last_rated_offset_and_outputs_keep_the_consumed_keys()
    {
        var (lane, batch) = LaneWithBatch(partitions: [1, 0, 0, 1, 1, 0, 1, 1, 0, 0]);
        Rate(lane, batch, assigned: [0, 1]);

        var byOffset = batch.ToDictionary(r => (r.Partition.Value, r.Offset.Value));
        var rated = lane.Outputs.Records.Where(o => o.Kind == OutputKind.Rated).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(lane.Positions, Is.EqualTo(new Dictionary<int, long>
            {
                [0] = batch.Last(r => r.Partition.Value == 0).Offset.Value + 1,
                [1] = batch.Last(r => r.Partition.Value == 1).Offset.Value + 1,
            }));
            Assert.That(rated, Has.Count.EqualTo(batch.Count), "every CDR rated");
            foreach (var output in rated)
            {
                Assert.That(output.Key, Is.SameAs(byOffset[(output.Partition, output.Offset)].Message.Key),
                    $"the output of {output.Partition}:{output.Offset} under the consumed key");
            }
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_CDR_keyed_otherwise_is_refused_when_the_input_has_several_partitions(bool severalPartitions)
    {
        var (lane, batch) = LaneWithBatch(partitions: [0, 0, 0, 0]);
        batch[1].Message.Key = "unparsed"u8.ToArray();
        batch[2].Message.Key = batch[3].Message.Key.SequenceEqual(batch[2].Message.Key) ? [] : batch[3].Message.Key; // another msisdn (or none)
        Rate(lane, batch, assigned: [0], checkKeys: severalPartitions);

        var refused = lane.Outputs.Records.Where(o => o.Kind == OutputKind.Rejected).Select(o => o.Offset).ToList();
        var rated = lane.Outputs.Records.Where(o => o.Kind == OutputKind.Rated).Select(o => o.Offset).ToList();
        var otherMsisdn = batch[2].Message.Key.Length > 0;
        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.EqualTo(severalPartitions ? (otherMsisdn ? new long[] { 1, 2 } : [1]) : []), "refused");
            Assert.That(rated, Is.EqualTo(severalPartitions ? (otherMsisdn ? new long[] { 0, 3 } : [0, 2, 3]) : [0, 1, 2, 3]), "rated");
        });
    }

    private static ulong KeyOf(ConsumeResult<byte[], byte[]> record) =>
        MsisdnKey.TryCompute(record.Message.Key, out var key) ? key : throw new InvalidOperationException("no msisdn key");

    private static void Rate(RatingLane lane, List<ConsumeResult<byte[], byte[]>> batch, HashSet<int> assigned, bool checkKeys = true)
    {
        using var producer = new AcknowledgedProducer(new InstantProducer());
        lane.Batch.Clear();
        lane.Batch.AddRange(batch);
        lane.Rate(assigned, producer, new AcknowledgementGroup(), new OutputTargets(new TopicNames(), partitions: 2, preserve: true), "cdrs", checkKeys);
    }

    /// <summary>A lane with the profiles of a small synthetic population, and well-formed CDRs in the given partitions (offsets counting per partition).</summary>
    private static (RatingLane Lane, List<ConsumeResult<byte[], byte[]>> Batch) LaneWithBatch(int[] partitions)
    {
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        var data = new SyntheticData(seed: 11, subscribers: Subscribers);
        var lane = RatingLaneAllocationTests.LaneWithProfiles(tariff, data, Subscribers);
        var buffer = new ArrayBufferWriter<byte>();

        var decoder = new CdrDecoder();
        var offsets = new long[2];
        var ids = new HashSet<string>();
        var batch = new List<ConsumeResult<byte[], byte[]>>();
        foreach (var partition in partitions)
        {
            while (true)
            {
                buffer.Clear();
                data.WriteNextCdr(buffer);
                var value = buffer.WrittenSpan.ToArray();
                // Well-formed, of a known subscriber, a new id: every one is rated.
                if (decoder.Decode(value, out var cdr) != InvalidCause.None || cdr.Kind != RecordKind.Cdr)
                {
                    continue;
                }

                var msisdnKey = cdr.MsisdnKey;
                if (!lane.Engine.Profiles.Any(p => p.MsisdnKey == msisdnKey) || !ids.Add(System.Text.Encoding.ASCII.GetString(cdr.Id)))
                {
                    continue;
                }

                batch.Add(new ConsumeResult<byte[], byte[]>
                {
                    Topic = "cdrs",
                    Partition = partition,
                    Offset = offsets[partition]++,
                    Message = new Message<byte[], byte[]> { Key = cdr.Msisdn.ToArray(), Value = value },
                });
                break;
            }
        }

        return (lane, batch);
    }
}
