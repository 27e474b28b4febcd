using Microsoft.Win32.SafeHandles;

namespace RatingPipeline.Kafka.Interop;

/// <summary>
/// An <c>rd_kafka_mock_cluster_t*</c>. It keeps a reference on the <c>rd_kafka_t</c> it was
/// created on, so the owner is destroyed only after the cluster, even when both are finalized.
/// </summary>
internal sealed class MockClusterHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private RdKafkaHandle? _owner;

    public MockClusterHandle()
        : base(ownsHandle: true)
    {
    }

    internal void HoldOwner(RdKafkaHandle owner)
    {
        var added = false;
        owner.DangerousAddRef(ref added);
        if (added)
        {
            _owner = owner;
        }
    }

    protected override bool ReleaseHandle()
    {
        LibRdKafka.rd_kafka_mock_cluster_destroy(handle);
        _owner?.DangerousRelease();
        _owner = null;
        return true;
    }
}
