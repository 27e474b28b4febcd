using Microsoft.Win32.SafeHandles;

namespace RatingPipeline.Kafka.Interop;

/// <summary>An <c>rd_kafka_t*</c> created by this assembly; released with <c>rd_kafka_destroy</c>.</summary>
internal sealed class RdKafkaHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public RdKafkaHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        LibRdKafka.rd_kafka_destroy(handle);
        return true;
    }
}
