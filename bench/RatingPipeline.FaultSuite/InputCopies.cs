using System.Text;

namespace RatingPipeline.FaultSuite;

/// <summary>
/// Where each CDR of the stream actually sits in <c>cdrs</c>. A producer that retries a request whose first
/// attempt was written but not answered (a broker going down, a request timing out under added latency) can
/// leave a CDR in the log twice: a real broker drops the retry for an idempotent producer, the mock cluster
/// checks sequence numbers only for transactional producers, so on it the copy stays. The rater reads the
/// first copy and, by the duplicate rule, rejects later ones as <c>duplicate</c> while they are among the
/// subscriber's last 32 accepted ids; the suite has to expect exactly that.
/// </summary>
internal sealed class InputCopies
{
    private readonly Dictionary<(int Partition, long Offset), int> _byPosition = [];
    private readonly long[] _first;

    private InputCopies(int count)
    {
        _first = new long[count];
        Array.Fill(_first, -1L);
    }

    /// <summary>Copies beyond the first of a CDR in <c>cdrs</c>.</summary>
    public long ExtraCopies { get; private set; }

    /// <summary>Records in <c>cdrs</c> that are no CDR or clock of the stream (must be 0).</summary>
    public long Foreign { get; private set; }

    /// <summary>Clock records in <c>cdrs</c> (one per clock and partition, and any copy a retry left).</summary>
    public long ClockRecords { get; private set; }

    public static InputCopies Build(CdrStream stream, IEnumerable<StreamClock> clocks, TopicContents cdrs)
    {
        var copies = new InputCopies(stream.Count);
        var clockValues = clocks.Select(c => Encoding.Latin1.GetString(c.Value)).ToHashSet(StringComparer.Ordinal);
        // The bytes of each CDR per partition; identical CDRs (a generated duplicate) share one entry, so the
        // first index wins for both: they are the same input either way.
        var byContent = new Dictionary<(int, string), int>();
        for (var i = 0; i < stream.Count; i++)
        {
            if (stream.Offsets[i] >= 0)
            {
                byContent.TryAdd((stream.Partitions[i], Encoding.Latin1.GetString(stream.Values[i])), i);
                copies._byPosition[(stream.Partitions[i], stream.Offsets[i])] = i;
            }
        }

        foreach (var record in cdrs.Records)
        {
            if (record.Key is null && clockValues.Contains(Encoding.Latin1.GetString(record.Value ?? [])))
            {
                copies.ClockRecords++;
                continue;
            }

            var position = (record.Partition, record.Offset);
            if (!copies._byPosition.TryGetValue(position, out var index))
            {
                if (!byContent.TryGetValue((record.Partition, Encoding.Latin1.GetString(record.Value ?? [])), out index))
                {
                    copies.Foreign++;
                    continue;
                }

                copies._byPosition[position] = index;
                copies.ExtraCopies++;
            }

            if (copies._first[index] < 0 || record.Offset < copies._first[index])
            {
                copies._first[index] = record.Offset;
            }
        }

        return copies;
    }

    /// <summary>The CDR of the stream at this position of <c>cdrs</c>, whichever copy it is.</summary>
    public bool TryGetIndex((int Partition, long Offset) position, out int index) => _byPosition.TryGetValue(position, out index);

    /// <summary>The offset of the copy of CDR <paramref name="index"/> the rater reads first (its delivery-report offset when there is one copy).</summary>
    public long FirstOffset(int index, CdrStream stream) => _first[index] >= 0 ? _first[index] : stream.Offsets[index];

    /// <summary>CDRs held more than once, with every position holding them.</summary>
    public ILookup<int, (int Partition, long Offset)> Repeated()
    {
        var all = _byPosition.ToLookup(p => p.Value, p => p.Key);
        return all.Where(g => g.Count() > 1).SelectMany(g => g.Select(p => (g.Key, p))).ToLookup(x => x.Key, x => x.p);
    }
}
