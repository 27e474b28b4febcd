using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;

namespace RatingPipeline.Rater;

/// <summary>Builds the rater application: configuration, validation, the worker, metrics and health endpoints, the usage query API.</summary>
public static class RaterHost
{
    public const string DefaultUrl = "http://127.0.0.1:9464";

    /// <summary>Builds the rater; <paramref name="services"/> may add or replace services (e.g. logging) before the host is built.</summary>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null)
    {
        var builder = WorkerHost.CreateBuilder(args, DefaultUrl, overrides);
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<RaterOptions>(configuration, RaterOptions.Section,
            o => o.Validate().Concat(ValidatedOptions.RenamedKeys(configuration, RaterOptions.Section, RaterOptions.RenamedKeys)));
        builder.Services.AddValidatedOptions<TopicNames>(configuration, TopicNames.SectionName, TopicSet.Problems);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TariffSource>();
        builder.Services.AddSingleton<RaterMetrics>();
        builder.Services.AddUsageApi(configuration);
        builder.Services.AddHostedService<RaterWorker>();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapWorkerEndpoints();
        app.MapUsageApi();
        return app;
    }
}
