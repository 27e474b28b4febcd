using Confluent.Kafka;
using NUnit.Framework;
using RatingPipeline.Kafka;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Rater;

/// <summary>
/// A lane counts its share of a batch into the epoch's group at once and hands the records over one by one; what it
/// counted in and never handed over is taken back. The group's counts must come out as if each record had been
/// counted on its own: drained only when every counted record was acknowledged or taken back.
/// </summary>
[TestFixture]
public sealed class AcknowledgementCountTests
{
    [Test]
    public void Records_counted_in_at_once_drain_as_they_are_acknowledged_or_taken_back()
    {
        var group = new AcknowledgementGroup();
        using var producer = new AcknowledgedProducer(new InstantProducer()); // acknowledges each record as it is handed over
        var target = new TopicPartition("rated-cdrs", 0);
        var message = new Message<byte[], byte[]> { Key = [1], Value = [2] };

        producer.CountIn(group, 3);
        Assert.That((group.Produced, group.Pending), Is.EqualTo((3L, 3L)), "counted in");
        Assert.That(producer.Drain(group, TimeSpan.FromMilliseconds(50)), Is.False, "not drained while counted records are out");

        producer.ProduceCounted(target, message, group);
        Assert.That((group.Produced, group.Pending), Is.EqualTo((3L, 2L)), "one acknowledged");

        producer.CountOut(group, 2);
        Assert.Multiple(() =>
        {
            Assert.That((group.Produced, group.Pending), Is.EqualTo((1L, 0L)), "two never handed over, taken back");
            Assert.That(producer.Drain(group, TimeSpan.FromMilliseconds(50)), Is.True, "drained");
            Assert.That(group.Failed, Is.Zero);
        });
    }
}
