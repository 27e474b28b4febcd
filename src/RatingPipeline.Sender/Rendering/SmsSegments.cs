namespace RatingPipeline.Sender.Rendering;

/// <summary>How an SMS text is encoded and how many segments it takes.</summary>
public readonly record struct SmsLength(bool Gsm7, int Units, int Segments);

/// <summary>
/// SMS segment arithmetic (3GPP TS 23.038 / 23.040): a text made only of GSM-7 default alphabet characters
/// is sent in GSM-7, 160 septets in one segment or 153 per segment when concatenated (characters of the
/// extension table take two septets); anything else is sent in UCS-2, 70 UTF-16 units in one segment or 67
/// per segment.
/// </summary>
public static class SmsSegments
{
    private const string Basic =
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

    private const string Extension = "^{}\\[~]|€\f";

    public static SmsLength Measure(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var septets = 0;
        foreach (var c in text)
        {
            if (Basic.Contains(c, StringComparison.Ordinal))
            {
                septets++;
            }
            else if (Extension.Contains(c, StringComparison.Ordinal))
            {
                septets += 2;
            }
            else
            {
                septets = -1;
                break;
            }
        }

        if (septets >= 0)
        {
            return new SmsLength(true, septets, septets <= 160 ? 1 : (septets + 152) / 153);
        }

        var units = text.Length;
        return new SmsLength(false, units, units <= 70 ? 1 : (units + 66) / 67);
    }
}
