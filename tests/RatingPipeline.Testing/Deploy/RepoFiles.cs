namespace RatingPipeline.Tests.Deploy;

/// <summary>Paths in the repository the deploy tests check (found by walking up from the test binaries).</summary>
internal static class RepoFiles
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Deploy => Path.Combine(Root, "deploy");

    public static string Chart => Path.Combine(Deploy, "helm", "ratingpipeline");

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string ReadText(params string[] parts) => File.ReadAllText(PathOf(parts));

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RatingPipeline.sln")) && Directory.Exists(Path.Combine(directory.FullName, "deploy")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No repository root (RatingPipeline.sln and deploy/) above {AppContext.BaseDirectory}.");
    }
}
