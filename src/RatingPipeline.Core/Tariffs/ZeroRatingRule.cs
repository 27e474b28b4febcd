using RatingPipeline.Records;

namespace RatingPipeline.Tariffs;

/// <summary>
/// A zero-rating entry: a peer pattern (digits, <c>x</c> for any one digit, an optional final <c>*</c> for any
/// remaining digits, possibly none) matched against the whole normalised peer, for the listed CDR types, for
/// CDRs starting at or after <see cref="FromTicks"/> and before <see cref="ToTicks"/>.
/// </summary>
public sealed record ZeroRatingRule(string Pattern, IReadOnlyList<CdrType> Types, string From, long FromTicks,
    string? To, long ToTicks, string Reason)
{
    internal byte[] ReasonUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(Reason);

    internal int TypeMask { get; } = Types.Aggregate(0, (mask, t) => mask | (1 << (int)t));

    /// <summary>The zones (by number) where the entry applies; null = every zone.</summary>
    public bool[]? ZoneMask { get; init; }

    public bool AppliesTo(CdrType type, long startTicks, int zone) =>
        (TypeMask & (1 << (int)type)) != 0 && startTicks >= FromTicks && startTicks < ToTicks
        && (ZoneMask is null || ZoneMask[zone]);

    /// <summary>Checks a pattern's syntax: digits and x, then at most one final *.</summary>
    public static bool IsValidPattern(string pattern)
    {
        if (pattern.Length == 0)
        {
            return false;
        }

        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            var ok = c is (>= '0' and <= '9') or 'x' || (c == '*' && i == pattern.Length - 1);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// The zero-rating list compiled into a digit trie (10 digit edges plus an <c>x</c> edge per node). Matching
/// walks the peer once, following both the digit edge and the <c>x</c> edge, so it visits each trie node at
/// most once and never allocates. Among the entries whose pattern matches and whose type and dates apply,
/// the first in list order wins.
/// </summary>
public sealed class ZeroRatingTable
{
    private const int Edges = 11; // '0'..'9', then 'x'
    private const int MaxPeer = 34; // "00" + 32 digits

    private readonly ZeroRatingRule[] _rules;
    private readonly int[] _children; // node * Edges + edge → child node, 0 = none (node 0 is the root)
    private readonly int[] _exactHead; // node → first rule index ending exactly here, -1 none
    private readonly int[] _starHead; // node → first rule index with a final * here, -1 none
    private readonly int[] _nextRule; // rule → next rule in the same list (ascending), -1 none

    public ZeroRatingTable(IReadOnlyList<ZeroRatingRule> rules)
    {
        _rules = [.. rules];
        var children = new List<int>(Edges * 16);
        var exact = new List<int>();
        var star = new List<int>();
        NewNode(children, exact, star);
        _nextRule = new int[_rules.Length];
        var exactTail = new Dictionary<int, int>();
        var starTail = new Dictionary<int, int>();
        for (var r = 0; r < _rules.Length; r++)
        {
            _nextRule[r] = -1;
            var pattern = _rules[r].Pattern;
            var hasStar = pattern.EndsWith('*');
            var node = 0;
            foreach (var c in hasStar ? pattern[..^1] : pattern)
            {
                var edge = c == 'x' ? 10 : c - '0';
                var child = children[(node * Edges) + edge];
                if (child == 0)
                {
                    child = NewNode(children, exact, star);
                    children[(node * Edges) + edge] = child;
                }

                node = child;
            }

            // Rules join a node's list in list order, so the first found at a node is the earliest there.
            var heads = hasStar ? star : exact;
            var tails = hasStar ? starTail : exactTail;
            if (heads[node] < 0)
            {
                heads[node] = r;
            }
            else
            {
                _nextRule[tails[node]] = r;
            }

            tails[node] = r;
        }

        _children = [.. children];
        _exactHead = [.. exact];
        _starHead = [.. star];
        MaxPatternDigits = _rules.Length == 0 ? 0 : _rules.Max(r => r.Pattern.TrimEnd('*').Length);
    }

    public IReadOnlyList<ZeroRatingRule> Rules => _rules;

    public int MaxPatternDigits { get; }

    /// <summary>Index of the first applicable rule whose pattern matches the whole normalised peer, or -1.</summary>
    public int Match(ReadOnlySpan<byte> peer, CdrType type, long startTicks, int zone)
    {
        if (_rules.Length == 0 || peer.Length > MaxPeer)
        {
            return -1;
        }

        // Depth-first over (node, position) with an explicit stack; each trie node is reached by one path only.
        Span<int> nodes = stackalloc int[(2 * MaxPeer) + 4];
        Span<int> positions = stackalloc int[(2 * MaxPeer) + 4];
        var top = 0;
        nodes[0] = 0;
        positions[0] = 0;
        top = 1;
        var best = int.MaxValue;
        while (top > 0)
        {
            top--;
            var node = nodes[top];
            var at = positions[top];
            best = Better(best, _starHead[node], type, startTicks, zone);
            if (at == peer.Length)
            {
                best = Better(best, _exactHead[node], type, startTicks, zone);
                continue;
            }

            var digit = peer[at] - '0';
            var child = _children[(node * Edges) + digit];
            if (child != 0)
            {
                nodes[top] = child;
                positions[top++] = at + 1;
            }

            child = _children[(node * Edges) + 10];
            if (child != 0)
            {
                nodes[top] = child;
                positions[top++] = at + 1;
            }
        }

        return best == int.MaxValue ? -1 : best;
    }

    public ZeroRatingRule this[int index] => _rules[index];

    private int Better(int best, int rule, CdrType type, long startTicks, int zone)
    {
        // Walk the node's list (ascending) until an applicable rule or one that cannot beat the best.
        for (; rule >= 0 && rule < best; rule = _nextRule[rule])
        {
            if (_rules[rule].AppliesTo(type, startTicks, zone))
            {
                return rule;
            }
        }

        return best;
    }

    private static int NewNode(List<int> children, List<int> exact, List<int> star)
    {
        var id = exact.Count;
        for (var i = 0; i < Edges; i++)
        {
            children.Add(0);
        }

        exact.Add(-1);
        star.Add(-1);
        return id;
    }
}
