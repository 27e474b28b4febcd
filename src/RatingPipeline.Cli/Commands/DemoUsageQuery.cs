using System.Security.Cryptography;

namespace RatingPipeline.Cli.Commands;

/// <summary>
/// The demo's usage query API: a random bearer token for this run (the rater refuses every query without one), and a
/// sample request for a subscriber of the run, printed on one line.
/// </summary>
public static class DemoUsageQuery
{
    /// <summary>A fresh random token: 32 hex digits.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The one-line <c>curl</c> that asks the rater at <paramref name="raterUrl"/> for <paramref name="msisdn"/>'s usage.</summary>
    public static string SampleCurl(string raterUrl, string token, string msisdn) =>
        $"curl -H 'Authorization: Bearer {token}' {raterUrl.TrimEnd('/')}/v1/subscribers/{msisdn}/usage";
}
