using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using RatingPipeline.Output;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Tariffs;

using RatingPipeline.Tests.Support;

namespace RatingPipeline.Tests.Rater;

/// <summary>An output the offline run produced: its id (<c>id</c> or <c>eventId</c>), subscriber, source partition and JSON.</summary>
internal sealed record ExpectedOutput(string Id, string Msisdn, int Partition, string Json);

/// <summary>A record the offline run rejected, with where it was read from.</summary>
internal sealed record ExpectedRejection(int Partition, long Offset, string Reason, string Detail, byte[] Raw, string? Key);

/// <summary>
/// The reference the Kafka rater is held to: the same <see cref="RatingEngine"/>, run in this process over the CDRs
/// exactly as they sit in the <c>cdrs</c> topic (read back), partition by partition in offset order, each CDR with its
/// offset — which is the order rating depends on (one subscriber's records keep their order within its partition),
/// and gives the states the same offset tags the rater writes.
/// </summary>
internal sealed class OfflineModel
{
    private readonly RatingEngine _engine;
    private readonly RecordWriter _writer = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly HashSet<(int Partition, long Offset)> _applied = [];
    private int _partition;
    private long _offset;
    private string? _key;

    public OfflineModel(Tariff tariff, IEnumerable<byte[]> profiles)
    {
        _engine = new RatingEngine(tariff);
        foreach (var line in profiles)
        {
            var profile = SubscriberProfile.TryParse(line, tariff, out var error)
                ?? throw new ArgumentException($"test profile refused: {error}: {Encoding.UTF8.GetString(line)}", nameof(profiles));
            _engine.SetProfile(profile);
        }
    }

    /// <summary>The engine itself, for reading a subscriber's profile and state after a run.</summary>
    public RatingEngine Engine => _engine;

    /// <summary>The tariff in force; replacing it applies from the next record on, as in the rater.</summary>
    public Tariff Tariff
    {
        get => _engine.Tariff;
        set => _engine.Tariff = value;
    }

    public List<ExpectedOutput> Rated { get; } = [];

    public List<ExpectedOutput> Reminders { get; } = [];

    public List<ExpectedRejection> Rejected { get; } = [];

    public List<ExpectedOutput> Bills { get; } = [];

    /// <summary>How many CDRs the model has rated, rejected or skipped so far.</summary>
    public int Applied => _applied.Count;

    /// <summary>Rates the records not applied yet, partition by partition in offset order.</summary>
    public void Apply(IEnumerable<TopicRecord> cdrs)
    {
        foreach (var record in cdrs.Where(r => !_applied.Contains((r.Partition, r.Offset))).OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            _applied.Add((record.Partition, record.Offset));
            _partition = record.Partition;
            _offset = record.Offset;
            _key = record.Key is null ? null : record.KeyText;
            var sink = new Sink(this);
            _engine.Process(record.Value ?? [], ref sink, record.Offset);
        }
    }

    /// <summary>Every subscriber's final state, by msisdn.</summary>
    public Dictionary<string, StateView> States() => _engine.StateKeys.ToDictionary(
        MsisdnKey.ToText,
        key => _engine.TryGetState(key, out var state) ? StateView.Of(in state) : throw new InvalidOperationException("state vanished"));

    private void OnRated(in RatedCdr rated)
    {
        _buffer.ResetWrittenCount();
        _writer.WriteRated(_buffer, in rated);
        Rated.Add(new ExpectedOutput(Encoding.UTF8.GetString(rated.Id), Encoding.ASCII.GetString(rated.Msisdn), _partition,
            Encoding.UTF8.GetString(_buffer.WrittenSpan)));
    }

    private void OnReminder(in ReminderEvent reminder)
    {
        _buffer.ResetWrittenCount();
        _writer.WriteReminder(_buffer, in reminder);
        var json = Encoding.UTF8.GetString(_buffer.WrittenSpan);
        using var document = JsonDocument.Parse(json);
        Reminders.Add(new ExpectedOutput(document.RootElement.GetProperty("eventId").GetString()!, Encoding.ASCII.GetString(reminder.Msisdn),
            _partition, json));
    }

    private void OnBill(in BillRecord bill)
    {
        _buffer.ResetWrittenCount();
        _writer.WriteBill(_buffer, in bill);
        var json = Encoding.UTF8.GetString(_buffer.WrittenSpan);
        using var document = JsonDocument.Parse(json);
        Bills.Add(new ExpectedOutput(document.RootElement.GetProperty("eventId").GetString()!, Encoding.ASCII.GetString(bill.Msisdn),
            _partition, json));
    }

    private void OnRejected(in RejectedCdr rejected) =>
        Rejected.Add(new ExpectedRejection(_partition, _offset, RecordNames.ReasonText(rejected.Reason), rejected.Detail, rejected.Raw.ToArray(), _key));

    private readonly struct Sink(OfflineModel model) : IRatingSink
    {
        public void Rated(in RatedCdr rated) => model.OnRated(in rated);

        public void Reminder(in ReminderEvent reminder) => model.OnReminder(in reminder);

        public void Rejected(in RejectedCdr rejected) => model.OnRejected(in rejected);

        public void Bill(in BillRecord bill) => model.OnBill(in bill);
    }
}

/// <summary>
/// A subscriber's usage state in comparable, printable form: every field of <see cref="UsageState"/> by meaning
/// (<see cref="StateFields"/>: the duplicate memory oldest first, not by ring slot, since the codec stores it in that
/// order), so a state restored from <c>rater-state</c> equals the one it was written from.
/// </summary>
internal sealed record StateView(string Text)
{
    public static StateView Of(in UsageState state) =>
        new(string.Join('\n', StateFields.Of(in state).Select(f => $"{f.Key}={f.Value}")));

    /// <summary>The fields in which <paramref name="stored"/> differs from <paramref name="expected"/>, for a failure message.</summary>
    public static string Differences(StateView expected, StateView stored)
    {
        var mine = Fields(expected);
        var theirs = Fields(stored);
        return string.Join("; ", mine.Keys.Union(theirs.Keys)
            .Where(k => mine.GetValueOrDefault(k) != theirs.GetValueOrDefault(k))
            .Select(k => $"{k} expected {mine.GetValueOrDefault(k) ?? "(absent)"} but stored {theirs.GetValueOrDefault(k) ?? "(absent)"}"));

        static Dictionary<string, string> Fields(StateView view) => view.Text.Split('\n')
            .Select(line => line.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
    }

    /// <summary>
    /// The state a restore takes for each subscriber, read from <c>rater-state</c> in log order: the highest offset tag,
    /// the later on a tie (<see cref="StateChangelog"/>).
    /// </summary>
    public static Dictionary<string, StateView> FromChangelog(IEnumerable<TopicRecord> stateRecords, List<string> problems)
    {
        var current = new Dictionary<ulong, UsageState>();
        var keys = new Dictionary<ulong, string>();
        foreach (var record in stateRecords.OrderBy(r => r.Partition).ThenBy(r => r.Offset))
        {
            var key = record.Key is null ? "" : Encoding.ASCII.GetString(record.Key);
            if (!MsisdnKey.TryCompute(key, out var msisdnKey) || !StateChangelog.Apply(current, msisdnKey, record.Value, tombstone: record.Value is null))
            {
                problems.Add($"rater-state of {key} at [{record.Partition}]@{record.Offset} does not decode");
                continue;
            }

            keys[msisdnKey] = key;
        }

        return current.ToDictionary(s => keys[s.Key], s => Of(s.Value), StringComparer.Ordinal);
    }
}
