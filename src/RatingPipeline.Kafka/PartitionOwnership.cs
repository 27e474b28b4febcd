namespace RatingPipeline.Kafka;

/// <summary>
/// Which partitions this group member owns, each with the number of the assignment that gave it to this member
/// (its local generation: a partition lost and assigned again gets a new one). The consumer thread changes it in
/// its rebalance handlers; other threads (a checkpoint writing state) check it and act while holding it, so a
/// revoke or loss handled on the consumer thread cannot slip between their check and their act.
/// <para>
/// This is fencing as far as one member can see: it does not know that it was evicted before its client tells it
/// (a member paused past its session timeout still believes it owns its partitions until its next poll). Kafka
/// transactions fence such a zombie at the broker; without them the window stays.
/// </para>
/// </summary>
public sealed class PartitionOwnership
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, int> _generations = [];
    private int _assignments;

    /// <summary>Partitions owned now (a copy).</summary>
    public IReadOnlyCollection<int> Owned
    {
        get
        {
            lock (_gate)
            {
                return [.. _generations.Keys];
            }
        }
    }

    /// <summary>Records <paramref name="partition"/> as assigned to this member; returns its new generation.</summary>
    public int Assign(int partition)
    {
        lock (_gate)
        {
            var generation = ++_assignments;
            _generations[partition] = generation;
            return generation;
        }
    }

    /// <summary>Records <paramref name="partition"/> as revoked or lost: no act checked against it runs any more.</summary>
    public void Release(int partition)
    {
        lock (_gate)
        {
            _generations.Remove(partition);
        }
    }

    /// <summary>The partition's current generation, or -1 when this member does not own it.</summary>
    public int GenerationOf(int partition)
    {
        lock (_gate)
        {
            return _generations.TryGetValue(partition, out var generation) ? generation : -1;
        }
    }

    /// <summary>Whether this member owns <paramref name="partition"/> in the same generation as when <paramref name="generation"/> was read.</summary>
    public bool Owns(int partition, int generation)
    {
        lock (_gate)
        {
            return _generations.TryGetValue(partition, out var current) && current == generation;
        }
    }

    /// <summary>
    /// Runs <paramref name="act"/> only while this member owns <paramref name="partition"/> in <paramref name="generation"/>,
    /// holding the ownership meanwhile (a release waits for it to finish). Returns whether it ran.
    /// </summary>
    public bool WhileOwned<TState>(int partition, int generation, TState state, Action<TState> act)
    {
        lock (_gate)
        {
            if (!_generations.TryGetValue(partition, out var current) || current != generation)
            {
                return false;
            }

            act(state);
            return true;
        }
    }
}
