using System.Text;
using System.Text.Json;
using RatingPipeline.Cli.Commands;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.FaultSuite;

/// <summary>What the cluster holds at the end of a run.</summary>
internal sealed record ClusterContents(
    TopicContents Cdrs,
    TopicContents Rated,
    TopicContents Reminders,
    TopicContents DeadLetters,
    TopicContents State,
    TopicContents Bills,
    TopicContents Subscribers);

/// <summary>
/// Proves a run against the offline reference: the same CDRs, in the order they were produced (which per
/// subscriber is the order of its partition), rated by <c>ratingctl rate</c> (<see cref="RateCommand.RateAsync"/>)
/// and by an offline <see cref="RatingEngine"/> for the final usage state.
/// </summary>
internal static class Verification
{
    private const int ShownDifferences = 5;

    /// <returns>
    /// The offline run's reminder and bill lines (each becomes a notice), or null when the offline references disagree
    /// (nothing compared).
    /// </returns>
    public static async Task<List<byte[]>?> VerifyAsync(CdrStream stream, byte[] tariffV1, string? newVersion, long switchIndex, ClusterContents cluster,
        string folder, SuiteReport report, CancellationToken cancel)
    {
        var tariff = TariffLoader.Load(tariffV1);
        var delivered = Enumerable.Range(0, stream.Count).Where(i => stream.Offsets[i] >= 0).ToArray();
        report.CdrsIn = delivered.Length;
        report.Check("every CDR acknowledged by the cluster", delivered.Length == stream.Count && stream.Failed == 0,
            $"{delivered.Length} of {stream.Count} acknowledged, {stream.Failed} failed{(stream.FirstError is { } e ? $" (first: {e})" : "")}");
        CheckInputOrder(stream, delivered, report);
        var clocks = stream.Clocks.Where(c => c.Produced).ToList();
        report.Clocks = clocks.Count;
        report.Check("every clock record acknowledged in every partition", clocks.All(c => c.Delivered),
            $"{clocks.Count(c => c.Delivered)} of {clocks.Count} clocks in every partition");

        // Production order: each clock just before the CDR it was produced before (in every partition alike).
        var sequence = new List<byte[]>(delivered.Length + clocks.Count);
        var next = 0;
        foreach (var i in delivered)
        {
            while (next < clocks.Count && clocks[next].Before <= i)
            {
                sequence.Add(clocks[next++].Value);
            }

            sequence.Add(stream.Values[i]);
        }

        sequence.AddRange(clocks.Skip(next).Select(c => c.Value));

        // The offline reference run: ratingctl rate on the same profiles and CDRs, in production order.
        Directory.CreateDirectory(folder);
        var tariffPath = Path.Combine(folder, "tariff.json");
        var subscribersPath = Path.Combine(folder, "subscribers.jsonl");
        var cdrsPath = Path.Combine(folder, "cdrs.jsonl");
        await File.WriteAllBytesAsync(tariffPath, tariffV1, cancel);
        await WriteLinesAsync(subscribersPath, stream.Profiles, cancel);
        await WriteLinesAsync(cdrsPath, sequence, cancel);
        var profiles = SubscriberFile.Load(subscribersPath, tariff);
        var outDir = Path.Combine(folder, "out");
        var summary = await RateCommand.RateAsync(tariff, profiles, new RateOptions(tariffPath, subscribersPath, cdrsPath, outDir, Progress: false),
            TextWriter.Null, cancel);
        // rated.jsonl holds rated CDRs and fee records (SPEC §7.5); they are compared apart.
        var ratedAndFees = ReadLines(Path.Combine(outDir, "rated.jsonl"));
        var feeLines = ratedAndFees.Where(IsFee).ToList();
        var ratedLines = ratedAndFees.Where(l => !IsFee(l)).ToList();
        var reminderLines = ReadLines(Path.Combine(outDir, "reminders.jsonl"));
        var rejectedLines = ReadLines(Path.Combine(outDir, "rejected.jsonl"));
        var billLines = ReadLines(Path.Combine(outDir, "bills.jsonl"));
        report.RatedOffline = ratedLines.Count;
        report.RejectedOffline = summary.Rejected;
        report.RemindersOffline = summary.Reminders;

        // The same CDRs through an offline engine: which CDR was rated or rejected, and the final states.
        var engine = new RatingEngine(tariff);
        foreach (var profile in profiles)
        {
            engine.SetProfile(profile);
        }

        var sink = default(DiscardSink);
        var ratedIndexes = new List<int>();
        var rejectedIndexes = new List<int>();
        next = 0;
        foreach (var i in delivered)
        {
            while (next < clocks.Count && clocks[next].Before <= i)
            {
                engine.Process(clocks[next++].Value, ref sink);
            }

            switch (engine.Process(stream.Values[i], ref sink))
            {
                case RatingResult.Rated:
                    ratedIndexes.Add(i);
                    break;
                case RatingResult.Rejected:
                    rejectedIndexes.Add(i);
                    break;
                default:
                    break;
            }
        }

        while (next < clocks.Count)
        {
            engine.Process(clocks[next++].Value, ref sink);
        }

        var referenceAgrees = ratedIndexes.Count == ratedLines.Count && rejectedIndexes.Count == rejectedLines.Count;
        report.Check("offline engine and ratingctl rate agree", referenceAgrees,
            $"engine {ratedIndexes.Count} rated / {rejectedIndexes.Count} rejected; ratingctl rate {ratedLines.Count} / {rejectedLines.Count}");
        if (!referenceAgrees)
        {
            return null;
        }

        CompareRated(ratedLines, ratedIndexes, tariff.Version, newVersion, switchIndex, cluster.Rated, report);
        CompareReminders(reminderLines, cluster.Reminders, report);
        CompareBills(billLines, cluster.Bills, report);
        CompareFees(feeLines, cluster.Rated, report);
        var input = InputCopies.Build(stream, clocks, cluster.Cdrs);
        report.Check("cdrs holds only CDRs and clocks of the stream", input.Foreign == 0, $"{input.Foreign} other records; {input.ClockRecords} clock records");
        CompareDeadLetters(stream, input, rejectedLines, rejectedIndexes, cluster.DeadLetters, report);
        CompareStates(tariff, engine, cluster, report);

        foreach (var topic in new[] { cluster.Cdrs, cluster.Rated, cluster.Reminders, cluster.DeadLetters, cluster.State, cluster.Bills })
        {
            report.LargestPartitionBytes[topic.Topic] = topic.LargestPartitionBytes;
            report.RecordsLost += topic.Dropped;
            report.Check($"{topic.Topic}: nothing dropped by the cluster", topic.Dropped == 0,
                topic.Dropped == 0
                    ? $"all partitions from offset 0, no holes; largest partition {topic.LargestPartitionBytes / 1024.0 / 1024.0:F2} MiB"
                    : $"{topic.Low.Sum()} records below the low watermarks, {topic.Gaps} in holes: the mock's ~5 MiB per partition limit was exceeded; use more partitions or fewer CDRs");
        }

        return [.. reminderLines, .. billLines];
    }

    /// <summary>Per partition, production order must be offset order (one idempotent producer keeps it across retries).</summary>
    private static void CheckInputOrder(CdrStream stream, int[] delivered, SuiteReport report)
    {
        var last = new Dictionary<int, long>();
        var disorder = 0;
        foreach (var i in delivered)
        {
            if (last.TryGetValue(stream.Partitions[i], out var previous) && stream.Offsets[i] <= previous)
            {
                disorder++;
            }

            last[stream.Partitions[i]] = stream.Offsets[i];
        }

        report.Check("production order is partition order", disorder == 0, $"{disorder} CDRs out of order");
    }

    private static void CompareRated(List<byte[]> lines, List<int> indexes, string oldVersion, string? newVersion, long switchIndex,
        TopicContents topic, SuiteReport report)
    {
        var oldToken = $"\"tariffVersion\":{JsonSerializer.Serialize(oldVersion)}";
        var newToken = newVersion is null ? null : $"\"tariffVersion\":{JsonSerializer.Serialize(newVersion)}";
        var expected = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        long underNew = 0;
        for (var k = 0; k < lines.Count; k++)
        {
            var text = Encoding.UTF8.GetString(lines[k]);
            if (newToken is not null && switchIndex >= 0 && indexes[k] >= switchIndex)
            {
                // The rater switched versions at this CDR; the new version changes no charge, only the version.
                text = text.Replace(oldToken, newToken, StringComparison.Ordinal);
                underNew++;
            }

            Add(expected, Field(lines[k], "id"u8), text);
        }

        var actual = Group(topic, "id"u8, record => !IsFee(record));
        var (lost, unexpected, duplicates, conflicting, examples) = Compare(expected, actual);
        report.Rated = actual.Count;
        report.DuplicatesRated = duplicates;
        report.RecordsLost += lost;
        report.Unexpected += unexpected;
        report.Check("rated records equal the offline run (by id)", lost == 0 && unexpected == 0,
            $"{lost} missing, {unexpected} unexpected, {conflicting} ids with differing copies{examples}");
        if (newToken is not null && switchIndex >= 0)
        {
            var seenNew = topic.Records.Count(r => r.Value is not null && Encoding.UTF8.GetString(r.Value).Contains(newToken, StringComparison.Ordinal));
            report.RatedUnderNewTariff = underNew;
            report.Check("tariff switch shows in rated records", underNew > 0 && underNew < lines.Count && seenNew >= underNew,
                $"CDRs from #{switchIndex} on: {underNew} rated under {newVersion} expected, {seenNew} such records in the topic; earlier ones under {oldVersion}");
        }
    }

    private static void CompareReminders(List<byte[]> lines, TopicContents topic, SuiteReport report)
    {
        var expected = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            Add(expected, Field(line, "eventId"u8), Encoding.UTF8.GetString(line));
        }

        var actual = Group(topic, "eventId"u8);
        var (lost, unexpected, duplicates, conflicting, examples) = Compare(expected, actual);
        report.Reminders = actual.Count;
        report.DuplicatesReminders = duplicates;
        report.RecordsLost += lost;
        report.Unexpected += unexpected;
        report.Check("reminders equal the offline run (by eventId)", lost == 0 && unexpected == 0,
            $"{lost} missing, {unexpected} unexpected, {conflicting} eventIds with differing copies{examples}");
    }

    private static bool IsFee(byte[]? record) => record is not null && record.AsSpan().IndexOf("\"type\":\"fee\""u8) >= 0;

    /// <summary>
    /// Fee records of rated-cdrs by id, every member equal except <c>tariffVersion</c> (the version in force at the
    /// charge, which the mid-stream switch may have changed). The suite's tariff charges a monthly fee on every plan, so
    /// each subscriber that moves into a new cycle during the run is charged one.
    /// </summary>
    private static void CompareFees(List<byte[]> lines, TopicContents topic, SuiteReport report)
    {
        var expected = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            Add(expected, Field(line, "id"u8), WithoutVersion(line));
        }

        var actual = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var record in topic.Records.Where(r => IsFee(r.Value)))
        {
            var id = Field(record.Value, "id"u8);
            if (!actual.TryGetValue(id, out var copies))
            {
                copies = new Dictionary<string, int>(StringComparer.Ordinal);
                actual[id] = copies;
            }

            var text = WithoutVersion(record.Value!);
            copies[text] = copies.GetValueOrDefault(text) + 1;
        }

        var (lost, unexpected, _, conflicting, examples) = Compare(expected, actual);
        report.Fees = actual.Count;
        report.FeesOffline = lines.Count;
        report.RecordsLost += lost;
        report.Unexpected += unexpected;
        report.Check("fee records equal the offline run (by id)", lost == 0 && unexpected == 0,
            $"{lines.Count} offline, {actual.Count} distinct in rated-cdrs; {lost} missing, {unexpected} unexpected, {conflicting} ids with differing copies{examples}");
    }

    /// <summary>A record without its <c>tariffVersion</c> member, as compact JSON text.</summary>
    private static string WithoutVersion(byte[] json)
    {
        try
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
            node.Remove("tariffVersion");
            return node.ToJsonString();
        }
        catch (JsonException)
        {
            return Encoding.UTF8.GetString(json);
        }
    }

    /// <summary>
    /// Bills by eventId, every member equal except <c>tariffVersion</c>: the cluster run switches the tariff's version
    /// mid-stream (same rates), and a bill names the version in force when its cycle ended.
    /// </summary>
    private static void CompareBills(List<byte[]> lines, TopicContents topic, SuiteReport report)
    {
        var expected = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            Add(expected, Field(line, "eventId"u8), WithoutVersion(line));
        }

        var actual = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var record in topic.Records)
        {
            var value = record.Value ?? [];
            var id = Field(value, "eventId"u8);
            if (!actual.TryGetValue(id, out var copies))
            {
                copies = new Dictionary<string, int>(StringComparer.Ordinal);
                actual[id] = copies;
            }

            var text = WithoutVersion(value);
            copies[text] = copies.GetValueOrDefault(text) + 1;
        }

        var (lost, unexpected, _, conflicting, examples) = Compare(expected, actual);
        report.Bills = actual.Count;
        report.BillsOffline = lines.Count;
        report.RecordsLost += lost;
        report.Unexpected += unexpected;
        report.Check("bills equal the offline run (by eventId)", lost == 0 && unexpected == 0,
            $"{lines.Count} offline, {actual.Count} distinct in the topic; {lost} missing, {unexpected} unexpected, {conflicting} eventIds with differing copies{examples}");

    }

    /// <summary>
    /// Dead letters are de-duplicated by the input partition and offset they name. Each copy of a CDR the
    /// offline run rejects must have one with the offline reason; each copy after the first of a CDR the offline
    /// run rates (see <see cref="InputCopies"/>) one with <c>duplicate</c>; every dead letter carries the
    /// original key and bytes.
    /// </summary>
    private static void CompareDeadLetters(CdrStream stream, InputCopies input, List<byte[]> lines, List<int> indexes, TopicContents topic, SuiteReport report)
    {
        var offline = new Dictionary<int, string>();
        for (var k = 0; k < lines.Count; k++)
        {
            offline[indexes[k]] = Field(lines[k], "reason"u8);
        }

        var due = new Dictionary<(int, long), string>();
        foreach (var (i, reason) in offline)
        {
            due[(stream.Partitions[i], input.FirstOffset(i, stream))] = reason;
        }

        foreach (var copies in input.Repeated())
        {
            foreach (var position in copies)
            {
                if (offline.TryGetValue(copies.Key, out var reason))
                {
                    due[position] = reason;
                }
                else if (position.Offset != input.FirstOffset(copies.Key, stream))
                {
                    due[position] = "duplicate";
                }
            }
        }

        var seen = new Dictionary<(int, long), int>();
        long unexpected = 0;
        var problems = new List<string>();
        foreach (var record in topic.Records)
        {
            var position = (int.TryParse(record.Header("__connect.errors.partition"), out var p) ? p : -1,
                long.TryParse(record.Header("__connect.errors.offset"), out var o) ? o : -1);
            var reason = record.Header("__connect.errors.exception.class.name");
            var known = input.TryGetIndex(position, out var index);
            if (record.Header("__connect.errors.topic") != "cdrs" || !known || !due.TryGetValue(position, out var expectedReason))
            {
                unexpected++;
                var what = known
                    ? $"CDR #{index} (id {Field(stream.Values[index], "id"u8)}, msisdn {Encoding.ASCII.GetString(stream.Keys[index])}), which the offline run rated"
                    : "no CDR of the stream";
                Note(problems, $"dead letter at {record.Partition}@{record.Offset} names {position}: {what}; reason {reason}: {record.Header("__connect.errors.exception.message")}");
                continue;
            }

            if (reason != expectedReason || !(record.Value ?? []).AsSpan().SequenceEqual(stream.Values[index])
                || !(record.Key ?? []).AsSpan().SequenceEqual(stream.Keys[index]))
            {
                unexpected++;
                Note(problems, $"dead letter for CDR #{index} at {position}: reason {reason}, expected {expectedReason}, or bytes or key differ from the input");
                continue;
            }

            seen[position] = seen.GetValueOrDefault(position) + 1;
        }

        var missing = due.Keys.Where(k => !seen.ContainsKey(k)).ToList();
        foreach (var position in missing.Take(ShownDifferences))
        {
            Note(problems, $"{position} ({due[position]}) has no dead letter");
        }

        report.Rejected = offline.Count(r => seen.ContainsKey((stream.Partitions[r.Key], input.FirstOffset(r.Key, stream))));
        report.InputCopies = input.ExtraCopies;
        report.InputCopiesRejected = seen.Keys.Count(k => input.TryGetIndex(k, out var i) && !offline.ContainsKey(i));
        report.DuplicatesDeadLetters = seen.Values.Sum(c => c - 1L);
        report.RecordsLost += missing.Count;
        report.Unexpected += unexpected;
        report.Check("dead letters equal the offline rejections (by input offset)", missing.Count == 0 && unexpected == 0,
            $"{missing.Count} missing, {unexpected} unexpected; {input.ExtraCopies} CDRs held twice in cdrs, their later copies rejected duplicate{Examples(problems)}");
    }

    /// <summary>
    /// The <c>rater-state</c> record a restore takes per subscriber (highest tag) equals the state of a clean run over
    /// <c>cdrs</c> as it sits in the cluster: partition by partition in offset order, each record tagged with its
    /// offset and each clock applied to the subscribers of its partition, as the rater does — including the later copies
    /// of a CDR the cluster holds twice (rejected duplicate) and the clocks' tags. That run's states must also equal the
    /// production-order run's (the offline reference), tags aside: per subscriber both read the same records in the same order.
    /// </summary>
    private static void CompareStates(Tariff tariff, RatingEngine production, ClusterContents cluster, SuiteReport report)
    {
        var problems = new List<string>();
        var clean = new RatingEngine(tariff);
        foreach (var record in cluster.Subscribers.Records.OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            if (record.Value is { } value && SubscriberProfile.TryParse(value, tariff, out var error) is { } profile)
            {
                clean.SetProfile(profile, clockGroup: record.Partition);
            }
        }

        var sink = default(DiscardSink);
        foreach (var record in cluster.Cdrs.Records.OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            clean.Process(record.Value ?? [], ref sink, record.Offset, clockGroup: record.Partition);
        }

        long referenceMismatches = 0;
        foreach (var key in clean.StateKeys.Union(production.StateKeys).Distinct())
        {
            if (!clean.TryGetState(key, out var inOffsetOrder) || !production.TryGetState(key, out var inProductionOrder))
            {
                referenceMismatches++;
                Note(problems, $"{MsisdnKey.ToText(key)}: in one offline run only");
                continue;
            }

            inProductionOrder.OffsetTag = inOffsetOrder.OffsetTag;
            if (!UsageStateCodec.ToArray(in inProductionOrder).AsSpan().SequenceEqual(UsageStateCodec.ToArray(in inOffsetOrder)))
            {
                referenceMismatches++;
                Note(problems, $"{MsisdnKey.ToText(key)}: production order {Describe(inProductionOrder)}; offset order {Describe(inOffsetOrder)}");
            }
        }

        report.Check("the offline runs in production and in offset order agree on every state", referenceMismatches == 0,
            $"{clean.StateCount} states, {referenceMismatches} differ{Examples(problems)}");
        problems.Clear();

        // The state a restore takes: per subscriber the highest offset tag, the later on a tie (see StateChangelog).
        var last = new Dictionary<ulong, UsageState>();
        foreach (var record in cluster.State.Records.OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            if (record.Key is { } key && MsisdnKey.TryCompute(key, out var k)
                && !StateChangelog.Apply(last, k, record.Value, tombstone: record.Value is null))
            {
                Note(problems, $"{MsisdnKey.ToText(k)}: rater-state record at [{record.Partition}]@{record.Offset} does not decode");
            }
        }

        long mismatches = 0;
        long usedKafka = 0, usedOffline = 0, spendKafka = 0, spendOffline = 0;
        foreach (var key in clean.StateKeys.Union(last.Keys).Distinct())
        {
            var hasOffline = clean.TryGetState(key, out var offline);
            var hasStored = last.TryGetValue(key, out var stored);
            if (hasOffline)
            {
                usedOffline += offline.Used[0] + offline.Used[1] + offline.Used[2];
                spendOffline += offline.Spend;
            }

            if (hasStored)
            {
                usedKafka += stored.Used[0] + stored.Used[1] + stored.Used[2];
                spendKafka += stored.Spend;
            }

            if (!hasOffline || !hasStored)
            {
                mismatches++;
                Note(problems, $"{MsisdnKey.ToText(key)}: state {(hasOffline ? "missing from rater-state" : "in rater-state but not offline")}");
                continue;
            }

            if (offline.Previous is { } offlinePrevious && stored.Previous is { } storedPrevious)
            {
                // An open previous cycle keeps the tariff version in force when it ended: the cluster run switched versions
                // mid-stream (same rates), the offline run did not. The version is all that may differ.
                offlinePrevious.TariffVersionId = storedPrevious.TariffVersionId;
            }

            if (!UsageStateCodec.ToArray(in offline).AsSpan().SequenceEqual(UsageStateCodec.ToArray(in stored)))
            {
                mismatches++;
                Note(problems, $"{MsisdnKey.ToText(key)}: rater-state {Describe(stored)} tag {stored.OffsetTag}; offline {Describe(offline)} tag {offline.OffsetTag}");
            }
        }

        report.StateSubscribers = last.Count;
        report.StateMismatches = mismatches;
        report.Check("usage state per subscriber equals the offline run", mismatches == 0,
            $"{last.Count} subscribers in rater-state, {clean.StateCount} offline, {mismatches} differ; used units {usedKafka} (offline {usedOffline}), spend {spendKafka} micros (offline {spendOffline}){Examples(problems)}");
    }

    private static string Describe(in UsageState s) =>
        $"[cycle {s.CycleDay} used {s.Used[0]}/{s.Used[1]}/{s.Used[2]} D {s.CappedCharges} S {s.Spend} prepaid {s.PrepaidCharges} ids {s.RecentIds.Count}]";

    private static (long Lost, long Unexpected, long Duplicates, long Conflicting, string Examples) Compare(
        Dictionary<string, HashSet<string>> expected, Dictionary<string, Dictionary<string, int>> actual)
    {
        long lost = 0, unexpected = 0, duplicates = 0, conflicting = 0;
        var problems = new List<string>();
        foreach (var (id, values) in expected)
        {
            actual.TryGetValue(id, out var copies);
            foreach (var value in values.Where(v => copies is null || !copies.ContainsKey(v)))
            {
                lost++;
                Note(problems, copies is null ? $"{id} missing" : $"{id} differs: {value} vs {copies.Keys.First()}");
            }
        }

        foreach (var (id, copies) in actual)
        {
            duplicates += copies.Values.Sum(c => c - 1L);
            expected.TryGetValue(id, out var values);
            var extra = copies.Keys.Count(v => values is null || !values.Contains(v));
            unexpected += extra;
            if (copies.Count > 1 && (values?.Count ?? 0) <= 1)
            {
                conflicting++;
            }

            if (values is null)
            {
                Note(problems, $"{id} not in the offline run");
            }
        }

        return (lost, unexpected, duplicates, conflicting, Examples(problems));
    }

    private static Dictionary<string, Dictionary<string, int>> Group(TopicContents topic, ReadOnlySpan<byte> idField, Func<byte[], bool>? take = null)
    {
        var groups = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var record in topic.Records)
        {
            var value = record.Value ?? [];
            if (take is not null && !take(value))
            {
                continue;
            }

            var id = Field(value, idField);
            if (!groups.TryGetValue(id, out var copies))
            {
                copies = new Dictionary<string, int>(StringComparer.Ordinal);
                groups[id] = copies;
            }

            var text = Encoding.UTF8.GetString(value);
            copies[text] = copies.GetValueOrDefault(text) + 1;
        }

        return groups;
    }

    private static void Add(Dictionary<string, HashSet<string>> map, string id, string value)
    {
        if (!map.TryGetValue(id, out var set))
        {
            set = new HashSet<string>(StringComparer.Ordinal);
            map[id] = set;
        }

        set.Add(value);
    }

    /// <summary>A top-level string member of a JSON object ("" when absent or not readable).</summary>
    private static string Field(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "";
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(name);
                reader.Read();
                if (match && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString() ?? "";
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not one JSON object: no id.
        }

        return "";
    }

    private static List<byte[]> ReadLines(string path)
    {
        var lines = new List<byte[]>();
        var bytes = File.ReadAllBytes(path).AsSpan();
        while (bytes.Length > 0)
        {
            var end = bytes.IndexOf((byte)'\n');
            var line = end < 0 ? bytes : bytes[..end];
            bytes = end < 0 ? default : bytes[(end + 1)..];
            if (line.Length > 0)
            {
                lines.Add(line.ToArray());
            }
        }

        return lines;
    }

    private static async Task WriteLinesAsync(string path, IEnumerable<byte[]> lines, CancellationToken cancel)
    {
        await using var file = File.Create(path);
        foreach (var line in lines)
        {
            await file.WriteAsync(line, cancel);
            file.WriteByte((byte)'\n');
        }
    }

    private static void Note(List<string> problems, string problem)
    {
        if (problems.Count < ShownDifferences)
        {
            problems.Add(problem);
        }
    }

    private static string Examples(List<string> problems) => problems.Count == 0 ? "" : "; e.g. " + string.Join("; ", problems);

    private struct DiscardSink : IRatingSink
    {
        public readonly void Rated(in RatedCdr rated)
        {
        }

        public readonly void Reminder(in ReminderEvent reminder)
        {
        }

        public readonly void Rejected(in RejectedCdr rejected)
        {
        }

        public readonly void Bill(in BillRecord bill)
        {
        }
    }
}
