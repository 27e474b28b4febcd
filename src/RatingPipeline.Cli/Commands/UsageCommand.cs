using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using RatingPipeline.Kafka;
using RatingPipeline.Rater.Usage;
using Spectre.Console;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// Options of <c>ratingctl usage</c>: the subscriber, a rater's URL or the cluster to find the owning rater in, the
/// bearer token (else <c>RATINGPIPELINE_TOKEN</c>).
/// </summary>
public sealed record UsageOptions(string Msisdn, string? Url, string? Token, UsageCluster? Cluster = null);

/// <summary>
/// Where <c>ratingctl usage --bootstrap</c> finds the owner of a subscriber: the cluster, the <c>cdrs</c> topic (its
/// partition count), the <c>rater-endpoints</c> topic, the raters' partitioner (<c>Http:Partitioner</c>) and
/// librdkafka properties.
/// </summary>
public sealed record UsageCluster(string Bootstrap, string CdrsTopic, string EndpointsTopic, string Partitioner, IReadOnlyDictionary<string, string> Properties)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
}

/// <summary>
/// <c>ratingctl usage MSISDN --url URL [--token T]</c>: asks a rater's usage query API for a subscriber's current cycle
/// and prints it as tables. Any rater of the group will do: one that does not own the subscriber's partition answers
/// 307 with the owner's URL, which this command follows (at most 3 times) sending the token again — HTTP clients drop
/// the <c>Authorization</c> header on a redirect to another host, so <c>curl -L</c> alone would not.
/// <para>
/// <c>ratingctl usage MSISDN --bootstrap HOST:PORT</c> finds the owner itself, as the raters do: the subscriber's
/// partition of <c>cdrs</c> by the producers' partitioner (<see cref="KeyPartitioner"/>), and that partition's last
/// record on <c>rater-endpoints</c> (read to its end with <see cref="RaterEndpoints.ReadToEnd"/>); then it asks that
/// URL as <c>--url</c> does. The environment's <c>Kafka__Properties__NAME</c>, <c>Topics__Cdrs</c>,
/// <c>Topics__RaterEndpoints</c> and <c>Http__Partitioner</c> apply when the options are not given, as for the raters.
/// </para>
/// </summary>
public static class UsageCommand
{
    private const string Me = "ratingctl usage";
    private const int MaxRedirects = 3;

    public static Command Build()
    {
        var msisdn = new Argument<string>("msisdn") { Description = "The subscriber (digits)" };
        var url = new Option<string?>("--url") { Description = "A rater's HTTP address, e.g. http://127.0.0.1:9464 (a redirect to the owner is followed)" };
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Kafka bootstrap servers, HOST:PORT[,…]: find the rater that owns the subscriber on the rater-endpoints topic (instead of --url)",
        };
        var partitioner = new Option<string?>("--partitioner")
        {
            Description = "With --bootstrap: the partitioner of the cdrs producers, consistent or murmur2 (default: the environment's Http__Partitioner, else consistent)",
        };
        var cdrsTopic = new Option<string?>("--cdrs-topic") { Description = "With --bootstrap: the CDR topic (default: the environment's Topics__Cdrs, else cdrs)" };
        var endpointsTopic = new Option<string?>("--endpoints-topic")
        {
            Description = "With --bootstrap: the raters' endpoints topic (default: the environment's Topics__RaterEndpoints, else rater-endpoints)",
        };
        var token = new Option<string?>("--token") { Description = "Bearer token of the query API (Http:Auth:Token); default: the RATINGPIPELINE_TOKEN environment variable" };
        var command = new Command("usage", "Show a subscriber's current cycle (usage, spend, balance, services) from the rater's usage query API.")
        {
            msisdn, url, bootstrap, partitioner, cdrsTopic, endpointsTopic, token,
        };
        command.SetAction(async (result, cancel) =>
        {
            var environment = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            UsageCluster? cluster = null;
            if (result.GetValue(bootstrap) is { Length: > 0 } servers)
            {
                cluster = ClusterOf(servers, result.GetValue(cdrsTopic), result.GetValue(endpointsTopic), result.GetValue(partitioner), environment);
            }

            return await RunAsync(
                new UsageOptions(result.GetValue(msisdn)!, result.GetValue(url), result.GetValue(token) ?? Environment.GetEnvironmentVariable("RATINGPIPELINE_TOKEN"), cluster),
                Console.Out, Console.Error, cancel);
        });
        return command;
    }

    /// <summary>The cluster options, the environment's (as the raters read it) where an option is not given.</summary>
    public static UsageCluster ClusterOf(string bootstrap, string? cdrsTopic, string? endpointsTopic, string? partitioner, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new TopicNames();
        static string First(params string?[] values) => values.First(v => !string.IsNullOrWhiteSpace(v))!;
        var properties = configuration.GetSection("Kafka:Properties").GetChildren()
            .Where(p => p.Value is not null)
            .ToDictionary(p => p.Key, p => p.Value!, StringComparer.Ordinal);
        return new UsageCluster(bootstrap, First(cdrsTopic, configuration["Topics:Cdrs"], defaults.Cdrs),
            First(endpointsTopic, configuration["Topics:RaterEndpoints"], defaults.RaterEndpoints),
            First(partitioner, configuration["Http:Partitioner"], KeyPartitioner.Consistent), properties);
    }

    /// <summary>
    /// The URL of the rater that owns <paramref name="msisdn"/>'s partition as <c>rater-endpoints</c> names it; null, with
    /// the reason printed, when the cluster cannot say.
    /// </summary>
    public static async Task<string?> OwnerAsync(string msisdn, UsageCluster cluster, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(stderr);
        try
        {
            var partitions = ClockCommand.Partitions(cluster.Bootstrap, cluster.CdrsTopic, UsageCluster.Timeout, cluster.Properties).Count;
            var partition = KeyPartitioner.Partition(cluster.Partitioner, Encoding.ASCII.GetBytes(msisdn), partitions);
            var owners = RaterEndpoints.ReadToEnd(cluster.Bootstrap, cluster.EndpointsTopic, cluster.Properties, UsageCluster.Timeout, out var ignored);
            if (ignored > 0)
            {
                await stderr.WriteLineAsync($"{Me}: {ignored} record(s) of {cluster.EndpointsTopic} are no endpoint; skipped");
            }

            if (!owners.TryGetValue(partition, out var owner))
            {
                await stderr.WriteLineAsync($"{Me}: no rater has advertised partition {partition} of {cluster.CdrsTopic} on {cluster.EndpointsTopic} yet (is a rater running and assigned?)");
                return null;
            }

            await stderr.WriteLineAsync($"{Me}: partition {partition} of {cluster.CdrsTopic} is owned by {owner.Instance} at {owner.Url}");
            return owner.Url;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or KafkaException or ArgumentException)
        {
            await stderr.WriteLineAsync($"{Me}: {e.Message}");
            return null;
        }
    }

    /// <returns>0 with the answer printed; 2 for bad input; 1 when the rater refused or did not answer (its reason printed).</returns>
    public static async Task<int> RunAsync(UsageOptions options, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (options.Msisdn.Length == 0 || !options.Msisdn.All(char.IsAsciiDigit))
        {
            await stderr.WriteLineAsync($"{Me}: the msisdn must be digits, not {options.Msisdn}");
            return 2;
        }

        if ((options.Url is null) == (options.Cluster is null))
        {
            await stderr.WriteLineAsync($"{Me}: give either --url (a rater's address) or --bootstrap (the cluster to find the owning rater in)");
            return 2;
        }

        if (options.Cluster is { } cluster && !KeyPartitioner.IsKnown(cluster.Partitioner))
        {
            await stderr.WriteLineAsync($"{Me}: --partitioner {cluster.Partitioner}: {KeyPartitioner.Consistent} or {KeyPartitioner.Murmur2}");
            return 2;
        }

        var url = options.Url ?? await OwnerAsync(options.Msisdn, options.Cluster!, stderr);
        if (url is null)
        {
            return 1;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            await stderr.WriteLineAsync($"{Me}: --url {url}: give the rater's address, e.g. http://127.0.0.1:9464");
            return 2;
        }

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(15) };
        var uri = new Uri(baseUri, $"/v1/subscribers/{options.Msisdn}/usage");
        try
        {
            for (var hop = 0; ; hop++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                if (options.Token is { Length: > 0 } token)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                }

                using var response = await http.SendAsync(request, cancel);
                var body = await response.Content.ReadAsStringAsync(cancel);
                if (response.StatusCode is HttpStatusCode.TemporaryRedirect && response.Headers.Location is { } location && hop < MaxRedirects)
                {
                    uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                    await stderr.WriteLineAsync($"{Me}: the subscriber's partition is answered by {uri.GetLeftPart(UriPartial.Authority)}");
                    continue;
                }

                if (response.StatusCode != HttpStatusCode.OK)
                {
                    var retry = response.Headers.RetryAfter?.Delta is { } delta ? $" (retry after {delta.TotalSeconds:0} s)" : "";
                    await stderr.WriteLineAsync($"{Me}: {(int)response.StatusCode} {ErrorOf(body)}{retry}");
                    return 1;
                }

                Print(JsonDocument.Parse(body).RootElement, stdout);
                return 0;
            }
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"{Me}: {uri.GetLeftPart(UriPartial.Authority)} did not answer: {e.Message}");
            return 1;
        }
        catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
        {
            await stderr.WriteLineAsync($"{Me}: {uri.GetLeftPart(UriPartial.Authority)} did not answer within 15 s");
            return 1;
        }
        catch (JsonException e)
        {
            await stderr.WriteLineAsync($"{Me}: the answer is not JSON: {e.Message}");
            return 1;
        }
    }

    private static string ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var error) ? error.GetString() ?? body : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    /// <summary>The answer as tables: the cycle and its sums, usage per type, services.</summary>
    public static void Print(JsonElement usage, TextWriter stdout)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        var currency = Text(usage, "currency") is { Length: > 0 } c ? c : "";
        var summary = new Table().Title($"usage of {Escape(Text(usage, "msisdn"))}").AddColumn("").AddColumn("").HideHeaders();
        summary.AddRow("cycle", Escape($"{Text(usage, "cycle") ?? "(no usage yet)"}{(Text(usage, "cycleEnd") is { } end ? $" to {end}" : "")}"));
        summary.AddRow("plan", Escape(Text(usage, "plan") + (usage.GetProperty("planKnown").GetBoolean() ? "" : " (not in the tariff)")));
        summary.AddRow("spend", Money(usage.GetProperty("spend"), currency));
        var data = usage.GetProperty("data");
        summary.AddRow("capped data charges", $"{Money(data.GetProperty("cappedCharges"), currency)} of cap {Money(data.GetProperty("cap"), currency)}");
        if (usage.GetProperty("prepaid") is { ValueKind: JsonValueKind.Object } prepaid)
        {
            summary.AddRow("prepaid remaining", $"{Money(prepaid.GetProperty("remaining"), currency)} (balance {Money(prepaid.GetProperty("balance"), currency)} at {Escape(Text(prepaid, "balanceAsOf"))})");
        }

        var reminders = usage.GetProperty("reminders");
        var fired = new List<string>();
        foreach (var type in usage.GetProperty("usage").EnumerateObject())
        {
            fired.AddRange(type.Value.GetProperty("remindersFired").EnumerateArray().Select(t => $"{type.Name} {t.GetInt32()}%"));
        }

        fired.AddRange(new[] { "dataCap", "highSpend", "lowBalance" }.Where(k => reminders.GetProperty(k).GetBoolean()));
        summary.AddRow("reminders this cycle", fired.Count == 0 ? "none" : Escape(string.Join(", ", fired)));
        summary.AddRow("tariff version", Escape(Text(usage, "tariffVersion")));
        summary.AddRow("as of", $"partition {usage.GetProperty("partition").GetInt32()}, input offset {usage.GetProperty("offsetTag").GetInt64()}");
        console.Write(summary);

        var types = new Table().AddColumn("type").AddColumn("unit").AddColumn(new TableColumn("used").RightAligned())
            .AddColumn(new TableColumn("allowance").RightAligned()).AddColumn(new TableColumn("remaining").RightAligned());
        foreach (var type in usage.GetProperty("usage").EnumerateObject())
        {
            types.AddRow(type.Name, Text(type.Value, "unit") ?? "", Number(type.Value.GetProperty("used")), Number(type.Value.GetProperty("allowance")),
                Number(type.Value.GetProperty("remaining")));
        }

        console.Write(types);
        var services = usage.GetProperty("services");
        if (services.GetArrayLength() > 0)
        {
            var table = new Table().AddColumn("service").AddColumn("name").AddColumn(new TableColumn("price").RightAligned())
                .AddColumn("charged this cycle").AddColumn("next charge");
            foreach (var s in services.EnumerateArray())
            {
                table.AddRow(Escape(Text(s, "id")), Escape(Text(s.GetProperty("name"), "en")), Money(s.GetProperty("price"), currency),
                    s.GetProperty("chargedThisCycle").GetBoolean() ? "yes" : "no",
                    Escape(Text(s, "nextChargeAt") ?? (Text(s, "cancelledAt") is { } cancelled ? $"none (cancelled {cancelled})" : "none")));
            }

            console.Write(table);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Escape(string? text) => Markup.Escape(text ?? "");

    private static string Number(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetInt64().ToString("N0", CultureInfo.InvariantCulture) : "-";

    private static string Money(JsonElement micros, string currency) =>
        micros.ValueKind == JsonValueKind.Number
            ? Escape($"{(micros.GetInt64() / 1_000_000m).ToString("0.00####", CultureInfo.InvariantCulture)} {currency}".TrimEnd())
            : "none";
}
