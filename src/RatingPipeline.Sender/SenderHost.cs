using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Hosting;
using RatingPipeline.Kafka;
using RatingPipeline.Sender.Channels;
using RatingPipeline.Sender.Inbound;
using RatingPipeline.Sender.Rendering;
using RatingPipeline.Sender.Rules;

namespace RatingPipeline.Sender;

/// <summary>
/// The sender worker's host: configuration (<c>appsettings.json</c>, environment, command line, then
/// the overrides given to <c>Build</c>), validated at start; JSON logs; <c>/metrics</c> and <c>/healthz</c> on
/// <c>Http:Url</c> (default <see cref="DefaultUrl"/>); <c>POST /v1/mo</c> for mobile-originated SMS (bearer token
/// <c>Http:Auth:Token</c>); the consume loop as a hosted service.
/// </summary>
public static class SenderHost
{
    public const string DefaultUrl = "http://127.0.0.1:9465";

    /// <param name="args">Command-line configuration, e.g. <c>--Kafka:BootstrapServers=host:9092</c>.</param>
    /// <param name="overrides">Configuration applied over everything else (the in-process demo and tests).</param>
    /// <param name="services">Last word on services, e.g. a <see cref="TimeProvider"/> for tests.</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? services = null)
    {
        var builder = WorkerHost.CreateBuilder(args, DefaultUrl, overrides);
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<SenderOptions>(configuration, SenderOptions.Section, SenderOptionsValidator.Check);
        builder.Services.AddValidatedOptions<TopicNames>(configuration, TopicNames.SectionName, TopicSet.Problems);
        builder.Services.TryAddSingleton(TimeProvider.System);
        AddSender(builder.Services);
        services?.Invoke(builder.Services);
        builder.Services.AddSingleton<MoInbox>();
        builder.Services.AddHostedService<SenderWorker>();

        var app = builder.Build();
        app.MapWorkerEndpoints();
        app.MapMo();
        return app;
    }

    /// <summary>The Kafka-independent parts: templates, renderer, rules, channels, processor.</summary>
    internal static void AddSender(IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SenderOptions>>().Value;
            return NoticeTemplates.Load(SenderOptionsValidator.TemplatesPath(options), options);
        });
        services.AddSingleton(sp => new NoticeRenderer(sp.GetRequiredService<NoticeTemplates>(), sp.GetRequiredService<IOptions<SenderOptions>>().Value));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SenderOptions>>().Value;
            var quiet = QuietHours.TryCreate(options.QuietHours.Start, options.QuietHours.End, options.UtcOffset, out var error)
                ?? throw new OptionsValidationException(SenderOptions.Section, typeof(SenderOptions), [error]);
            return new NoticeRules(options, quiet);
        });
        services.AddSingleton(sp => CreateDelivery(sp.GetRequiredService<IOptions<SenderOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new MoRenderer(sp.GetRequiredService<NoticeTemplates>(), sp.GetRequiredService<IOptions<SenderOptions>>().Value));
        services.AddSingleton(sp => new UsageApiClient(
            sp.GetRequiredService<IOptions<SenderOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UsageApiClient>>()));
        services.AddSingleton(sp => new MoAnswerer(
            sp.GetRequiredService<MoRenderer>(),
            sp.GetRequiredService<NoticeDelivery>(),
            sp.GetRequiredService<UsageApiClient>(),
            sp.GetRequiredService<IOptions<SenderOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<MoAnswerer>>()));
        services.AddSingleton(sp => new NoticeProcessor(
            sp.GetRequiredService<NoticeRenderer>(),
            sp.GetRequiredService<NoticeRules>(),
            sp.GetRequiredService<NoticeDelivery>(),
            sp.GetRequiredService<IOptions<SenderOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<NoticeProcessor>>()));
    }

    /// <summary>The configured channels: SMS always, voice when it has a URL, e-mail when it has a host.</summary>
    public static NoticeDelivery CreateDelivery(SenderOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var channels = new List<(INoticeChannel, ChannelResilienceOptions)>
        {
            (new HttpGatewayChannel(ChannelNames.Sms, options.Sms.Url, options.Sms.AuthHeader), options.Sms),
        };
        if (options.Voice.Url.Length > 0)
        {
            channels.Add((new HttpGatewayChannel(ChannelNames.Voice, options.Voice.Url, options.Voice.AuthHeader), options.Voice));
        }

        if (options.Smtp.Host.Length > 0)
        {
            channels.Add((new SmtpChannel(options.Smtp), options.Smtp));
        }

        return new NoticeDelivery(channels, time);
    }
}
