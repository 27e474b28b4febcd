using System.Globalization;
using System.Text;

namespace RatingPipeline.FaultSuite;

/// <summary>One invariant the run must hold, with what was seen.</summary>
public sealed record Invariant(string Name, bool Holds, string Detail);

/// <summary>The figures of one run and the invariants checked against the offline reference run.</summary>
public sealed class SuiteReport
{
    public long CdrsIn { get; set; }

    /// <summary>Clock records of the stream (each written to every partition).</summary>
    public long Clocks { get; set; }

    public long Rated { get; set; }

    public long RatedOffline { get; set; }

    public long Rejected { get; set; }

    public long RejectedOffline { get; set; }

    public long Reminders { get; set; }

    /// <summary>Distinct fee records in rated-cdrs.</summary>
    public long Fees { get; set; }

    /// <summary>Fee records of the offline run.</summary>
    public long FeesOffline { get; set; }

    /// <summary>Distinct bills in the bills topic.</summary>
    public long Bills { get; set; }

    /// <summary>Bills of the offline run.</summary>
    public long BillsOffline { get; set; }

    public long RemindersOffline { get; set; }

    /// <summary>Extra copies of a record with the same id in a topic (rated, reminders, dead letters): allowed, consumers de-duplicate.</summary>
    public long DuplicatesRated { get; set; }

    public long DuplicatesReminders { get; set; }

    public long DuplicatesDeadLetters { get; set; }

    /// <summary>CDRs the cluster holds in <c>cdrs</c> more than once (a retried produce; see <see cref="InputCopies"/>), counted beyond the first copy.</summary>
    public long InputCopies { get; set; }

    /// <summary>Later copies of CDRs the offline run rated, rejected <c>duplicate</c> by the rater.</summary>
    public long InputCopiesRejected { get; set; }

    /// <summary>Records of the offline run missing from the topics, input CDRs with no outcome, and records the cluster dropped.</summary>
    public long RecordsLost { get; set; }

    /// <summary>Records in the topics the offline run does not have (or with other bytes).</summary>
    public long Unexpected { get; set; }

    public long StateSubscribers { get; set; }

    public long StateMismatches { get; set; }

    public long RatedUnderNewTariff { get; set; }

    public long SwitchIndex { get; set; } = -1;

    public Dictionary<string, int> Faults { get; } = new(StringComparer.Ordinal);

    public int RaterRestarts { get; set; }

    public int SenderRestarts { get; set; }

    /// <summary>Sessions the raters started over by themselves after a fault (their recovery counter).</summary>
    public long RaterRecoveries { get; set; }

    /// <summary>Raters that ended themselves because their Kafka clients hung on close, and were started again.</summary>
    public int HungClientExits { get; set; }

    public bool SenderIncluded { get; set; }

    public long NoticesSent { get; set; }

    public long NoticesSentTwice { get; set; }

    /// <summary>SMS notices the offline reminders call for (subscribers who have not opted out).</summary>
    public long NoticesExpected { get; set; }

    /// <summary>Reminders of opted-out subscribers: no notice.</summary>
    public long NoticesSuppressed { get; set; }

    /// <summary>Requests the gateway received again for a key it had taken (a sender killed between delivery and its notice-log record).</summary>
    public long NoticeRequestsRepeated { get; set; }

    public long NoticeDeadLetters { get; set; }

    public Dictionary<string, long> LargestPartitionBytes { get; } = new(StringComparer.Ordinal);

    public TimeSpan Elapsed { get; set; }

    public List<Invariant> Invariants { get; } = [];

    public List<string> Findings { get; } = [];

    public bool Passed => Invariants.Count > 0 && Invariants.All(i => i.Holds);

    public int FaultsInjected => Faults.Values.Sum();

    public void Check(string name, bool holds, string detail) => Invariants.Add(new Invariant(name, holds, detail));

    public string ToTable()
    {
        var rows = new List<(string, string)>
        {
            ("CDRs in", N(CdrsIn)),
            ("clock records (to every partition)", N(Clocks)),
            ("rated (distinct ids; offline)", $"{N(Rated)} ({N(RatedOffline)})"),
            ("rejected (distinct dead letters; offline)", $"{N(Rejected)} ({N(RejectedOffline)})"),
            ("reminders (distinct eventIds; offline)", $"{N(Reminders)} ({N(RemindersOffline)})"),
            ("bills (distinct eventIds; offline)", $"{N(Bills)} ({N(BillsOffline)})"),
            ("fee records (distinct ids; offline)", $"{N(Fees)} ({N(FeesOffline)})"),
            ("duplicates in topics (same id)", $"{N(DuplicatesRated + DuplicatesReminders + DuplicatesDeadLetters)} (rated {N(DuplicatesRated)}, reminders {N(DuplicatesReminders)}, dead letters {N(DuplicatesDeadLetters)})"),
            ("CDRs held twice in cdrs (rejected duplicate)", $"{N(InputCopies)} ({N(InputCopiesRejected)})"),
            ("faults injected", $"{N(FaultsInjected)} ({string.Join(", ", Faults.Where(f => f.Value > 0).Select(f => $"{f.Key} {f.Value}"))})"),
            ("restarts", $"{N(RaterRestarts + SenderRestarts)} (rater {RaterRestarts}, sender {SenderRestarts}; in-process rater recoveries {RaterRecoveries}; rater exits on a hung Kafka client {HungClientExits})"),
            ("tariff switch", SwitchIndex < 0 ? "none" : $"at CDR #{N(SwitchIndex)}; {N(RatedUnderNewTariff)} rated under the new version"),
            ("subscribers in state (mismatches)", $"{N(StateSubscribers)} ({N(StateMismatches)})"),
            ("notices sent (expected)", SenderIncluded ? $"{N(NoticesSent)} ({N(NoticesExpected)}; {N(NoticesSuppressed)} reminders of opted-out subscribers not notified)" : "n/a (sender not run)"),
            ("notices sent twice", SenderIncluded ? $"{N(NoticesSentTwice)} ({N(NoticeRequestsRepeated)} repeated requests taken once by the idempotency key)" : "n/a"),
            ("notice dead letters", SenderIncluded ? $"{N(NoticeDeadLetters)} (e-mail: no SMTP server in the suite)" : "n/a"),
            ("records lost", N(RecordsLost)),
            ("unexpected records", N(Unexpected)),
            ("largest partition", string.Join(", ", LargestPartitionBytes.Select(p => $"{p.Key} {p.Value / 1024.0 / 1024.0:F2} MiB"))),
            ("elapsed", $"{Elapsed.TotalSeconds:F0} s"),
        };

        var width = rows.Max(r => r.Item1.Length);
        var text = new StringBuilder();
        text.AppendLine(new string('-', width + 40));
        foreach (var (name, value) in rows)
        {
            text.Append(name.PadRight(width)).Append(" | ").AppendLine(value);
        }

        text.AppendLine(new string('-', width + 40));
        foreach (var invariant in Invariants)
        {
            text.Append(invariant.Holds ? "ok    " : "FAIL  ").Append(invariant.Name).Append(": ").AppendLine(invariant.Detail);
        }

        foreach (var finding in Findings)
        {
            text.Append("note  ").AppendLine(finding);
        }

        text.AppendLine(Passed ? "PASSED" : "FAILED");
        return text.ToString();
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
