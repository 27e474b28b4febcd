using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Subscribers;
using RatingPipeline.Time;

namespace RatingPipeline.Sender.Inbound;

/// <summary>
/// A subscriber's monthly services as <c>0000</c> lists them and <c>TD</c> cancels them (SPEC §2.2, §7.4, §7.5).
/// A service's number is its 1-based position in the profile's <c>services</c>, so a number keeps naming the
/// same service after another one is cancelled. Listed are the services not cancelled at the instant asked
/// about; the next charge is due(s) = <c>orderedAt</c> + the lead hours while that is still ahead, else the start
/// of the next billing cycle (00:00 local on the profile's <c>cycleDay</c>), and none when the service is
/// cancelled at or before it.
/// </summary>
public static class MonthlyServices
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>The services of <paramref name="profile"/> that are not cancelled at <paramref name="at"/>, with their next charge.</summary>
    public static IReadOnlyList<ListedService> Active(SubscriberProfile? profile, DateTimeOffset at, TimeSpan utcOffset, int leadHours)
    {
        if (profile is null)
        {
            return [];
        }

        var now = Ticks(at);
        var offset = utcOffset.Ticks;
        var nextCycle = BillingCycle.StartTicks(BillingCycle.EndDay(BillingCycle.StartDay(now, offset, profile.CycleDay), profile.CycleDay), offset);
        var listed = new List<ListedService>();
        for (var i = 0; i < profile.Services.Count; i++)
        {
            var s = profile.Services[i];
            if (s.IsCancelledAt(now))
            {
                continue;
            }

            var due = s.OrderedAtTicks + (leadHours * Instant.TicksPerHour);
            var next = due > now ? due : nextCycle;
            listed.Add(new ListedService(i + 1, s.NameZh, s.NameEn, s.Price, s.IsCancelledAt(next) ? null : FromTicks(next)));
        }

        return listed;
    }

    /// <summary>
    /// The profile record <paramref name="profileJson"/> with <c>cancelledAt</c> set on the services numbered
    /// <paramref name="numbers"/> and nothing else changed (members the sender does not know included). The
    /// instant is <paramref name="at"/> rounded down to the whole second, in <paramref name="utcOffset"/>; for a
    /// service ordered later than that, its <c>orderedAt</c> as written (SPEC §2.2: <c>cancelledAt</c> ≥
    /// <c>orderedAt</c>). Returns null, with the reason, when the result is not a valid profile.
    /// </summary>
    public static byte[]? Cancel(byte[] profileJson, SubscriberProfile profile, IReadOnlyCollection<int> numbers, DateTimeOffset at, TimeSpan utcOffset, out string error)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(numbers);
        error = "";
        var node = JsonNode.Parse(profileJson);
        if (node is not JsonObject root || root["services"] is not JsonArray services || services.Count != profile.Services.Count)
        {
            error = "the profile record has no services array matching the profile read";
            return null;
        }

        // Down to the second: the service is cancelled at (not after) the request, so an SMS that comes later
        // in the same second already sees it cancelled.
        var seconds = at.UtcTicks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond;
        var cancelAt = new DateTimeOffset(seconds, TimeSpan.Zero).ToOffset(utcOffset);
        var text = cancelAt.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        foreach (var number in numbers)
        {
            var service = profile.Services[number - 1];
            services[number - 1]!["cancelledAt"] = Ticks(cancelAt) < service.OrderedAtTicks ? service.OrderedAt : text;
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(root, Json);
        if (SubscriberProfile.TryParse(bytes, null, out var refused) is null)
        {
            error = $"the cancelled profile would be refused: {refused}";
            return null;
        }

        return bytes;
    }

    private static long Ticks(DateTimeOffset at) => at.UtcTicks - UnixEpochTicks;

    private static DateTimeOffset FromTicks(long ticks) => new(ticks + UnixEpochTicks, TimeSpan.Zero);
}
