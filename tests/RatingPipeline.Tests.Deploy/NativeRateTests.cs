using System.Runtime.Versioning;
using NUnit.Framework;
using RatingPipeline.Testing;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// ratingctl published for linux-x64 with ratingctl-native beside it (as bench/lib.sh publishes it): <c>ratingctl rate</c>
/// is handed to the natively compiled program and writes byte for byte what the same command writes in ratingctl's own
/// process (<c>RATINGCTL_NATIVE=0</c>) and what it writes with <c>--no-huge-pages</c>, with the same summary, messages and exit codes; the hand-over passes every
/// argument unchanged and keeps help and the other commands in ratingctl. The same for <c>ratingctl rerate</c> over files,
/// with and without <c>--old-tariff</c>.
/// </summary>
[TestFixture]
[Category("deploy")]
[Category("needs-gcc")]
[NonParallelizable]
[SupportedOSPlatform("linux")]
public sealed class NativeRateTests
{
    private static readonly string[] Outputs = ["rated.jsonl", "reminders.jsonl", "rejected.jsonl", "bills.jsonl"];

    private string _folder = "";
    private string _app = "";
    private string _data = "";

    [OneTimeSetUp]
    public void PublishBoth()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"ratingpipeline-native-{Environment.ProcessId}");
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        _app = Path.Combine(_folder, "app");
        var environment = new Dictionary<string, string?> { ["MSBUILDDISABLENODEREUSE"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" };
        foreach (var (project, extra) in new[]
                 {
                     ("src/RatingPipeline.Cli", new[] { "--self-contained", "false", "-p:PublishReadyToRun=true" }),
                     ("src/RatingPipeline.Cli.Native", Array.Empty<string>()),
                 })
        {
            var publish = ChildProcess.Run("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", .. extra, "-o", _app,
                "--disable-build-servers", "-nodeReuse:false", "-v:q", "-nologo"], TimeSpan.FromMinutes(8), RepoFiles.Root, environment);
            Assert.That(publish.ExitCode, Is.Zero, publish.ToString());
        }

        _data = Path.Combine(_folder, "data");
        var generate = Ratingctl(["generate", "--subscribers", "20000", "--cdrs", "60000", "--seed", "5", "--out", _data], native: false);
        Assert.That(generate.ExitCode, Is.Zero, generate.ToString());
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Test]
    public void Native_rate_writes_the_bytes_of_rate_in_ratingctl_s_own_process()
    {
        var native = Ratingctl(RateArgs("native", "--lanes", "2"), native: true);
        var managed = Ratingctl(RateArgs("managed", "--lanes", "2"), native: false);
        var oneLane = Ratingctl(RateArgs("native-one-lane", "--lanes", "1"), native: true);
        var smallPages = Ratingctl(RateArgs("native-small-pages", "--lanes", "2", "--no-huge-pages"), native: true);
        Assert.Multiple(() =>
        {
            Assert.That(native.ExitCode, Is.Zero, native.ToString());
            Assert.That(smallPages.ExitCode, Is.Zero, smallPages.ToString());
            Assert.That(smallPages.Stdout, Is.EqualTo(managed.Stdout));
            Assert.That(managed.ExitCode, Is.Zero, managed.ToString());
            Assert.That(oneLane.ExitCode, Is.Zero, oneLane.ToString());
            Assert.That(native.Stdout, Does.Match(@"^[1-9]\d* rated, [1-9]\d* rejected, [1-9]\d* reminders, [1-9]\d* bills"));
            Assert.That(native.Stdout, Is.EqualTo(managed.Stdout));
            Assert.That(oneLane.Stdout, Is.EqualTo(managed.Stdout));
            foreach (var file in Outputs)
            {
                var expected = File.ReadAllBytes(Path.Combine(_folder, "managed", file));
                Assert.That(File.ReadAllBytes(Path.Combine(_folder, "native", file)), Is.EqualTo(expected), file);
                Assert.That(File.ReadAllBytes(Path.Combine(_folder, "native-one-lane", file)), Is.EqualTo(expected), $"{file}, one lane");
                Assert.That(File.ReadAllBytes(Path.Combine(_folder, "native-small-pages", file)), Is.EqualTo(expected), $"{file}, --no-huge-pages");
            }
        });
    }

    [Test]
    public void Native_rerate_writes_the_bytes_of_rerate_in_ratingctl_s_own_process_with_and_without_the_old_tariff()
    {
        var rated = Ratingctl(RateArgs("rated-once"), native: true);
        Assert.That(rated.ExitCode, Is.Zero, rated.ToString());

        // The late whitelist change of bench/rerate-throughput.sh: the 2026 ports zero-rated from 2012, a new version.
        var tariff = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(_data, "tariff.json")))!.AsObject();
        tariff["version"] = "native-rerate.1";
        tariff["zeroRated"]!.AsArray().Single(r => (string?)r!["pattern"] == "0044753741039*")!["from"] = "2012-05-20T00:00:00+08:00";
        var newTariff = Path.Combine(_folder, "new-tariff.json");
        File.WriteAllText(newTariff, tariff.ToJsonString());
        string[] Rerate(string output, params string[] more) =>
            ["rerate", "--tariff", newTariff, "--subscribers", Path.Combine(_data, "subscribers.jsonl"), "--rated", Path.Combine(_folder, "rated-once", "rated.jsonl"),
                "--cdrs", Path.Combine(_data, "cdrs.jsonl"), "--out", Path.Combine(_folder, output), "--no-progress", .. more];

        foreach (var (name, more) in new[] { ("full", Array.Empty<string>()), ("scoped", ["--old-tariff", Path.Combine(_data, "tariff.json")]) })
        {
            var native = Ratingctl(Rerate($"rerate-native-{name}", more), native: true);
            var managed = Ratingctl(Rerate($"rerate-managed-{name}", more), native: false);
            Assert.Multiple(() =>
            {
                Assert.That(managed.ExitCode, Is.Zero, managed.ToString());
                Assert.That(managed.Stdout, Does.Match(@"^\d+ records compared, [1-9]\d* adjustments"), name);
                Assert.That((native.ExitCode, native.Stdout, native.Stderr), Is.EqualTo((managed.ExitCode, managed.Stdout, managed.Stderr)), name);
                foreach (var file in new[] { "adjustments.jsonl", "rerate-mismatches.jsonl", "adjustment-totals.json" })
                {
                    Assert.That(File.ReadAllBytes(Path.Combine(_folder, $"rerate-native-{name}", file)),
                        Is.EqualTo(File.ReadAllBytes(Path.Combine(_folder, $"rerate-managed-{name}", file))), $"{name}: {file}");
                }
            });
        }

        Assert.That(File.ReadAllText(Path.Combine(_folder, "rerate-native-scoped", "adjustments.jsonl")),
            Is.EqualTo(File.ReadAllText(Path.Combine(_folder, "rerate-native-full", "adjustments.jsonl"))), "the narrowed re-rate's ledger is the full one's");
    }

    [Test]
    public void Native_rate_refuses_what_rate_refuses_with_the_same_message_and_exit_code()
    {
        string[] args = ["rate", "--tariff", Path.Combine(_folder, "no-such-tariff.json"), "--subscribers", Path.Combine(_data, "subscribers.jsonl"),
            "--cdrs", Path.Combine(_data, "cdrs.jsonl"), "--out", Path.Combine(_folder, "refused"), "--no-progress"];
        var native = Ratingctl(args, native: true);
        var managed = Ratingctl(args, native: false);
        var direct = ChildProcess.Run(Path.Combine(_app, "ratingctl-native"), args, TimeSpan.FromMinutes(1), _folder);
        Assert.Multiple(() =>
        {
            Assert.That(managed.ExitCode, Is.EqualTo(2), managed.ToString());
            Assert.That(managed.Stderr, Does.StartWith("ratingctl rate: tariff "));
            Assert.That((native.ExitCode, native.Stderr), Is.EqualTo((managed.ExitCode, managed.Stderr)));
            Assert.That((direct.ExitCode, direct.Stderr), Is.EqualTo((managed.ExitCode, managed.Stderr)));
        });
    }

    [Test]
    public void The_hand_over_passes_every_argument_and_keeps_help_and_other_commands_in_ratingctl()
    {
        // A copy of the published folder whose native program only writes down what it was given.
        var copy = Path.Combine(_folder, "recording");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(_app))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)), overwrite: true);
        }

        var heard = Path.Combine(_folder, "heard.txt");
        var recorder = Path.Combine(copy, "ratingctl-native");
        File.WriteAllText(recorder, $"#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\" > '{heard}'\nexit 7\n");
        File.SetUnixFileMode(recorder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string[] args = ["rate", "--tariff", "a b.json", "--subscribers", "ü.jsonl", "--cdrs", "c.jsonl", "--out", "o", "--lanes", "3"];

        var handed = ChildProcess.Run(Path.Combine(copy, "ratingctl"), args, TimeSpan.FromMinutes(1), _folder);
        var help = ChildProcess.Run(Path.Combine(copy, "ratingctl"), ["rate", "--help"], TimeSpan.FromMinutes(1), _folder);
        var other = ChildProcess.Run(Path.Combine(copy, "ratingctl"), ["generate", "--help"], TimeSpan.FromMinutes(1), _folder);
        var heardRate = File.ReadAllLines(heard);
        string[] rerate = ["rerate", "--tariff", "n.json", "--old-tariff", "o.json", "--subscribers", "s.jsonl", "--rated", "r.jsonl", "--cdrs", "c.jsonl", "--out", "o"];
        var rerateHanded = ChildProcess.Run(Path.Combine(copy, "ratingctl"), rerate, TimeSpan.FromMinutes(1), _folder);
        var heardRerate = File.ReadAllLines(heard);
        var fromTopic = ChildProcess.Run(Path.Combine(copy, "ratingctl"), ["rerate", "--tariff", "n.json", "--from-topic", "--out", "o"], TimeSpan.FromMinutes(1), _folder);
        Assert.Multiple(() =>
        {
            Assert.That(handed.ExitCode, Is.EqualTo(7), "the native program's exit code is ratingctl's");
            Assert.That(heardRate, Is.EqualTo(new[] { recorder }.Concat(args)));
            Assert.That(rerateHanded.ExitCode, Is.EqualTo(7), "rerate over files is handed over");
            Assert.That(heardRerate, Is.EqualTo(new[] { recorder }.Concat(rerate)));
            Assert.That((fromTopic.ExitCode, fromTopic.Stderr), Is.EqualTo((2, "ratingctl rerate: --from-topic needs --bootstrap HOST:PORT\n")), "topic mode stays in ratingctl");
            Assert.That(help.ExitCode, Is.Zero, help.ToString());
            Assert.That(help.Stdout, Does.Contain("ratingctl rate [options]"));
            Assert.That(other.ExitCode, Is.Zero, other.ToString());
        });
    }

    private string[] RateArgs(string output, params string[] more) =>
        ["rate", "--tariff", Path.Combine(_data, "tariff.json"), "--subscribers", Path.Combine(_data, "subscribers.jsonl"),
            "--cdrs", Path.Combine(_data, "cdrs.jsonl"), "--out", Path.Combine(_folder, output), "--no-progress", .. more];

    private ToolResult Ratingctl(string[] args, bool native) => ChildProcess.Run(Path.Combine(_app, "ratingctl"), args, TimeSpan.FromMinutes(3), _folder,
        new Dictionary<string, string?> { ["RATINGCTL_NATIVE"] = native ? null : "0" });
}
