using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using RatingPipeline.Time;

namespace RatingPipeline.Records;

/// <summary>
/// Decodes one CDR (one JSON object) straight from its UTF-8 bytes and checks every rule of the record
/// format: valid UTF-8, exactly one JSON object with nothing but whitespace after it, no member name twice
/// at any depth, integer fields written as integers, and the per-type required fields.
/// A record of the canonical shape is read by a single-pass scan (<c>CdrDecoder.FastPath.cs</c>); any other goes to
/// the general reader over <see cref="Utf8JsonReader"/>, and both hand the same members to the same field rules.
/// An instance reuses its scratch buffers, so decoding allocates nothing after warm-up; it is not thread-safe.
/// </summary>
public sealed partial class CdrDecoder
{
    /// <summary>Nesting deeper than this is refused as invalid (the JSON reader's own bound).</summary>
    public const int MaxDepth = 256;

    private const int MaxIdLength = 64;
    private const int SmallObject = 32;

    // Scratch grown past these by one oversized record (a 1 MiB id, a 10^5-member object) is let go at the
    // next record, so a hostile record does not pin memory for the life of the engine.
    private const int KeepArenaBytes = 64 * 1024;
    private const int KeepLargeObjectNames = 4096;

    private static readonly SearchValues<byte> JsonWhitespace = SearchValues.Create(" \t\r\n"u8);

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = MaxDepth,
    };

    // Scratch for unescaped strings and the normalised peer; grows only for unusual (escaped, long) input.
    private byte[] _arena = new byte[1024];
    private int _arenaUsed;

    // Duplicate-name detection: name hashes of the open objects, and where each open object's names start.
    private ulong[] _names = new ulong[256];
    private int _nameCount;
    private readonly int[] _objectStart = new int[MaxDepth + 2];
    private readonly int[] _objectOrdinal = new int[MaxDepth + 2];
    private readonly HashSet<(int Object, ulong Name)> _largeObjectNames = [];
    private int _objects;

    // The members the record format knows, indexed by FieldId (so a member found by name is one indexed store).
    private FieldSet _fields;

    private ref Field IdField => ref _fields[(int)FieldId.Id];

    private ref Field TypeField => ref _fields[(int)FieldId.Type];

    private ref Field MsisdnField => ref _fields[(int)FieldId.Msisdn];

    private ref Field DirectionField => ref _fields[(int)FieldId.Direction];

    private ref Field PeerField => ref _fields[(int)FieldId.Peer];

    private ref Field StartField => ref _fields[(int)FieldId.Start];

    private ref Field DurationField => ref _fields[(int)FieldId.DurationSec];

    private ref Field BytesField => ref _fields[(int)FieldId.Bytes];

    private ref Field MccField => ref _fields[(int)FieldId.VisitedMcc];

    private ref Field AtField => ref _fields[(int)FieldId.At];

    /// <summary>After a failed decode: whether the record was one well-formed object with a string <c>id</c>.</summary>
    public bool HasRejectedId { get; private set; }

    public bool HasRejectedMsisdn { get; private set; }

    private int _rejectedIdAt, _rejectedIdLength, _rejectedMsisdnAt, _rejectedMsisdnLength;

    /// <summary>The <c>id</c> string of a rejected record (only when <see cref="HasRejectedId"/>).</summary>
    public ReadOnlySpan<byte> RejectedId => _arena.AsSpan(_rejectedIdAt, _rejectedIdLength);

    public ReadOnlySpan<byte> RejectedMsisdn => _arena.AsSpan(_rejectedMsisdnAt, _rejectedMsisdnLength);

    /// <summary>
    /// Decodes a record with the general reader only, skipping the canonical-shape scan that <see cref="Decode"/>
    /// tries first; same results as <see cref="Decode"/> for every input.
    /// </summary>
    [SkipLocalsInit]
    public InvalidCause DecodeStrict(ReadOnlySpan<byte> utf8, out Cdr cdr)
    {
        cdr = default;
        Reset();
        LastDecodeScanned = false;
        if (!Utf8.IsValid(utf8))
        {
            return InvalidCause.NotUtf8;
        }

        if (utf8.Length >= 3 && utf8[0] == 0xEF && utf8[1] == 0xBB && utf8[2] == 0xBF)
        {
            // A byte-order mark is not JSON whitespace.
            return InvalidCause.NotJson;
        }

        var structure = ReadStructure(utf8);
        if (structure != InvalidCause.None)
        {
            return structure;
        }

        return ValidateMembers(utf8, ref cdr);
    }

    /// <summary>Forgets the previous record: its members, its rejected identity, and scratch a hostile record grew.</summary>
    private void Reset()
    {
        if (_arena.Length > KeepArenaBytes)
        {
            _arena = new byte[1024];
        }

        HasRejectedId = false;
        HasRejectedMsisdn = false;
        _arenaUsed = 0;
        _fields = default;
        if (_largeObjectNames.Count > 0)
        {
            // Left over from the previous record's wide objects: object ordinals restart at 1, so stale names would
            // read as repeats in this record's wide objects; and a hostile record's index is let go here.
            var large = _largeObjectNames.Count > KeepLargeObjectNames;
            _largeObjectNames.Clear();
            if (large)
            {
                _largeObjectNames.TrimExcess();
            }
        }
    }

    /// <summary>The record format's rules over the members found by either reader.</summary>
    private InvalidCause ValidateMembers(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        // The id and msisdn of an accepted record are read where they are; only a refused one's are copied, for its
        // dead letter — and an offline profile line's, which the profile reader may still refuse.
        var cause = Validate(utf8, ref cdr);
        if (cause != InvalidCause.None || cdr.Kind == RecordKind.Profile)
        {
            CaptureRejectedIdentity(utf8);
        }

        return cause;
    }

    private InvalidCause ReadStructure(ReadOnlySpan<byte> utf8)
    {
        _nameCount = 0;
        _objects = 0;

        // Lines that cannot be JSON are told so without the JSON reader's exception, which costs more than
        // reading a whole valid record: text that starts no JSON value, and an object cut short.
        var first = utf8.IndexOfAnyExcept(JsonWhitespace);
        if (first < 0 || !CanStartJsonValue(utf8[first..]))
        {
            return InvalidCause.NotJson;
        }

        // An object is read as a block that may continue: a record cut short then ends the reads (instead of
        // throwing), and is refused below because its outermost object never closed. Anything else (a scalar, an
        // array) keeps the final-block reading, where a number at the end of the line is complete.
        var isObject = utf8[first] == (byte)'{';
        var closed = false;
        var pending = FieldId.None;
        var seen = 0; // the record's own members met so far, one bit per FieldId
        var reader = new Utf8JsonReader(utf8, isFinalBlock: !isObject, new JsonReaderState(ReaderOptions));
        try
        {
            if (!reader.Read())
            {
                return InvalidCause.NotJson;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return InvalidCause.NotAnObject;
            }

            PushObject(0);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        SetPending(ref pending, ref reader);
                        PushObject(reader.CurrentDepth);
                        break;
                    case JsonTokenType.EndObject:
                        _nameCount = _objectStart[reader.CurrentDepth];
                        closed = reader.CurrentDepth == 0;
                        break;
                    case JsonTokenType.StartArray:
                        SetPending(ref pending, ref reader);
                        break;
                    case JsonTokenType.EndArray:
                        break;
                    case JsonTokenType.PropertyName:
                        if (reader.CurrentDepth == 1)
                        {
                            // A member the record format knows is told apart from the others by a bit: no hash needed.
                            pending = Identify(ref reader);
                            if (pending != FieldId.None)
                            {
                                var bit = 1 << (int)pending;
                                if ((seen & bit) != 0)
                                {
                                    return InvalidCause.DuplicateName;
                                }

                                seen |= bit;
                                break;
                            }
                        }

                        if (AddName(ref reader))
                        {
                            return InvalidCause.DuplicateName;
                        }

                        break;
                    default:
                        SetPending(ref pending, ref reader);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return InvalidCause.NotJson;
        }

        return closed ? InvalidCause.None : InvalidCause.NotJson;
    }

    /// <summary>
    /// False when <paramref name="value"/> (from its first non-whitespace byte) cannot begin any JSON value: a byte
    /// no value starts with, or a word that is not <c>true</c>, <c>false</c> or <c>null</c>. True does not mean valid.
    /// </summary>
    private static bool CanStartJsonValue(ReadOnlySpan<byte> value)
    {
        return value[0] switch
        {
            (byte)'{' or (byte)'[' or (byte)'"' or (byte)'-' or (>= (byte)'0' and <= (byte)'9') => true,
            (byte)'t' => value.StartsWith("true"u8),
            (byte)'f' => value.StartsWith("false"u8),
            (byte)'n' => value.StartsWith("null"u8),
            _ => false,
        };
    }

    private void SetPending(ref FieldId pending, ref Utf8JsonReader reader)
    {
        if (pending == FieldId.None)
        {
            return;
        }

        ref var field = ref FieldRef(pending);
        field.Token = reader.TokenType;
        field.At = (int)reader.TokenStartIndex;
        field.Length = reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray ? 0 : reader.ValueSpan.Length;
        field.Escaped = false;
        field.Undecodable = false;
        if (reader.TokenType == JsonTokenType.String && reader.ValueIsEscaped)
        {
            // Unescape once, into the arena; the field then points there.
            var destination = Reserve(reader.ValueSpan.Length, out var at);
            if (TryCopyString(ref reader, destination, out var length))
            {
                field.Length = length;
            }
            else
            {
                // Valid JSON (RFC 8259 admits any \uXXXX) that no UTF-8 text can hold: a lone surrogate. The member is a
                // string all the same — ignored where it does not apply, and where it does it breaks the member's rule:
                // its text here is one NUL, which no id, msisdn, type, instant, direction, peer or MCC accepts.
                destination[0] = 0;
                field.Length = 1;
                field.Undecodable = true;
            }

            field.At = at;
            field.Escaped = true;
            _arenaUsed = at + field.Length;
        }

        pending = FieldId.None;
    }

    /// <summary><see cref="Utf8JsonReader.CopyString(Span{byte})"/>, false for escapes that do not decode (a lone surrogate).</summary>
    private static bool TryCopyString(ref Utf8JsonReader reader, scoped Span<byte> destination, out int length)
    {
        try
        {
            length = reader.CopyString(destination);
            return true;
        }
        catch (InvalidOperationException)
        {
            length = 0;
            return false;
        }
    }

    private ref Field FieldRef(FieldId id)
    {
        return ref _fields[(int)id];
    }

    private static FieldId Identify(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            // One length test and at most two comparisons per name, instead of up to ten.
            var name = reader.ValueSpan;
            return name.Length switch
            {
                2 => name.SequenceEqual("id"u8) ? FieldId.Id : name.SequenceEqual("at"u8) ? FieldId.At : FieldId.None,
                4 => name.SequenceEqual("type"u8) ? FieldId.Type : name.SequenceEqual("peer"u8) ? FieldId.Peer : FieldId.None,
                5 => name.SequenceEqual("start"u8) ? FieldId.Start : name.SequenceEqual("bytes"u8) ? FieldId.Bytes : FieldId.None,
                6 => name.SequenceEqual("msisdn"u8) ? FieldId.Msisdn : FieldId.None,
                9 => name.SequenceEqual("direction"u8) ? FieldId.Direction : FieldId.None,
                10 => name.SequenceEqual("visitedMcc"u8) ? FieldId.VisitedMcc : FieldId.None,
                11 => name.SequenceEqual("durationSec"u8) ? FieldId.DurationSec : FieldId.None,
                _ => FieldId.None,
            };
        }

        // Escaped names are rare; ValueTextEquals unescapes for the comparison. A name whose escapes do not decode (a
        // lone surrogate) is none of them.
        if (!DecodesAsText(ref reader)) return FieldId.None;
        if (reader.ValueTextEquals("id"u8)) return FieldId.Id;
        if (reader.ValueTextEquals("type"u8)) return FieldId.Type;
        if (reader.ValueTextEquals("msisdn"u8)) return FieldId.Msisdn;
        if (reader.ValueTextEquals("direction"u8)) return FieldId.Direction;
        if (reader.ValueTextEquals("peer"u8)) return FieldId.Peer;
        if (reader.ValueTextEquals("start"u8)) return FieldId.Start;
        if (reader.ValueTextEquals("durationSec"u8)) return FieldId.DurationSec;
        if (reader.ValueTextEquals("bytes"u8)) return FieldId.Bytes;
        if (reader.ValueTextEquals("visitedMcc"u8)) return FieldId.VisitedMcc;
        if (reader.ValueTextEquals("at"u8)) return FieldId.At;
        return FieldId.None;
    }

    /// <summary>Whether an escaped string's escapes decode to text (not a lone surrogate).</summary>
    private static bool DecodesAsText(ref Utf8JsonReader reader)
    {
        Span<byte> scratch = stackalloc byte[256];
        var destination = reader.ValueSpan.Length <= scratch.Length ? scratch : new byte[reader.ValueSpan.Length];
        return TryCopyString(ref reader, destination, out _);
    }

    private void PushObject(int depth)
    {
        _objectStart[depth] = _nameCount;
        _objectOrdinal[depth] = ++_objects;
    }

    /// <summary>Records a member name of the innermost open object; reports whether it was there already.</summary>
    private bool AddName(ref Utf8JsonReader reader)
    {
        ulong hash;
        if (!reader.ValueIsEscaped)
        {
            hash = XxHash3.HashToUInt64(reader.ValueSpan);
        }
        else
        {
            var scratch = Reserve(reader.ValueSpan.Length);
            hash = TryCopyString(ref reader, scratch, out var written)
                ? XxHash3.HashToUInt64(scratch[..written])
                : Utf16NameHash(reader.ValueSpan);
        }

        var depth = reader.CurrentDepth - 1; // the object holding this name
        var start = _objectStart[depth];
        var count = _nameCount - start;
        if (count < SmallObject)
        {
            // Names are compared by 64-bit hash: a false match needs a hash collision among one object's names.
            for (var i = start; i < _nameCount; i++)
            {
                if (_names[i] == hash)
                {
                    return true;
                }
            }

            if (count == SmallObject - 1)
            {
                // The object grows large: index its names so hostile wide objects stay linear.
                for (var i = start; i < _nameCount; i++)
                {
                    _largeObjectNames.Add((_objectOrdinal[depth], _names[i]));
                }
            }
        }
        else if (!_largeObjectNames.Add((_objectOrdinal[depth], hash)))
        {
            return true;
        }

        if (count < SmallObject)
        {
            if (_nameCount == _names.Length)
            {
                Array.Resize(ref _names, _names.Length * 2);
            }

            _names[_nameCount++] = hash;
            if (count == SmallObject - 1)
            {
                _largeObjectNames.Add((_objectOrdinal[depth], hash));
            }
        }

        return false;
    }

    /// <summary>
    /// The hash of a member name whose escapes do not decode to text (a lone surrogate), over its UTF-16 code units:
    /// two such names are the same name exactly when their code units are (no decodable name is one of them). Rare.
    /// </summary>
    private static ulong Utf16NameHash(ReadOnlySpan<byte> escaped)
    {
        var units = new char[escaped.Length];
        var n = 0;
        for (var i = 0; i < escaped.Length;)
        {
            if (escaped[i] != (byte)'\\')
            {
                var run = escaped[i..].IndexOf((byte)'\\');
                run = run < 0 ? escaped.Length - i : run;
                n += Encoding.UTF8.GetChars(escaped.Slice(i, run), units.AsSpan(n));
                i += run;
                continue;
            }

            // The reader checked every escape: \" \\ \/ \b \f \n \r \t, or \u and four hex digits.
            var e = escaped[i + 1];
            if (e == (byte)'u')
            {
                units[n++] = (char)int.Parse(escaped.Slice(i + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                i += 6;
                continue;
            }

            units[n++] = e switch
            {
                (byte)'b' => '\b',
                (byte)'f' => '\f',
                (byte)'n' => '\n',
                (byte)'r' => '\r',
                (byte)'t' => '\t',
                _ => (char)e,
            };
            i += 2;
        }

        return XxHash3.HashToUInt64(MemoryMarshal.AsBytes(units.AsSpan(0, n)));
    }

    private void CaptureRejectedIdentity(ReadOnlySpan<byte> utf8)
    {
        // A string that does not decode to text (a lone surrogate) has no text to copy: it is left out.
        if (IdField.Token == JsonTokenType.String && !IdField.Undecodable && TryUnescape(utf8, IdField, out var at, out var length))
        {
            HasRejectedId = true;
            _rejectedIdAt = at;
            _rejectedIdLength = length;
        }

        if (MsisdnField.Token == JsonTokenType.String && !MsisdnField.Undecodable && TryUnescape(utf8, MsisdnField, out at, out length))
        {
            HasRejectedMsisdn = true;
            _rejectedMsisdnAt = at;
            _rejectedMsisdnLength = length;
        }
    }

    private InvalidCause Validate(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        // The top-level type decides what the record is (SPEC §7.1): a clock, a location record, an offline
        // profile line, or else a CDR.
        if (TypeField.Token == JsonTokenType.String)
        {
            var kind = String(utf8, TypeField);
            if (kind.SequenceEqual("clock"u8))
            {
                cdr.Kind = RecordKind.Clock;
                return ValidateClock(utf8, ref cdr);
            }

            if (kind.SequenceEqual("location"u8))
            {
                cdr.Kind = RecordKind.Location;
                return ValidateLocation(utf8, ref cdr);
            }

            if (kind.SequenceEqual("profile"u8))
            {
                cdr.Kind = RecordKind.Profile;
                return InvalidCause.None;
            }
        }

        cdr.Kind = RecordKind.Cdr;

        // The CDR's checks in the order of its fields: id, type, msisdn, start, the type's fields, visitedMcc.
        if (IdField.Token != JsonTokenType.String)
        {
            return IdField.Token is JsonTokenType.None or JsonTokenType.Null ? InvalidCause.MissingId : InvalidCause.BadId;
        }

        if (TypeField.Token != JsonTokenType.String)
        {
            return TypeField.Token is JsonTokenType.None or JsonTokenType.Null ? InvalidCause.MissingType : InvalidCause.BadType;
        }

        var type = String(utf8, TypeField);
        if (type.SequenceEqual("voice"u8))
        {
            cdr.Type = CdrType.Voice;
        }
        else if (type.SequenceEqual("sms"u8))
        {
            cdr.Type = CdrType.Sms;
        }
        else if (type.SequenceEqual("data"u8))
        {
            cdr.Type = CdrType.Data;
        }
        else
        {
            // An id that breaks its rule is named first, as before: it comes first in the record's rules.
            return IdIsValid(utf8) ? InvalidCause.BadType : InvalidCause.BadId;
        }

        var cause = ValidateIdentity(utf8, ref cdr);
        if (cause != InvalidCause.None)
        {
            return cause;
        }

        if (cdr.Type != CdrType.Data)
        {
            cause = ValidateVoiceOrSms(utf8, ref cdr);
            if (cause != InvalidCause.None)
            {
                return cause;
            }
        }
        else
        {
            if (BytesField.Token is JsonTokenType.None or JsonTokenType.Null)
            {
                return InvalidCause.MissingBytes;
            }

            if (!Integer(utf8, BytesField, 1_000_000_000_000, out cdr.Bytes))
            {
                return InvalidCause.BadBytes;
            }
        }

        return ValidateVisitedMcc(utf8, ref cdr);
    }

    private bool IdIsValid(ReadOnlySpan<byte> utf8)
    {
        if (IdField.Token != JsonTokenType.String)
        {
            return false;
        }

        // A string the canonical-shape scan read holds printable ASCII only.
        var id = Text(utf8, in IdField);
        return id.Length is > 0 and <= MaxIdLength && (LastDecodeScanned || id.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E) < 0);
    }

    /// <summary>A string field's text: in the record itself, or in the arena when it had escapes.</summary>
    private ReadOnlySpan<byte> Text(ReadOnlySpan<byte> utf8, in Field field) =>
        field.Escaped ? _arena.AsSpan(field.At, field.Length) : utf8.Slice(field.At + 1, field.Length);

    /// <summary>id (1–64 printable ASCII), msisdn (5–15 digits) and start (an instant), shared by CDRs and location records.</summary>
    private InvalidCause ValidateIdentity(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        if (IdField.Token != JsonTokenType.String)
        {
            return IdField.Token is JsonTokenType.None or JsonTokenType.Null ? InvalidCause.MissingId : InvalidCause.BadId;
        }

        cdr.Id = Text(utf8, in IdField);
        if (!IdIsValid(utf8))
        {
            return InvalidCause.BadId;
        }

        if (MsisdnField.Token != JsonTokenType.String)
        {
            return MsisdnField.Token is JsonTokenType.None or JsonTokenType.Null ? InvalidCause.MissingMsisdn : InvalidCause.BadMsisdn;
        }

        cdr.Msisdn = Text(utf8, in MsisdnField);
        if (!MsisdnKey.TryCompute(cdr.Msisdn, out cdr.MsisdnKey))
        {
            return InvalidCause.BadMsisdn;
        }

        if (StartField.Token != JsonTokenType.String)
        {
            return StartField.Token is JsonTokenType.None or JsonTokenType.Null ? InvalidCause.MissingStart : InvalidCause.BadStart;
        }

        cdr.Start = String(utf8, StartField);
        return Instant.TryParse(cdr.Start, out cdr.StartTicks) ? InvalidCause.None : InvalidCause.BadStart;
    }

    /// <summary>visitedMcc: optional (null is absent), else 3 ASCII digits.</summary>
    private InvalidCause ValidateVisitedMcc(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        cdr.VisitedMcc = -1;
        if (MccField.Token is JsonTokenType.None or JsonTokenType.Null)
        {
            return InvalidCause.None;
        }

        if (MccField.Token != JsonTokenType.String)
        {
            return InvalidCause.BadVisitedMcc;
        }

        var mcc = String(utf8, MccField);
        if (mcc.Length != 3 || mcc.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return InvalidCause.BadVisitedMcc;
        }

        cdr.VisitedMcc = ((mcc[0] - '0') * 100) + ((mcc[1] - '0') * 10) + (mcc[2] - '0');
        return InvalidCause.None;
    }

    /// <summary>A clock record: <c>at</c> must be an instant; every other member is ignored.</summary>
    private InvalidCause ValidateClock(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        if (AtField.Token != JsonTokenType.String)
        {
            return AtField.Token is JsonTokenType.None or JsonTokenType.Null ? InvalidCause.MissingAt : InvalidCause.BadAt;
        }

        cdr.Start = String(utf8, AtField);
        return Instant.TryParse(cdr.Start, out cdr.StartTicks) ? InvalidCause.None : InvalidCause.BadAt;
    }

    /// <summary>A location record: <c>id</c>, <c>msisdn</c>, <c>start</c> and optional <c>visitedMcc</c>, each as in a CDR.</summary>
    private InvalidCause ValidateLocation(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        var cause = ValidateIdentity(utf8, ref cdr);
        return cause != InvalidCause.None ? cause : ValidateVisitedMcc(utf8, ref cdr);
    }

    private InvalidCause ValidateVoiceOrSms(ReadOnlySpan<byte> utf8, ref Cdr cdr)
    {
        if (DirectionField.Token is JsonTokenType.None or JsonTokenType.Null)
        {
            return InvalidCause.MissingDirection;
        }

        if (DirectionField.Token != JsonTokenType.String)
        {
            return InvalidCause.BadDirection;
        }

        var direction = String(utf8, DirectionField);
        if (direction.SequenceEqual("mo"u8))
        {
            cdr.Direction = Direction.Mo;
        }
        else if (direction.SequenceEqual("mt"u8))
        {
            cdr.Direction = Direction.Mt;
        }
        else
        {
            return InvalidCause.BadDirection;
        }

        if (PeerField.Token is JsonTokenType.None or JsonTokenType.Null)
        {
            return InvalidCause.MissingPeer;
        }

        if (PeerField.Token != JsonTokenType.String)
        {
            return InvalidCause.BadPeer;
        }

        var peer = String(utf8, PeerField);
        var digits = peer.Length > 0 && peer[0] == '+' ? peer[1..] : peer;
        if (digits.Length is 0 or > 32 || digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return InvalidCause.BadPeer;
        }

        if (digits.Length != peer.Length)
        {
            var normalised = Reserve(digits.Length + 2, out var at);
            normalised[0] = (byte)'0';
            normalised[1] = (byte)'0';
            digits.CopyTo(normalised[2..]);
            _arenaUsed = at + digits.Length + 2;
            cdr.Peer = _arena.AsSpan(at, digits.Length + 2);
        }
        else
        {
            cdr.Peer = peer;
        }

        if (cdr.Type == CdrType.Voice)
        {
            if (DurationField.Token is JsonTokenType.None or JsonTokenType.Null)
            {
                return InvalidCause.MissingDuration;
            }

            if (!Integer(utf8, DurationField, 86_400, out cdr.DurationSec))
            {
                return InvalidCause.BadDuration;
            }
        }

        return InvalidCause.None;
    }

    /// <summary>An integer token (no fraction, no exponent) in 0..max.</summary>
    private static bool Integer(ReadOnlySpan<byte> utf8, Field field, long max, out long value)
    {
        value = 0;
        if (field.Token != JsonTokenType.Number)
        {
            return false;
        }

        var text = utf8.Slice(field.At, field.Length);
        var negative = text[0] == '-';
        if (negative)
        {
            text = text[1..];
        }

        // JSON forbids leading zeros, so more than 13 digits is beyond every bound here (10^12 has 13).
        if (text.Length > 13 || text.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
        {
            return false;
        }

        foreach (var b in text)
        {
            value = (value * 10) + (b - '0');
        }

        if (negative && value != 0)
        {
            return false; // "-0" is the integer 0
        }

        return value <= max;
    }

    /// <summary>The unescaped string value of a field: a span of the input, or of the arena when it had escapes.</summary>
    private ReadOnlySpan<byte> String(ReadOnlySpan<byte> utf8, Field field) =>
        field.Escaped ? _arena.AsSpan(field.At, field.Length) : utf8.Slice(field.At + 1, field.Length);

    /// <summary>Copies a string field into the arena so it survives as the rejected record's identity.</summary>
    private bool TryUnescape(ReadOnlySpan<byte> utf8, Field field, out int at, out int length)
    {
        length = field.Length;
        if (field.Escaped)
        {
            at = field.At;
            return true;
        }

        var destination = Reserve(length, out at);
        utf8.Slice(field.At + 1, length).CopyTo(destination);
        _arenaUsed = at + length;
        return true;
    }

    private Span<byte> Reserve(int size) => Reserve(size, out _);

    private Span<byte> Reserve(int size, out int at)
    {
        if (_arenaUsed + size > _arena.Length)
        {
            var bigger = new byte[Math.Max(_arena.Length * 2, _arenaUsed + size)];
            _arena.AsSpan(0, _arenaUsed).CopyTo(bigger);
            _arena = bigger;
        }

        at = _arenaUsed;
        return _arena.AsSpan(at, size);
    }

    private enum FieldId : byte
    {
        None,
        Id,
        Type,
        Msisdn,
        Direction,
        Peer,
        Start,
        DurationSec,
        Bytes,
        VisitedMcc,
        At,
    }

    /// <summary>One <see cref="Field"/> per <see cref="FieldId"/>, None (unused) included.</summary>
    [InlineArray((int)FieldId.At + 1)]
    private struct FieldSet
    {
        private Field _element;
    }

    private struct Field
    {
        public JsonTokenType Token;
        public int At;
        public int Length;
        public bool Escaped;

        /// <summary>A string whose escapes do not decode to text (a lone surrogate); its text is one NUL.</summary>
        public bool Undecodable;
    }
}
