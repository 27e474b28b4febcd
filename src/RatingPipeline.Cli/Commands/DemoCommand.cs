using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RatingPipeline.Cli.Options;
using RatingPipeline.Kafka;
using RatingPipeline.Rater;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Synthetic;
using Serilog;
using Spectre.Console;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// <c>ratingctl demo</c>: the whole pipeline on a laptop with nothing installed. Starts the embedded
/// Kafka-protocol cluster (or uses <c>--bootstrap</c>), loads the demo tariff and synthetic subscriber
/// profiles, runs the rater in-process, streams synthetic CDRs at a set rate, shows live figures, and ends
/// with <c>N cdrs, N rated, N rejected, N reminders</c>. The synthetic stream runs at about 11 simulated hours per
/// second at any rate (a CDR every 20 s of stream time at 2,000 CDRs/s), its roaming trips begin with a location
/// record, and the demo writes a clock record to every partition each simulated hour, as the scheduler would: within
/// 30 s, cycles close, bills are written and the demo plans' monthly fees are charged. The summary reads this run's
/// bills back from the bills topic and shows their count, their sum and the largest ones. The usage query API and the
/// sender's <c>POST /v1/mo</c> take one random token per run; the demo prints a <c>curl</c> for each, and shows the
/// replies to SMS a subscriber sends (<see cref="DemoMo"/>).
/// </summary>
public static class DemoCommand
{
    public sealed record Options(int Subscribers, int Rate, TimeSpan Duration, string? Bootstrap, int Partitions, int Seed, bool Live, string HttpUrl);

    public static Command Build()
    {
        var subscribers = new Option<int>("--subscribers") { Description = "Subscriber profiles to load", DefaultValueFactory = _ => 3000 };
        var rate = new Option<int>("--rate") { Description = "CDRs produced per second", DefaultValueFactory = _ => 2000 };
        var duration = new Option<TimeSpan>("--duration")
        {
            Description = "How long to stream CDRs (e.g. 20s, 2m, 1h); Ctrl-C ends earlier",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(30),
            CustomParser = Durations.Parse,
        };
        var bootstrap = new Option<string?>("--bootstrap") { Description = "Use this Kafka cluster instead of the embedded one (topics must exist)" };
        var partitions = new Option<int>("--partitions") { Description = "Partitions per topic of the embedded cluster", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Random seed of the synthetic data", DefaultValueFactory = _ => 1 };
        var noLive = new Option<bool>("--no-live") { Description = "Print a line per second instead of a live table" };
        var url = new Option<string>("--http-url") { Description = "Where the rater serves /metrics and /healthz", DefaultValueFactory = _ => RaterHost.DefaultUrl };
        var command = new Command("demo", Description)
        {
            subscribers, rate, duration, bootstrap, partitions, seed, noLive, url,
        };
        command.SetAction((result, cancel) => RunAsync(
            new Options(result.GetValue(subscribers), result.GetValue(rate), result.GetValue(duration), result.GetValue(bootstrap),
                result.GetValue(partitions), result.GetValue(seed), !result.GetValue(noLive) && !Console.IsOutputRedirected, result.GetValue(url)!),
            cancel));
        return command;
    }

    /// <summary>What <c>ratingctl demo --help</c> says the demo does, and how to send it an SMS and see the reply.</summary>
    public const string Description =
        "Run the pipeline on an embedded Kafka-protocol cluster with synthetic traffic and live figures.\n"
        + "While it runs it prints two one-line curl commands with this run's random token: 'usage query:' asks the rater for a "
        + "subscriber's usage, and 'SMS to the sender:' sends '0000' from subscriber 8613800000000 (who has two monthly "
        + "services) to the sender's POST /v1/mo, as an SMS gateway would. Run it in another terminal (--duration 5m gives time to try); change \"text\" to "
        + "'TD 1' (cancel service 1), 'TD ALL' or '查询' (usage summary). The reply SMS reaches the demo's loopback gateway: "
        + "the live table shows the last one, --no-live prints each as 'SMS reply to MSISDN: TEXT', and the summary lists them all.";

    public static async Task<int> RunAsync(Options options, CancellationToken cancel)
    {
        using var cluster = options.Bootstrap is null ? EmbeddedCluster.Start(options.Partitions) : null;
        var bootstrap = options.Bootstrap ?? cluster!.BootstrapServers;
        var topics = new TopicNames();
        Console.WriteLine($"bootstrap={bootstrap}");
        Console.WriteLine($"watch with: kcat -C -b {bootstrap} -t reminders -f '%k %s\\n'");

        var folder = Path.Combine(Path.GetTempPath(), $"ratingpipeline-demo-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        var tariffPath = Path.Combine(folder, "tariff.json");
        await File.WriteAllBytesAsync(tariffPath, SyntheticData.DemoTariffWithMonthlyFees(), cancel);

        // The workers log to a file; the terminal shows only the live view and the summary.
        var logPath = Path.Combine(folder, "demo.log");
        await using var log = new Serilog.LoggerConfiguration().MinimumLevel.Information()
            .WriteTo.File(logPath, formatProvider: System.Globalization.CultureInfo.InvariantCulture).CreateLogger();
        void LogToFile(IServiceCollection services) => services.AddLogging(logging =>
        {
            logging.ClearProviders();
            logging.AddSerilog(log, dispose: false);
        });
        Console.WriteLine($"logs: {logPath}");

        using var producer = AcknowledgedProducer.Build(KafkaClientTuning.Producer(bootstrap));
        var profiles = new AcknowledgementGroup();
        var data = new SyntheticData(options.Seed, options.Subscribers, stepTicks: SimulatedPerSecond.Ticks / Math.Max(1, options.Rate), locationRecords: true);
        var partitions = ClockCommand.Partitions(bootstrap, topics.Cdrs);
        var buffer = new ArrayBufferWriter<byte>(1024);
        for (var i = 0; i < options.Subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            producer.Produce(topics.Subscribers, new Message<byte[], byte[]>
            {
                Key = System.Text.Encoding.ASCII.GetBytes(SyntheticData.MsisdnOf(i)),
                Value = i == DemoMo.Subscriber ? DemoMo.WithServices(buffer.WrittenSpan, data.NowTicks) : buffer.WrittenSpan.ToArray(),
            }, profiles);
        }

        producer.Drain(profiles, AcknowledgedProducer.UntilReported, cancel);
        Console.WriteLine($"{options.Subscribers} subscriber profiles loaded; tariff {tariffPath}");

        // Where this run's bills begin (an outside cluster's bills topic may hold earlier ones).
        var billsFrom = HighWatermarks(bootstrap, topics.Bills);
        var queryToken = DemoUsageQuery.NewToken();
        var rater = RaterHost.Build([], new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = bootstrap,
            ["Kafka:Embedded"] = cluster is null ? "false" : "true",
            ["Rater:TariffPath"] = tariffPath,
            ["Rater:InstanceId"] = "demo",
            ["Rater:GroupId"] = $"ratingpipeline-demo-{Guid.NewGuid():N}",
            ["Http:Url"] = options.HttpUrl,
            ["Http:Auth:Token"] = queryToken,
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        }, LogToFile);
        await rater.StartAsync(cancel);
        Console.WriteLine($"rater metrics on {options.HttpUrl}/metrics");
        Console.WriteLine($"usage query: {DemoUsageQuery.SampleCurl(options.HttpUrl, queryToken, SyntheticData.MsisdnOf(0))}");

        // The sender, delivering SMS and voice notices to a loopback gateway that counts them by idempotency key, and
        // e-mail notices to an SMTP server on a loopback port.
        await using var gateway = await LoopbackGateway.StartAsync();
        await using var mail = DemoMailServer.Start();
        // The sender serves its /metrics on the next port (9465 beside the rater's default 9464), or on any free one
        // when that is taken.
        var raterUri = new Uri(options.HttpUrl);
        var senderUrl = new UriBuilder(raterUri) { Port = PortIsFree(raterUri.Port + 1) ? raterUri.Port + 1 : 0 }.Uri.ToString().TrimEnd('/');
        var sender = SenderHost.Build([], new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = bootstrap,
            ["Kafka:Embedded"] = cluster is null ? "false" : "true",
            ["Sender:GroupId"] = $"ratingpipeline-demo-sender-{Guid.NewGuid():N}",
            ["Sender:Sms:Url"] = gateway.Url.ToString(),
            ["Sender:Voice:Url"] = gateway.Url.ToString(),
            ["Sender:Sms:RatePerSecond"] = "2000",
            ["Sender:Voice:RatePerSecond"] = "2000",
            ["Sender:Smtp:Host"] = "127.0.0.1",
            ["Sender:Smtp:Port"] = mail.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Sender:Smtp:Security"] = "none",
            ["Sender:Smtp:From"] = "notices@ratingpipeline.example",
            ["Sender:Smtp:FromName"] = "RatingPipeline demo",
            ["Sender:Smtp:RatePerSecond"] = "2000",
            // A demo shows notices at any hour: no quiet hours (the default is 22:00-08:00 local).
            ["Sender:QuietHours:Start"] = "00:00",
            ["Sender:QuietHours:End"] = "00:00",
            // SMS from subscribers (POST /v1/mo) take the run's token too; 查询 asks the demo's rater.
            ["Http:Auth:Token"] = queryToken,
            ["Sender:UsageApi:Url"] = options.HttpUrl,
            ["Sender:UsageApi:Token"] = queryToken,
            ["Http:Url"] = senderUrl,
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        }, LogToFile);
        await sender.StartAsync(cancel);
        senderUrl = sender.Urls.FirstOrDefault() ?? senderUrl;
        Console.WriteLine($"sender metrics on {senderUrl}/metrics; SMS and voice gateway on {gateway.Url}; SMTP server on 127.0.0.1:{mail.Port}");
        Console.WriteLine($"SMS to the sender: {DemoMo.SampleCurl(senderUrl, queryToken, SyntheticData.MsisdnOf(DemoMo.Subscriber), "0000")}");
        Console.WriteLine(options.Live
            ? "  (also TD 1, TD ALL, 查询 as text; the last reply SMS is shown in the table, all of them at the end)"
            : "  (also TD 1, TD ALL, 查询 as text; each reply SMS is printed as it comes)");

        long produced = 0;
        var clock = Stopwatch.StartNew();
        using var stopStreaming = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        stopStreaming.CancelAfter(options.Duration);
        long clocks = 0;
        var generator = Task.Run(() => Stream(producer, data, options.Rate, topics.Cdrs, partitions, ref produced, ref clocks, stopStreaming.Token),
            CancellationToken.None);

        var repliesShown = 0;
        if (options.Live)
        {
            await AnsiConsole.Live(Table(RaterMetrics.ReadTotals(), Interlocked.Read(ref produced), clock.Elapsed, 0, 0, []))
                .StartAsync(async context =>
                {
                    long lastRated = 0;
                    var lastTime = TimeSpan.Zero;
                    while (!generator.IsCompleted)
                    {
                        await Task.Delay(500, CancellationToken.None);
                        var totals = RaterMetrics.ReadTotals();
                        var now = clock.Elapsed;
                        var perSecond = (totals.Rated + totals.Rejected - lastRated) / Math.Max(0.001, (now - lastTime).TotalSeconds);
                        (lastRated, lastTime) = (totals.Rated + totals.Rejected, now);
                        context.UpdateTarget(Table(totals, Interlocked.Read(ref produced), now, perSecond, gateway.DeliveriesByKey.Count, DemoMo.Replies(gateway)));
                    }
                });
        }
        else
        {
            while (!generator.IsCompleted)
            {
                await Task.Delay(1000, CancellationToken.None);
                var t = RaterMetrics.ReadTotals();
                Console.WriteLine($"{clock.Elapsed:mm\\:ss} produced {Interlocked.Read(ref produced)}, rated {t.Rated}, rejected {t.Rejected}, reminders {t.Reminders}, lag {t.Lag}, notices {gateway.DeliveriesByKey.Count}");
                repliesShown = PrintReplies(gateway, repliesShown);
            }
        }

        await generator;
        // Let the rater drain what was produced (bounded), then stop it gracefully.
        var drainUntil = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        while (RaterMetrics.ReadTotals().Consumed < produced + clocks && Stopwatch.GetTimestamp() < drainUntil)
        {
            await Task.Delay(100, CancellationToken.None);
        }

        // Then let the sender deliver what the rater emitted: until the gateway sees no new notice for 2 s (bounded).
        var quietSince = Stopwatch.GetTimestamp();
        var seen = gateway.DeliveriesByKey.Count + mail.Received;
        var senderUntil = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        while (Stopwatch.GetElapsedTime(quietSince) < TimeSpan.FromSeconds(2) && Stopwatch.GetTimestamp() < senderUntil)
        {
            await Task.Delay(200, CancellationToken.None);
            if (gateway.DeliveriesByKey.Count + mail.Received != seen)
            {
                seen = gateway.DeliveriesByKey.Count + mail.Received;
                quietSince = Stopwatch.GetTimestamp();
            }
        }

        if (!options.Live)
        {
            PrintReplies(gateway, repliesShown);
        }

        await sender.StopAsync(CancellationToken.None);
        await sender.DisposeAsync();
        await rater.StopAsync(CancellationToken.None);
        await rater.DisposeAsync();
        var final = RaterMetrics.ReadTotals();
        Console.WriteLine("rejected by reason: " + string.Join(", ", final.RejectedByReason.Select(r => $"{r.Key} {r.Value}")));
        Console.WriteLine("reminders by kind: " + string.Join(", ", final.RemindersByKind.Select(r => $"{r.Key} {r.Value}")));
        Console.WriteLine($"notices delivered to the loopback gateway: {gateway.DeliveriesByKey.Count} (requests {gateway.Received.Count}); "
            + $"e-mail notices received by the SMTP server: {mail.Received}");
        Console.WriteLine("notices by channel and outcome: " + NoticeOutcomes());
        var replies = DemoMo.Replies(gateway);
        Console.WriteLine($"replies to SMS from subscribers: {replies.Count}");
        foreach (var (to, text) in replies)
        {
            Console.WriteLine($"  SMS reply to {to}: {text}");
        }

        Console.WriteLine($"logs: {logPath}");
        Console.WriteLine($"bills: {final.Bills} (closed billing cycles); fee records: {final.Fees}; clock records: {clocks} "
            + $"({clocks / Math.Max(1, partitions.Count)} simulated hours, one per partition each)");
        var bills = ReadBills(bootstrap, topics.Bills, billsFrom);
        Console.WriteLine($"bills in the {topics.Bills} topic: {bills.Count}, totalling {Yuan(bills.Sum(b => b.Total))} yuan "
            + $"(fees {Yuan(bills.Sum(b => b.Fees))}, top-ups {Yuan(bills.Sum(b => b.TopUp))}); the largest:");
        foreach (var bill in bills.OrderByDescending(b => b.Total).Take(ShownBills))
        {
            Console.WriteLine($"  bill {bill.Msisdn} cycle {bill.Cycle} ({bill.Plan}): total {Yuan(bill.Total)} = usage {Yuan(bill.Usage)} + fees {Yuan(bill.Fees)} "
                + $"+ top-up {Yuan(bill.TopUp)} yuan");
        }
        // Every record consumed is accounted for: rated, rejected, a location record, a clock, or one already applied.
        Console.WriteLine($"records consumed: {final.Consumed} = {final.Rated} rated + {final.Rejected} rejected + {final.Located} location records "
            + $"+ {final.Clocks} clocks + {final.Skipped} already applied{(final.Consumed == final.Rated + final.Rejected + final.Located + final.Clocks + final.Skipped ? "" : " (do not add up: see the log)")}");
        Console.WriteLine($"{produced} cdrs, {final.Rated} rated, {final.Rejected} rejected, {final.Reminders} reminders");
        return final.Consumed >= produced + clocks ? 0 : 1;
    }

    /// <summary>Prints the replies to SMS after the first <paramref name="shown"/>; returns how many are shown now.</summary>
    private static int PrintReplies(LoopbackGateway gateway, int shown)
    {
        var replies = DemoMo.Replies(gateway);
        foreach (var (to, text) in replies.Skip(shown))
        {
            Console.WriteLine($"SMS reply to {to}: {text}");
        }

        return Math.Max(shown, replies.Count);
    }

    /// <summary>How many bills the summary shows one by one (the largest).</summary>
    private const int ShownBills = 3;

    /// <summary>The members of a bill (SPEC §7.8) the summary shows; money in micros.</summary>
    private sealed record BillLine(string Msisdn, string Cycle, string Plan, long Usage, long Fees, long TopUp, long Total);

    /// <summary>The sender's notice counts of this process by channel and outcome, e.g. <c>email sent 120, sms sent 800, sms suppressed-opt-out 12</c>.</summary>
    private static string NoticeOutcomes()
    {
        var counts = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var labels in SenderMetrics.Notices.GetAllLabelValues())
        {
            // Labels: kind, channel, outcome.
            var key = $"{labels[1]} {labels[2]}";
            counts[key] = counts.GetValueOrDefault(key) + SenderMetrics.Notices.WithLabels(labels).Value;
        }

        return counts.Count == 0 ? "none" : string.Join(", ", counts.Select(c => $"{c.Key} {c.Value:0}"));
    }

    /// <summary>Whether a loopback port can be bound now (a port taken by another program is left alone).</summary>
    private static bool PortIsFree(int port)
    {
        try
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Micros as yuan: at least two decimals, no trailing zeros beyond them.</summary>
    private static string Yuan(long micros) => (micros / 1_000_000m).ToString("0.00####", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Each partition's high watermark (the offset its next record gets) of <paramref name="topic"/>.</summary>
    private static Dictionary<int, long> HighWatermarks(string bootstrap, string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(KafkaClientTuning.Consumer(bootstrap, $"ratingpipeline-demo-bills-{Guid.NewGuid():N}", "none"))
            .SetLogHandler((_, _) => { }).Build();
        return ClockCommand.Partitions(bootstrap, topic)
            .ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(30)).High.Value);
    }

    /// <summary>The bills written since <paramref name="from"/>, up to the end (bounded: 30 s).</summary>
    private static List<BillLine> ReadBills(string bootstrap, string topic, Dictionary<int, long> from)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(KafkaClientTuning.Consumer(bootstrap, $"ratingpipeline-demo-bills-{Guid.NewGuid():N}", "none"))
            .SetLogHandler((_, _) => { }).Build();
        var ranges = PartitionReader.Ranges(consumer, from.Select(p => new TopicPartitionOffset(topic, p.Key, p.Value)));
        var bills = new List<BillLine>();
        foreach (var record in PartitionReader.ReadToEnd(consumer, topic, ranges, new ReadToEndOptions { Timeout = TimeSpan.FromSeconds(30) }))
        {
            using var json = System.Text.Json.JsonDocument.Parse(record.Message.Value);
            var bill = json.RootElement;
            bills.Add(new BillLine(bill.GetProperty("msisdn").GetString()!, bill.GetProperty("cycle").GetString()!, bill.GetProperty("plan").GetString()!,
                bill.GetProperty("usageCharge").GetInt64(), bill.GetProperty("feeCharge").GetInt64(), bill.GetProperty("topUp").GetInt64(),
                bill.GetProperty("total").GetInt64()));
        }

        return bills;
    }

    /// <summary>
    /// Stream time per second of the demo, whatever the rate: a simulated day about every 2 s, so that within a 30 s
    /// demo billing cycles close (at 2,000 CDRs/s, a CDR every 20 s of stream time).
    /// </summary>
    private static readonly TimeSpan SimulatedPerSecond = TimeSpan.FromHours(11);

    private static void Stream(AcknowledgedProducer producer, SyntheticData data, int rate, string topic, IReadOnlyList<int> partitions,
        ref long produced, ref long clocks, CancellationToken stop)
    {
        // Paced in 10 ms ticks so the stream is smooth at any rate.
        var buffer = new ArrayBufferWriter<byte>(1024);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        var nextHour = ((data.NowTicks / TimeSpan.TicksPerHour) + 1) * TimeSpan.TicksPerHour;
        var written = new AcknowledgementGroup();
        while (!stop.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < due && !stop.IsCancellationRequested; sent++)
            {
                buffer.ResetWrittenCount();
                var msisdn = data.WriteNextCdr(buffer);
                producer.Produce(topic, new Message<byte[], byte[]> { Key = System.Text.Encoding.ASCII.GetBytes(msisdn), Value = buffer.WrittenSpan.ToArray() }, written);
                Interlocked.Increment(ref produced);
                if (data.NowTicks >= nextHour)
                {
                    // The scheduler's clock for the simulated hour just begun: to every partition, without a key.
                    var record = System.Text.Encoding.UTF8.GetBytes($$"""{"type":"clock","at":"{{SyntheticData.FormatInstant(nextHour)}}"}""");
                    foreach (var partition in partitions)
                    {
                        producer.Produce(new TopicPartition(topic, partition), new Message<byte[], byte[]> { Key = null!, Value = record }, written);
                    }

                    Interlocked.Add(ref clocks, partitions.Count);
                    nextHour += TimeSpan.TicksPerHour;
                }
            }

            producer.Client.Poll(TimeSpan.FromMilliseconds(10));
        }

        producer.Drain(written, TimeSpan.FromSeconds(30));
    }

    private static Table Table(RaterTotals totals, long produced, TimeSpan elapsed, double perSecond, int notices, IReadOnlyList<(string To, string Text)> replies)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]RatingPipeline demo[/]").AddColumn("figure").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("elapsed", $"{elapsed:mm\\:ss}");
        table.AddRow("rater ready", totals.Ready ? "[green]yes[/]" : "[yellow]restoring[/]");
        table.AddRow("CDRs produced", $"{produced:N0}");
        table.AddRow("CDRs rated", $"{totals.Rated:N0}");
        table.AddRow("CDRs/s processed", $"{perSecond:N0}");
        table.AddRow("consumer lag", $"{totals.Lag:N0}");
        table.AddRow("notices delivered", $"{notices:N0}");
        table.AddRow("bills (closed cycles)", $"{totals.Bills:N0}");
        table.AddRow("fee records", $"{totals.Fees:N0}");
        table.AddRow("SMS replies to subscribers", replies.Count == 0 ? "none yet" : $"{replies.Count:N0}");
        if (replies.Count > 0)
        {
            table.AddRow($"last reply, to {replies[^1].To}", Markup.Escape(replies[^1].Text));
        }

        foreach (var (kind, count) in totals.RemindersByKind)
        {
            table.AddRow($"reminders: {kind}", $"{count:N0}");
        }

        foreach (var (reason, count) in totals.RejectedByReason)
        {
            table.AddRow($"rejected: {reason}", $"{count:N0}");
        }

        return table;
    }
}
