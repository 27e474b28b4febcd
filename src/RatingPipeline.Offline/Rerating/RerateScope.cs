using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Win32.SafeHandles;
using RatingPipeline.IO;
using RatingPipeline.Lanes;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rerating;

/// <summary>
/// A re-rate narrowed to the subscribers a change of <c>zeroRated</c> or of plans can touch (<c>ratingctl rerate --old-tariff</c>).
/// <para>
/// Why it is exact. The engine is a function of the tariff and each subscriber's own records (subscribers are
/// independent: the lanes rely on it), and of the tariff it reads, for a subscriber, only the top-level members, the
/// plans its profiles name, and the <c>zeroRated</c> list (SPEC §4 step 4: does an entry apply, and which reason does it
/// report). When the new tariff differs from the one the old run rated under only in <c>zeroRated</c>, in some plans and
/// in its version, a subscriber whose plans are all unchanged and all of whose CDRs get the same answer from both lists
/// goes through the replay exactly as through the old run (the same accepts, rejects, counters, fees and reminders, by
/// induction over its records), so every charge compares equal and no adjustment comes of it. Only the other
/// subscribers — those with a CDR answered differently, those with a profile (in the subscriber file or a profile line
/// of the stream) naming a changed plan, and those the ledger already holds an entry for (a recorded adjustment changes
/// what "already adjusted" means) — are replayed; every line of the rest is left out.
/// </para>
/// <para>
/// Checked before narrowing, or the whole stream is replayed: the two tariff documents are equal but for
/// <c>version</c>, <c>zeroRated</c> and <c>plans</c> (<see cref="ChangedPlans"/>), and every record of the rated file
/// names the old tariff's version (a run that reloaded another tariff mid-month rated some records under it).
/// </para>
/// <para>
/// How. The CDR file is read twice in parts, one per core (<see cref="FileParts"/>): first every CDR is decoded (the
/// engine's own decoder) and asked both lists, and a profile line naming a changed plan is noted; then the CDR file and
/// the rated file are copied into a work folder with each line of a subscriber left out made blank (so every line
/// keeps its number, and the re-rate's messages name the lines of the real files). Clock records are kept; a line whose
/// subscriber cannot be told is kept (the re-rate judges it as before). Lines left out are read only as far as their
/// msisdn (and a rated record's <c>type</c> and <c>tariffVersion</c>): a broken rated record of a subscriber left out is
/// not reported, and the mismatches (<see cref="RerateMismatch"/>) are only looked for among the subscribers replayed.
/// </para>
/// </summary>
public sealed class RerateScope : IDisposable
{
    /// <summary>Below this size a file is read on the calling thread alone.</summary>
    private const int ParallelFrom = 1 << 20;

    /// <summary>How often (in bytes read) a part reports its progress.</summary>
    private const int ReportEvery = 4 << 20;

    private static readonly byte[] ByteOrderMark = [0xEF, 0xBB, 0xBF];

    private readonly string _folder;
    private readonly HashSet<ulong> _touched;

    private RerateScope(string folder, HashSet<ulong> touched)
    {
        _folder = folder;
        _touched = touched;
    }

    /// <summary>The CDR file with the lines of the subscribers left out made blank.</summary>
    public string CdrPath => Path.Combine(_folder, "cdrs.jsonl");

    /// <summary>The rated file with the records of the subscribers left out made blank.</summary>
    public string RatedPath => Path.Combine(_folder, "rated.jsonl");

    /// <summary>Subscribers replayed: a CDR of theirs is zero-rated differently, or the ledger holds an entry of theirs.</summary>
    public int TouchedSubscribers => _touched.Count;

    /// <summary>Non-blank CDR lines left out (those of the other subscribers, and lines the engine refuses as <c>invalid</c> under either tariff).</summary>
    public long CdrLinesLeftOut { get; private set; }

    /// <summary>Rated records of the subscribers left out (rated CDRs; their fee records are left out too, not counted, as <see cref="RerateSummary.RatedRecords"/> counts none).</summary>
    public long RatedRecordsLeftOut { get; private set; }

    /// <summary>Whether the subscriber of this msisdn key is replayed (only their profiles are needed).</summary>
    public bool Touches(ulong msisdnKey) => _touched.Contains(msisdnKey);

    /// <summary>Removes the work folder.</summary>
    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>
    /// The plans (by id) whose definitions differ between the two tariff documents — given in one only, or not equal —
    /// when the documents are otherwise equal but for their top-level <c>version</c> and <c>zeroRated</c> members
    /// (objects compared member by member, whatever their order); otherwise null, with why the whole stream must be
    /// replayed.
    /// </summary>
    public static IReadOnlySet<string>? ChangedPlans(string oldTariffPath, string newTariffPath, out string? refusal)
    {
        try
        {
            var options = new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };
            if (JsonNode.Parse(File.ReadAllBytes(oldTariffPath), documentOptions: options) is not JsonObject old
                || JsonNode.Parse(File.ReadAllBytes(newTariffPath), documentOptions: options) is not JsonObject @new)
            {
                refusal = "a tariff document is not an object";
                return null;
            }

            var differing = Differing(old, @new).Where(name => name is not ("version" or "zeroRated")).ToList();
            if (old["plans"] is JsonObject oldPlans && @new["plans"] is JsonObject newPlans)
            {
                differing.Remove("plans");
                if (differing.Count == 0)
                {
                    refusal = null;
                    return Differing(oldPlans, newPlans).ToHashSet(StringComparer.Ordinal);
                }
            }

            refusal = $"the tariffs differ in more than zeroRated and plans ({string.Join(", ", differing)})";
            return null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            refusal = $"the tariff documents could not be compared ({e.Message})";
            return null;
        }
    }

    /// <summary>The names of the members given in one object only, or with values that are not equal.</summary>
    private static IEnumerable<string> Differing(JsonObject a, JsonObject b) =>
        a.Select(m => m.Key).Union(b.Select(m => m.Key))
            .Where(name => a.ContainsKey(name) != b.ContainsKey(name) || !JsonNode.DeepEquals(a[name], b[name]));

    /// <summary>
    /// Finds the subscribers the change touches and writes the narrowed CDR and rated files into
    /// <paramref name="workFolder"/> (made here; removed by <see cref="Dispose"/>). Returns null, with the reason in
    /// <paramref name="refusal"/> and the folder removed, when a rated record names a tariff version other than
    /// <paramref name="old"/>'s. <paramref name="changedPlans"/>: as <see cref="ChangedPlans"/> gives them;
    /// <paramref name="profiles"/>: the subscriber file's; <paramref name="ledgerMsisdns"/>: the msisdns of the entries
    /// already in the ledger.
    /// <paramref name="onScanned"/> hears the bytes of the CDR file scanned so far; <paramref name="onWritten"/> those of
    /// the CDR and rated files copied so far.
    /// </summary>
    public static RerateScope? Narrow(Tariff old, Tariff @new, IReadOnlySet<string> changedPlans, IEnumerable<SubscriberProfile> profiles, string cdrPath,
        string ratedPath, IEnumerable<string> ledgerMsisdns, string workFolder, out string? refusal, CancellationToken cancel, Action<long>? onScanned = null,
        Action<long>? onWritten = null)
    {
        var (touched, lineKeys) = Touched(old, @new, changedPlans, cdrPath, cancel, onScanned);
        foreach (var profile in profiles)
        {
            if (changedPlans.Contains(profile.Plan))
            {
                touched.Add(profile.MsisdnKey);
            }
        }

        foreach (var msisdn in ledgerMsisdns)
        {
            if (MsisdnKey.TryCompute(msisdn, out var key))
            {
                touched.Add(key);
            }
        }

        Directory.CreateDirectory(workFolder);
        var scope = new RerateScope(workFolder, touched);
        try
        {
            var written = new Progress(onWritten);
            scope.CdrLinesLeftOut = Copy(cdrPath, scope.CdrPath, cancel, written, part => new CdrLineFilter(touched, lineKeys[part]));
            var rated = new RatedLineFilter.Shared(touched, Encoding.UTF8.GetBytes(old.Version));
            scope.RatedRecordsLeftOut = Copy(ratedPath, scope.RatedPath, cancel, written, _ => new RatedLineFilter(rated));
            if (rated.OtherVersion(out var line, out var version))
            {
                refusal = $"{ratedPath}:{line} was rated under tariff version \"{version}\", not the old tariff's \"{old.Version}\"";
                scope.Dispose();
                return null;
            }

            refusal = null;
            return scope;
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies of the CDR and rated files in <paramref name="workFolder"/> (made here; removed by <see cref="Dispose"/>)
    /// that keep only the lines of the given subscribers, every clock record, and the lines whose subscriber cannot be
    /// told (the others made blank, so every line keeps its number): for a re-rate of those subscribers alone, which
    /// finds for them what a re-rate of every subscriber finds (subscribers are independent). Every line of the CDR file
    /// is decoded. The rated records' tariff versions are not checked.
    /// </summary>
    internal static RerateScope Keeping(HashSet<ulong> subscribers, string cdrPath, string ratedPath, string workFolder, CancellationToken cancel)
    {
        Directory.CreateDirectory(workFolder);
        var scope = new RerateScope(workFolder, subscribers);
        try
        {
            var quiet = new Progress(null);
            scope.CdrLinesLeftOut = Copy(cdrPath, scope.CdrPath, cancel, quiet, _ => new OwnerLineFilter(subscribers));
            var rated = new RatedLineFilter.Shared(subscribers, version: null);
            scope.RatedRecordsLeftOut = Copy(ratedPath, scope.RatedPath, cancel, quiet, _ => new RatedLineFilter(rated));
            return scope;
        }
        catch
        {
            scope.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The msisdn keys of the CDRs both zero-rating lists answer differently (no entry against one, or another reason),
    /// and for each part of the file (<see cref="FileParts.Bounds"/>, one per core) the key of each of its lines
    /// (<see cref="CdrLineFilter"/>).
    /// </summary>
    private static (HashSet<ulong> Touched, List<ulong>[] LineKeys) Touched(Tariff old, Tariff @new, IReadOnlySet<string> changedPlans, string cdrPath,
        CancellationToken cancel, Action<long>? onScanned)
    {
        var progress = new Progress(onScanned);
        using var file = File.OpenHandle(cdrPath);
        var length = RandomAccess.GetLength(file);
        var bounds = FileParts.Bounds(file, length, length < ParallelFrom ? 1 : Environment.ProcessorCount);
        var found = new HashSet<ulong>[bounds.Length - 1];
        var lineKeys = new List<ulong>[found.Length];
        Parallel.For(0, found.Length, new ParallelOptions { CancellationToken = cancel }, part =>
        {
            var keys = found[part] = [];
            var lines = lineKeys[part] = new List<ulong>((int)Math.Min((bounds[part + 1] - bounds[part]) / 64, Array.MaxLength));
            var decoder = new CdrDecoder();
            var read = 0L;
            FileParts.ReadLines(file, bounds[part], bounds[part + 1], line =>
            {
                progress.Line(ref read, line.Length, cancel);

                if (SubscriberFile.IsBlank(line))
                {
                    lines.Add(CdrLineFilter.Blank);
                }
                else if (decoder.Decode(line, out var cdr) != InvalidCause.None)
                {
                    lines.Add(CdrLineFilter.Refused);
                }
                else
                {
                    switch (cdr.Kind)
                    {
                        case RecordKind.Clock:
                            lines.Add(CdrLineFilter.Always);
                            break;
                        case RecordKind.Profile:
                            var profileKey = 0UL;
                            var known = decoder.HasRejectedMsisdn && MsisdnKey.TryCompute(decoder.RejectedMsisdn, out profileKey);
                            lines.Add(known ? profileKey : CdrLineFilter.Always);

                            // A profile line naming a changed plan: read leniently (without a tariff), since either tariff may refuse it.
                            if (known && changedPlans.Count > 0 && SubscriberProfile.TryParse(line, null, out _) is { } profile && changedPlans.Contains(profile.Plan))
                            {
                                keys.Add(profileKey);
                            }

                            break;
                        default:
                            lines.Add(cdr.MsisdnKey);
                            if (cdr.Kind == RecordKind.Cdr && cdr.Type != CdrType.Data && !SameAnswer(old, @new, in cdr))
                            {
                                keys.Add(cdr.MsisdnKey);
                            }

                            break;
                    }
                }

                return true;
            });
            progress.Add(read);
        });

        var touched = found[0];
        foreach (var keys in found.Skip(1))
        {
            touched.UnionWith(keys);
        }

        return (touched, lineKeys);
    }

    /// <summary>Whether both tariffs' zero-rating lists give a CDR the same answer: no entry from either, or entries of the same reason.</summary>
    private static bool SameAnswer(Tariff old, Tariff @new, in Cdr cdr)
    {
        var before = old.ZeroRating.Match(cdr.Peer, cdr.Type, cdr.StartTicks, old.ZoneOf(cdr.VisitedMcc));
        var after = @new.ZeroRating.Match(cdr.Peer, cdr.Type, cdr.StartTicks, @new.ZoneOf(cdr.VisitedMcc));
        return before < 0 ? after < 0 : after >= 0 && old.ZeroRating[before].Reason == @new.ZeroRating[after].Reason;
    }

    /// <summary>
    /// Copies a file line by line in parts (one per core, each into a file of its own, then joined in order): each line
    /// kept, or made blank; every copied line ends with a line end. Returns the non-blank lines made blank.
    /// </summary>
    private static long Copy(string from, string to, CancellationToken cancel, Progress written, Func<int, LineFilter> filter)
    {
        using var file = File.OpenHandle(from);
        var length = RandomAccess.GetLength(file);
        var bounds = FileParts.Bounds(file, length, length < ParallelFrom ? 1 : Environment.ProcessorCount);
        var filters = new LineFilter[bounds.Length - 1];
        Parallel.For(0, filters.Length, new ParallelOptions { CancellationToken = cancel }, part =>
        {
            var lines = filters[part] = filter(part);
            using var output = new FileStream(PartPath(to, part), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var read = 0L;
            var number = 0;
            FileParts.ReadLines(file, bounds[part], bounds[part + 1], line =>
            {
                written.Line(ref read, line.Length, cancel);

                if (lines.Keep(line, part, ++number))
                {
                    output.Write(line);
                }

                output.WriteByte((byte)'\n');
                return true;
            });
            written.Add(read);
            lines.Lines = number;
        });

        // The parts in order, into one file.
        using (var joined = new FileStream(to, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            for (var part = 0; part < filters.Length; part++)
            {
                using (var piece = File.OpenRead(PartPath(to, part)))
                {
                    piece.CopyTo(joined);
                }

                File.Delete(PartPath(to, part));
            }
        }

        var linesBefore = 0L;
        foreach (var part in filters)
        {
            part.Finish(linesBefore);
            linesBefore += part.Lines;
        }

        return filters.Sum(f => f.LeftOut);
    }

    private static string PartPath(string path, int part) => $"{path}.part{part}";

    /// <summary>Bytes read so far by all parts, told to a progress reporter.</summary>
    private sealed class Progress(Action<long>? report)
    {
        private long _bytes;

        /// <summary>A part read a line of <paramref name="length"/> bytes: kept in its <paramref name="read"/>, which every few MB is added and cleared (and the run checked for cancellation).</summary>
        public void Line(ref long read, int length, CancellationToken cancel)
        {
            read += length + 1;
            if (read >= ReportEvery)
            {
                Add(read);
                read = 0;
                cancel.ThrowIfCancellationRequested();
            }
        }

        public void Add(long bytes)
        {
            var total = Interlocked.Add(ref _bytes, bytes);
            report?.Invoke(total);
        }
    }

    /// <summary>Which lines of a part are kept (one filter per part, on its thread).</summary>
    private abstract class LineFilter
    {
        /// <summary>Non-blank lines made blank.</summary>
        public long LeftOut { get; protected set; }

        /// <summary>Lines of the part (after the copy).</summary>
        public int Lines { get; set; }

        /// <summary>Whether a line is kept as it is (else it is made blank); <paramref name="number"/> is 1-based within the part.</summary>
        public abstract bool Keep(ReadOnlySpan<byte> line, int part, int number);

        /// <summary>Once every part is copied: <paramref name="linesBefore"/> is the lines of the parts before this one.</summary>
        public virtual void Finish(long linesBefore)
        {
        }
    }

    /// <summary>
    /// A CDR line is kept by the key the scan found for it (<see cref="Touched"/>; the two passes cut the file into the
    /// same parts): a clock record, and a profile line whose msisdn is no msisdn, always (the re-rate judges them as
    /// before); a line the engine's decoder refuses never (it is refused under either tariff and changes nothing); the
    /// others when their msisdn is touched.
    /// </summary>
    private sealed class CdrLineFilter(HashSet<ulong> touched, List<ulong> keys) : LineFilter
    {
        /// <summary>A blank line (copied as one, not counted).</summary>
        public const ulong Blank = 0;

        /// <summary>A line the decoder refuses. No msisdn key is 0 or 1: a key is its digits' count × 10^15 + their value, at least 5 digits.</summary>
        public const ulong Refused = 1;

        /// <summary>A line every subscriber's replay needs.</summary>
        public const ulong Always = ulong.MaxValue;

        public override bool Keep(ReadOnlySpan<byte> line, int part, int number)
        {
            var key = number <= keys.Count ? keys[number - 1] : Always; // (a file that grew since the scan: its new lines kept)
            if (key is Blank or Always || (key != Refused && touched.Contains(key)))
            {
                return true;
            }

            LeftOut++;
            return false;
        }
    }

    /// <summary>
    /// A CDR line is kept by what the engine's decoder reads of it: a clock record, and a profile line whose msisdn is no
    /// msisdn, always; a line it refuses never (refused under any tariff, it changes nothing); the others when their
    /// msisdn is one of the subscribers kept.
    /// </summary>
    private sealed class OwnerLineFilter(HashSet<ulong> kept) : LineFilter
    {
        private readonly CdrDecoder _decoder = new();

        public override bool Keep(ReadOnlySpan<byte> line, int part, int number)
        {
            if (SubscriberFile.IsBlank(line))
            {
                return true;
            }

            var keep = false;
            if (_decoder.Decode(line, out var cdr) == InvalidCause.None)
            {
                keep = cdr.Kind switch
                {
                    RecordKind.Clock => true,
                    RecordKind.Profile => !_decoder.HasRejectedMsisdn || !MsisdnKey.TryCompute(_decoder.RejectedMsisdn, out var key) || kept.Contains(key),
                    _ => kept.Contains(cdr.MsisdnKey),
                };
            }

            if (!keep)
            {
                LeftOut++;
            }

            return keep;
        }
    }

    /// <summary>
    /// A rated record is kept when its msisdn is touched; its msisdn and <c>tariffVersion</c> are read by the lanes' quick
    /// scans, else from the record read in full. A line that is no rated record is kept (the re-rate refuses it, naming
    /// it). The first record of another tariff version is noted.
    /// </summary>
    private sealed class RatedLineFilter(RatedLineFilter.Shared shared) : LineFilter
    {
        private int _part;
        private int _otherAt;
        private string? _otherVersion;

        public override bool Keep(ReadOnlySpan<byte> line, int part, int number)
        {
            _part = part;
            var first = part == 0 && number == 1;
            var body = first && line.StartsWith(ByteOrderMark) ? line[3..] : line;
            if (SubscriberFile.IsBlank(body))
            {
                return true;
            }

            ulong key;
            ReadOnlySpan<byte> version;
            ReadOnlySpan<byte> type;
            bool isFee;
            var plain = !body.Contains((byte)'\\');
            if ((LaneRouter.TryLeadingMembers(body, needType: false, out _, out var msisdn)
                    || (plain && LaneRouter.TryTopLevelString(body, "\"msisdn\""u8, out msisdn)))
                && MsisdnKey.TryCompute(msisdn, out key)
                && plain && LaneRouter.TryTopLevelString(body, "\"tariffVersion\""u8, out version)
                && LaneRouter.TryTopLevelString(body, "\"type\""u8, out type))
            {
                isFee = type.SequenceEqual("fee"u8);
            }
            else
            {
                var parsed = default(RatedLine);
                if (!RatedRecordReader.TryParseLine(line, first, includeFees: true, ref parsed, out var error))
                {
                    return error is not null; // no rated record: the re-rate refuses the file at this line
                }

                key = parsed.MsisdnKey;
                version = parsed.TariffVersion.Utf8;
                isFee = parsed.IsFee;
            }

            if (_otherVersion is null && shared.Version is { } expected && !version.SequenceEqual(expected))
            {
                _otherAt = number;
                _otherVersion = Encoding.UTF8.GetString(version);
            }

            if (shared.Touched.Contains(key))
            {
                return true;
            }

            if (!isFee)
            {
                LeftOut++; // the records the re-rate counts are rated CDRs (RerateSummary.RatedRecords)
            }

            return false;
        }

        public override void Finish(long linesBefore)
        {
            if (_otherVersion is not null)
            {
                shared.Note(_part, linesBefore + _otherAt, _otherVersion);
            }
        }

        /// <summary>
        /// What the parts share: the touched subscribers, the old version (null: not checked), and the first record of
        /// another version.
        /// </summary>
        public sealed class Shared(HashSet<ulong> touched, byte[]? version)
        {
            private (int Part, long Line, string Version)? _other;

            public HashSet<ulong> Touched => touched;

            public byte[]? Version => version;

            public void Note(int part, long line, string other)
            {
                if (_other is null || part < _other.Value.Part)
                {
                    _other = (part, line, other);
                }
            }

            public bool OtherVersion(out long line, out string other)
            {
                (line, other) = _other is { } found ? (found.Line, found.Version) : (0L, "");
                return _other is not null;
            }
        }
    }
}
