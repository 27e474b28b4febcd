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
/// <item>every trie node knows the lowest entry index in its subtree, the span of its entries' dates with the
/// largest gap inside it where none applies, their zones and the lengths of peer they can match; the walk (a
/// depth-first search over the digit edge and the <c>x</c> edge, each node reached by one path) goes to the lower
/// subtree first and skips any subtree that cannot beat the best entry found so far or cannot apply to this peer's
/// length, instant or zone;</item>
/// <item>the entries ending at one node are kept in list order, and a long such list has a time index: the first of
/// its entries in force in each interval between their dates, so a list of entries that do not apply at the CDR's
/// instant is not read one by one;</item>
/// <item>a walk that still does more than <see cref="WorkBudget"/> steps (a list built so that a peer follows the
/// <c>x</c> edge and the digit edge at every level without ever matching) is given up for a bit-parallel match of
/// the type's entries: one AND per 64 entries per digit of the peer, so no list can make a CDR cost more than that.</item>
/// </list>
/// Among the entries whose pattern matches and whose type, zone and dates apply, the first in list order wins.
/// Matching never allocates.
/// </summary>
public sealed class ZeroRatingTable
{
    /// <summary>The longest normalised peer: "00" and 32 digits. A longer peer matches no entry.</summary>
    internal const int MaxPeer = 34;

    /// <summary>Trie nodes and entries a walk may visit before it is given up for the bit-parallel match.</summary>
    internal const int WorkBudget = 512;

    /// <summary>Entries ending at one node from which on their list gets a time index.</summary>
    internal const int IndexedList = 16;

    private readonly ZeroRatingRule[] _rules;
    private readonly ZeroRatingTrie? _voice;
    private readonly ZeroRatingTrie? _sms;

    public ZeroRatingTable(IReadOnlyList<ZeroRatingRule> rules)
        : this(rules, WorkBudget, IndexedList)
    {
    }

    /// <summary>The table with another work budget and list-index threshold (tests use small ones to reach every path).</summary>
    internal ZeroRatingTable(IReadOnlyList<ZeroRatingRule> rules, int workBudget, int indexedList)
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

        _voice = ZeroRatingTrie.Build(_rules, kept, CdrType.Voice, workBudget, indexedList);
        _sms = ZeroRatingTrie.Build(_rules, kept, CdrType.Sms, workBudget, indexedList);
        MaxPatternDigits = _rules.Length == 0 ? 0 : _rules.Max(r => r.Pattern.TrimEnd('*').Length);
    }

    public IReadOnlyList<ZeroRatingRule> Rules => _rules;

    public int MaxPatternDigits { get; }

    /// <summary>Walks given up for the bit-parallel match since load (for the tariff-size figure and the tests).</summary>
    internal long FallbackCount => (_voice?.FallbackCount ?? 0) + (_sms?.FallbackCount ?? 0);

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
    private const int StackSize = (2 * ZeroRatingTable.MaxPeer) + 4;
    private const byte AnyLength = byte.MaxValue; // a final * below: any longer peer

    private readonly int[] _children; // node * Edges + edge → child node, 0 = none (node 0 is the root)
    private readonly int[] _exactHead; // node → first rule index ending exactly here, -1 none
    private readonly int[] _starHead; // node → first rule index with a final * here, -1 none
    private readonly int[] _nextRule; // rule → next rule in the same node list (ascending), -1 none
    private readonly int[] _listIndex; // head rule of a node list → its time index in _indexes, -1 none
    private readonly ListTimeIndex[] _indexes;
    private readonly NodeBounds[] _bounds; // node → what its subtree can match
    private readonly BitParallelMatch? _fallback; // null when the trie is too small to exceed the budget
    private readonly int _workBudget;
    private long _fallbacks;

    private ZeroRatingTrie(int[] children, int[] exact, int[] star, int[] next, int[] listIndex, ListTimeIndex[] indexes, NodeBounds[] bounds,
        BitParallelMatch? fallback, int workBudget)
    {
        _children = children;
        _exactHead = exact;
        _starHead = star;
        _nextRule = next;
        _listIndex = listIndex;
        _indexes = indexes;
        _bounds = bounds;
        _fallback = fallback;
        _workBudget = workBudget;
    }

    public long FallbackCount => Interlocked.Read(ref _fallbacks);

    /// <summary>
    /// What a node's subtree holds: the lowest entry index; the instants where one of its entries can be in force (from
    /// the earliest from to the latest to, less the largest gap where none is); the zones (bit per zone number below 64;
    /// zone 63 and up share bit 63); the lengths of peer its patterns can match.
    /// </summary>
    private struct NodeBounds
    {
        public int Lowest;
        public long From;
        public long To;
        public long GapFrom;
        public long GapTo;
        public ulong Zones;
        public byte MinLength;
        public byte MaxLength;
    }

    /// <summary>The trie of the entries in <paramref name="kept"/> (ascending indexes) that apply to <paramref name="type"/>; null when none do.</summary>
    public static ZeroRatingTrie? Build(ZeroRatingRule[] rules, List<int> kept, CdrType type, int workBudget, int indexedList)
    {
        var children = new List<int>(Edges * 16);
        var exact = new List<int>();
        var star = new List<int>();
        NewNode(children, exact, star);
        var next = new int[rules.Length];
        Array.Fill(next, -1);
        var exactTail = new Dictionary<int, int>();
        var starTail = new Dictionary<int, int>();
        var ofType = new List<int>();
        foreach (var r in kept)
        {
            if ((rules[r].TypeMask & (1 << (int)type)) == 0)
            {
                continue;
            }

            ofType.Add(r);
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

        if (ofType.Count == 0)
        {
            return null;
        }

        var listIndex = new int[rules.Length];
        Array.Fill(listIndex, -1);
        var indexes = new List<ListTimeIndex>();
        var bounds = new NodeBounds[exact.Count];
        var spans = new List<(long From, long To)>();
        var depths = Depths(children, exact.Count);

        // Children are always made after their parent, so a pass from the last node to the first sees every
        // subtree before its root.
        for (var n = exact.Count - 1; n >= 0; n--)
        {
            var bound = new NodeBounds { Lowest = int.MaxValue, MinLength = AnyLength, MaxLength = 0 };
            spans.Clear();
            foreach (var (head, isStar) in (ReadOnlySpan<(int, bool)>)[(exact[n], false), (star[n], true)])
            {
                var count = 0;
                for (var r = head; r >= 0; r = next[r])
                {
                    count++;
                    bound.Lowest = Math.Min(bound.Lowest, r);
                    spans.Add((rules[r].FromTicks, rules[r].ToTicks));
                    bound.Zones |= ZoneBits(rules[r]);
                }

                if (count > 0)
                {
                    bound.MinLength = Math.Min(bound.MinLength, depths[n]);
                    bound.MaxLength = isStar ? AnyLength : Math.Max(bound.MaxLength, depths[n]);
                }

                if (count >= indexedList)
                {
                    listIndex[head] = indexes.Count;
                    indexes.Add(ListTimeIndex.Build(rules, next, head));
                }
            }

            for (var e = 0; e < Edges; e++)
            {
                var child = children[(n * Edges) + e];
                if (child == 0)
                {
                    continue;
                }

                ref readonly var below = ref bounds[child];
                bound.Lowest = Math.Min(bound.Lowest, below.Lowest);
                bound.Zones |= below.Zones;
                bound.MinLength = Math.Min(bound.MinLength, below.MinLength);
                bound.MaxLength = Math.Max(bound.MaxLength, below.MaxLength);
                if (below.GapFrom < below.GapTo)
                {
                    spans.Add((below.From, below.GapFrom));
                    spans.Add((below.GapTo, below.To));
                }
                else
                {
                    spans.Add((below.From, below.To));
                }
            }

            (bound.From, bound.To, bound.GapFrom, bound.GapTo) = SpanWithGap(spans);
            bounds[n] = bound;
        }

        var fallback = exact.Count > workBudget ? new BitParallelMatch(rules, [.. ofType]) : null;
        return new ZeroRatingTrie([.. children], [.. exact], [.. star], next, listIndex, [.. indexes], bounds, fallback, workBudget);
    }

    public int Match(ZeroRatingRule[] rules, ReadOnlySpan<byte> peer, CdrType type, long startTicks, int zone)
    {
        var zoneBit = ZoneBit(zone);
        var length = peer.Length;
        // Depth-first over (node, position) with an explicit stack; each trie node is reached by one path only. The
        // lower subtree is walked first, and a subtree whose lowest index is not below the best found is skipped.
        Span<int> nodes = stackalloc int[StackSize];
        Span<int> positions = stackalloc int[StackSize];
        nodes[0] = 0;
        positions[0] = 0;
        var top = 1;
        var best = int.MaxValue;
        var work = 0;
        while (top > 0)
        {
            top--;
            var node = nodes[top];
            ref readonly var bound = ref _bounds[node];
            if (bound.Lowest >= best || startTicks < bound.From || startTicks >= bound.To
                || (startTicks >= bound.GapFrom && startTicks < bound.GapTo) || (bound.Zones & zoneBit) == 0
                || length < bound.MinLength || length > bound.MaxLength)
            {
                continue; // nothing below can beat the best, or apply to this length, at this instant or in this zone
            }

            if (++work > _workBudget && _fallback is not null)
            {
                Interlocked.Increment(ref _fallbacks);
                return _fallback.Match(rules, peer, type, startTicks, zone);
            }

            var at = positions[top];
            best = Better(rules, best, _starHead[node], type, startTicks, zone, ref work);
            if (at == length)
            {
                best = Better(rules, best, _exactHead[node], type, startTicks, zone, ref work);
                continue;
            }

            var digit = _children[(node * Edges) + (peer[at] - '0')];
            var any = _children[(node * Edges) + 10];
            var digitLow = digit == 0 ? int.MaxValue : _bounds[digit].Lowest;
            var anyLow = any == 0 ? int.MaxValue : _bounds[any].Lowest;

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

    /// <summary>The length of pattern (digits and x) that ends at each node: its depth.</summary>
    private static byte[] Depths(List<int> children, int nodes)
    {
        var depths = new byte[nodes];
        for (var n = 0; n < nodes; n++)
        {
            for (var e = 0; e < Edges; e++)
            {
                var child = children[(n * Edges) + e];
                if (child != 0)
                {
                    depths[child] = (byte)Math.Min(depths[n] + 1, AnyLength - 1);
                }
            }
        }

        return depths;
    }

    /// <summary>The span of the intervals and the largest gap inside it that none of them covers (empty when none).</summary>
    private static (long From, long To, long GapFrom, long GapTo) SpanWithGap(List<(long From, long To)> spans)
    {
        if (spans.Count == 0)
        {
            return (long.MaxValue, long.MinValue, 0, 0);
        }

        spans.Sort();
        var from = spans[0].From;
        var reach = spans[0].To;
        long gapFrom = 0, gapTo = 0;
        foreach (var (start, end) in spans)
        {
            if (start > reach && start - reach > gapTo - gapFrom)
            {
                (gapFrom, gapTo) = (reach, start);
            }

            reach = Math.Max(reach, end);
        }

        return (from, reach, gapFrom, gapTo);
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

    private int Better(ZeroRatingRule[] rules, int best, int rule, CdrType type, long startTicks, int zone, ref int work)
    {
        if (rule >= 0 && _listIndex[rule] >= 0)
        {
            // A long list: start at its first entry in force at this instant (those before it are not).
            rule = _indexes[_listIndex[rule]].FirstInForce(startTicks);
        }

        // Walk the node's list (ascending) until an applicable rule or one that cannot beat the best.
        for (; rule >= 0 && rule < best; rule = _nextRule[rule])
        {
            work++;
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

/// <summary>
/// The time index of one node's list of entries: between consecutive dates of its entries, the first entry (in list
/// order) in force — so the entries before it need not be read at an instant in that interval.
/// </summary>
internal sealed class ListTimeIndex
{
    private readonly long[] _starts; // ascending: the intervals' first instants
    private readonly int[] _first; // interval → first entry in force throughout it, -1 none

    private ListTimeIndex(long[] starts, int[] first)
    {
        _starts = starts;
        _first = first;
    }

    public static ListTimeIndex Build(ZeroRatingRule[] rules, int[] next, int head)
    {
        var events = new List<(long At, int Rule, bool Starts)>();
        for (var r = head; r >= 0; r = next[r])
        {
            if (rules[r].FromTicks < rules[r].ToTicks)
            {
                events.Add((rules[r].FromTicks, r, true));
                events.Add((rules[r].ToTicks, r, false));
            }
        }

        events.Sort((a, b) => a.At.CompareTo(b.At));
        var starts = new List<long>();
        var first = new List<int>();
        var inForce = new SortedSet<int>();
        for (var i = 0; i < events.Count;)
        {
            var at = events[i].At;
            for (; i < events.Count && events[i].At == at; i++)
            {
                if (events[i].Starts)
                {
                    inForce.Add(events[i].Rule);
                }
                else
                {
                    inForce.Remove(events[i].Rule);
                }
            }

            starts.Add(at);
            first.Add(inForce.Count == 0 ? -1 : inForce.Min);
        }

        return new ListTimeIndex([.. starts], [.. first]);
    }

    /// <summary>The first entry of the list in force at <paramref name="ticks"/>, or -1.</summary>
    public int FirstInForce(long ticks)
    {
        var at = Array.BinarySearch(_starts, ticks);
        at = at >= 0 ? at : ~at - 1;
        return at < 0 ? -1 : _first[at];
    }
}

/// <summary>
/// The bounded match for a walk over budget: for each position and digit, the set of entries (one bit each, in list
/// order) whose pattern accepts that digit there, and for each peer length the entries that can match it; the entries
/// matching a peer are the AND of its digits' sets (read row by row, a chunk of words at a time, with vector
/// instructions), scanned from the lowest bit up until one applies.
/// </summary>
internal sealed class BitParallelMatch
{
    private const int Digits = 10;
    private const int ChunkWords = 2048; // 16 KB of the stack

    private readonly int[] _rule; // bit → rule index (ascending)
    private readonly int _words;
    private readonly ulong[] _position; // (((position * 10) + digit) * words) + word: entries that accept the digit there
    private readonly ulong[] _length; // (length * words) + word: entries that accept a peer of that length

    public BitParallelMatch(ZeroRatingRule[] rules, int[] ofType)
    {
        const int MaxPeer = ZeroRatingTable.MaxPeer;
        _rule = ofType;
        _words = (ofType.Length + 63) / 64;
        _position = new ulong[MaxPeer * Digits * _words];
        _length = new ulong[(MaxPeer + 1) * _words];
        for (var b = 0; b < ofType.Length; b++)
        {
            var pattern = rules[ofType[b]].Pattern;
            var star = pattern[^1] == '*';
            var body = pattern.Length - (star ? 1 : 0);
            if (body > MaxPeer)
            {
                continue;
            }

            var word = b >> 6;
            var bit = 1UL << (b & 63);
            for (var length = body; length <= (star ? MaxPeer : body); length++)
            {
                _length[(length * _words) + word] |= bit;
            }

            for (var at = 0; at < MaxPeer; at++)
            {
                for (var d = 0; d < Digits; d++)
                {
                    if (at < body ? pattern[at] == 'x' || pattern[at] - '0' == d : star)
                    {
                        _position[(((at * Digits) + d) * _words) + word] |= bit;
                    }
                }
            }
        }
    }

    public int Match(ZeroRatingRule[] rules, ReadOnlySpan<byte> peer, CdrType type, long startTicks, int zone)
    {
        Span<ulong> chunk = stackalloc ulong[Math.Min(_words, ChunkWords)];
        for (var first = 0; first < _words; first += ChunkWords)
        {
            var words = Math.Min(ChunkWords, _words - first);
            var bits = chunk[..words];
            _length.AsSpan((peer.Length * _words) + first, words).CopyTo(bits);
            for (var at = 0; at < peer.Length; at++)
            {
                var row = _position.AsSpan((((at * Digits) + (peer[at] - '0')) * _words) + first, words);
                And(bits, row);
            }

            for (var word = 0; word < words; word++)
            {
                for (var set = bits[word]; set != 0; set &= set - 1)
                {
                    var rule = _rule[((first + word) << 6) + System.Numerics.BitOperations.TrailingZeroCount(set)];
                    if (rules[rule].AppliesTo(type, startTicks, zone))
                    {
                        return rule;
                    }
                }
            }
        }

        return -1;
    }

    private static void And(Span<ulong> bits, ReadOnlySpan<ulong> row)
    {
        var i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var width = System.Numerics.Vector<ulong>.Count;
            for (; i + width <= bits.Length; i += width)
            {
                (new System.Numerics.Vector<ulong>(bits[i..]) & new System.Numerics.Vector<ulong>(row[i..])).CopyTo(bits[i..]);
            }
        }

        for (; i < bits.Length; i++)
        {
            bits[i] &= row[i];
        }
    }
}
