using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// Fencing without transactions, as far as one member can see (DESIGN.md, "Rater: processing guarantee", step 5): a
/// checkpoint writes a state only while its partition is still owned in the generation of the checkpoint's mark.
/// </summary>
[TestFixture]
[Category("kafka")]
[Category("rater")]
public sealed class CheckpointOwnershipTests
{
    [Test]
    public void A_partition_assigned_again_has_a_new_generation_so_an_act_checked_against_the_old_one_does_not_run()
    {
        var ownership = new PartitionOwnership();
        var first = ownership.Assign(3);
        Assert.That(ownership.Owns(3, first), Is.True, "owned in its generation");

        ownership.Release(3);
        Assert.That(ownership.Owns(3, first), Is.False, "released");
        Assert.That(ownership.GenerationOf(3), Is.EqualTo(-1), "no generation once released");

        var second = ownership.Assign(3);
        Assert.That(second, Is.Not.EqualTo(first), "a new assignment, a new generation");
        var ran = 0;
        Assert.That(ownership.WhileOwned(3, first, 0, _ => ran++), Is.False, "checked against the old generation");
        Assert.That(ownership.WhileOwned(3, second, 0, _ => ran++), Is.True, "checked against the current one");
        Assert.That(ran, Is.EqualTo(1), "only the act of the current generation ran");
    }

    [Test]
    public void A_checkpoint_writes_the_states_of_partitions_still_owned_and_drops_those_revoked_or_lost_since_its_mark()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 3);
        var ownership = new PartitionOwnership();
        var kept = ownership.Assign(0);
        var revoked = ownership.Assign(1);
        var lostAndBack = ownership.Assign(2);
        using var producer = new AcknowledgedProducer(new ProducerBuilder<byte[], byte[]>(KafkaClientTuning.Producer(cluster.BootstrapServers))
            .SetLogHandler((_, _) => { }).Build());
        using var checkpointer = new Checkpointer(producer, ownership, cluster.Topics.RaterState, TimeSpan.FromSeconds(30));

        // Marked while all three were owned: one output in the epoch and one state per partition.
        var outputs = new AcknowledgementGroup();
        producer.Produce(new TopicPartition(cluster.Topics.RatedCdrs, 0), new Message<byte[], byte[]> { Key = "46700000000"u8.ToArray(), Value = "{}"u8.ToArray() }, outputs);
        var checkpoint = new Checkpoint(outputs);
        checkpoint.States.Add(new StateRecord(0, kept, "46700000000"u8.ToArray(), [1]));
        checkpoint.States.Add(new StateRecord(1, revoked, "46700000001"u8.ToArray(), [2]));
        checkpoint.States.Add(new StateRecord(2, lostAndBack, "46700000002"u8.ToArray(), [3]));

        // After the mark: partition 1 is revoked; partition 2 is lost and assigned to this member again.
        ownership.Release(1);
        ownership.Release(2);
        ownership.Assign(2);

        checkpointer.Submit(checkpoint);
        var written = checkpointer.WaitIdle();

        Assert.That(written, Is.SameAs(checkpoint), "the checkpoint was written");
        Assert.That(outputs.Pending, Is.Zero, "its outputs were acknowledged first");
        Assert.That((checkpoint.StatesWritten, checkpoint.StatesDropped), Is.EqualTo((1, 2)), "states written and dropped");
        var states = TopicReader.ReadAll(cluster.BootstrapServers, cluster.Topics.RaterState, cluster.Partitions);
        Assert.That(states.Select(s => (s.Partition, s.Value![0])), Is.EqualTo(new[] { (0, (byte)1) }),
            "only the owned partition's state is in rater-state");
    }
}
