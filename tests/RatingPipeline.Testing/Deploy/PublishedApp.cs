using System.Text.RegularExpressions;
using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// ratingctl published exactly as deploy/Dockerfile publishes it (its <c>dotnet publish</c> arguments and the
/// files it removes, with <c>/app</c> mapped to a temporary folder), once per test run. The image itself cannot be
/// built here; this is the same application directory that the image's <c>ENTRYPOINT ["dotnet", "ratingctl.dll"]</c>
/// runs.
/// </summary>
internal static partial class PublishedApp
{
    private static readonly Lazy<string> Published = new(Publish, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder the app is published to (under the temporary folder, one per test process).</summary>
    public static string Scratch { get; } = Path.Combine(Path.GetTempPath(), $"ratingpipeline-published-{Environment.ProcessId}");

    /// <summary>The application folder (holds ratingctl.dll).</summary>
    public static string Directory => Published.Value;

    public static string Dll => Path.Combine(Directory, "ratingctl.dll");

    /// <summary>The publish step of the Dockerfile: its arguments after <c>dotnet</c>, and the paths it removes afterwards.</summary>
    public static (string[] PublishArgs, string[] Removed) DockerfilePublishStep()
    {
        var dockerfile = RepoFiles.ReadText("deploy", "Dockerfile").Replace("\\\n", " ", StringComparison.Ordinal);
        var run = dockerfile.Split('\n').Select(l => l.Trim()).SingleOrDefault(l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal))
            ?? throw new InvalidDataException("deploy/Dockerfile has no single 'RUN dotnet publish' instruction");
        var steps = run["RUN ".Length..].Split("&&", StringSplitOptions.TrimEntries);
        var publish = Words().Matches(steps[0]).Select(m => m.Value).ToArray();
        var removed = steps.Skip(1)
            .Select(step => Words().Matches(step).Select(m => m.Value).ToArray())
            .Where(words => words is ["rm", "-rf", ..])
            .SelectMany(words => words[2..])
            .ToArray();
        if (steps.Skip(1).Any(step => !step.StartsWith("rm -rf ", StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"deploy/Dockerfile's publish step does more than publish and remove files: {run}");
        }

        return (publish[1..], removed);
    }

    private static string Publish()
    {
        var (args, removed) = DockerfilePublishStep();
        var output = Path.Combine(Scratch, "app");
        if (System.IO.Directory.Exists(output))
        {
            System.IO.Directory.Delete(output, recursive: true);
        }

        // The image restores in an earlier layer; here the test build has restored already. Build servers are
        // disabled so no background process outlives the step.
        string[] publishArgs = [.. args.Select(a => a == "/app" ? output : a), "--disable-build-servers", "-nodeReuse:false", "-v:q", "-nologo"];
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || k.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(k => k, _ => (string?)null);
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        var result = ChildProcess.Run("dotnet", publishArgs, TimeSpan.FromMinutes(5), RepoFiles.Root, environment);
        if (result.ExitCode != 0)
        {
            Assert.Fail($"Publishing as deploy/Dockerfile does failed:\n{result}");
        }

        foreach (var path in removed)
        {
            if (!path.StartsWith("/app/", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"deploy/Dockerfile removes {path}, outside /app");
            }

            var relative = path["/app/".Length..];
            var parent = Path.Combine(output, Path.GetDirectoryName(relative) ?? "");
            var pattern = Path.GetFileName(relative);
            if (!System.IO.Directory.Exists(parent))
            {
                continue;
            }

            foreach (var entry in System.IO.Directory.GetFileSystemEntries(parent, pattern))
            {
                if (System.IO.Directory.Exists(entry))
                {
                    System.IO.Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }

        return output;
    }

    [GeneratedRegex(@"[^\s]+")]
    private static partial Regex Words();
}
