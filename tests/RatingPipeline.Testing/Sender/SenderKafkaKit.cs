using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using RatingPipeline.Hosting;
using RatingPipeline.Sender;
using RatingPipeline.Sender.Gateway;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Notices;
using RatingPipeline.Tests.Kafka;

namespace RatingPipeline.Tests.Sender;

/// <summary>
/// What the tests that run the sender against an embedded cluster share: its configuration for a test, starting it
/// in-process until ready, its HTTP client, mobile-originated SMS posted to it, and what it wrote to <c>notice-log</c>
/// and sent to the gateway.
/// </summary>
internal static class SenderKafkaKit
{
    /// <summary>How long a test waits for the sender to become ready or for an outcome to show.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static string Msisdn(int i) => $"86138{i:D8}";

    /// <summary>The sender's configuration for a test: SMS to <paramref name="gateway"/> with fast retries, no quiet hours, group <paramref name="group"/>.</summary>
    public static Dictionary<string, string?> Config(string bootstrap, LoopbackGateway gateway, string group) => new()
    {
        ["Kafka:BootstrapServers"] = bootstrap,
        ["Kafka:Embedded"] = "true",
        ["Kafka:Properties:session.timeout.ms"] = "6000",
        ["Kafka:Properties:heartbeat.interval.ms"] = "1000",
        ["Http:Url"] = "http://127.0.0.1:0",
        ["Sender:GroupId"] = group,
        ["Sender:Sms:Url"] = new Uri(gateway.Url, "sms").ToString(),
        ["Sender:Sms:RetryDelay"] = "00:00:00.010",
        ["Sender:Sms:MaxRetryDelay"] = "00:00:00.100",
        ["Sender:Sms:RatePerSecond"] = "1000",
        // Real time here: no quiet hours, so the outcome does not depend on when the test runs.
        ["Sender:QuietHours:Start"] = "00:00",
        ["Sender:QuietHours:End"] = "00:00",
        ["Sender:DailyLimit"] = "1000",
    };

    /// <summary>Starts the sender in-process and waits until it is ready (it has restored its partitions); fails the test otherwise.</summary>
    public static async Task<WebApplication> StartSenderAsync(Dictionary<string, string?> config, Action<IServiceCollection>? services = null, TimeSpan? patience = null)
    {
        var app = SenderHost.Build([], config, services);
        await app.StartAsync();
        var readiness = app.Services.GetRequiredService<Readiness>();
        if (!SpinWait.SpinUntil(() => readiness.IsReady, patience ?? Patience))
        {
            await app.StopAsync();
            Assert.Fail($"the sender did not become ready: {readiness.Reason}");
        }

        return app;
    }

    /// <summary>A client of the sender's HTTP listener.</summary>
    public static HttpClient Http(WebApplication app) => new() { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(20) };

    /// <summary>Posts an SMS from <paramref name="from"/> to the service number, as the SMS gateway does (<c>POST /v1/mo</c>).</summary>
    public static async Task<HttpResponseMessage> PostMoAsync(HttpClient http, string from, string text, string id, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, MoEndpoint.Path)
        {
            Content = new StringContent(new JsonObject { ["from"] = from, ["to"] = "10086", ["text"] = text, ["id"] = id }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await http.SendAsync(request);
    }

    /// <summary>Every record of <paramref name="topic"/> (a <c>notice-log</c>), read with kcat.</summary>
    public static List<NoticeRecord> NoticeLog(string bootstrap, string topic) =>
        [.. Kcat.ConsumeToEnd(bootstrap, topic).Select(r => NoticeRecord.TryParse(Encoding.UTF8.GetBytes(r.Value!))!)];

    /// <summary>The replies the gateway delivered to <paramref name="msisdn"/> for its SMS <paramref name="moId"/>.</summary>
    public static List<string> Replies(LoopbackGateway gateway, string msisdn, string moId) =>
        [.. gateway.Received.Where(r => r.Delivered && r.To == msisdn && r.Id!.StartsWith($"{msisdn}:mo:{moId}:reply:", StringComparison.Ordinal)).Select(r => r.Text!)];

    public static bool WaitFor(Func<bool> condition) => SpinWait.SpinUntil(condition, Patience);
}
