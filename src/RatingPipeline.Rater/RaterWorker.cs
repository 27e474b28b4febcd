using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;

namespace RatingPipeline.Rater;

/// <summary>
/// The rater's hosted worker: runs <see cref="RaterSession"/>s on a dedicated thread; after a fault it starts
/// over (backing off) from the last committed offsets and the stored states, so nothing is lost or counted twice.
/// A session's Kafka clients must close within <see cref="CloseTimeout"/>: librdkafka's destroy was seen to hang
/// for good after broker faults, and a worker stuck there rates nothing and cannot stop. Then the process ends
/// with exit code <see cref="HungClientExitCode"/> so that its supervisor starts it afresh, which is as safe as
/// any crash: the next start resumes from the committed offsets and the stored states.
/// </summary>
public sealed class RaterWorker(
    IOptions<RaterOptions> options,
    IOptions<KafkaOptions> kafka,
    IOptions<TopicNames> topics,
    TariffSource tariffs,
    Readiness readiness,
    RaterMetrics metrics,
    UsageQueries queries,
    RaterEndpoints endpoints,
    IHostApplicationLifetime lifetime,
    ILogger<RaterWorker> log) : BackgroundService
{
    /// <summary>Exit code of a process stopped because its Kafka clients did not close.</summary>
    public const int HungClientExitCode = 3;

    public static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(30);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(500);
        while (!stop.IsCancellationRequested)
        {
            RaterSession? session = null;
            Exception? fault = null;
            try
            {
                session = new RaterSession(options.Value, kafka.Value, topics.Value, tariffs, readiness, metrics, queries, endpoints, log);
                session.Run(stop);
            }
            catch (Exception e) when (!stop.IsCancellationRequested && e is KafkaException or InvalidOperationException)
            {
                fault = e;
            }
            catch
            {
                _ = session is null || CloseInTime(session);
                throw;
            }

            if (session is not null && !CloseInTime(session))
            {
                log.LogCritical("The rater's Kafka clients did not close within {Timeout}; ending the process (exit code {Code}) so that it starts afresh from the committed offsets and stored states",
                    CloseTimeout, HungClientExitCode);
                readiness.SetNotReady("Kafka clients hung on close");
                RaterMetrics.SetReady(false);
                Environment.ExitCode = HungClientExitCode;
                lifetime.StopApplication();
                return;
            }

            if (fault is null)
            {
                return;
            }

            readiness.SetNotReady("recovering after a fault");
            RaterMetrics.SetReady(false);
            RaterMetrics.CountRecovery();
            log.LogError("Rater fault, starting over from the last committed offsets in {Backoff}: {Error}", backoff, fault.Message);
            stop.WaitHandle.WaitOne(backoff);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }

    /// <summary>Disposes the session's clients on another thread; false when that did not end in time (the thread is abandoned).</summary>
    private bool CloseInTime(RaterSession session)
    {
        var closing = Task.Run(session.Dispose);
        try
        {
            return closing.Wait(CloseTimeout);
        }
        catch (AggregateException e)
        {
            log.LogWarning("Closing the rater's Kafka clients failed: {Error}", e.InnerException?.Message);
            return true;
        }
    }
}
