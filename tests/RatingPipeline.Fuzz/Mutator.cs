namespace RatingPipeline.Fuzz;

/// <summary>
/// Byte-level mutations for JSON inputs: bit flips, interesting bytes, inserts and deletes, range copies,
/// dictionary tokens, number and string replacement, splicing with another input, invalid UTF-8, deep nesting,
/// long digit runs and wide objects. Deterministic for a given <see cref="Random"/> seed.
/// </summary>
public sealed class Mutator(Random random, IReadOnlyList<byte[]> dictionary, int maxLength)
{
    private const int Operations = 17;

    private static readonly byte[] Interesting =
    [
        0x00, 0x01, 0x08, 0x1F, 0x20, 0x22, 0x5C, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
        (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'-', (byte)'+', (byte)'.', (byte)'e',
        (byte)'0', (byte)'9', (byte)'x', (byte)'*', (byte)'\n', (byte)'\r', (byte)'\t', (byte)' ', (byte)'/',
    ];

    /// <summary>Byte sequences that are not UTF-8 (overlong, surrogates, lone continuations, truncated, too large) and a BOM.</summary>
    public static readonly byte[][] BadUtf8 =
    [
        [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF],
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], [0x80], [0xBF], [0x80, 0x80],
        [0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], [0xFE], [0xFF], [0xEF, 0xBB, 0xBF],
    ];

    private static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "60", "61", "86400", "86401", "1000000000000", "1000000000001", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "1e3", "1E3", "5.0", "0.5", "-0.0", "1e-7", "12345678901234567890",
    ];

    /// <summary>Returns a mutated copy of <paramref name="parent"/> (1 to 16 stacked mutations).</summary>
    public byte[] Mutate(byte[] parent, byte[] other)
    {
        var data = new List<byte>(parent);
        var count = 1 + random.Next(random.Next(8) == 0 ? 16 : 4);
        for (var i = 0; i < count && data.Count <= maxLength; i++)
        {
            Apply(data, other, random.Next(Operations));
        }

        if (data.Count > maxLength)
        {
            data.RemoveRange(maxLength, data.Count - maxLength);
        }

        return [.. data];
    }

    private void Apply(List<byte> data, byte[] other, int operation)
    {
        switch (operation)
        {
            case 0 when data.Count > 0:
                data[random.Next(data.Count)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[random.Next(data.Count)] = Interesting[random.Next(Interesting.Length)];
                break;
            case 2 when data.Count > 0:
                data[random.Next(data.Count)] = (byte)random.Next(256);
                break;
            case 3:
                data.Insert(random.Next(data.Count + 1), Interesting[random.Next(Interesting.Length)]);
                break;
            case 4 when data.Count > 0:
                {
                    var at = random.Next(data.Count);
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                    break;
                }

            case 5 when data.Count > 0:
                {
                    var at = random.Next(data.Count);
                    var length = Math.Min(data.Count - at, 1 + random.Next(32));
                    data.InsertRange(random.Next(data.Count + 1), data.GetRange(at, length));
                    break;
                }

            case 6 or 7 when dictionary.Count > 0:
                data.InsertRange(random.Next(data.Count + 1), dictionary[random.Next(dictionary.Count)]);
                break;
            case 8:
                ReplaceValue(data, dictionary.Count > 0 && random.Next(2) == 0
                    ? dictionary[random.Next(dictionary.Count)]
                    : System.Text.Encoding.ASCII.GetBytes(Numbers[random.Next(Numbers.Length)]));
                break;
            case 9 when other.Length > 0:
                {
                    // Splice: a prefix of this input and a suffix of the other.
                    var cut = random.Next(data.Count + 1);
                    var from = random.Next(other.Length);
                    data.RemoveRange(cut, data.Count - cut);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }

            case 10:
                data.InsertRange(random.Next(data.Count + 1), BadUtf8[random.Next(BadUtf8.Length)]);
                break;
            case 11:
                InsertNesting(data);
                break;
            case 12:
                InsertDigits(data);
                break;
            case 13:
                InsertWideObject(data);
                break;
            case 14:
                {
                    // An escape, well-formed or not.
                    var escape = random.Next(4) switch
                    {
                        0 => $"\\u{random.Next(0x10000):x4}",
                        1 => $"\\u{0xD800 + random.Next(0x800):X4}",
                        2 => "\\u00",
                        _ => "\\" + (char)random.Next(0x20, 0x7F),
                    };
                    data.InsertRange(random.Next(data.Count + 1), System.Text.Encoding.ASCII.GetBytes(escape));
                    break;
                }

            case 15 when data.Count > 0:
                data.RemoveRange(random.Next(data.Count), 1);
                break;
            default:
                if (data.Count > 1)
                {
                    var cut = random.Next(data.Count);
                    data.RemoveRange(cut, data.Count - cut);
                }

                break;
        }
    }

    /// <summary>Replaces the string or number that starts at or after a random position with <paramref name="token"/>.</summary>
    private void ReplaceValue(List<byte> data, byte[] token)
    {
        if (data.Count == 0)
        {
            data.AddRange(token);
            return;
        }

        var at = random.Next(data.Count);
        while (at < data.Count && data[at] != (byte)'"' && data[at] != (byte)'-' && !(data[at] >= '0' && data[at] <= '9'))
        {
            at++;
        }

        if (at == data.Count)
        {
            data.InsertRange(random.Next(data.Count + 1), token);
            return;
        }

        var end = at + 1;
        if (data[at] == (byte)'"')
        {
            while (end < data.Count && !(data[end] == (byte)'"' && data[end - 1] != (byte)'\\'))
            {
                end++;
            }

            end = Math.Min(end + 1, data.Count);
        }
        else
        {
            while (end < data.Count && (data[end] is (>= (byte)'0' and <= (byte)'9') or (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or (byte)'-'))
            {
                end++;
            }
        }

        data.RemoveRange(at, end - at);
        data.InsertRange(at, token);
    }

    /// <summary>1 to 2^17 levels of arrays or objects (mostly up to 2^9), closed or left open, as a value or loose.</summary>
    private void InsertNesting(List<byte> data)
    {
        // Mostly shallow (the decoder's own paths), sometimes far past the depth bound.
        var depth = Math.Min(1 << random.Next(random.Next(4) == 0 ? 18 : 10), maxLength / 8);
        var objects = random.Next(2) == 0;
        var closed = random.Next(2) == 0;
        var open = objects ? "{\"a\":"u8.ToArray() : "["u8.ToArray();
        var nest = new List<byte>((depth * (open.Length + 1)) + 16);
        if (random.Next(2) == 0)
        {
            nest.AddRange(",\"deep\":"u8.ToArray());
        }

        for (var i = 0; i < depth; i++)
        {
            nest.AddRange(open);
        }

        nest.AddRange("0"u8.ToArray());
        if (closed)
        {
            for (var i = 0; i < depth; i++)
            {
                nest.Add(objects ? (byte)'}' : (byte)']');
            }
        }

        data.InsertRange(NearStructure(data), nest);
    }

    /// <summary>A run of digits (mostly up to 2^11, sometimes up to 2^20), sometimes signed, with a fraction or an exponent.</summary>
    private void InsertDigits(List<byte> data)
    {
        var length = Math.Min(1 << random.Next(1, random.Next(4) == 0 ? 21 : 12), maxLength / 2);
        var digits = new List<byte>(length + 8);
        if (random.Next(4) == 0)
        {
            digits.Add((byte)'-');
        }

        digits.Add((byte)('1' + random.Next(9)));
        for (var i = 1; i < length; i++)
        {
            digits.Add(random.Next(3) == 0 ? (byte)'0' : (byte)('0' + random.Next(10)));
        }

        switch (random.Next(4))
        {
            case 0:
                digits.AddRange(".5"u8.ToArray());
                break;
            case 1:
                digits.AddRange("e9"u8.ToArray());
                break;
        }

        ReplaceValue(data, [.. digits]);
    }

    /// <summary>Thirty to forty members (sometimes with a repeated name) after the first '{': the wide-object path.</summary>
    private void InsertWideObject(List<byte> data)
    {
        var count = 30 + random.Next(11);
        var repeat = random.Next(3) == 0 ? random.Next(count) : -1;
        var members = new System.Text.StringBuilder();
        for (var i = 0; i < count; i++)
        {
            members.Append($"\"w{(i == count - 1 && repeat >= 0 ? repeat : i)}\":{i},");
        }

        var at = data.IndexOf((byte)'{');
        data.InsertRange(at < 0 ? 0 : at + 1, System.Text.Encoding.ASCII.GetBytes(members.ToString()));
    }

    /// <summary>A position just after a ',' or '{' if one is near, else anywhere.</summary>
    private int NearStructure(List<byte> data)
    {
        var at = random.Next(data.Count + 1);
        for (var i = at; i < data.Count && i < at + 64; i++)
        {
            if (data[i] is (byte)',' or (byte)'{')
            {
                return data[i] == (byte)',' ? i : i + 1;
            }
        }

        return at;
    }
}
