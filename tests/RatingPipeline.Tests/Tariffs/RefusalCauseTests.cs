using NUnit.Framework;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Tests.Tariffs;

/// <summary>A file the product cannot read is refused with a message naming it, and the cause stays attached.</summary>
[TestFixture]
public sealed class RefusalCauseTests
{
    private static string Missing => Path.Combine(Path.GetTempPath(), "ratingpipeline-tests", $"missing-{Guid.NewGuid():N}", "x.json");

    [Test]
    public void An_unreadable_tariff_file_keeps_its_IO_error_as_the_cause()
    {
        var path = Missing;
        var refused = Assert.Throws<TariffException>(() => TariffLoader.LoadFile(path))!;
        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.StartWith($"cannot read tariff file {path}: "));
            Assert.That(refused.InnerException, Is.InstanceOf<DirectoryNotFoundException>());
            Assert.That(refused.Message, Does.EndWith(refused.InnerException!.Message));
        });
    }

    [Test]
    public void An_unreadable_subscriber_file_keeps_its_IO_error_as_the_cause()
    {
        var tariff = TariffLoader.LoadFile(Path.Combine(AppContext.BaseDirectory, "Examples", "basic", "tariff.json"));
        var path = Missing;
        var refused = Assert.Throws<SubscriberFileException>(() => SubscriberFile.Load(path, tariff))!;
        Assert.Multiple(() =>
        {
            Assert.That(refused.Message, Does.StartWith($"cannot read subscriber file {path}: "));
            Assert.That(refused.InnerException, Is.InstanceOf<DirectoryNotFoundException>());
        });
    }
}
