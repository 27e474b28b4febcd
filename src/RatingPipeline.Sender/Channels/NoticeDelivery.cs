using System.Threading.RateLimiting;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace RatingPipeline.Sender.Channels;

/// <summary>What became of one delivery: accepted, or failed with a reason, after so many attempts.</summary>
public readonly record struct DeliveryResult(bool Accepted, int Attempts, string? FailureReason, DateTimeOffset At);

/// <summary>
/// Delivers notices through their channel behind a Polly pipeline per channel, outermost first: retry
/// (exponential back-off with jitter; also waits out an open circuit and a full rate-limiter queue), circuit
/// breaker, rate limiter (the gateway's allowed rate, queueing), per-attempt timeout.
/// </summary>
public sealed class NoticeDelivery : IDisposable
{
    private readonly Dictionary<string, (INoticeChannel Channel, ResiliencePipeline Pipeline)> _channels = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _owned = [];
    private readonly TimeProvider _time;

    public NoticeDelivery(IEnumerable<(INoticeChannel Channel, ChannelResilienceOptions Options)> channels, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(channels);
        _time = time;
        foreach (var (channel, options) in channels)
        {
            _channels[channel.Name] = (channel, Build(channel.Name, options, time, _owned));
            if (channel is IDisposable disposable)
            {
                _owned.Add(disposable);
            }
        }
    }

    public bool IsConfigured(string channel) => _channels.ContainsKey(channel);

    public async Task<DeliveryResult> DeliverAsync(Notice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        if (!_channels.TryGetValue(notice.Channel, out var entry))
        {
            return new DeliveryResult(false, 0, $"channel {notice.Channel} is not configured", _time.GetUtcNow());
        }

        var attempts = 0;
        var started = _time.GetTimestamp();
        var channelName = notice.Channel;
        try
        {
            await entry.Pipeline.ExecuteAsync(
                async token =>
                {
                    Interlocked.Increment(ref attempts);
                    try
                    {
                        await entry.Channel.SendAsync(notice, token);
                        SenderMetrics.DeliveryAttempts.WithLabels(channelName, "accepted").Inc();
                    }
                    catch (TransientDeliveryException)
                    {
                        SenderMetrics.DeliveryAttempts.WithLabels(channelName, "transient").Inc();
                        throw;
                    }
                    catch (PermanentDeliveryException)
                    {
                        SenderMetrics.DeliveryAttempts.WithLabels(channelName, "permanent").Inc();
                        throw;
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        SenderMetrics.DeliveryAttempts.WithLabels(channelName, "timeout").Inc();
                        throw;
                    }
                },
                cancellationToken);
            return new DeliveryResult(true, attempts, null, _time.GetUtcNow());
        }
        catch (PermanentDeliveryException e)
        {
            return new DeliveryResult(false, attempts, e.Message, _time.GetUtcNow());
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is TransientDeliveryException or TimeoutRejectedException
            or BrokenCircuitException or RateLimiterRejectedException)
        {
            var last = e switch
            {
                TimeoutRejectedException => "the last attempt timed out",
                BrokenCircuitException => "the circuit stayed open",
                RateLimiterRejectedException => "the rate limiter's queue stayed full",
                _ => e.Message,
            };
            return new DeliveryResult(false, attempts, $"gave up after {attempts} attempt(s): {last}", _time.GetUtcNow());
        }
        finally
        {
            SenderMetrics.DeliverySeconds.WithLabels(channelName).Observe(_time.GetElapsedTime(started).TotalSeconds);
        }
    }

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    private static ResiliencePipeline Build(string channel, ChannelResilienceOptions o, TimeProvider time, List<IDisposable> owned)
    {
        var transient = new PredicateBuilder()
            .Handle<TransientDeliveryException>()
            .Handle<TimeoutRejectedException>();
        var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = o.RatePerSecond,
            TokensPerPeriod = o.RatePerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 100_000,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
        owned.Add(limiter);
        SenderMetrics.CircuitState.WithLabels(channel).Set(0);
        return new ResiliencePipelineBuilder { TimeProvider = time, Name = channel }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<TransientDeliveryException>()
                    .Handle<TimeoutRejectedException>()
                    .Handle<BrokenCircuitException>()
                    .Handle<RateLimiterRejectedException>(),
                MaxRetryAttempts = o.MaxRetries,
                Delay = o.RetryDelay,
                MaxDelay = o.MaxRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                // An open circuit says when it will try again: wait for that rather than burn retries.
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception switch
                {
                    BrokenCircuitException { RetryAfter: { } after } => after + TimeSpan.FromMilliseconds(Random.Shared.Next(1, 100)),
                    RateLimiterRejectedException { RetryAfter: { } after } => after,
                    _ => null,
                }),
                OnRetry = args =>
                {
                    switch (args.Outcome.Exception)
                    {
                        case BrokenCircuitException:
                            SenderMetrics.DeliveryAttempts.WithLabels(channel, "circuit-open").Inc();
                            break;
                        case RateLimiterRejectedException:
                            SenderMetrics.DeliveryAttempts.WithLabels(channel, "rate-limited").Inc();
                            break;
                    }

                    return default;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = o.BreakerFailureRatio,
                MinimumThroughput = o.BreakerMinimumThroughput,
                SamplingDuration = o.BreakerSamplingDuration,
                BreakDuration = o.BreakDuration,
                OnOpened = _ =>
                {
                    SenderMetrics.CircuitState.WithLabels(channel).Set(2);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    SenderMetrics.CircuitState.WithLabels(channel).Set(1);
                    return default;
                },
                OnClosed = _ =>
                {
                    SenderMetrics.CircuitState.WithLabels(channel).Set(0);
                    return default;
                },
            })
            .AddRateLimiter(limiter)
            .AddTimeout(o.Timeout)
            .Build();
    }
}
