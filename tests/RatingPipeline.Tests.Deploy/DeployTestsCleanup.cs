using NUnit.Framework;

namespace RatingPipeline.Tests.Deploy;

/// <summary>Removes what the deploy tests published to the temporary folder once they have all run.</summary>
[SetUpFixture]
public sealed class DeployTestsCleanup
{
    [OneTimeTearDown]
    public void RemovePublishedApp()
    {
        if (Directory.Exists(PublishedApp.Scratch))
        {
            Directory.Delete(PublishedApp.Scratch, recursive: true);
        }
    }
}
