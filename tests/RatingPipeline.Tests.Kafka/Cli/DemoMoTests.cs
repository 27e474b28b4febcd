using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;
using RatingPipeline.Testing;
using RatingPipeline.Tests.Deploy;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// <c>ratingctl demo</c> as a user runs it (<c>dotnet ratingctl.dll demo --no-live</c>, a child process): the
/// <c>curl</c> line it prints, run as printed by <c>sh</c> in another "terminal", sends an SMS from the sample subscriber
/// to the demo's sender; the reply SMS is printed while the demo runs and listed in its summary. The same line with
/// <c>TD 1</c> and <c>查询</c> as text cancels a service and gives the usage; without the token it is refused.
/// </summary>
[TestFixture]
[Category("kafka")]
[Category("cli")]
public sealed partial class DemoMoTests
{
    private const string SmsPrefix = "SMS to the sender: ";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Test]
    public async Task The_printed_curl_sends_0000_TD_1_and_查询_from_the_sample_subscriber_and_the_replies_are_printed_and_listed()
    {
        var port = LoopbackPort.Free();
        using var demo = ChildProcess.Start(DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "ratingctl.dll"), "demo", "--duration", "45s", "--no-live",
            "--subscribers", "200", "--rate", "200", "--http-url", $"http://127.0.0.1:{port}"], AppContext.BaseDirectory);
        try
        {
            var curl = await WaitForAsync(demo, () => demo.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(SmsPrefix, StringComparison.Ordinal))?[SmsPrefix.Length..].Trim());
            Assert.That(curl, Does.StartWith("curl ").And.Contain("/v1/mo").And.Contain("\"text\":\"0000\"").And.Contain("Authorization: Bearer "));
            var msisdn = SampleFrom().Match(curl).Groups[1].Value;
            Assert.That(msisdn, Is.EqualTo("8613800000000"));

            // As printed: 0000 lists the sample subscriber's two services.
            var list = Shell(curl);
            Assert.That(list.Stdout, Does.Contain("\"status\":\"accepted\""), list.ToString());
            var listed = await WaitForAsync(demo, () => Reply(demo, msisdn, "【包月业务】"));
            Assert.That(listed, Does.Contain("1.新闻早报").And.Contain("2.音乐会员"));

            // Run again with another text, as the help says: each run is a new SMS (a new id).
            Assert.That(Shell(curl.Replace("\"text\":\"0000\"", "\"text\":\"TD 1\"", StringComparison.Ordinal)).Stdout, Does.Contain("accepted"));
            Assert.That(await WaitForAsync(demo, () => Reply(demo, msisdn, "【退订成功】")), Is.EqualTo("【退订成功】已为您退订：1.新闻早报；以上业务不会再收费。"));
            Assert.That(Shell(curl.Replace("\"text\":\"0000\"", "\"text\":\"查询\"", StringComparison.Ordinal)).Stdout, Does.Contain("accepted"));
            Assert.That(await WaitForAsync(demo, () => Reply(demo, msisdn, "【用量查询】")), Does.Match("^【用量查询】.*通话已用.*消费[0-9.]+元。$"), "the demo's rater answered the usage");

            // Without the token the sender refuses the SMS.
            var refused = Shell(TokenHeader().Replace(curl, "") + " -o /dev/null -w '%{http_code}'");
            Assert.That(refused.Stdout.Trim(), Is.EqualTo("401"));

            Assert.That(demo.WaitForExit(TimeSpan.FromSeconds(150)), Is.True, "the demo ends after its duration");
            Assert.Multiple(() =>
            {
                Assert.That(demo.Stdout, Does.Contain("replies to SMS from subscribers: 3"), demo.Stdout);
                Assert.That(demo.Stdout, Does.Contain($"  SMS reply to {msisdn}: 【退订成功】"), "the summary lists the replies");
                Assert.That(demo.Stderr, Is.Empty);
            });
        }
        finally
        {
            if (!demo.HasExited)
            {
                demo.Kill();
            }
        }
    }

    private static string? Reply(ChildProcess demo, string msisdn, string start)
    {
        var prefix = $"SMS reply to {msisdn}: ";
        return demo.Stdout.Split('\n').Where(l => l.StartsWith(prefix + start, StringComparison.Ordinal)).Select(l => l[prefix.Length..].Trim()).FirstOrDefault();
    }

    private static ToolResult Shell(string line)
    {
        var result = ChildProcess.Run("sh", ["-c", line], TimeSpan.FromSeconds(30));
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return result;
    }

    private static async Task<string> WaitForAsync(ChildProcess demo, Func<string?> find)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            if (find() is { } found)
            {
                return found;
            }

            Assert.That(demo.HasExited, Is.False, $"the demo exited: {demo.Stdout}{demo.Stderr}");
            await Task.Delay(100);
        }

        Assert.Fail($"not seen within {Patience.TotalSeconds} s: {demo.Stdout}{demo.Stderr}");
        return "";
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : Process.GetCurrentProcess().MainModule?.FileName is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";

    [GeneratedRegex("\"from\":\"(\\d+)\"")]
    private static partial Regex SampleFrom();

    [GeneratedRegex(" -H 'Authorization: Bearer [0-9a-f]+'")]
    private static partial Regex TokenHeader();
}
