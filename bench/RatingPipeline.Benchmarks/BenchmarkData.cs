using System.Buffers;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// The benchmarks' input: the demo tariff, subscriber profiles and a realistic CDR stream from
/// <see cref="SyntheticData"/> (calls, SMS, data, roaming, Apple activation SMS, duplicates, late and malformed
/// records), each CDR kept as its own byte array as a message value would be.
/// </summary>
public sealed class BenchmarkData
{
    private BenchmarkData(byte[] tariffJson, Tariff tariff, byte[][] profileLines, SubscriberProfile[] profiles, byte[][] cdrLines)
    {
        TariffJson = tariffJson;
        Tariff = tariff;
        ProfileLines = profileLines;
        Profiles = profiles;
        CdrLines = cdrLines;
    }

    public byte[] TariffJson { get; }

    public Tariff Tariff { get; }

    public byte[][] ProfileLines { get; }

    public SubscriberProfile[] Profiles { get; }

    public byte[][] CdrLines { get; }

    public long CdrBytes => CdrLines.Sum(l => (long)l.Length);

    public static BenchmarkData Create(int seed, int subscribers, int cdrs)
    {
        var tariffJson = SyntheticData.DemoTariff();
        var tariff = TariffLoader.Load(tariffJson);
        var data = new SyntheticData(seed, subscribers);
        var buffer = new ArrayBufferWriter<byte>(1024);
        var profileLines = new byte[subscribers][];
        var profiles = new SubscriberProfile[subscribers];
        for (var i = 0; i < subscribers; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            profileLines[i] = buffer.WrittenSpan.ToArray();
            profiles[i] = SubscriberProfile.TryParse(profileLines[i], tariff, out var error)
                ?? throw new InvalidOperationException($"synthetic profile {i} refused: {error}");
        }

        var cdrLines = new byte[cdrs][];
        for (var i = 0; i < cdrs; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteNextCdr(buffer);
            cdrLines[i] = buffer.WrittenSpan.ToArray();
        }

        return new BenchmarkData(tariffJson, tariff, profileLines, profiles, cdrLines);
    }
}
