using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;
using RatingPipeline.Tests.ProfileReading;

namespace RatingPipeline.Benchmarks;

/// <summary>
/// Per-profile cost of reading subscriber profiles (the subscriber file, profile lines, the <c>subscribers</c> topic):
/// 10,000 profiles as <c>ratingctl generate</c> writes them (<see cref="ProfileMix.Generated"/>), or the same with two
/// monthly services, a monthly minimum and a plan end on every third (<see cref="ProfileMix.Services"/>). Baselines in
/// the same run: a bare <see cref="Utf8JsonReader"/> pass over the same bytes (the floor) and the former reading (the
/// strict document check, then a <see cref="JsonDocument"/>). <c>OperationsPerInvoke</c> = 10,000: every figure is per
/// profile.
/// </summary>
[Config(typeof(BenchmarkConfig))]
[MemoryDiagnoser]
public class ProfileBenchmarks
{
    public const int Profiles = 10_000;

    private byte[][] _profiles = [];
    private Tariff _tariff = null!;

    public enum ProfileMix
    {
        Generated,
        Services,
    }

    [Params(ProfileMix.Generated, ProfileMix.Services)]
    public ProfileMix Mix { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        var data = new SyntheticData(seed: 42, subscribers: Profiles);
        var buffer = new ArrayBufferWriter<byte>();
        _profiles = new byte[Profiles][];
        for (var i = 0; i < Profiles; i++)
        {
            buffer.ResetWrittenCount();
            data.WriteProfile(i, buffer);
            var json = Encoding.UTF8.GetString(buffer.WrittenSpan);
            if (Mix == ProfileMix.Services && i % 3 == 0)
            {
                json = json[..^1] + ",\"monthlyMinimum\":60000000,\"planEndsAt\":\"2027-06-01T00:00:00+08:00\",\"services\":["
                    + "{\"id\":\"news\",\"name\":{\"zh\":\"手机报\",\"en\":\"Mobile News\"},\"price\":5000000,\"orderedAt\":\"2026-11-10T09:00:00+08:00\"},"
                    + "{\"id\":\"weather\",\"name\":{\"zh\":\"天气预报\",\"en\":\"Weather\"},\"price\":3000000,\"orderedAt\":\"2026-11-12T10:00:00+08:00\","
                    + "\"cancelledAt\":\"2026-11-13T08:00:00+08:00\"}]}";
            }

            _profiles[i] = Encoding.UTF8.GetBytes(json);
        }

        // Both readers must accept every profile with the same values, or the comparison is meaningless.
        foreach (var profile in _profiles)
        {
            var read = SubscriberProfile.TryParse(profile, _tariff, out var error) ?? throw new InvalidOperationException(error);
            var former = DocumentProfileReader.TryParse(profile, _tariff, out error) ?? throw new InvalidOperationException(error);
            if (read.Msisdn != former.Msisdn || read.Services.Count != former.Services.Count || read.MonthlyMinimum != former.MonthlyMinimum
                || read.Channels.Count != former.Channels.Count || read.Balance != former.Balance)
            {
                throw new InvalidOperationException($"the readers differ on {Encoding.UTF8.GetString(profile)}");
            }
        }
    }

    /// <summary>The floor: read every JSON token of every profile, nothing else.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Profiles)]
    public long BareJsonReader()
    {
        long tokens = 0;
        foreach (var profile in _profiles)
        {
            var reader = new Utf8JsonReader(profile);
            while (reader.Read())
            {
                tokens++;
            }
        }

        return tokens;
    }

    /// <summary><see cref="SubscriberProfile.TryParse"/>: the single pass, every rule, the profile built.</summary>
    [Benchmark(OperationsPerInvoke = Profiles)]
    public int ReadProfile()
    {
        var read = 0;
        foreach (var profile in _profiles)
        {
            read += SubscriberProfile.TryParse(profile, _tariff, out _) is null ? 0 : 1;
        }

        return read;
    }

    /// <summary>The former reading: the strict document check, then a <see cref="JsonDocument"/> read member by member.</summary>
    [Benchmark(OperationsPerInvoke = Profiles)]
    public int DocumentReader()
    {
        var read = 0;
        foreach (var profile in _profiles)
        {
            read += DocumentProfileReader.TryParse(profile, _tariff, out _) is null ? 0 : 1;
        }

        return read;
    }
}
