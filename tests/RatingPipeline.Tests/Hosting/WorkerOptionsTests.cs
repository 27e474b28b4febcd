using Microsoft.Extensions.Options;
using NUnit.Framework;
using RatingPipeline.Rater;
using RatingPipeline.Sender;

namespace RatingPipeline.Tests.Hosting;

/// <summary>
/// Both workers check their configuration the same way when they start: every problem is named with its key, the
/// topic names by one rule, and a renamed key is refused with its new name rather than silently ignored.
/// </summary>
[TestFixture]
public sealed class WorkerOptionsTests
{
    private static string Tariff => Path.Combine(AppContext.BaseDirectory, "Examples", "basic", "tariff.json");

    [Test]
    public async Task The_rater_refuses_a_former_millisecond_key_with_its_new_name_beside_every_other_problem_of_its_section()
    {
        var failures = await StartFailuresAsync(() => BuildRater(new()
        {
            ["Rater:AckTimeoutMs"] = "5000",
            ["Rater:BatchMaxWait"] = "00:02:00",
        }));

        Assert.That(failures, Is.EquivalentTo(new[]
        {
            "Rater:BatchMaxWait must be 00:00:00.001..00:01:00",
            "Rater:AckTimeoutMs is now Rater:AckTimeout, a duration (e.g. 00:01:00)",
        }));
    }

    [Test]
    public async Task The_rater_names_both_roles_of_a_shared_topic_name()
    {
        var failures = await StartFailuresAsync(() => BuildRater(new() { ["Topics:Bills"] = "cdrs" }));
        Assert.That(failures, Is.EqualTo(new[] { "Topics Cdrs and Bills share the name 'cdrs'." }));
    }

    [Test]
    public void The_rater_takes_durations_and_names_a_duration_out_of_range()
    {
        var options = new RaterOptions
        {
            TariffPath = Tariff,
            BatchMaxWait = TimeSpan.FromMilliseconds(50),
            AckTimeout = TimeSpan.FromSeconds(30),
            StatisticsInterval = TimeSpan.Zero,
            TariffReloadInterval = TimeSpan.FromMilliseconds(200),
        };
        Assert.That(options.Validate(), Is.Empty);
        options.AckTimeout = TimeSpan.FromMilliseconds(10);
        Assert.That(options.Validate(), Is.EqualTo(new[] { "Rater:AckTimeout must be 00:00:01..01:00:00" }));
    }

    [Test]
    public async Task The_sender_names_a_blank_topic_by_its_key_and_a_missing_bootstrap()
    {
        var blankTopic = await StartFailuresAsync(() => SenderHost.Build([], new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Http:Url"] = "http://127.0.0.1:0",
            ["Sender:Sms:Url"] = "http://127.0.0.1:1/sms",
            ["Topics:NoticeLog"] = " ",
        }));
        var noBootstrap = await StartFailuresAsync(() => SenderHost.Build([], new Dictionary<string, string?>
        {
            ["Http:Url"] = "http://127.0.0.1:0",
            ["Sender:Sms:Url"] = "http://127.0.0.1:1/sms",
        }));

        Assert.That(blankTopic, Is.EqualTo(new[] { "Topics:NoticeLog: the topic name for NoticeLog is blank." }));
        Assert.That(noBootstrap, Is.EqualTo(new[] { "Kafka:BootstrapServers is required (host:port[,host:port…])" }));
    }

    [Test]
    public async Task The_sender_refuses_a_session_timeout_out_of_range_and_static_membership_without_an_instance_name()
    {
        Dictionary<string, string?> Settings(string key, string value) => new()
        {
            ["Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["Http:Url"] = "http://127.0.0.1:0",
            ["Sender:Sms:Url"] = "http://127.0.0.1:1/sms",
            [key] = value,
        };

        var session = await StartFailuresAsync(() => SenderHost.Build([], Settings("Kafka:SessionTimeout", "00:00:00.500")));
        var settings = Settings("Sender:StaticMembership", "true");
        settings["Sender:InstanceId"] = " ";
        var membership = await StartFailuresAsync(() => SenderHost.Build([], settings));

        Assert.That(session, Is.EqualTo(new[] { "Kafka:SessionTimeout must be 00:00:01..00:30:00" }));
        Assert.That(membership, Is.EqualTo(new[] { "Sender:InstanceId must not be empty with Sender:StaticMembership" }));
    }

    private static Microsoft.AspNetCore.Builder.WebApplication BuildRater(Dictionary<string, string?> settings)
    {
        settings["Kafka:BootstrapServers"] = "127.0.0.1:1";
        settings["Http:Url"] = "http://127.0.0.1:0";
        settings["Rater:TariffPath"] = Tariff;
        return RaterHost.Build([], settings);
    }

    /// <summary>Starts the worker built by <paramref name="build"/> and returns what its start-up validation refused.</summary>
    private static async Task<IReadOnlyList<string>> StartFailuresAsync(Func<Microsoft.AspNetCore.Builder.WebApplication> build)
    {
        await using var app = build();
        try
        {
            await app.StartAsync();
        }
        catch (OptionsValidationException e)
        {
            return e.Failures.ToList();
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is OptionsValidationException))
        {
            return e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures).ToList();
        }

        Assert.Fail("the worker started despite its configuration");
        return [];
    }
}
