using System.CommandLine;
using NUnit.Framework;
using RatingPipeline.Cli;

namespace RatingPipeline.Tests.Cli;

/// <summary>
/// Every duration option of every <c>ratingctl</c> command takes a duration as people write it (<c>20s</c>, <c>2m</c>,
/// <c>1h</c>) as well as a <see cref="TimeSpan"/> (<c>00:00:20</c>), and refuses anything else with a message saying
/// how to write one.
/// </summary>
[TestFixture]
public sealed class DurationOptionTests
{
    private static IEnumerable<(Command Command, Option Option, string[] Path)> DurationOptions() => DurationOptions(Program.BuildRoot());

    private static IEnumerable<(Command Command, Option Option, string[] Path)> DurationOptions(RootCommand root)
    {
        static IEnumerable<(Command, Option, string[])> Walk(Command command, string[] path)
        {
            foreach (var option in command.Options.Where(o => o.ValueType == typeof(TimeSpan) || o.ValueType == typeof(TimeSpan?)))
            {
                yield return (command, option, path);
            }

            foreach (var sub in command.Subcommands)
            {
                foreach (var found in Walk(sub, [.. path, sub.Name]))
                {
                    yield return found;
                }
            }
        }

        return Walk(root, []);
    }

    private static IEnumerable<TestCaseData> Cases() =>
        from found in DurationOptions()
        from written in new[] { ("20s", TimeSpan.FromSeconds(20)), ("2m", TimeSpan.FromMinutes(2)), ("1h", TimeSpan.FromHours(1)), ("00:00:20", TimeSpan.FromSeconds(20)) }
        select new TestCaseData(found.Path, found.Option.Name, written.Item1, written.Item2)
            .SetArgDisplayNames(string.Join(' ', found.Path), found.Option.Name, written.Item1);

    [Test]
    public void The_commands_that_take_a_duration_are_all_found()
    {
        var found = DurationOptions().Select(f => $"{string.Join(' ', f.Path)} {f.Option.Name}").ToList();
        Assert.That(found, Is.SupersetOf(new[] { "demo --duration", "load --duration", "clock --every", "clock --timeout" }));
    }

    [TestCaseSource(nameof(Cases))]
    public void A_duration_option_takes_a_human_duration(string[] path, string option, string written, TimeSpan expected)
    {
        var root = Program.BuildRoot();
        var symbol = DurationOptions(root).Single(f => f.Path.SequenceEqual(path) && f.Option.Name == option).Option;
        var result = root.Parse([.. path, option, written]);
        var errors = result.Errors.Where(e => e.SymbolResult is System.CommandLine.Parsing.OptionResult o && o.Option.Name == option).Select(e => e.Message);
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty, written);
            Assert.That(Value(result, symbol), Is.EqualTo(expected));
        });
    }

    [TestCaseSource(nameof(Refused))]
    public void A_duration_option_refuses_what_is_no_duration(string[] path, string option, string written)
    {
        var result = Program.BuildRoot().Parse([.. path, option, written]);
        Assert.That(result.Errors.Select(e => e.Message), Has.Some.Contain($"'{written}' is not a duration: write e.g. 20s, 2m, 1h"));
    }

    private static IEnumerable<TestCaseData> Refused() =>
        from found in DurationOptions()
        from written in new[] { "20", "2 m", "soon" }
        select new TestCaseData(found.Path, found.Option.Name, written).SetArgDisplayNames(string.Join(' ', found.Path), found.Option.Name, written);

    private static TimeSpan? Value(ParseResult result, Option option) => option switch
    {
        Option<TimeSpan> span => result.GetValue(span),
        Option<TimeSpan?> maybe => result.GetValue(maybe),
        _ => null,
    };
}
