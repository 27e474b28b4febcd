namespace RatingPipeline.Tariffs;

/// <summary>A tariff refused at load; the message names the JSON path of the bad element.</summary>
public sealed class TariffException(string message) : Exception(message)
{
    public TariffException()
        : this("tariff refused")
    {
    }

    public TariffException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }
}
