using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RatingPipeline.Sender;

namespace RatingPipeline.Cli.Commands;

/// <summary><c>ratingctl sender</c>: runs the sender worker until stopped.</summary>
public static class SenderCommand
{
    public static Command Build()
    {
        var command = new Command(
            "sender",
            "Run the sender worker: reminders become notices (SMS, e-mail, voice) under the consumer-protection rules. "
            + "Configuration from appsettings.json, environment (Kafka__BootstrapServers, Sender__Sms__Url, ...) "
            + "and arguments such as --Kafka:BootstrapServers=host:9092 --Sender:Sms:Url=https://gateway/sms (see docs/sender.md).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((result, cancel) => RunAsync([.. result.UnmatchedTokens], Console.Error, cancel));
        return command;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stderr, CancellationToken cancel)
    {
        try
        {
            await using var app = SenderHost.Build(args);
            await app.RunAsync(cancel);
            return 0;
        }
        catch (OptionsValidationException e)
        {
            await stderr.WriteLineAsync($"sender: configuration refused:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", e.Failures)}");
            return 2;
        }
    }
}
