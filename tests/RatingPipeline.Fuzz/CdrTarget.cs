using System.Buffers;
using System.Text;
using RatingPipeline.Rating;
using RatingPipeline.Records;
using RatingPipeline.Subscribers;
using RatingPipeline.Synthetic;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Fuzz;

/// <summary>
/// CDR decoder and rating engine. For every input: <see cref="RatingEngine.Process"/> returns Rated or Rejected
/// and calls the sink with exactly one rated or rejected record (never both); no exception escapes; every
/// output record is written as JSON that parses back (a rejected record's raw is the input); a fresh decoder
/// agrees with the long-lived one (no state leaks from earlier records); and the decoder agrees with a plain
/// <see cref="System.Text.Json.JsonDocument"/> reading of the rules on shape, validity, values and the
/// id and msisdn copied into a rejected record; and the decoder's canonical-shape scan agrees with its general reader.
/// </summary>
public sealed class CdrTarget : FuzzTarget
{
    private const int Subscribers = 40;
    private const int StateResetEvery = 256;

    private static readonly InvalidCause[] ShapeCauses =
        [InvalidCause.NotUtf8, InvalidCause.NotJson, InvalidCause.NotAnObject, InvalidCause.DuplicateName];

    private readonly RatingEngine _engine;
    private readonly OutputChecks _checks = new();
    private long _runs;

    public CdrTarget()
    {
        var tariff = TariffLoader.Load(SyntheticData.DemoTariff());
        _engine = new RatingEngine(tariff);
        var data = new SyntheticData(seed: 11, subscribers: Subscribers);
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < Subscribers; i++)
        {
            buffer.Clear();
            data.WriteProfile(i, buffer);
            _engine.SetProfile(SubscriberProfile.TryParse(buffer.WrittenSpan, tariff, out var error)
                ?? throw new InvalidOperationException($"synthetic profile {i} refused: {error}"));
        }

        var seeds = new List<byte[]>();
        for (var i = 0; i < 48; i++)
        {
            buffer.Clear();
            data.WriteNextCdr(buffer);
            seeds.Add(buffer.WrittenSpan.ToArray());
        }

        seeds.AddRange(HandWritten.Select(Encoding.UTF8.GetBytes));
        Seeds = seeds;
    }

    public override string Name => "cdr";

    public override IReadOnlyList<byte[]> Seeds { get; }

    public override IReadOnlyList<byte[]> Dictionary { get; } = Tokens.Of(Tokens.Json, Tokens.Cdr);

    /// <summary>Records reaching each rule of the format and each branch of rating (subscribers of the synthetic data).</summary>
    public static readonly string[] HandWritten =
    [
        """{"id":"h1","type":"voice","msisdn":"8613800000001","direction":"mo","peer":"13900000000","start":"2026-11-02T10:00:00+08:00","durationSec":61}""",
        """{"id":"h2","type":"voice","msisdn":"8613800000002","direction":"mt","peer":"+447700900123","start":"2026-11-02T10:00:00Z","durationSec":86400,"visitedMcc":"454"}""",
        """{"id":"h3","type":"sms","msisdn":"8613800000003","direction":"mo","peer":"+447786205094","start":"2026-11-02T10:00:00.1234567+08:00","visitedMcc":null}""",
        """{"id":"h4","type":"sms","msisdn":"8613800000004","direction":"mo","peer":"004475374102","start":"2026-11-02T10:00:00-05:00","visitedMcc":"440"}""",
        """{"id":"h5","type":"data","msisdn":"8613800000005","start":"2026-11-02T10:00:00+08:00","bytes":1000000000000,"direction":"x","peer":7}""",
        """{"id":"h6","type":"data","msisdn":"8613800000006","start":"2026-11-02T10:00:00+08:00","bytes":0,"visitedMcc":"999"}""",
        """{"id":"h7","type":"voice","msisdn":"8613800000007","direction":"mo","peer":"0086139","start":"2026-11-30T16:30:00Z","durationSec":-0,"extra":{"a":[1,{"b":null}]}}""",
        """ {"id":"h8","type":"sms","msisdn":"86138000000","direction":"mt","peer":"1","start":"2026-11-02T10:00:00+08:00"} """ + "\r",
        """{"\u0069d":"h\u00e99","type":"sms","msisdn":"8613800000009","direction":"mo","peer":"10086","start":"2026-11-02T10:00:00+08:00"}""",
        """{"id":"h10","type":"voice","msisdn":"99999","direction":"mo","peer":"10086","start":"2026-11-02T10:00:00+08:00","durationSec":5.0}""",
        """{"id":"h11","type":"voice","msisdn":"8613800000011","direction":"mo","peer":"10086","start":"2026-11-02T10:00:00+08:00","durationSec":1e3}""",
        """{"id":"h12","id":"h12","type":"sms"}""",
        """[{"id":"h13"}]""",
    ];

    public override string Run(ReadOnlySpan<byte> input)
    {
        if (++_runs % StateResetEvery == 0)
        {
            // Far-future starts would make every later CDR late: forget usage now and then.
            foreach (var key in _engine.StateKeys.ToArray())
            {
                _engine.RemoveState(key);
            }
        }

        var fresh = new CdrDecoder();
        var freshCause = fresh.Decode(input, out var cdr);

        // The canonical-shape scan (or its fallback) judges and reads the record as the general reader alone does.
        var strictCause = new CdrDecoder().DecodeStrict(input, out var strict);
        Check(strictCause == freshCause, $"the decoder says {freshCause} but the general reader alone says {strictCause}");
        if (strictCause == InvalidCause.None && freshCause == InvalidCause.None)
        {
            Check(cdr.Kind == strict.Kind && cdr.Id.SequenceEqual(strict.Id) && cdr.Msisdn.SequenceEqual(strict.Msisdn)
                && cdr.MsisdnKey == strict.MsisdnKey && cdr.Peer.SequenceEqual(strict.Peer) && cdr.Start.SequenceEqual(strict.Start)
                && cdr.StartTicks == strict.StartTicks && cdr.Type == strict.Type && cdr.Direction == strict.Direction
                && cdr.DurationSec == strict.DurationSec && cdr.Bytes == strict.Bytes && cdr.VisitedMcc == strict.VisitedMcc,
                "the decoder's record differs from the general reader's");
        }

        _checks.Begin(input);
        var sink = new CheckingSink(_checks);
        var result = _engine.Process(input, ref sink);
        _checks.CheckOutcome(result);

        // No state leaks between records: the long-lived engine judges the input as a fresh decoder does.
        if (freshCause != InvalidCause.None)
        {
            Check(result == RatingResult.Rejected && _checks.LastReason == RejectReason.Invalid && _checks.LastDetail == InvalidCauses.Detail(freshCause),
                $"a fresh decoder says {freshCause} but the engine's decoder gave {result} {_checks.LastReason} \"{_checks.LastDetail}\"");
        }
        else
        {
            Check(_checks.LastReason != RejectReason.Invalid,
                $"a fresh decoder accepts the record but the engine's decoder rejected it: \"{_checks.LastDetail}\"");
        }

        CompareWithReference(input, freshCause, ref cdr);
        return result == RatingResult.Rated ? "rated" : $"rejected {RecordNames.ReasonText(_checks.LastReason)} {freshCause}";
    }

    private void CompareWithReference(ReadOnlySpan<byte> input, InvalidCause cause, ref Cdr cdr)
    {
        var reference = ReferenceCdr.Read(input);
        switch (reference.Shape)
        {
            case RecordShape.NotUtf8:
                Check(cause == InvalidCause.NotUtf8, $"not UTF-8, but the decoder says {cause}");
                return;
            case RecordShape.NotJson:
                Check(ShapeCauses.Contains(cause), $"not one JSON value, but the decoder says {cause}");
                return;
            case RecordShape.NotAnObject:
                Check(cause == InvalidCause.NotAnObject, $"not an object, but the decoder says {cause}");
                return;
            case RecordShape.RepeatedName:
                Check(cause is InvalidCause.DuplicateName, $"a name is repeated, but the decoder says {cause}");
                return;
        }

        Check(cause is not (InvalidCause.NotUtf8 or InvalidCause.NotJson or InvalidCause.NotAnObject or InvalidCause.DuplicateName),
            $"one well-formed object without repeated names, but the decoder says {cause}");
        Check((cause == InvalidCause.None) == reference.Valid,
            $"the reference reading says {(reference.Valid ? "valid" : "invalid " + reference.Invalidity)}, the decoder says {cause}");

        // A rejected record carries id and msisdn whenever the object parses and the member is a string.
        if (cause != InvalidCause.None)
        {
            Check(_checks.LastHasId == (reference.Id is not null), $"rejected record {(reference.Id is null ? "has" : "lacks")} an id (id member: {reference.Id ?? "not a string"})");
            Check(_checks.LastId.AsSpan().SequenceEqual(ReferenceCdr.Utf8Of(reference.Id)), "rejected record's id differs from the member");
            Check(_checks.LastHasMsisdn == (reference.Msisdn is not null), "rejected record's msisdn present/absent wrongly");
            Check(_checks.LastMsisdn.AsSpan().SequenceEqual(ReferenceCdr.Utf8Of(reference.Msisdn)), "rejected record's msisdn differs from the member");
            return;
        }

        Check(cdr.Id.SequenceEqual(ReferenceCdr.Utf8Of(reference.Id)), "decoded id differs");
        Check(cdr.Msisdn.SequenceEqual(ReferenceCdr.Utf8Of(reference.Msisdn)), "decoded msisdn differs");
        Check(cdr.Start.SequenceEqual(ReferenceCdr.Utf8Of(reference.Start)), "decoded start differs");
        Check(Encoding.ASCII.GetString(RecordNames.TypeName(cdr.Type)) == reference.Type, "decoded type differs");
        Check(cdr.VisitedMcc == reference.VisitedMcc, $"decoded visitedMcc {cdr.VisitedMcc} differs from {reference.VisitedMcc}");
        if (cdr.Type == CdrType.Data)
        {
            Check(cdr.Bytes == reference.Bytes, $"decoded bytes {cdr.Bytes} differ from {reference.Bytes}");
        }
        else
        {
            Check(cdr.Peer.SequenceEqual(ReferenceCdr.Utf8Of(reference.Peer)), "decoded (normalised) peer differs");
            Check(cdr.Type != CdrType.Voice || cdr.DurationSec == reference.DurationSec, "decoded durationSec differs");
        }
    }
}
