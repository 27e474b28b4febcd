using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;

namespace RatingPipeline.Rater;

/// <summary>Builds the rater application: configuration, validation, the worker, metrics and health endpoints.</summary>
public static class RaterHost
{
    public const string DefaultUrl = "http://127.0.0.1:9464";

    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null)
    {
        var builder = WorkerHost.CreateBuilder(args, DefaultUrl, overrides);
        builder.Services.AddOptions<RaterOptions>().Bind(builder.Configuration.GetSection(RaterOptions.Section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RaterOptions>, RaterOptionsValidator>();
        builder.Services.AddOptions<TopicNames>().Bind(builder.Configuration.GetSection(TopicNames.SectionName))
            .Validate(t => TryTopics(t), "Topics: every name must be set and distinct")
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<TariffSource>();
        builder.Services.AddSingleton<RaterMetrics>();
        builder.Services.AddHostedService<RaterWorker>();
        var app = builder.Build();
        app.MapWorkerEndpoints();
        return app;
    }

    private static bool TryTopics(TopicNames names)
    {
        try
        {
            _ = TopicSet.All(names).ToList();
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Reports every broken option with its key, not just "invalid".</summary>
    private sealed class RaterOptionsValidator : IValidateOptions<RaterOptions>
    {
        public ValidateOptionsResult Validate(string? name, RaterOptions options)
        {
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
