using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Rules;

namespace RatingPipeline.Sender;

/// <summary>
/// The sender's hosted worker: runs <see cref="SenderSession"/>s one after the other, as the rater does. A Kafka fault
/// (a fatal client error, a commit or a write the cluster refused, a restore that did not finish in time) ends the
/// session after it closed its clients; the worker then starts a new one, backing off, with new clients that rejoin the
/// group and restore their partitions from <c>subscribers</c> and <c>notice-log</c>. Nothing is lost or sent twice: the
/// new session re-reads the reminders after the last commit and skips those whose outcome the notice log records.
/// </summary>
internal sealed class SenderWorker(
    IOptions<KafkaOptions> kafka,
    IOptions<SenderOptions> options,
    IOptions<TopicNames> topics,
    NoticeProcessor processor,
    MoAnswerer answerer,
    NoticeRules rules,
    Readiness readiness,
    TimeProvider time,
    ILogger<SenderWorker> logger) : BackgroundService
{
    /// <summary>The first wait before a new session; it doubles after each fault in a row, up to <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);

    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stop)
    {
        var backoff = FirstBackoff;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var session = new SenderSession(kafka.Value, options.Value, topics.Value, processor, answerer, rules, readiness, time, logger);
                await session.RunAsync(stop);
                logger.LogInformation("Sender stopped");
                return;
            }
            catch (Exception e) when (!stop.IsCancellationRequested && e is KafkaException or InvalidOperationException)
            {
                readiness.SetNotReady("recovering after a fault");
                SenderMetrics.Recoveries.Inc();
                logger.LogError("Sender fault, starting a new session in {Backoff}: {Error}", backoff, e.Message);
            }

            try
            {
                await Task.Delay(backoff, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }
}
