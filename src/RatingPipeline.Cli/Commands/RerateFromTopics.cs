using Confluent.Kafka;
using RatingPipeline.IO;
using RatingPipeline.Kafka;

namespace RatingPipeline.Cli.Commands;

/// <summary><c>ratingctl rerate --from-topic</c>: the re-rate of <see cref="RerateCommand"/> over snapshots of the cluster's topics.</summary>
public static class RerateFromTopics
{
    /// <summary>The command line's topic mode (<see cref="RerateCommand.TopicMode"/>), on the product's topic names.</summary>
    public static Task<int> RunAsync(string tariffPath, string bootstrap, string outDir, IReadOnlySet<string>? cycles, bool progress, string? oldTariff,
        bool hugePages, CancellationToken cancel) =>
        RunFromTopicsAsync(tariffPath, bootstrap, new TopicNames(), outDir, Console.Out, Console.Error, cancel, cycles, progress, oldTariff, hugePages);

    /// <summary>
    /// Topic mode: snapshots <c>subscribers</c> (last profile per msisdn), <c>rated-cdrs</c> (each distinct record once —
    /// the rater may re-deliver identical records after a crash), <c>cdrs</c> (partition by partition, so each
    /// subscriber's CDRs keep their order) and the <c>adjustments</c> ledger into the output folder, runs the file
    /// logic, and produces the adjustments that are new to the <c>adjustments</c> topic (key msisdn).
    /// </summary>
    public static async Task<int> RunFromTopicsAsync(string tariffPath, string bootstrap, TopicNames topics, string outDir,
        TextWriter stdout, TextWriter stderr, CancellationToken cancel, IReadOnlySet<string>? cycles = null, bool progress = true, string? oldTariff = null,
        bool hugePages = true)
    {
        var snapshot = Path.Combine(outDir, "snapshot");
        Directory.CreateDirectory(snapshot);
        var adjustmentsPath = Path.Combine(outDir, RerateCommand.AdjustmentsFile);
        try
        {
            await TopicSnapshot.ExportAsync(bootstrap, topics.Subscribers, Path.Combine(snapshot, "subscribers.jsonl"), TopicSnapshot.Mode.LastPerKey, cancel);
            await TopicSnapshot.ExportAsync(bootstrap, topics.RatedCdrs, Path.Combine(snapshot, "rated.jsonl"), TopicSnapshot.Mode.DistinctValues, cancel);
            await TopicSnapshot.ExportAsync(bootstrap, topics.Cdrs, Path.Combine(snapshot, "cdrs.jsonl"), TopicSnapshot.Mode.All, cancel);

            // In topic mode the adjustments topic is the ledger of record.
            await TopicSnapshot.ExportAsync(bootstrap, topics.Adjustments, adjustmentsPath, TopicSnapshot.Mode.DistinctValues, cancel);
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException or TimeoutException)
        {
            await stderr.WriteLineAsync($"ratingctl rerate: reading the topics at {bootstrap} failed: {e.Message}");
            return 2;
        }

        var before = new FileInfo(adjustmentsPath).Length;
        var exit = await RerateCommand.RunAsync(new RerateOptions(tariffPath, Path.Combine(snapshot, "subscribers.jsonl"), Path.Combine(snapshot, "rated.jsonl"),
            Path.Combine(snapshot, "cdrs.jsonl"), outDir, cycles, ProfileLines: false, Progress: progress, OldTariff: oldTariff,
            HugePages: hugePages), stdout, stderr, cancel);
        if (exit != 0)
        {
            return exit;
        }

        // Produce what this run appended to the ledger file.
        var appended = (await File.ReadAllBytesAsync(adjustmentsPath, cancel)).AsMemory((int)before);
        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(bootstrap));
        var written = new AcknowledgementGroup();
        var produced = 0;
        foreach (var line in System.Text.Encoding.UTF8.GetString(appended.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = System.Text.Json.JsonDocument.Parse(line);
            var key = json.RootElement.GetProperty("msisdn").GetString()!;
            producer.Produce(topics.Adjustments, new Message<byte[], byte[]>
            {
                Key = System.Text.Encoding.ASCII.GetBytes(key),
                Value = System.Text.Encoding.UTF8.GetBytes(line),
            }, written);
            produced++;
        }

        await producer.AwaitAsync(written, AcknowledgedProducer.UntilReported, "adjustments", cancel);
        await stdout.WriteLineAsync($"{produced} adjustments produced to {topics.Adjustments}");
        return 0;
    }

}
