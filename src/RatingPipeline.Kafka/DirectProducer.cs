using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;
using RatingPipeline.Kafka.Interop;

namespace RatingPipeline.Kafka;

/// <summary>
/// A librdkafka producer driven directly, for a worker's high-volume outputs (the rater's rated records, reminders,
/// bills and dead letters), beside the Confluent.Kafka producer that does everything else.
/// </summary>
/// <remarks>
/// <para>
/// Why: Confluent.Kafka's <c>Produce</c> with a delivery handler allocates, per record, a handler shim and a
/// <see cref="GCHandle"/> (freed in the report), marshals the topic name to a new native string, and builds two
/// delivery reports, two messages and an error for the report: measured on the embedded cluster, the rater's CPU per
/// CDR was 6.9-8.1 µs with a handler per record and 5.6-6.5 µs with none. It has no call that takes a value as a
/// span, so each output was also copied into a new <c>byte[]</c>. This type calls the same librdkafka (the very
/// library Confluent.Kafka loaded) through the same <c>rd_kafka_produceva</c> Confluent.Kafka calls, with a topic
/// handle made once per topic, the key and value handed over as spans (librdkafka copies them before the call
/// returns), and a per-record opaque that is a number: the id of the <see cref="AcknowledgementGroup"/> the record
/// counts in, looked up once per run of reports of the same group. Nothing is allocated per record.
/// </para>
/// <para>
/// The configuration is the Confluent.Kafka <see cref="ProducerConfig"/> (idempotence, acks, linger: every product
/// default) with its <c>dotnet.*</c> entries left out, which only the .NET client reads. Delivery reports are served
/// by a thread of this producer polling the client, as Confluent.Kafka's producer does.
/// </para>
/// </remarks>
public sealed unsafe class DirectProducer : IDisposable
{
    /// <summary>librdkafka's <c>RD_KAFKA_RESP_ERR__QUEUE_FULL</c>.</summary>
    private const int QueueFull = (int)ErrorCode.Local_QueueFull;

    private const int FatalError = (int)ErrorCode.Local_Fatal;

    /// <summary>An empty key is a key (of no bytes), unlike no key: it needs a pointer that is not null.</summary>
    private static readonly byte* EmptyKey = (byte*)NativeMemory.Alloc(1);

    private readonly RdKafkaHandle _handle;
    private readonly nint _rk;
    private readonly GCHandle _self;
    private readonly Action<Error>? _onError;
    private readonly Thread _poller;
    private readonly Lock _topicsLock = new();
    private readonly ConcurrentDictionary<string, nint> _topics = new(StringComparer.Ordinal);
    private readonly Lock _groupsLock = new();
    private readonly Dictionary<long, Registration> _groups = [];
    private volatile bool _stopping;
    private bool _disposed;

    // The poll thread's run of reports of one group, counted out together when the group changes or the poll returns.
    private long _runGroup;
    private Registration? _runRegistration;
    private int _runCount;

    private DirectProducer(RdKafkaHandle handle, GCHandle self, Action<Error>? onError)
    {
        _handle = handle;
        _rk = handle.DangerousGetHandle();
        _self = self;
        _onError = onError;
        _poller = new Thread(Poll) { IsBackground = true, Name = "kafka-direct-poll" };
        _poller.Start();
    }

    /// <summary>Groups with records in flight through this producer (a group leaves when its last report is in).</summary>
    internal int GroupsInFlight
    {
        get
        {
            lock (_groupsLock)
            {
                return _groups.Count;
            }
        }
    }

    /// <summary>
    /// Builds a producer from <paramref name="config"/>. Client errors go to <paramref name="onError"/> (a fatal one with
    /// its underlying code, as Confluent.Kafka reports it); librdkafka's log lines are dropped. Throws
    /// <see cref="ArgumentException"/> for a property librdkafka refuses, naming it.
    /// </summary>
    public static DirectProducer Build(ProducerConfig config, Action<Error>? onError = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        RdKafkaLibrary.EnsureLoaded();
        var conf = LibRdKafka.rd_kafka_conf_new();
        var errors = stackalloc byte[512];
        var self = default(GCHandle);
        try
        {
            foreach (var (name, value) in config)
            {
                if (name.StartsWith("dotnet.", StringComparison.Ordinal) || value is null)
                {
                    continue;
                }

                if (LibRdKafka.rd_kafka_conf_set(conf, name, value, errors, 512) != LibRdKafka.ConfOk)
                {
                    throw new ArgumentException($"producer property {name}={value}: {Marshal.PtrToStringUTF8((nint)errors)}", nameof(config));
                }
            }

            LibRdKafka.rd_kafka_conf_set_dr_msg_cb(conf, &OnDeliveryReport);
            LibRdKafka.rd_kafka_conf_set_error_cb(conf, &OnError);
            LibRdKafka.rd_kafka_conf_set_log_cb(conf, &OnLog);
            // The handle is made before the producer it points at: no callback runs before rd_kafka_new returns, and
            // the reports are served only by the producer's own poll thread.
            self = GCHandle.Alloc(null, GCHandleType.Normal);
            LibRdKafka.rd_kafka_conf_set_opaque(conf, GCHandle.ToIntPtr(self));
            var handle = LibRdKafka.rd_kafka_new(LibRdKafka.ProducerType, conf, errors, 512);
            if (handle.IsInvalid)
            {
                throw new InvalidOperationException($"librdkafka refused the producer: {Marshal.PtrToStringUTF8((nint)errors)}");
            }

            conf = 0; // owned by the handle now
            var producer = new DirectProducer(handle, self, onError);
            self.Target = producer;
            return producer;
        }
        catch
        {
            if (conf != 0)
            {
                LibRdKafka.rd_kafka_conf_destroy(conf);
            }

            if (self.IsAllocated)
            {
                self.Free();
            }

            throw;
        }
    }

    /// <summary>
    /// Counts <paramref name="count"/> records of <paramref name="group"/> in as about to be handed to this producer, so
    /// that their reports find the group. Every record counted in is either produced or counted out with
    /// <see cref="Unreserve"/>. The group's own counts are the caller's (<see cref="AcknowledgedProducer.CountIn"/>).
    /// </summary>
    internal void Reserve(AcknowledgementGroup group, int count)
    {
        if (count <= 0)
        {
            return;
        }

        lock (_groupsLock)
        {
            if (!_groups.TryGetValue(group.Id, out var registration))
            {
                _groups[group.Id] = registration = new Registration(group);
            }

            registration.InFlight += count;
        }
    }

    /// <summary>Takes back <paramref name="count"/> records counted in with <see cref="Reserve"/> that were never produced.</summary>
    internal void Unreserve(AcknowledgementGroup group, int count)
    {
        if (count > 0)
        {
            Settle(group.Id, null, count);
        }
    }

    /// <summary>
    /// Hands one record to librdkafka (which copies key, value and headers before returning), in
    /// <paramref name="group"/>, which <see cref="Reserve"/> counted in. <paramref name="partition"/> -1 lets the
    /// partitioner choose from the key; a null <paramref name="key"/> is a record without a key. A full local queue is
    /// waited out; any other refusal throws a <see cref="KafkaException"/> and the record is the caller's to count out.
    /// </summary>
    public void Produce(string topic, int partition, byte[]? key, ReadOnlySpan<byte> value, Headers? headers, AcknowledgementGroup group)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var rkt = TopicHandle(topic);
        var headerCount = headers?.Count ?? 0;
        var packed = headerCount == 0 ? null : PackHeaders(headers!);
        var vus = stackalloc RdKafkaVu[6 + headerCount];
        fixed (byte* keyBytes = key)
        fixed (byte* valueBytes = value)
        fixed (byte* headerBytes = packed)
        {
            var count = 0;
            vus[count++] = RdKafkaVu.Of(RdKafkaVtype.TopicHandle, rkt);
            vus[count++] = RdKafkaVu.OfInt(RdKafkaVtype.Partition, partition);
            vus[count++] = RdKafkaVu.OfInt(RdKafkaVtype.MessageFlags, LibRdKafka.MessageFlagCopy);
            vus[count++] = RdKafkaVu.Of(RdKafkaVtype.Value, (nint)(valueBytes is null ? EmptyKey : valueBytes), value.Length);
            if (key is not null)
            {
                vus[count++] = RdKafkaVu.Of(RdKafkaVtype.Key, (nint)(key.Length == 0 ? EmptyKey : keyBytes), key.Length);
            }

            vus[count++] = RdKafkaVu.Of(RdKafkaVtype.Opaque, (nint)group.Id);
            if (headerCount > 0)
            {
                AddHeaders(vus, ref count, headers!, headerBytes);
            }

            while (true)
            {
                var error = LibRdKafka.rd_kafka_produceva(_rk, vus, (nuint)count);
                if (error == 0)
                {
                    return;
                }

                var code = LibRdKafka.rd_kafka_error_code(error);
                LibRdKafka.rd_kafka_error_destroy(error);
                if (code != QueueFull)
                {
                    KafkaThrow.Refused(topic, new Error((ErrorCode)code));
                }

                // The poll thread frees room as reports come in.
                Thread.Sleep(1);
                ObjectDisposedException.ThrowIf(_disposed, this);
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: no limit) for every record in
    /// flight to be reported; returns how many are still in flight (their reports included).
    /// </summary>
    /// <remarks>
    /// Not <c>rd_kafka_flush</c>: it serves delivery reports on the calling thread, beside the poll thread, and the
    /// reports are counted on the poll thread alone. The poll thread serves them; this waits for the count to reach 0.
    /// </remarks>
    public int Flush(TimeSpan timeout)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var started = Stopwatch.GetTimestamp();
        int left;
        while ((left = LibRdKafka.rd_kafka_outq_len(_rk)) > 0
            && (timeout == Timeout.InfiniteTimeSpan || Stopwatch.GetElapsedTime(started) < timeout))
        {
            Thread.Sleep(1);
        }

        return left;
    }

    /// <summary>
    /// Stops the poll thread and destroys the client, as Confluent.Kafka's producer does: records still in flight are
    /// abandoned (a worker flushes or awaits its groups before it lets go of the producer).
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stopping = true;
        _poller.Join();
        lock (_topicsLock)
        {
            foreach (var rkt in _topics.Values)
            {
                LibRdKafka.rd_kafka_topic_destroy(rkt);
            }

            _topics.Clear();
        }

        _handle.Dispose();
        _self.Free();
    }

    /// <summary>The topic's handle, made once: read without a lock per record (the lanes share the producer).</summary>
    private nint TopicHandle(string topic) => _topics.TryGetValue(topic, out var rkt) ? rkt : NewTopicHandle(topic);

    private nint NewTopicHandle(string topic)
    {
        lock (_topicsLock)
        {
            if (!_topics.TryGetValue(topic, out var rkt))
            {
                rkt = LibRdKafka.rd_kafka_topic_new(_rk, topic, 0);
                if (rkt == 0)
                {
                    KafkaThrow.Refused(topic, new Error(ErrorCode.Local_InvalidArg, $"librdkafka refused the topic name '{topic}'"));
                }

                _topics[topic] = rkt;
            }

            return rkt;
        }
    }

    /// <summary>The headers' names (each with its terminating zero) and values, one after the other.</summary>
    private static byte[] PackHeaders(Headers headers)
    {
        var length = 0;
        foreach (var header in headers)
        {
            length += Encoding.UTF8.GetByteCount(header.Key) + 1 + (header.GetValueBytes()?.Length ?? 0);
        }

        var packed = new byte[Math.Max(length, 1)];
        var at = 0;
        foreach (var header in headers)
        {
            at += Encoding.UTF8.GetBytes(header.Key, packed.AsSpan(at));
            packed[at++] = 0;
            var value = header.GetValueBytes();
            value?.CopyTo(packed, at);
            at += value?.Length ?? 0;
        }

        return packed;
    }

    private static void AddHeaders(RdKafkaVu* vus, ref int count, Headers headers, byte* packed)
    {
        var at = packed;
        foreach (var header in headers)
        {
            var name = at;
            at += Encoding.UTF8.GetByteCount(header.Key) + 1;
            var value = header.GetValueBytes();
            vus[count++] = new RdKafkaVu
            {
                Type = RdKafkaVtype.Header,
                Pointer = (nint)name,
                HeaderValue = value is null ? 0 : (nint)at,
                HeaderSize = value?.Length ?? 0,
            };
            at += value?.Length ?? 0;
        }
    }

    private void Poll()
    {
        while (!_stopping)
        {
            LibRdKafka.rd_kafka_poll(_rk, 50);
            EndRun();
        }
    }

    /// <summary>A report, on the poll thread: counted into the current run of its group; a failure is told at once.</summary>
    private void Delivered(long groupId, int error, nint rkt)
    {
        if (groupId != _runGroup || _runRegistration is null)
        {
            EndRun();
            lock (_groupsLock)
            {
                _runRegistration = _groups.GetValueOrDefault(groupId);
            }

            _runGroup = groupId;
        }

        if (_runRegistration is not { } registration)
        {
            return; // a record of no group counted in here: nothing waits for it
        }

        if (error != 0)
        {
            var topic = rkt == 0 ? "" : Marshal.PtrToStringUTF8((nint)LibRdKafka.rd_kafka_topic_name(rkt)) ?? "";
            registration.Group.Fail(new Error((ErrorCode)error), topic);
        }

        _runCount++;
    }

    private void EndRun()
    {
        if (_runCount > 0 && _runRegistration is { } registration)
        {
            var count = _runCount;
            _runCount = 0;
            Settle(_runGroup, registration, count);
            registration.Group.Delivered(count);
        }

        _runRegistration = null;
        _runCount = 0;
    }

    /// <summary>Counts <paramref name="count"/> records of a group out of its registration, which leaves with its last.</summary>
    private void Settle(long groupId, Registration? registration, int count)
    {
        lock (_groupsLock)
        {
            if (registration is null && !_groups.TryGetValue(groupId, out registration))
            {
                return;
            }

            registration.InFlight -= count;
            if (registration.InFlight <= 0)
            {
                _groups.Remove(groupId);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnDeliveryReport(nint rk, RdKafkaMessage* message, nint opaque)
    {
        try
        {
            if (GCHandle.FromIntPtr(opaque).Target is DirectProducer producer)
            {
                producer.Delivered(message->Private, message->Err, message->Topic);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception must not unwind into librdkafka; the group's waiter times out and says so instead.
            Environment.FailFast("delivery report handler failed", e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnError(nint rk, int error, byte* reason, nint opaque)
    {
        if (GCHandle.FromIntPtr(opaque).Target is not DirectProducer { _onError: { } onError })
        {
            return;
        }

        try
        {
            if (error == FatalError)
            {
                var text = stackalloc byte[512];
                var code = LibRdKafka.rd_kafka_fatal_error(rk, text, 512);
                onError(new Error((ErrorCode)code, Marshal.PtrToStringUTF8((nint)text), isFatal: true));
            }
            else
            {
                onError(new Error((ErrorCode)error, Marshal.PtrToStringUTF8((nint)reason)));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A handler's failure is not librdkafka's to see.
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnLog(nint rk, int level, byte* facility, byte* text)
    {
    }

    /// <summary>A group with records in flight through this producer, and how many.</summary>
    private sealed class Registration(AcknowledgementGroup group)
    {
        public AcknowledgementGroup Group { get; } = group;

        public long InFlight { get; set; }
    }
}
