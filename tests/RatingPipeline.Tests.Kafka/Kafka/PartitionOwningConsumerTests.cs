using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

/// <summary>
/// The group member's consumer the rater and the sender share: it tells its owner which partitions it got and which
/// went away, collects batches within their bounds, and commits with the rule for a changing group (put off, not a fault).
/// </summary>
[TestFixture]
[Category("kafka")]
public sealed class PartitionOwningConsumerTests
{
    private const string Topic = "reminders";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Test]
    public void The_owner_is_told_its_partitions_when_it_joins_and_which_move_when_a_second_member_joins()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 4);
        var group = $"owners-{Guid.NewGuid():N}";
        var first = new RecordingOwner();
        var second = new RecordingOwner();
        using var a = Consumer(cluster, group, "a", first);
        a.Subscribe();
        Assert.That(PollUntil(() => first.Owned.Count == 4, a), Is.True, "the only member gets every partition");

        using var b = Consumer(cluster, group, "b", second);
        b.Subscribe();
        Assert.That(PollUntil(() => first.Owned.Count + second.Owned.Count == 4 && second.Owned.Count > 0, a, b), Is.True,
            $"the partitions are shared: first {string.Join(',', first.Owned)}, second {string.Join(',', second.Owned)}");

        Assert.That(first.Revoked, Is.EquivalentTo(second.Owned), "what the first member was told it gave up is what the second got");
        Assert.That(first.Owned.Intersect(second.Owned), Is.Empty);
        Assert.That(first.Lost, Is.Empty);
        a.Close();
        b.Close();
    }

    [Test]
    public void A_batch_holds_at_most_its_size_and_the_rest_comes_with_the_next()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        Produce(cluster, 25);
        var owner = new RecordingOwner();
        using var consumer = Consumer(cluster, $"batch-{Guid.NewGuid():N}", "a", owner);
        consumer.Subscribe();

        var batches = new List<int>();
        var clock = Stopwatch.StartNew();
        while (batches.Sum() < 25 && clock.Elapsed < Patience)
        {
            var batch = new List<ConsumeResult<byte[], byte[]>>();
            if (consumer.Collect(batch, max: 10, firstWait: TimeSpan.FromMilliseconds(200), maxWait: TimeSpan.FromSeconds(1), CancellationToken.None))
            {
                batches.Add(batch.Count);
            }
        }

        Assert.That(batches.Sum(), Is.EqualTo(25));
        Assert.That(batches, Is.All.InRange(1, 10));
        consumer.Close();
    }

    [Test]
    public void A_commit_refused_while_the_group_changes_is_put_off_and_made_with_the_next_one()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        Produce(cluster, 5);
        var owner = new RecordingOwner();
        var group = $"commit-{Guid.NewGuid():N}";
        using var consumer = Consumer(cluster, group, "a", owner);
        consumer.Subscribe();
        Assert.That(PollUntil(() => owner.Owned.Count == 1, consumer), Is.True);

        consumer.Stage(0, 3);
        cluster.Mock.PushRequestErrors(KafkaApiKey.OffsetCommit, ErrorCode.RebalanceInProgress);
        Assert.DoesNotThrow(consumer.CommitStaged, "a changing group is not a fault");
        Assert.That(consumer.Uncommitted, Is.EquivalentTo(new[] { 0 }), "the offset stays staged");

        consumer.Stage(0, 5);
        consumer.CommitStaged();

        Assert.That(consumer.Uncommitted, Is.Empty);
        Assert.That(consumer.Client.Committed([new TopicPartition(Topic, 0)], TimeSpan.FromSeconds(10)).Single().Offset.Value, Is.EqualTo(5));
        consumer.Close();
    }

    [Test]
    public void A_commit_refused_for_another_reason_is_a_fault()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 1);
        var owner = new RecordingOwner();
        using var consumer = Consumer(cluster, $"refused-{Guid.NewGuid():N}", "a", owner);
        consumer.Subscribe();
        Assert.That(PollUntil(() => owner.Owned.Count == 1, consumer), Is.True);

        consumer.Stage(0, 1);
        cluster.Mock.PushRequestErrors(KafkaApiKey.OffsetCommit, ErrorCode.GroupAuthorizationFailed);

        Assert.Throws(Is.InstanceOf<KafkaException>(), consumer.CommitStaged);
        consumer.Close();
    }

    /// <remarks>
    /// On a real broker a static member restarted with its instance id is given its place back at once (KIP-345). The
    /// embedded (mock) cluster does not: it keeps the old member until its session timeout and then rebalances
    /// (measured here: about twice the session timeout), so what is checked is what holds on both: the same
    /// partitions come back to the restarted member and the other member keeps its own throughout.
    /// </remarks>
    [Test]
    public void A_static_member_restarted_with_its_instance_id_gets_its_partitions_back_and_the_others_keep_theirs()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 4);
        var group = $"static-{Guid.NewGuid():N}";
        var first = new RecordingOwner();
        var other = new RecordingOwner();
        var a = Consumer(cluster, group, "a", first, instance: "rater-a");
        using var b = Consumer(cluster, group, "b", other, instance: "rater-b");
        a.Subscribe();
        b.Subscribe();
        Assert.That(PollUntil(() => first.Owned.Count == 2 && other.Owned.Count == 2, a, b), Is.True,
            $"two members share four partitions: {string.Join(',', first.Owned)} / {string.Join(',', other.Owned)}");
        var before = first.Owned.Order().ToList();
        var kept = other.Owned.Order().ToList();
        other.Revoked.Clear();

        a.Close();
        a.Dispose();
        var restarted = new RecordingOwner();
        using var again = Consumer(cluster, group, "a-again", restarted, instance: "rater-a");
        var clock = Stopwatch.StartNew();
        again.Subscribe();
        Assert.That(PollUntil(() => restarted.Owned.Count == 2, again, b), Is.True, "the restarted member gets partitions");
        TestContext.Out.WriteLine($"restarted static member assigned after {clock.Elapsed.TotalSeconds:F1} s (session timeout {KafkaOptions.EmbeddedSessionTimeout.TotalSeconds:F0} s)");

        Assert.Multiple(() =>
        {
            Assert.That(restarted.Owned.Order(), Is.EqualTo(before), "the same partitions as before the restart");
            Assert.That(other.Owned.Order(), Is.EqualTo(kept));
            Assert.That(other.Revoked, Is.Empty, "the other member kept its partitions throughout");
        });
        again.Close();
        b.Close();
    }

    [Test]
    public void A_member_gone_silent_has_its_partitions_moved_within_the_embedded_session_timeout()
    {
        using var cluster = EmbeddedCluster.Start(partitions: 4);
        var group = $"silent-{Guid.NewGuid():N}";
        var gone = new RecordingOwner();
        var survivor = new RecordingOwner();
        // A static member sends no LeaveGroup on close: to the group it goes silent, as a crashed process does.
        var a = Consumer(cluster, group, "a", gone, instance: "crashes");
        using var b = Consumer(cluster, group, "b", survivor);
        a.Subscribe();
        b.Subscribe();
        Assert.That(PollUntil(() => gone.Owned.Count == 2 && survivor.Owned.Count == 2, a, b), Is.True, "two members share four partitions");

        a.Close();
        a.Dispose();
        var clock = Stopwatch.StartNew();
        Assert.That(PollUntil(() => survivor.Owned.Count == 4, b), Is.True, "the survivor takes the silent member's partitions");
        var waited = clock.Elapsed;
        TestContext.Out.WriteLine($"partitions moved {waited.TotalSeconds:F1} s after the member went silent");

        // The session timeout (6 s embedded) plus the mock's rebalance wait, far below librdkafka's default 45 s.
        Assert.That(waited, Is.GreaterThanOrEqualTo(KafkaOptions.EmbeddedSessionTimeout / 2).And.LessThan(KafkaOptions.DefaultSessionTimeout / 2));
        b.Close();
    }

    private static PartitionOwningConsumer<byte[], byte[]> Consumer(EmbeddedCluster cluster, string group, string name, IPartitionOwner owner,
        string? instance = null, TimeSpan? session = null)
    {
        var kafka = new KafkaOptions { BootstrapServers = cluster.BootstrapServers, Embedded = true, SessionTimeout = session };
        var settings = new PartitionOwningConsumerSettings { Topic = Topic, GroupId = group, ClientId = name, GroupInstanceId = instance };
        return new PartitionOwningConsumer<byte[], byte[]>(kafka, settings, owner, NullLogger.Instance);
    }

    private static void Produce(EmbeddedCluster cluster, int count)
    {
        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(cluster.BootstrapServers), keepClientLog: true);
        var written = new AcknowledgementGroup();
        for (var i = 0; i < count; i++)
        {
            producer.Produce(new TopicPartition(Topic, 0), new Message<byte[], byte[]> { Key = [(byte)i], Value = [(byte)i] }, written);
        }

        Assert.That(producer.Drain(written, TimeSpan.FromSeconds(30)) ? written.Failed : written.Pending, Is.Zero, "every record acknowledged");
    }

    private static bool PollUntil(Func<bool> done, params PartitionOwningConsumer<byte[], byte[]>[] consumers)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > Patience)
            {
                return false;
            }

            foreach (var consumer in consumers)
            {
                consumer.Next(TimeSpan.FromMilliseconds(50));
            }
        }

        return true;
    }

    private sealed class RecordingOwner : IPartitionOwner
    {
        private readonly ConcurrentDictionary<int, bool> _owned = new();

        public ICollection<int> Owned => _owned.Keys;

        public List<int> Revoked { get; } = [];

        public List<int> Lost { get; } = [];

        public void Assigned(IReadOnlyList<int> partitions)
        {
            foreach (var p in partitions)
            {
                _owned[p] = true;
            }
        }

        void IPartitionOwner.Revoked(IReadOnlyList<int> partitions)
        {
            Revoked.AddRange(partitions);
            foreach (var p in partitions)
            {
                _owned.TryRemove(p, out _);
            }
        }

        void IPartitionOwner.Lost(IReadOnlyList<int> partitions)
        {
            Lost.AddRange(partitions);
            foreach (var p in partitions)
            {
                _owned.TryRemove(p, out _);
            }
        }
    }
}
