using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;
using RatingPipeline.Kafka;

namespace RatingPipeline.Hosting;

/// <summary>
/// The host conventions both workers share: configuration from <c>appsettings.json</c>, environment variables
/// (<c>Kafka__BootstrapServers</c>, …) and command-line overrides; structured JSON console logs; an HTTP
/// listener on <c>Http:Url</c> serving Prometheus metrics on <c>/metrics</c> and health on
/// <c>/healthz/live</c> and <c>/healthz/ready</c>.
/// </summary>
public static class WorkerHost
{
    public static WebApplicationBuilder CreateBuilder(string[] args, string defaultUrl, IDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.JsonWriterOptions = new JsonWriterOptions { Indented = false };
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var url = builder.Configuration["Http:Url"] is { Length: > 0 } configured ? configured : defaultUrl;
        builder.WebHost.UseUrls(url);
        builder.Services.AddSingleton<Readiness>();
        builder.Services.AddValidatedOptions<KafkaOptions>(builder.Configuration, KafkaOptions.Section, o => o.Problems());
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(30);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        return builder;
    }

    /// <summary>Maps <c>/metrics</c>, <c>/healthz/live</c> and <c>/healthz/ready</c>.</summary>
    public static WebApplication MapWorkerEndpoints(this WebApplication app)
    {
        app.MapMetrics("/metrics");
        app.MapGet("/healthz/live", () => Results.Text("live\n"));
        app.MapGet("/healthz/ready", (Readiness readiness) => readiness.IsReady
            ? Results.Text("ready\n")
            : Results.Text($"not ready: {readiness.Reason}\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }
}
