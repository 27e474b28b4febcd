using NUnit.Framework;
using RatingPipeline.Kafka;

namespace RatingPipeline.Tests.Kafka;

[TestFixture]
[Category("kafka")]
public sealed class TopicSetTests
{
    [Test]
    public void Default_topic_set_is_the_eleven_product_topics_dead_letters_included()
    {
        Assert.That(
            TopicSet.All(new TopicNames()),
            Is.EqualTo(new[]
            {
                "cdrs", "subscribers", "rater-state", "rated-cdrs", "reminders",
                "cdrs-dlq", "notice-log", "notices-dlq", "adjustments", "bills", "rater-endpoints",
            }));
    }

    [Test]
    public void Renamed_topics_replace_the_defaults()
    {
        var names = new TopicNames { Cdrs = "in.cdrs", RatedCdrs = "out.rated" };

        Assert.That(TopicSet.All(names), Does.Contain("in.cdrs").And.Contain("out.rated").And.Not.Contain("cdrs"));
    }

    [Test]
    public void A_blank_topic_name_is_rejected()
    {
        Assert.That(() => TopicSet.All(new TopicNames { Reminders = " " }), Throws.ArgumentException.With.Message.Contains("Reminders"));
    }

    [Test]
    public void Two_roles_sharing_one_topic_are_rejected()
    {
        Assert.That(
            () => TopicSet.All(new TopicNames { CdrsDlq = "dlq", NoticesDlq = "dlq" }),
            Throws.ArgumentException.With.Message.Contains("CdrsDlq and NoticesDlq"));
    }

    [Test]
    public void Starting_a_mock_cluster_without_brokers_is_rejected()
    {
        Assert.That(() => MockCluster.Start(brokers: 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
