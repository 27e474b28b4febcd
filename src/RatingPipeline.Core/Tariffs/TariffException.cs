namespace RatingPipeline.Tariffs;

/// <summary>A tariff refused at load; the message names the JSON path of the bad element.</summary>
public sealed class TariffException : Exception
{
    public TariffException()
        : base("tariff refused")
    {
    }

    public TariffException(string message)
        : base(message)
    {
    }

    /// <summary>Refused because of <paramref name="inner"/>: its message is added to <paramref name="message"/>, and it is kept as the cause.</summary>
    public TariffException(string message, Exception inner)
        : base(message + ": " + inner.Message, inner)
    {
    }
}
