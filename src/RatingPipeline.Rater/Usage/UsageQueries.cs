using System.Collections.Concurrent;
using System.Collections.Frozen;

namespace RatingPipeline.Rater.Usage;

/// <summary>
/// Where the usage query API meets the rating thread. The rating thread alone owns the engines (states, profiles), so a
/// query never reads them itself: it is queued here and the rating thread answers every queued query between two
/// batches and while it waits for input (at least every <see cref="IdleServeInterval"/>), copying what it reads into a
/// <see cref="UsageReport"/>. The rating path takes no lock; per batch it only checks whether the queue is empty.
/// Which partitions this instance owns and which it is restoring is published as an immutable
/// <see cref="PartitionView"/>, read without waiting by the HTTP side to answer 307 and 503 at once.
/// </summary>
public sealed class UsageQueries
{
    /// <summary>While waiting for input the rating thread looks at the queue at least this often.</summary>
    public static readonly TimeSpan IdleServeInterval = TimeSpan.FromMilliseconds(1);

    private readonly ConcurrentQueue<Pending> _queue = new();
    private volatile PartitionView _view = PartitionView.None;

    /// <summary>The partitions as the rating thread last published them.</summary>
    public PartitionView View => _view;

    /// <summary>Whether a query waits for the rating thread (one volatile read).</summary>
    internal bool HasWaiting => !_queue.IsEmpty;

    /// <summary>
    /// Queues a query for the rating thread and waits for its answer, at most <paramref name="timeout"/> (then
    /// <see cref="QueryOutcome.Busy"/>: the rating thread is restoring a partition or stuck).
    /// </summary>
    public async Task<QueryAnswer> AskAsync(ulong msisdnKey, TimeSpan timeout, CancellationToken cancel)
    {
        var pending = new Pending(msisdnKey);
        _queue.Enqueue(pending);
        try
        {
            return await pending.Answer.Task.WaitAsync(timeout, cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            pending.Answer.TrySetResult(QueryAnswer.Busy);
            return QueryAnswer.Busy;
        }
    }

    /// <summary>On the rating thread: answers every queued query with <paramref name="answer"/> (null: not held here).</summary>
    internal void Serve(Func<ulong, QueryAnswer> answer)
    {
        while (_queue.TryDequeue(out var pending))
        {
            if (pending.Answer.Task.IsCompleted)
            {
                continue; // its caller gave up
            }

            QueryAnswer result;
            try
            {
                result = answer(pending.MsisdnKey);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException)
            {
                result = QueryAnswer.Busy;
            }

            pending.Answer.TrySetResult(result);
        }
    }

    /// <summary>On the rating thread: publishes the owned and the restoring partitions.</summary>
    internal void Publish(int partitionCount, IEnumerable<int> owned, IEnumerable<int> restoring) =>
        _view = new PartitionView(partitionCount, owned.ToFrozenSet(), restoring.ToFrozenSet());

    /// <summary>The session ended: nothing is owned any more, and queries waiting are answered busy.</summary>
    internal void Close()
    {
        _view = _view with { Owned = FrozenSet<int>.Empty, Restoring = FrozenSet<int>.Empty };
        Serve(_ => QueryAnswer.Busy);
    }

    private sealed class Pending(ulong msisdnKey)
    {
        public ulong MsisdnKey { get; } = msisdnKey;

        public TaskCompletionSource<QueryAnswer> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The partitions of <c>cdrs</c> (their count; 0 before the first session read it) this instance owns and restores.</summary>
public sealed record PartitionView(int PartitionCount, FrozenSet<int> Owned, FrozenSet<int> Restoring)
{
    public static readonly PartitionView None = new(0, FrozenSet<int>.Empty, FrozenSet<int>.Empty);
}

public enum QueryOutcome
{
    /// <summary>The subscriber's profile is held here: the report is in the answer.</summary>
    Found,

    /// <summary>No profile of this msisdn is held here.</summary>
    Unknown,

    /// <summary>The rating thread did not answer in time (restoring) or the session ended.</summary>
    Busy,
}

/// <summary>What the rating thread answered.</summary>
public sealed record QueryAnswer(QueryOutcome Outcome, UsageReport? Report)
{
    public static readonly QueryAnswer Unknown = new(QueryOutcome.Unknown, null);

    public static readonly QueryAnswer Busy = new(QueryOutcome.Busy, null);
}
