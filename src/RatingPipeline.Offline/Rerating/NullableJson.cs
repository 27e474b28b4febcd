using System.Text.Json;

namespace RatingPipeline.Rerating;

/// <summary>Members of the ledger's and the mismatch report's records that are JSON <c>null</c> when the value is absent.</summary>
internal static class NullableJson
{
    public static void WriteStringOrNull(this Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    public static void WriteNumberOrNull(this Utf8JsonWriter json, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
