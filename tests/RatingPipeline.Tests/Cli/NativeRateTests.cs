using NUnit.Framework;
using RatingPipeline.Cli;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// When ratingctl hands a command line to ratingctl-native: a <c>rate</c> command, or a <c>rerate</c> over files, with
/// the native program beside it, not switched off and not asking for help; everything else runs in ratingctl.
/// </summary>
[TestFixture]
public sealed class NativeRateTests
{
    private string _folder = "";

    [SetUp]
    public void MakeFolder()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"native-rate-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);
    }

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void A_rate_command_goes_to_the_native_program_beside_ratingctl_when_there_is_one()
    {
        string[] rate = ["rate", "--tariff", "t.json", "--subscribers", "s.jsonl", "--cdrs", "c.jsonl", "--out", "o"];
        Assert.That(NativeRate.ProgramFor(rate, null, _folder), Is.Null, "no native program yet");

        var program = Path.Combine(_folder, NativeRate.FileName);
        File.WriteAllText(program, "");
        Assert.Multiple(() =>
        {
            Assert.That(NativeRate.ProgramFor(rate, null, _folder), Is.EqualTo(program));
            Assert.That(NativeRate.ProgramFor(rate, "1", _folder), Is.EqualTo(program));
            Assert.That(NativeRate.ProgramFor(rate, "0", _folder), Is.Null, $"{NativeRate.Variable}=0");
            Assert.That(NativeRate.ProgramFor(["rate", "--help"], null, _folder), Is.Null, "help names ratingctl");
            Assert.That(NativeRate.ProgramFor(["rate", "-h"], null, _folder), Is.Null);
            Assert.That(NativeRate.ProgramFor(["rerate", "--tariff", "t.json", "--rated", "r.jsonl"], null, _folder), Is.EqualTo(program), "rerate over files");
            Assert.That(NativeRate.ProgramFor(["rerate", "--tariff", "t.json", "--from-topic", "--bootstrap", "b:9092"], null, _folder), Is.Null,
                "the Kafka client stays in ratingctl");
            Assert.That(NativeRate.ProgramFor(["rerate", "--from-topic=true", "--tariff", "t.json"], null, _folder), Is.Null);
            Assert.That(NativeRate.ProgramFor(["rerate", "--help"], null, _folder), Is.Null);
            Assert.That(NativeRate.ProgramFor(["audit", "zero-rating"], null, _folder), Is.Null, "audit stays in ratingctl");
            Assert.That(NativeRate.ProgramFor(["demo"], null, _folder), Is.Null);
            Assert.That(NativeRate.ProgramFor([], null, _folder), Is.Null);
        });
    }
}
