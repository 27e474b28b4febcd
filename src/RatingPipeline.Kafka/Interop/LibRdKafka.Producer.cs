using System.Runtime.InteropServices;

namespace RatingPipeline.Kafka.Interop;

/// <summary>
/// The producer calls of librdkafka that <see cref="DirectProducer"/> drives itself: configuration callbacks,
/// <c>rd_kafka_produceva</c> (the call Confluent.Kafka makes too), polling for delivery reports, the count in flight, topic handles.
/// </summary>
internal static unsafe partial class LibRdKafka
{
    /// <summary><c>RD_KAFKA_MSG_F_COPY</c>: librdkafka copies key, value and headers before the call returns.</summary>
    internal const int MessageFlagCopy = 0x2;

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_set_dr_msg_cb(nint conf, delegate* unmanaged[Cdecl]<nint, RdKafkaMessage*, nint, void> callback);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_set_error_cb(nint conf, delegate* unmanaged[Cdecl]<nint, int, byte*, nint, void> callback);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_set_log_cb(nint conf, delegate* unmanaged[Cdecl]<nint, int, byte*, byte*, void> callback);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_conf_set_opaque(nint conf, nint opaque);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_poll(nint rk, int timeoutMs);

    /// <summary>Returns null on success, else an <c>rd_kafka_error_t*</c> the caller destroys.</summary>
    [LibraryImport(LibraryName)]
    internal static partial nint rd_kafka_produceva(nint rk, RdKafkaVu* vus, nuint count);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_error_code(nint error);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_error_destroy(nint error);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_outq_len(nint rk);

    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint rd_kafka_topic_new(nint rk, string topic, nint conf);

    [LibraryImport(LibraryName)]
    internal static partial void rd_kafka_topic_destroy(nint rkt);

    [LibraryImport(LibraryName)]
    internal static partial byte* rd_kafka_topic_name(nint rkt);

    [LibraryImport(LibraryName)]
    internal static partial int rd_kafka_fatal_error(nint rk, byte* errstr, nuint errstrSize);
}

/// <summary><c>rd_kafka_message_t</c>, as a delivery report hands it over (read only).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RdKafkaMessage
{
    public int Err;
    public nint Topic;
    public int Partition;
    public nint Payload;
    public nuint Length;
    public nint Key;
    public nuint KeyLength;
    public long Offset;

    /// <summary>The per-message opaque given at produce time (<c>RD_KAFKA_V_OPAQUE</c>).</summary>
    public nint Private;
}

/// <summary><c>rd_kafka_vtype_t</c>: what an <see cref="RdKafkaVu"/> carries.</summary>
internal enum RdKafkaVtype
{
    End = 0,
    Topic = 1,
    TopicHandle = 2,
    Partition = 3,
    Value = 4,
    Key = 5,
    Opaque = 6,
    MessageFlags = 7,
    Timestamp = 8,
    Header = 9,
    Headers = 10,
}

/// <summary><c>rd_kafka_vu_t</c>: one argument of <c>rd_kafka_produceva</c>, a type and a 64-byte union.</summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal unsafe struct RdKafkaVu
{
    [FieldOffset(0)]
    public RdKafkaVtype Type;

    [FieldOffset(8)]
    public nint Pointer;

    [FieldOffset(8)]
    public int Int32;

    [FieldOffset(16)]
    public nint Size;

    /// <summary>A header's value (its name is <see cref="Pointer"/>).</summary>
    [FieldOffset(16)]
    public nint HeaderValue;

    [FieldOffset(24)]
    public nint HeaderSize;

    public static RdKafkaVu Of(RdKafkaVtype type, nint pointer, nint size = 0) => new() { Type = type, Pointer = pointer, Size = size };

    public static RdKafkaVu OfInt(RdKafkaVtype type, int value) => new() { Type = type, Int32 = value };
}
