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
/// The zero-rating list compiled for matching in time that does not grow with the list's length:
/// <list type="bullet">
/// <item>one digit trie per CDR type (voice, SMS), holding only the entries for that type — a list of voice
/// patterns costs an SMS nothing;</item>
/// <item>an entry identical to an earlier one (pattern, types, zones, dates) is left out: it can never be the first
/// that applies;</item>
/// <item>every trie node knows the lowest entry index in its subtree, and the walk (a depth-first search over the
/// digit edge and the <c>x</c> edge, each node reached by one path) goes to the lower subtree first and skips any
/// subtree whose lowest index cannot beat the best entry found so far.</item>
/// </list>
/// Among the entries whose pattern matches and whose type, zone and dates apply, the first in list order wins.
/// Matching never allocates.
/// </summary>
public sealed class ZeroRatingTable
{
    private const int MaxPeer = 34; // "00" + 32 digits

    private readonly ZeroRatingRule[] _rules;
    private readonly ZeroRatingTrie? _voice;
    private readonly ZeroRatingTrie? _sms;

    public ZeroRatingTable(IReadOnlyList<ZeroRatingRule> rules)
    {
        _rules = [.. rules];
        var kept = new List<int>(_rules.Length);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var r = 0; r < _rules.Length; r++)
        {
            var rule = _rules[r];
            var zones = rule.ZoneMask is null ? "*" : string.Concat(rule.ZoneMask.Select(z => z ? '1' : '0'));
            if (seen.Add($"{rule.Pattern}|{rule.TypeMask}|{zones}|{rule.FromTicks}|{rule.ToTicks}"))
            {
                kept.Add(r);
            }
        }

        _voice = ZeroRatingTrie.Build(_rules, kept, CdrType.Voice);
        _sms = ZeroRatingTrie.Build(_rules, kept, CdrType.Sms);
        MaxPatternDigits = _rules.Length == 0 ? 0 : _rules.Max(r => r.Pattern.TrimEnd('*').Length);
    }

    public IReadOnlyList<ZeroRatingRule> Rules => _rules;

    public int MaxPatternDigits { get; }

    /// <summary>Index of the first applicable rule whose pattern matches the whole normalised peer, or -1.</summary>
    public int Match(ReadOnlySpan<byte> peer, CdrType type, long startTicks, int zone)
    {
        var trie = type switch
        {
            CdrType.Voice => _voice,
            CdrType.Sms => _sms,
            _ => null,
        };
        return trie is null || peer.Length > MaxPeer ? -1 : trie.Match(_rules, peer, type, startTicks, zone);
    }

    public ZeroRatingRule this[int index] => _rules[index];
}

/// <summary>The digit trie of one CDR type's entries (10 digit edges plus an <c>x</c> edge per node).</summary>
internal sealed class ZeroRatingTrie
{
    private const int Edges = 11; // '0'..'9', then 'x'
    private const int StackSize = (2 * 34) + 4;

    private readonly int[] _children; // node * Edges + edge → child node, 0 = none (node 0 is the root)
    private readonly int[] _exactHead; // node → first rule index ending exactly here, -1 none
    private readonly int[] _starHead; // node → first rule index with a final * here, -1 none
    private readonly int[] _nextRule; // rule → next rule in the same node list (ascending), -1 none
    private readonly int[] _lowest; // node → lowest rule index in its subtree (itself included), int.MaxValue none
    private readonly long[] _from; // node → earliest from of its subtree's rules
    private readonly long[] _to; // node → latest to of its subtree's rules
    private readonly ulong[] _zones; // node → zones (bit per zone number below 64; zone 63 and up share bit 63) of its subtree's rules

    private ZeroRatingTrie(int[] children, int[] exact, int[] star, int[] next, int[] lowest, long[] from, long[] to, ulong[] zones, int ruleCount)
    {
        _children = children;
        _exactHead = exact;
        _starHead = star;
        _nextRule = next;
        _lowest = lowest;
        _from = from;
        _to = to;
        _zones = zones;
        RuleCount = ruleCount;
    }

    public int RuleCount { get; }

    /// <summary>The trie of the entries in <paramref name="kept"/> (ascending indexes) that apply to <paramref name="type"/>; null when none do.</summary>
    public static ZeroRatingTrie? Build(ZeroRatingRule[] rules, List<int> kept, CdrType type)
    {
        var children = new List<int>(Edges * 16);
        var exact = new List<int>();
        var star = new List<int>();
        NewNode(children, exact, star);
        var next = new int[rules.Length];
        Array.Fill(next, -1);
        var exactTail = new Dictionary<int, int>();
        var starTail = new Dictionary<int, int>();
        var count = 0;
        foreach (var r in kept)
        {
            if ((rules[r].TypeMask & (1 << (int)type)) == 0)
            {
                continue;
            }

            count++;
            var pattern = rules[r].Pattern;
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
                next[tails[node]] = r;
            }

            tails[node] = r;
        }

        if (count == 0)
        {
            return null;
        }

        // Children are always made after their parent, so a pass from the last node to the first sees every
        // subtree before its root: its lowest rule index, and the dates and zones any of its rules can apply in.
        var nodes = exact.Count;
        var lowest = new int[nodes];
        var from = new long[nodes];
        var to = new long[nodes];
        var zones = new ulong[nodes];
        for (var n = nodes - 1; n >= 0; n--)
        {
            var low = int.MaxValue;
            var earliest = long.MaxValue;
            var latest = long.MinValue;
            var zoneBits = 0UL;
            foreach (var head in (ReadOnlySpan<int>)[exact[n], star[n]])
            {
                for (var r = head; r >= 0; r = next[r])
                {
                    low = Math.Min(low, r);
                    earliest = Math.Min(earliest, rules[r].FromTicks);
                    latest = Math.Max(latest, rules[r].ToTicks);
                    zoneBits |= ZoneBits(rules[r]);
                }
            }

            for (var e = 0; e < Edges; e++)
            {
                var child = children[(n * Edges) + e];
                if (child != 0)
                {
                    low = Math.Min(low, lowest[child]);
                    earliest = Math.Min(earliest, from[child]);
                    latest = Math.Max(latest, to[child]);
                    zoneBits |= zones[child];
                }
            }

            lowest[n] = low;
            from[n] = earliest;
            to[n] = latest;
            zones[n] = zoneBits;
        }

        return new ZeroRatingTrie([.. children], [.. exact], [.. star], next, lowest, from, to, zones, count);
    }

    public int Match(ZeroRatingRule[] rules, ReadOnlySpan<byte> peer, CdrType type, long startTicks, int zone)
    {
        var zoneBit = ZoneBit(zone);
        // Depth-first over (node, position) with an explicit stack; each trie node is reached by one path only. The
        // lower subtree is walked first, and a subtree whose lowest index is not below the best found is skipped.
        Span<int> nodes = stackalloc int[StackSize];
        Span<int> positions = stackalloc int[StackSize];
        nodes[0] = 0;
        positions[0] = 0;
        var top = 1;
        var best = int.MaxValue;
        while (top > 0)
        {
            top--;
            var node = nodes[top];
            if (_lowest[node] >= best || startTicks < _from[node] || startTicks >= _to[node] || (_zones[node] & zoneBit) == 0)
            {
                continue; // nothing below can beat the best, or apply at this instant or in this zone
            }

            var at = positions[top];
            best = Better(rules, best, _starHead[node], type, startTicks, zone);
            if (at == peer.Length)
            {
                best = Better(rules, best, _exactHead[node], type, startTicks, zone);
                continue;
            }

            var digit = _children[(node * Edges) + (peer[at] - '0')];
            var any = _children[(node * Edges) + 10];
            var digitLow = digit == 0 ? int.MaxValue : _lowest[digit];
            var anyLow = any == 0 ? int.MaxValue : _lowest[any];

            // Pushed so that the lower of the two is popped first.
            if (digitLow <= anyLow)
            {
                Push(ref top, nodes, positions, any, anyLow, best, at + 1);
                Push(ref top, nodes, positions, digit, digitLow, best, at + 1);
            }
            else
            {
                Push(ref top, nodes, positions, digit, digitLow, best, at + 1);
                Push(ref top, nodes, positions, any, anyLow, best, at + 1);
            }
        }

        return best == int.MaxValue ? -1 : best;
    }

    private static ulong ZoneBit(int zone) => 1UL << Math.Min(zone, 63);

    private static ulong ZoneBits(ZeroRatingRule rule)
    {
        if (rule.ZoneMask is not { } mask)
        {
            return ulong.MaxValue;
        }

        var bits = 0UL;
        for (var z = 0; z < mask.Length; z++)
        {
            if (mask[z])
            {
                bits |= ZoneBit(z);
            }
        }

        return bits;
    }

    private static void Push(ref int top, Span<int> nodes, Span<int> positions, int node, int low, int best, int at)
    {
        if (node != 0 && low < best)
        {
            nodes[top] = node;
            positions[top++] = at;
        }
    }

    private int Better(ZeroRatingRule[] rules, int best, int rule, CdrType type, long startTicks, int zone)
    {
        // Walk the node's list (ascending) until an applicable rule or one that cannot beat the best.
        for (; rule >= 0 && rule < best; rule = _nextRule[rule])
        {
            if (rules[rule].AppliesTo(type, startTicks, zone))
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
