using System.Globalization;
using System.Text;

namespace RatingPipeline.Sender.Inbound;

/// <summary>What a mobile-originated SMS asks for.</summary>
public enum MoCommandKind
{
    /// <summary>Anything not understood: the answer is the help text.</summary>
    Help,

    /// <summary><c>0000</c>: list the monthly services.</summary>
    List,

    /// <summary><c>TD n</c>, <c>TD n m …</c> (or <c>退订 n</c>): cancel the services with these numbers.</summary>
    Cancel,

    /// <summary><c>TD ALL</c> (or <c>退订 ALL</c>, <c>退订全部</c>): cancel every monthly service.</summary>
    CancelAll,

    /// <summary><c>查询</c> or <c>CXLL</c>: the usage summary of the current cycle, from the rater's usage query API.</summary>
    Usage,
}

/// <summary>
/// A command read from the text of a mobile-originated SMS. The text is read without regard to case, full-width
/// forms (<c>ＴＤ　１</c>) or the spaces around it; numbers may follow the keyword directly (<c>TD1</c>) and be
/// separated by spaces or commas (<c>TD 1,3</c>, <c>退订1、3</c>).
/// </summary>
public sealed record MoCommand(MoCommandKind Kind, IReadOnlyList<int> Numbers)
{
    /// <summary>The highest service number a command may name (a profile has at most 16 services).</summary>
    public const int MaxNumber = 999;

    /// <summary>The name written to <c>notice-log</c>: <c>list</c>, <c>cancel</c>, <c>cancel-all</c>, <c>usage</c> or <c>help</c>.</summary>
    public string Name => Kind switch
    {
        MoCommandKind.List => "list",
        MoCommandKind.Cancel => "cancel",
        MoCommandKind.CancelAll => "cancel-all",
        MoCommandKind.Usage => "usage",
        _ => "help",
    };

    public static MoCommand Parse(string? text)
    {
        var t = HalfWidth(text ?? "").Trim().ToUpperInvariant();
        if (t == "0000")
        {
            return new MoCommand(MoCommandKind.List, []);
        }

        if (t is "查询" or "CXLL")
        {
            return new MoCommand(MoCommandKind.Usage, []);
        }

        string rest;
        if (t.StartsWith("TD", StringComparison.Ordinal))
        {
            rest = t[2..];
        }
        else if (t.StartsWith("退订", StringComparison.Ordinal))
        {
            rest = t[2..];
        }
        else
        {
            return Help;
        }

        rest = rest.Trim();
        if (rest is "ALL" or "全部")
        {
            return new MoCommand(MoCommandKind.CancelAll, []);
        }

        var numbers = new List<int>();
        foreach (var token in rest.Split([' ', ',', '、', '，', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (token.Length > 3 || !token.All(char.IsAsciiDigit))
            {
                return Help;
            }

            var n = int.Parse(token, NumberStyles.None, CultureInfo.InvariantCulture);
            if (n < 1)
            {
                return Help;
            }

            if (!numbers.Contains(n))
            {
                numbers.Add(n);
            }
        }

        return numbers.Count == 0 ? Help : new MoCommand(MoCommandKind.Cancel, numbers);
    }

    private static MoCommand Help => new(MoCommandKind.Help, []);

    /// <summary>Full-width ASCII forms (U+FF01–U+FF5E) and the ideographic space as their plain forms.</summary>
    private static string HalfWidth(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0),
                '\u3000' => ' ',
                _ => c,
            });
        }

        return builder.ToString();
    }
}
