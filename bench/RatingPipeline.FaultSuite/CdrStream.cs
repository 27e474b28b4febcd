using System.Buffers;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.Kafka;
using RatingPipeline.Synthetic;
using RatingPipeline.Time;

namespace RatingPipeline.FaultSuite;

/// <summary>
/// The suite's input: subscriber profiles, then a paced stream of synthetic CDRs into <c>cdrs</c> (streamed,
/// not preloaded, so no partition outgrows the mock's size limit), with a clock record (SPEC §7.1) each time the
/// CDRs' time passes a whole hour, written without a key to every partition as the clock scheduler does. Every
/// CDR's partition and offset are kept from its delivery report: that is how dead letters (which name the input
/// offset) are matched to CDRs, and the production order — a clock between the CDRs produced before and after
/// it, in every partition alike — is the order the offline reference run reads.
/// </summary>
internal sealed class CdrStream : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly string _topic;
    private readonly int _partitions;
    private readonly Lock _tick = new();
    private readonly Stopwatch _active = new();
    private int _produced;
    private int _nextClock;
    private int _delivered;
    private int _failed;
    private bool _paused;
    private string? _firstError;

    public CdrStream(string bootstrap, string topic, int partitions, int seed, int subscribers, int cdrs)
    {
        _topic = topic;
        _partitions = partitions;
        var config = KafkaClientTuning.Producer(bootstrap);
        config.ClientId = "fault-suite-cdrs";
        // Broker faults last seconds; the stream's records must never time out in the meantime.
        config.MessageTimeoutMs = 600_000;
        config.QueueBufferingMaxMessages = 1_000_000;
        // A request left unanswered on a connection from before a broker outage is given up after 10 s, not 60
        // (see EmbeddedCluster.ShortSessionConsumerProperties).
        config.SocketTimeoutMs = 10_000;
        _producer = new ProducerBuilder<byte[], byte[]>(config).SetLogHandler((_, _) => { }).Build();

        var data = new SyntheticData(seed, subscribers);
        Profiles = new byte[subscribers][];
        var buffer = new ArrayBufferWriter<byte>(1024);
        for (var i = 0; i < subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            Profiles[i] = buffer.WrittenSpan.ToArray();
        }

        Keys = new byte[cdrs][];
        Values = new byte[cdrs][];
        Partitions = new int[cdrs];
        Offsets = new long[cdrs];
        Array.Fill(Partitions, -1);
        Array.Fill(Offsets, -1L);
        long? nextHour = null;
        for (var i = 0; i < cdrs; i++)
        {
            buffer.ResetWrittenCount();
            var msisdn = data.WriteNextCdr(buffer);
            Keys[i] = Encoding.ASCII.GetBytes(msisdn);
            Values[i] = buffer.WrittenSpan.ToArray();
            var now = data.NowTicks;
            nextHour ??= ((now / Instant.TicksPerHour) + 1) * Instant.TicksPerHour;
            if (i > 0 && now >= nextHour)
            {
                // The hour just passed, before the CDR that passed it: as a scheduler writing hourly would.
                var at = now / Instant.TicksPerHour * Instant.TicksPerHour;
                Clocks.Add(new StreamClock(i, Encoding.UTF8.GetBytes($$"""{"type":"clock","at":"{{SyntheticData.FormatInstant(at)}}"}"""), partitions));
                nextHour = at + Instant.TicksPerHour;
            }
        }

        // After the last CDR, the clock goes on for three more days in three steps, so that the cycles that ended
        // during the stream pass their late grace and close (bills), and the next day's fees are charged.
        if (nextHour is { } hour)
        {
            for (var day = 1; day <= 3; day++)
            {
                var at = hour + (day * Instant.TicksPerDay);
                Clocks.Add(new StreamClock(cdrs, Encoding.UTF8.GetBytes($$"""{"type":"clock","at":"{{SyntheticData.FormatInstant(at)}}"}"""), partitions));
            }
        }
    }

    /// <summary>The clock records, in stream order; each is produced to every partition just before CDR <see cref="StreamClock.Before"/>.</summary>
    public List<StreamClock> Clocks { get; } = [];

    public byte[][] Profiles { get; }

    public byte[][] Keys { get; }

    public byte[][] Values { get; }

    /// <summary>Partition of CDR i in <c>cdrs</c> (-1 until acknowledged).</summary>
    public int[] Partitions { get; }

    /// <summary>Offset of CDR i in its partition (-1 until acknowledged).</summary>
    public long[] Offsets { get; }

    public int Count => Values.Length;

    public int Produced => Volatile.Read(ref _produced);

    public int Delivered => Volatile.Read(ref _delivered);

    public int Failed => Volatile.Read(ref _failed);

    public string? FirstError => Volatile.Read(ref _firstError);

    /// <summary>Produces every profile to <paramref name="topic"/> and waits for the acknowledgements.</summary>
    public void LoadProfiles(string topic, TimeSpan timeout)
    {
        var failed = 0;
        for (var i = 0; i < Profiles.Length; i++)
        {
            _producer.Produce(topic, new Message<byte[], byte[]> { Key = Encoding.ASCII.GetBytes(SyntheticData.MsisdnOf(i)), Value = Profiles[i] },
                r =>
                {
                    if (r.Error.IsError)
                    {
                        Interlocked.Increment(ref failed);
                    }
                });
        }

        if (_producer.Flush(timeout) > 0 || Volatile.Read(ref failed) > 0)
        {
            throw new InvalidOperationException($"subscriber profiles were not all acknowledged ({failed} failed)");
        }
    }

    /// <summary>Produces the CDRs at <paramref name="rate"/> per second (not counting paused time) until all are produced.</summary>
    public Task RunAsync(int rate, CancellationToken cancel) => Task.Factory.StartNew(() =>
    {
        _active.Start();
        while (Produced < Count && !cancel.IsCancellationRequested)
        {
            lock (_tick)
            {
                if (!_paused)
                {
                    var due = Math.Min(Count, (long)(_active.Elapsed.TotalSeconds * rate));
                    for (var i = Produced; i < due; i++)
                    {
                        ProduceClocksBefore(i);
                        Produce(i);
                        Volatile.Write(ref _produced, i + 1);
                    }
                }
            }

            Thread.Sleep(10);
        }

        lock (_tick)
        {
            if (Produced == Count)
            {
                ProduceClocksBefore(Count);
            }
        }
    }, cancel, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Stops producing; when this returns no further CDR is handed to the producer until <see cref="Resume"/>.</summary>
    public int Pause()
    {
        lock (_tick)
        {
            _paused = true;
            _active.Stop();
            return Produced;
        }
    }

    public void Resume()
    {
        lock (_tick)
        {
            _paused = false;
            _active.Start();
        }
    }

    /// <summary>Waits until every CDR handed to the producer is acknowledged (or failed).</summary>
    public bool Flush(TimeSpan timeout) => _producer.Flush(timeout) == 0;

    private void ProduceClocksBefore(int i)
    {
        while (_nextClock < Clocks.Count && Clocks[_nextClock].Before == i)
        {
            var clock = Clocks[_nextClock++];
            clock.Produced = true;
            for (var p = 0; p < _partitions; p++)
            {
                var partition = p;
                ProduceWithRoom(() => _producer.Produce(new TopicPartition(_topic, partition), new Message<byte[], byte[]> { Value = clock.Value },
                    report => clock.Acknowledged(partition, report)));
            }
        }
    }

    private void ProduceWithRoom(Action produce)
    {
        while (true)
        {
            try
            {
                produce();
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void Produce(int i)
    {
        var message = new Message<byte[], byte[]> { Key = Keys[i], Value = Values[i] };
        while (true)
        {
            try
            {
                _producer.Produce(_topic, message, report => OnDelivery(i, report));
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void OnDelivery(int i, DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failed);
            Interlocked.CompareExchange(ref _firstError, $"CDR {i}: {report.Error.Reason} ({report.Error.Code})", null);
            return;
        }

        Partitions[i] = report.Partition.Value;
        Offsets[i] = report.Offset.Value;
        Interlocked.Increment(ref _delivered);
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}

/// <summary>A clock record of the stream: produced to every partition just before CDR <see cref="Before"/>; its offset per partition.</summary>
internal sealed class StreamClock(int before, byte[] value, int partitions)
{
    private readonly long[] _offsets = Enumerable.Repeat(-1L, partitions).ToArray();

    public int Before { get; } = before;

    public byte[] Value { get; } = value;

    /// <summary>Handed to the producer (its copies may still be unacknowledged).</summary>
    public bool Produced { get; set; }

    /// <summary>The offset of the copy in each partition (-1 until acknowledged).</summary>
    public IReadOnlyList<long> Offsets => _offsets;

    /// <summary>Every copy was acknowledged.</summary>
    public bool Delivered => _offsets.All(o => o >= 0);

    public void Acknowledged(int partition, DeliveryReport<byte[], byte[]> report)
    {
        if (!report.Error.IsError)
        {
            _offsets[partition] = report.Offset.Value;
        }
    }
}
