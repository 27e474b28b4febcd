using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Rater;

/// <summary>An output record as read back from Kafka, by kcat or the .NET client.</summary>
internal sealed record ObservedRecord(int Partition, long Offset, string? Key, byte[] Value, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    public string Text => Encoding.UTF8.GetString(Value);

    public static ObservedRecord From(KcatRecord r) =>
        new(r.Partition, r.Offset, r.Key, Encoding.UTF8.GetBytes(r.Value ?? ""), r.Headers);

    public static ObservedRecord From(TopicRecord r) =>
        new(r.Partition, r.Offset, r.Key is null ? null : r.KeyText, r.Value ?? [],
            [.. r.Headers.Select(h => KeyValuePair.Create(h.Key, Encoding.UTF8.GetString(h.Value)))]);

    public string? Header(string name) => Headers.Where(h => h.Key == name).Select(h => h.Value).LastOrDefault();
}

/// <summary>The rater's three output topics as read back.</summary>
internal sealed record ObservedOutputs(IReadOnlyList<ObservedRecord> Rated, IReadOnlyList<ObservedRecord> Reminders, IReadOnlyList<ObservedRecord> DeadLetters)
{
    /// <summary>Reads <c>rated-cdrs</c>, <c>reminders</c> and <c>cdrs-dlq</c> to their ends with kcat, the outside client.</summary>
    public static ObservedOutputs ReadWithKcat(string bootstrap, TopicNames topics) => new(
        [.. Kcat.ConsumeToEnd(bootstrap, topics.RatedCdrs).Select(ObservedRecord.From)],
        [.. Kcat.ConsumeToEnd(bootstrap, topics.Reminders).Select(ObservedRecord.From)],
        [.. Kcat.ConsumeToEnd(bootstrap, topics.CdrsDlq).Select(ObservedRecord.From)]);

    /// <summary>Reads the outputs with kcat, but the dead letters with the .NET client: their values may not be UTF-8.</summary>
    public static ObservedOutputs ReadWithKcatAndExactDeadLetters(string bootstrap, TopicNames topics, int partitions) => new(
        [.. Kcat.ConsumeToEnd(bootstrap, topics.RatedCdrs).Select(ObservedRecord.From)],
        [.. Kcat.ConsumeToEnd(bootstrap, topics.Reminders).Select(ObservedRecord.From)],
        [.. TopicReader.ReadAll(bootstrap, topics.CdrsDlq, partitions).Select(ObservedRecord.From)]);
}

/// <summary>Which outputs may have been written more than once (always with identical content).</summary>
internal enum Copies
{
    /// <summary>Every output once.</summary>
    None,

    /// <summary>
    /// Rated records and reminders once; dead letters may repeat. A partition that moves while the group refuses its
    /// commit is read again by its next owner: the applied CDRs are skipped by their state tags, but rejected records
    /// change no state, so nothing marks them as done.
    /// </summary>
    OfDeadLetters,

    /// <summary>Any output may repeat: reprocessing after a crash re-rates from the last commit.</summary>
    Any,
}

/// <summary>What a comparison found besides the differences: how many copies the topics held.</summary>
internal sealed record ComparisonCounts(int RatedRecords, int RatedIds, int ReminderRecords, int ReminderIds, int DeadLetterRecords, int DeadLetterSources)
{
    public int Duplicates => RatedRecords - RatedIds + ReminderRecords - ReminderIds + DeadLetterRecords - DeadLetterSources;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"rated {RatedRecords} records / {RatedIds} ids, reminders {ReminderRecords} / {ReminderIds}, dead letters {DeadLetterRecords} / {DeadLetterSources} sources; {Duplicates} duplicates");
}

/// <summary>
/// Holds what the rater wrote to Kafka against the offline run, as data: rated records by <c>id</c> and reminders by
/// <c>eventId</c> with every field, each on the partition of its CDR, keyed by msisdn, in the subscriber's order; dead
/// letters by their source partition and offset, with the original bytes, key, reason and detail. Copies of one id
/// (reprocessing after a crash) must be identical; whether copies may exist at all is the caller's choice.
/// </summary>
internal static class OutputComparison
{
    private const int MaxPerKind = 10;

    public static ComparisonCounts Compare(OfflineModel model, ObservedOutputs observed, TopicNames topics, Copies copies, List<string> problems)
    {
        var (ratedRecords, ratedIds) = CompareById("rated", "id", model.Rated, observed.Rated, copies == Copies.Any, problems);
        var (reminderRecords, reminderIds) = CompareById("reminder", "eventId", model.Reminders, observed.Reminders, copies == Copies.Any, problems);
        var (letters, sources) = CompareDeadLetters(model.Rejected, observed.DeadLetters, topics, copies != Copies.None, problems);
        return new ComparisonCounts(ratedRecords, ratedIds, reminderRecords, reminderIds, letters, sources);
    }

    /// <summary>Compares JSON documents as data (member order and number spelling aside).</summary>
    public static bool SameData(string expected, string actual)
    {
        try
        {
            return JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static (int Records, int Ids) CompareById(string kind, string idMember, List<ExpectedOutput> expected, IReadOnlyList<ObservedRecord> observed,
        bool duplicatesAllowed, List<string> problems)
    {
        var local = new List<string>();
        var expectedById = new Dictionary<string, ExpectedOutput>(StringComparer.Ordinal);
        foreach (var output in expected)
        {
            if (!expectedById.TryAdd(output.Id, output))
            {
                local.Add($"{kind} {output.Id}: the offline run emits this id twice, so outputs cannot be told apart by it (test data)");
            }
        }

        var copies = new Dictionary<string, List<ObservedRecord>>(StringComparer.Ordinal);
        foreach (var record in observed.OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            var id = IdOf(record.Text, idMember);
            if (id is null)
            {
                local.Add($"{kind} at [{record.Partition}]@{record.Offset} has no {idMember}: {record.Text}");
                continue;
            }

            if (!copies.TryGetValue(id, out var list))
            {
                copies[id] = list = [];
            }

            list.Add(record);
        }

        foreach (var (id, list) in copies.Where(c => c.Value.Count > 1))
        {
            if (!duplicatesAllowed)
            {
                local.Add($"{kind} {id} written {list.Count} times (at {string.Join(", ", list.Select(r => $"[{r.Partition}]@{r.Offset}"))})");
            }

            if (list.Any(r => r.Text != list[0].Text || r.Key != list[0].Key || r.Partition != list[0].Partition))
            {
                local.Add($"{kind} {id}: copies differ: {string.Join(" | ", list.Select(r => $"[{r.Partition}] {r.Key} {r.Text}"))}");
            }
        }

        foreach (var id in expectedById.Keys.Where(id => !copies.ContainsKey(id)).Take(MaxPerKind))
        {
            local.Add($"{kind} {id} missing: expected {expectedById[id].Json}");
        }

        foreach (var id in copies.Keys.Where(id => !expectedById.ContainsKey(id)).Take(MaxPerKind))
        {
            local.Add($"{kind} {id} not expected: {copies[id][0].Text}");
        }

        var mismatches = 0;
        foreach (var (id, output) in expectedById)
        {
            if (!copies.TryGetValue(id, out var list) || mismatches >= MaxPerKind)
            {
                continue;
            }

            var first = list[0];
            if (!SameData(output.Json, first.Text))
            {
                local.Add($"{kind} {id}: expected {output.Json}{Environment.NewLine}  but got {first.Text}");
                mismatches++;
            }

            if (first.Key != output.Msisdn || first.Partition != output.Partition)
            {
                local.Add($"{kind} {id}: expected key {output.Msisdn} on partition {output.Partition} (its CDR's), got key {first.Key} on {first.Partition}");
                mismatches++;
            }
        }

        // Within one subscriber the order is defined: first copies in offset order, against the offline order.
        var firstSeen = copies.Values.Select(l => l[0]).OrderBy(r => r.Partition).ThenBy(r => r.Offset)
            .Select(r => IdOf(r.Text, idMember)!).Where(expectedById.ContainsKey).ToList();
        foreach (var subscriber in expected.GroupBy(o => o.Msisdn))
        {
            var wanted = subscriber.Select(o => o.Id).Where(copies.ContainsKey).ToList();
            var wantedSet = wanted.ToHashSet(StringComparer.Ordinal);
            var got = firstSeen.Where(wantedSet.Contains).ToList();
            if (!wanted.SequenceEqual(got))
            {
                local.Add($"{kind}s of {subscriber.Key} out of order: expected {string.Join(',', wanted)}, got {string.Join(',', got)}");
            }
        }

        problems.AddRange(local.Take(4 * MaxPerKind));
        return (observed.Count, copies.Count);
    }

    private static (int Records, int Sources) CompareDeadLetters(List<ExpectedRejection> expected, IReadOnlyList<ObservedRecord> observed, TopicNames topics,
        bool duplicatesAllowed, List<string> problems)
    {
        var local = new List<string>();
        var expectedBySource = expected.ToDictionary(r => (r.Partition, r.Offset));
        var copies = new Dictionary<(int, long), List<ObservedRecord>>();
        foreach (var letter in observed.OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            var topic = letter.Header(DeadLetterHeaders.Topic);
            if (topic != topics.Cdrs
                || !int.TryParse(letter.Header(DeadLetterHeaders.Partition), NumberStyles.None, CultureInfo.InvariantCulture, out var partition)
                || !long.TryParse(letter.Header(DeadLetterHeaders.Offset), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                local.Add($"dead letter at [{letter.Partition}]@{letter.Offset} does not name its source (topic {topic}): headers {string.Join(", ", letter.Headers)}");
                continue;
            }

            if (!copies.TryGetValue((partition, offset), out var list))
            {
                copies[(partition, offset)] = list = [];
            }

            list.Add(letter);
        }

        foreach (var (source, list) in copies.Where(c => c.Value.Count > 1))
        {
            if (!duplicatesAllowed)
            {
                local.Add($"dead letter of cdrs[{source.Item1}]@{source.Item2} written {list.Count} times");
            }

            if (list.Any(r => !r.Value.AsSpan().SequenceEqual(list[0].Value) || r.Key != list[0].Key || !r.Headers.SequenceEqual(list[0].Headers)))
            {
                local.Add($"dead letter of cdrs[{source.Item1}]@{source.Item2}: copies differ");
            }
        }

        foreach (var source in expectedBySource.Keys.Where(s => !copies.ContainsKey(s)).Take(MaxPerKind))
        {
            var r = expectedBySource[source];
            local.Add($"dead letter of cdrs[{source.Partition}]@{source.Offset} missing: {r.Reason} ({r.Detail}): {Encoding.UTF8.GetString(r.Raw)}");
        }

        foreach (var source in copies.Keys.Where(s => !expectedBySource.ContainsKey(s)).Take(MaxPerKind))
        {
            local.Add($"dead letter of cdrs[{source.Item1}]@{source.Item2} not expected: {copies[source][0].Header(DeadLetterHeaders.Reason)}: {copies[source][0].Text}");
        }

        foreach (var (source, rejection) in expectedBySource)
        {
            if (!copies.TryGetValue(source, out var list))
            {
                continue;
            }

            var letter = list[0];
            var where = $"dead letter of cdrs[{source.Partition}]@{source.Offset}";
            if (!letter.Value.AsSpan().SequenceEqual(rejection.Raw))
            {
                local.Add($"{where}: value is not the original bytes: expected {Convert.ToHexString(rejection.Raw)}, got {Convert.ToHexString(letter.Value)}");
            }

            if (letter.Header(DeadLetterHeaders.Reason) != rejection.Reason || letter.Header(DeadLetterHeaders.Detail) != rejection.Detail)
            {
                local.Add($"{where}: expected reason {rejection.Reason} ({rejection.Detail}), got {letter.Header(DeadLetterHeaders.Reason)} ({letter.Header(DeadLetterHeaders.Detail)})");
            }

            if (letter.Key != rejection.Key)
            {
                local.Add($"{where}: expected the original key {rejection.Key ?? "(none)"}, got {letter.Key ?? "(none)"}");
            }

            if (letter.Partition != source.Partition)
            {
                local.Add($"{where}: written to partition {letter.Partition}, not its CDR's");
            }
        }

        problems.AddRange(local.Take(4 * MaxPerKind));
        return (observed.Count, copies.Count);
    }

    private static string? IdOf(string json, string member)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(member, out var id)
                && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
