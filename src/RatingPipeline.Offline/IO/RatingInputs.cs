using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.IO;

/// <summary>
/// The tariff and subscriber file every offline command starts from. A missing or refused file is reported as
/// one line naming the command, the file and the reason (the JSON path or the line), and yields null.
/// </summary>
public static class RatingInputs
{
    public static async Task<(Tariff Tariff, List<SubscriberProfile> Profiles)?> LoadAsync(
        string command, string tariffPath, string subscribersPath, TextWriter stderr)
    {
        try
        {
            var tariff = TariffLoader.LoadFile(tariffPath);
            return (tariff, SubscriberFile.Load(subscribersPath, tariff));
        }
        catch (TariffException e)
        {
            await stderr.WriteLineAsync($"ratingctl {command}: tariff {tariffPath} refused: {e.Message}");
        }
        catch (SubscriberFileException e)
        {
            await stderr.WriteLineAsync($"ratingctl {command}: subscriber file refused: {e.Message}");
        }

        return null;
    }
}
