using System.IO.Hashing;

namespace RatingPipeline.Rater.Usage;

/// <summary>
/// The partition a producer puts a keyed record on, so that an instance that does not hold a subscriber can tell whose
/// partition it is. It must be the partitioner of the producers of <c>cdrs</c> and <c>subscribers</c>
/// (docs/deploy.md): librdkafka's default <c>consistent_random</c> (CRC-32 of the key; <c>ratingctl load</c> and
/// <c>demo</c>) or <c>murmur2</c> (Java clients, librdkafka's <c>murmur2_random</c>).
/// </summary>
public static class KeyPartitioner
{
    public const string Consistent = "consistent";
    public const string Murmur2 = "murmur2";

    public static bool IsKnown(string name) => name is Consistent or Murmur2;

    public static int Partition(string partitioner, ReadOnlySpan<byte> key, int partitions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        return partitioner switch
        {
            Consistent => (int)(Crc32.HashToUInt32(key) % (uint)partitions),
            Murmur2 => (int)((Murmur2Hash(key) & 0x7fffffff) % partitions),
            _ => throw new ArgumentException($"unknown partitioner {partitioner}", nameof(partitioner)),
        };
    }

    /// <summary>Kafka's murmur2 (seed 0x9747b28c), as the Java client and librdkafka compute it.</summary>
    public static uint Murmur2Hash(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        var length = data.Length;
        var h = 0x9747b28c ^ (uint)length;
        var i = 0;
        for (; i + 4 <= length; i += 4)
        {
            var k = (uint)(data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }

        switch (length - i)
        {
            case 3:
                h ^= (uint)data[i + 2] << 16;
                h ^= (uint)data[i + 1] << 8;
                h ^= data[i];
                h *= m;
                break;
            case 2:
                h ^= (uint)data[i + 1] << 8;
                h ^= data[i];
                h *= m;
                break;
            case 1:
                h ^= data[i];
                h *= m;
                break;
            default:
                break;
        }

        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return h;
    }
}
