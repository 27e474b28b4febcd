using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// deploy/Dockerfile and .dockerignore read as instructions (no Docker engine here to build the image):
/// a multi-stage build from the .NET SDK to a chiseled ASP.NET runtime, framework-dependent, non-root, the
/// entry point and default command, the port, and nothing in the runtime stage that needs a shell.
/// </summary>
[TestFixture]
[Category("deploy")]
public sealed class DockerfileTests
{
    private static List<List<(string Keyword, string Arguments)>> Stages()
    {
        var instructions = new List<(string, string)>();
        var text = RepoFiles.ReadText("deploy", "Dockerfile").Replace("\\\n", " ", StringComparison.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            instructions.Add((line[..space].ToUpperInvariant(), line[(space + 1)..].Trim()));
        }

        var stages = new List<List<(string, string)>>();
        foreach (var instruction in instructions)
        {
            if (instruction.Item1 == "FROM")
            {
                stages.Add([]);
            }

            stages[^1].Add(instruction);
        }

        return stages;
    }

    [Test]
    public void Image_is_built_in_the_sdk_and_runs_on_the_chiseled_aspnet_runtime()
    {
        var stages = Stages();

        Assert.That(stages, Has.Count.EqualTo(2));
        Assert.That(stages[0][0].Arguments, Is.EqualTo("mcr.microsoft.com/dotnet/sdk:10.0 AS build"));
        Assert.That(stages[1][0].Arguments, Does.StartWith("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled"));
        Assert.That(stages[1].Where(i => i.Keyword == "COPY").Select(i => i.Arguments), Has.Some.StartsWith("--from=build /app"));
    }

    [Test]
    public void Runtime_stage_is_non_root_exposes_9464_and_runs_ratingctl_with_rater_by_default()
    {
        var runtime = Stages()[1];

        Assert.Multiple(() =>
        {
            Assert.That(runtime.Where(i => i.Keyword == "USER").Select(i => i.Arguments), Is.EqualTo(new[] { "$APP_UID" }));
            Assert.That(runtime.Where(i => i.Keyword == "EXPOSE").Select(i => i.Arguments), Is.EqualTo(new[] { "9464" }));
            Assert.That(runtime.Single(i => i.Keyword == "ENTRYPOINT").Arguments, Is.EqualTo("[\"dotnet\", \"ratingctl.dll\"]"));
            Assert.That(runtime.Single(i => i.Keyword == "CMD").Arguments, Is.EqualTo("[\"rater\"]"));
            Assert.That(runtime.Where(i => i.Keyword == "ENV").Select(i => i.Arguments), Has.Some.Contain("Http__Url=http://0.0.0.0:9464"));
            // A chiseled image has no shell: a RUN there could never work.
            Assert.That(runtime.Where(i => i.Keyword == "RUN"), Is.Empty);
        });
    }

    [Test]
    public void Publish_step_is_framework_dependent_release_of_the_cli()
    {
        var (args, removed) = PublishedApp.DockerfilePublishStep();

        Assert.That(args[..4], Is.EqualTo(new[] { "publish", "src/RatingPipeline.Cli", "-c", "Release" }));
        Assert.That(args, Does.Not.Contain("-r").And.Not.Contain("--runtime").And.Not.Contain("--self-contained"));
        Assert.That(args, Does.Contain("-o").And.Contain("/app"));
        Assert.That(removed, Has.All.StartWith("/app/"));
        Assert.That(removed, Has.None.Contain("linux-x64").And.None.Contain("linux-arm64"), "the native Kafka library for Linux stays");
    }

    [Test]
    public void Build_stage_copies_only_files_that_exist_and_the_build_context_keeps()
    {
        var build = Stages()[0];
        var sources = build.Where(i => i.Keyword == "COPY").Select(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1]).SelectMany(s => s).ToList();
        var ignored = RepoFiles.ReadText(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        Assert.That(sources, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var source in sources)
            {
                var path = RepoFiles.PathOf(source.TrimEnd('/'));
                Assert.That(File.Exists(path) || Directory.Exists(path), Is.True, $"COPY {source}: not in the repository");
                Assert.That(ignored.Where(p => !p.StartsWith("**", StringComparison.Ordinal)).Any(p => source.TrimEnd('/').StartsWith(p.TrimEnd('/'), StringComparison.Ordinal)),
                    Is.False, $"COPY {source}: excluded by .dockerignore");
            }
        });
        Assert.That(ignored, Is.SupersetOf(new[] { "**/bin/", "**/obj/", ".git/", "tests/" }));
        // Every project the CLI references, directly or not, is copied for the restore layer.
        var projects = ProjectClosure("src/RatingPipeline.Cli/RatingPipeline.Cli.csproj");
        Assert.That(projects, Has.Count.GreaterThan(5));
        Assert.That(projects, Is.SubsetOf(sources));
    }

    /// <summary>A project file and every project it references, directly or through others (paths from the repository root).</summary>
    private static List<string> ProjectClosure(string project)
    {
        var found = new List<string>();
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var next))
        {
            if (found.Contains(next))
            {
                continue;
            }

            found.Add(next);
            var folder = Path.GetDirectoryName(next)!;
            foreach (var reference in System.Xml.Linq.XDocument.Load(RepoFiles.PathOf(next)).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                pending.Push(Path.GetRelativePath(RepoFiles.Root, Path.GetFullPath(Path.Combine(RepoFiles.PathOf(folder), include))).Replace('\\', '/'));
            }
        }

        return found;
    }
}
