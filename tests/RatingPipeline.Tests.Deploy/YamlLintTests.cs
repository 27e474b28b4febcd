using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>
/// Every YAML file under deploy/ passes yamllint (Debian package yamllint) in strict mode with deploy/.yamllint.
/// Helm templates are Go templates, not YAML: the configuration leaves them out; HelmChartTests renders them.
/// </summary>
[TestFixture]
[Category("needs-yamllint")]
[Category("deploy")]
public sealed class YamlLintTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Test]
    public void Deploy_yaml_passes_yamllint_strict()
    {
        var result = ChildProcess.Run(ChildProcess.Tool("yamllint", "yamllint"), ["-s", "-f", "parsable", "-c", "deploy/.yamllint", "deploy"], Bound, RepoFiles.Root);

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
    }

    [Test]
    public void Yamllint_checks_every_yaml_file_except_the_helm_templates()
    {
        var listed = ChildProcess.Run(ChildProcess.Tool("yamllint", "yamllint"), ["--list-files", "-c", "deploy/.yamllint", "deploy"], Bound, RepoFiles.Root);
        var files = listed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
        var yaml = Directory.EnumerateFiles(RepoFiles.Deploy, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(RepoFiles.Root, f).Replace('\\', '/'))
            .ToList();

        Assert.That(listed.ExitCode, Is.Zero, listed.ToString());
        Assert.That(yaml.Where(f => !f.Contains("/templates/", StringComparison.Ordinal)), Is.SubsetOf(files));
        Assert.That(files.Where(f => f.Contains("/templates/", StringComparison.Ordinal)), Is.Empty);
        Assert.That(files, Does.Contain("deploy/compose.yaml").And.Contain("deploy/helm/ratingpipeline/values.yaml"));
    }

    [Test]
    public void Yamllint_with_the_deploy_configuration_rejects_a_bad_file()
    {
        var folder = Directory.CreateTempSubdirectory("ratingpipeline-yamllint-").FullName;
        try
        {
            // A duplicated key and a truthy "yes": both are errors under deploy/.yamllint.
            File.WriteAllText(Path.Combine(folder, "bad.yaml"), "service:\n  enabled: yes\n  enabled: true\n");

            var result = ChildProcess.Run(ChildProcess.Tool("yamllint", "yamllint"),
                ["-s", "-f", "parsable", "-c", Path.Combine(RepoFiles.Deploy, ".yamllint"), Path.Combine(folder, "bad.yaml")], Bound, folder);

            Assert.That(result.ExitCode, Is.Not.Zero, result.ToString());
            Assert.That(result.Stdout, Does.Contain("key-duplicates").And.Contain("truthy"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
