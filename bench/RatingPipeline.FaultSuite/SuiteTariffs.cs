using System.Text.Json.Nodes;

namespace RatingPipeline.FaultSuite;

/// <summary>The tariff versions of a run.</summary>
public static class SuiteTariffs
{
    /// <summary>
    /// The next version of <paramref name="tariff"/>: a new <c>version</c> and, last in the zero-rating list (so no
    /// existing entry changes index or precedence), an entry for a number range the synthetic stream never dials.
    /// Every CDR of the stream is charged as before; only the version in the rated records tells them apart.
    /// </summary>
    public static (byte[] Bytes, string Version) Next(byte[] tariff)
    {
        var document = JsonNode.Parse(tariff)!.AsObject();
        var version = document["version"]!.GetValue<string>() + "-b";
        document["version"] = version;
        document["zeroRated"]!.AsArray().Add(new JsonObject
        {
            ["pattern"] = "0099999999*",
            ["types"] = new JsonArray("voice", "sms"),
            ["from"] = "2026-11-01T00:00:00+08:00",
            ["reason"] = "test-number",
        });
        return (System.Text.Encoding.UTF8.GetBytes(document.ToJsonString()), version);
    }
}
