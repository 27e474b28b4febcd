namespace RatingPipeline.Records;

/// <summary>Why a CDR is <c>invalid</c>; <see cref="InvalidCauses.Detail"/> gives the human text of the dead letter.</summary>
public enum InvalidCause : byte
{
    None = 0,
    NotUtf8,
    NotJson,
    NotAnObject,
    DuplicateName,
    MissingId,
    BadId,
    MissingType,
    BadType,
    MissingMsisdn,
    BadMsisdn,
    MissingStart,
    BadStart,
    MissingDirection,
    BadDirection,
    MissingPeer,
    BadPeer,
    MissingDuration,
    BadDuration,
    MissingBytes,
    BadBytes,
    BadVisitedMcc,
    MissingAt,
    BadAt,
    BadProfile,
}

public static class InvalidCauses
{
    /// <summary>Fixed texts, so a rejection allocates nothing.</summary>
    public static string Detail(InvalidCause cause) => cause switch
    {
        InvalidCause.NotUtf8 => "record is not valid UTF-8",
        InvalidCause.NotJson => "record is not exactly one well-formed JSON value (RFC 8259) followed only by whitespace",
        InvalidCause.NotAnObject => "record is not a JSON object",
        InvalidCause.DuplicateName => "a member name is given twice in one object",
        InvalidCause.MissingId => "id is missing",
        InvalidCause.BadId => "id must be a string of 1-64 printable ASCII characters",
        InvalidCause.MissingType => "type is missing",
        InvalidCause.BadType => "type must be \"voice\", \"sms\" or \"data\"",
        InvalidCause.MissingMsisdn => "msisdn is missing",
        InvalidCause.BadMsisdn => "msisdn must be a string of 5-15 ASCII digits",
        InvalidCause.MissingStart => "start is missing",
        InvalidCause.BadStart => "start must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM) with a real date and time",
        InvalidCause.MissingDirection => "direction is required for voice and sms",
        InvalidCause.BadDirection => "direction must be \"mo\" or \"mt\"",
        InvalidCause.MissingPeer => "peer is required for voice and sms",
        InvalidCause.BadPeer => "peer must be 1-32 ASCII digits with an optional leading '+'",
        InvalidCause.MissingDuration => "durationSec is required for voice",
        InvalidCause.BadDuration => "durationSec must be an integer 0..86400 (no fraction, no exponent)",
        InvalidCause.MissingBytes => "bytes is required for data",
        InvalidCause.BadBytes => "bytes must be an integer 0..1000000000000 (no fraction, no exponent)",
        InvalidCause.BadVisitedMcc => "visitedMcc must be a string of 3 ASCII digits, or null",
        InvalidCause.MissingAt => "a clock record needs at",
        InvalidCause.BadAt => "at must be an instant YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM) with a real date and time",
        InvalidCause.BadProfile => "the profile line breaks the profile rules",
        _ => "valid",
    };
}
