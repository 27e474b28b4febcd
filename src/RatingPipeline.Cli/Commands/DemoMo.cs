using System.Text.Json.Nodes;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Synthetic;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// SMS from a subscriber in the demo: the sample subscriber has two monthly services, the demo prints one <c>curl</c>
/// that posts an SMS from it to the sender's <c>POST /v1/mo</c> as the SMS gateway would, and the replies the sender
/// sends back through the loopback gateway are shown (as they come with <c>--no-live</c>, the last one in the live
/// table, all of them in the summary).
/// </summary>
public static class DemoMo
{
    /// <summary>The subscriber the sample requests are for.</summary>
    public const int Subscriber = 0;

    /// <summary>The service number the sample SMS is sent to.</summary>
    public const string ServiceNumber = "10086";

    /// <summary>
    /// The sample subscriber's profile with two monthly services ordered two days before the stream's start, so that
    /// <c>0000</c> lists them and <c>TD 1</c> cancels one.
    /// </summary>
    public static byte[] WithServices(ReadOnlySpan<byte> profile, long streamStartTicks)
    {
        var node = JsonNode.Parse(profile)!.AsObject();
        var orderedAt = SyntheticData.FormatInstant(streamStartTicks - (2 * TimeSpan.TicksPerDay));
        node["services"] = new JsonArray(
            new JsonObject { ["id"] = "news", ["name"] = new JsonObject { ["zh"] = "新闻早报", ["en"] = "Morning news" }, ["price"] = 5_000_000, ["orderedAt"] = orderedAt },
            new JsonObject { ["id"] = "music", ["name"] = new JsonObject { ["zh"] = "音乐会员", ["en"] = "Music club" }, ["price"] = 3_000_000, ["orderedAt"] = orderedAt });
        return System.Text.Encoding.UTF8.GetBytes(node.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    /// <summary>
    /// The one-line <c>curl</c> that sends <paramref name="text"/> from <paramref name="msisdn"/> to the sender at
    /// <paramref name="senderUrl"/>; the SMS id is made from the time in the shell (<c>$(date +%s%N)</c>), so every run
    /// of the line is a new SMS (the sender answers an id once).
    /// </summary>
    public static string SampleCurl(string senderUrl, string token, string msisdn, string text) =>
        $"curl -sS -X POST {senderUrl.TrimEnd('/')}{MoEndpoint.Path} -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
        + $"-d '{{\"from\":\"{msisdn}\",\"to\":\"{ServiceNumber}\",\"text\":\"{text}\",\"id\":\"demo-'$(date +%s%N)'\"}}'";

    /// <summary>The replies to SMS the gateway delivered so far, in order: to whom and the text.</summary>
    public static IReadOnlyList<(string To, string Text)> Replies(LoopbackGateway gateway)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        return [.. gateway.Received
            .Where(r => r is { Delivered: true, Id: { } id, To: not null, Text: not null } && id.Contains(":mo:", StringComparison.Ordinal) && id.Contains(":reply:", StringComparison.Ordinal))
            .Select(r => (r.To!, r.Text!))];
    }
}
