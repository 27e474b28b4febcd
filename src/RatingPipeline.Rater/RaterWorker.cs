using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;

namespace RatingPipeline.Rater;

/// <summary>
/// The rater's hosted worker: runs <see cref="RaterSession"/>s on a dedicated thread; after a fault it starts
/// over (backing off) from the last committed offsets and the stored states, so nothing is lost or counted twice.
/// </summary>
public sealed class RaterWorker(
    IOptions<RaterOptions> options,
    IOptions<KafkaOptions> kafka,
    IOptions<TopicNames> topics,
    TariffSource tariffs,
    Readiness readiness,
    RaterMetrics metrics,
    ILogger<RaterWorker> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var session = new RaterSession(options.Value, kafka.Value, topics.Value, tariffs, readiness, metrics, log);
                session.Run(stop);
                return;
            }
            catch (Exception e) when (!stop.IsCancellationRequested && e is KafkaException or InvalidOperationException)
            {
                readiness.SetNotReady("recovering after a fault");
                RaterMetrics.SetReady(false);
                RaterMetrics.CountRecovery();
                log.LogError("Rater fault, starting over from the last committed offsets in {Backoff}: {Error}", backoff, e.Message);
                stop.WaitHandle.WaitOne(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }
}
