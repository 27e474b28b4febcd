using System.Text;
using NUnit.Framework;
using RatingPipeline.Records;

namespace RatingPipeline.Tests.Hostile;

/// <summary>
/// A record is judged on its own bytes: what the decoder saw before (a wide object refused half way) must not
/// change the verdict on the next record. Found by the CDR fuzz target (fresh decoder versus long-lived one).
/// </summary>
[TestFixture]
public sealed class DecoderHistoryTests
{
    // 40 unknown members: past 32 names the decoder indexes an object's names in a set.
    private static readonly string WideMembers = string.Concat(Enumerable.Range(0, 40).Select(i => $"\"u{i}\":{i},"));

    private static readonly string Valid = "{" + WideMembers
        + "\"id\":\"w1\",\"type\":\"sms\",\"msisdn\":\"8613800000001\",\"direction\":\"mo\",\"peer\":\"10086\",\"start\":\"2026-11-03T09:15:00+08:00\"}";

    private static IEnumerable<TestCaseData> RefusedWideRecords()
    {
        // The same wide object cut off after a member name: not one JSON value.
        yield return new TestCaseData("{" + WideMembers + "\"id\":", InvalidCause.NotJson).SetArgDisplayNames("cut-off");

        // The same wide object with its 41st member named "u33" again.
        yield return new TestCaseData("{" + WideMembers + "\"u33\":0}", InvalidCause.DuplicateName).SetArgDisplayNames("repeated-name");
    }

    [TestCaseSource(nameof(RefusedWideRecords))]
    public void A_valid_wide_record_after_a_refused_wide_record_is_still_valid(string refused, InvalidCause refusedAs)
    {
        var decoder = new CdrDecoder();
        Assert.That(decoder.Decode(Encoding.UTF8.GetBytes(Valid), out _), Is.EqualTo(InvalidCause.None), "on a fresh decoder");
        Assert.That(decoder.Decode(Encoding.UTF8.GetBytes(refused), out _), Is.EqualTo(refusedAs));
        var cause = decoder.Decode(Encoding.UTF8.GetBytes(Valid), out var cdr);
        Assert.That(cause, Is.EqualTo(InvalidCause.None), "after the refused record");
        Assert.That(Encoding.UTF8.GetString(cdr.Id), Is.EqualTo("w1"));
    }
}
