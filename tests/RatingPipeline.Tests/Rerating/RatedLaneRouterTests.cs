using System.Text;
using NUnit.Framework;
using RatingPipeline.Lanes;
using RatingPipeline.Records;
using RatingPipeline.Rerating;

namespace RatingPipeline.Tests.Rerating;

/// <summary>
/// A line of a rated-record file goes to the lane of its msisdn however it is read: from the left up to the msisdn
/// (the product's layout), searched whole (another order, no escape), or read in full (an escape before the msisdn).
/// </summary>
[TestFixture]
public sealed class RatedLaneRouterTests
{
    private const string Msisdn = "8613800014090";

    private const string Layout = """{"id":"g000000000","msisdn":"8613800014090","type":"sms","start":"2026-11-01T00:00:04+08:00","cycle":"2026-10-07","plan":"basic-58","tariffVersion":"2026-11-01.1","zone":"domestic","billableUnits":1,"allowanceUnits":1,"overageUnits":0,"charge":0,"zeroRated":null,"direction":"mo","peer":"13751967527","durationSec":null,"bytes":null,"visitedMcc":null,"usedAfter":1,"cappedAfter":0,"spendAfter":0}""";

    [TestCase(Layout, false, TestName = "The product's layout is read from the left")]
    [TestCase("""{"type":"sms","id":"g1","start":"2026-11-01T00:00:04+08:00","msisdn":"8613800014090","charge":0}""", false, TestName = "Another order is read from the left too")]
    [TestCase("""{"id":"g1","x":[1,2],"msisdn":"8613800014090"}""", false, TestName = "An array before the msisdn: the line is searched whole")]
    [TestCase("""{"id":"g1","msisdn":"8613800014090","peer":"1\u00300"}""", false, TestName = "An escape after the msisdn does not matter")]
    public void A_line_goes_to_the_lane_of_its_msisdn(string line, bool decoded)
    {
        Assert.That(MsisdnKey.TryCompute(Encoding.ASCII.GetBytes(Msisdn), out var key), Is.True);
        for (var lanes = 1; lanes <= 4; lanes++)
        {
            var router = new RatedLaneRouter(lanes);
            Assert.Multiple(() =>
            {
                Assert.That(router.Route(Encoding.UTF8.GetBytes(line)), Is.EqualTo(LaneRouter.LaneOf(key, lanes)), $"{lanes} lanes");
                Assert.That(router.LastKey, Is.EqualTo(key), "the key for the lane's prefetch");
                Assert.That(router.Decoded > 0, Is.EqualTo(decoded), "read in full");
            });
        }
    }

    [Test]
    public void An_escape_before_the_msisdn_is_read_in_full_and_still_goes_to_its_lane()
    {
        var line = Layout.Replace("\"g000000000\"", "\"g\\u0030\"", StringComparison.Ordinal);
        Assert.That(MsisdnKey.TryCompute(Encoding.ASCII.GetBytes(Msisdn), out var key), Is.True);
        var router = new RatedLaneRouter(3);
        Assert.Multiple(() =>
        {
            Assert.That(router.Route(Encoding.UTF8.GetBytes(line)), Is.EqualTo(LaneRouter.LaneOf(key, 3)));
            Assert.That(router.Decoded, Is.EqualTo(1), "read in full");
        });
    }
}
