namespace RatingPipeline.Hosting;

/// <summary>Msisdns never reach a log whole: only their last 4 digits are shown.</summary>
public static class Msisdns
{
    public static string Mask(string? msisdn) => msisdn is null ? "" :
        msisdn.Length <= 4 ? new string('*', msisdn.Length) : string.Concat(new string('*', msisdn.Length - 4), msisdn.AsSpan(msisdn.Length - 4));

    public static string Mask(ReadOnlySpan<byte> msisdn) => Mask(System.Text.Encoding.ASCII.GetString(msisdn));
}
