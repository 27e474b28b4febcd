namespace RatingPipeline.Records;

/// <summary>The service a CDR records.</summary>
public enum CdrType : byte
{
    Voice = 0,
    Sms = 1,
    Data = 2,
}

/// <summary>Mobile-originated (the subscriber calls or texts) or mobile-terminated (the subscriber receives).</summary>
public enum Direction : byte
{
    None = 0,
    Mo = 1,
    Mt = 2,
}

/// <summary>Why a CDR was not rated. When several apply, the first in declaration order wins.</summary>
public enum RejectReason : byte
{
    None = 0,
    Invalid = 1,
    UnknownSubscriber = 2,
    UnknownPlan = 3,
    Late = 4,
    Duplicate = 5,
    NoRate = 6,
}

public static class RecordNames
{
    public static ReadOnlySpan<byte> TypeName(CdrType type) => type switch
    {
        CdrType.Voice => "voice"u8,
        CdrType.Sms => "sms"u8,
        _ => "data"u8,
    };

    public static ReadOnlySpan<byte> ReasonName(RejectReason reason) => reason switch
    {
        RejectReason.Invalid => "invalid"u8,
        RejectReason.UnknownSubscriber => "unknown-subscriber"u8,
        RejectReason.UnknownPlan => "unknown-plan"u8,
        RejectReason.Late => "late"u8,
        RejectReason.Duplicate => "duplicate"u8,
        RejectReason.NoRate => "no-rate"u8,
        _ => "none"u8,
    };

    public static string ReasonText(RejectReason reason) => reason switch
    {
        RejectReason.Invalid => "invalid",
        RejectReason.UnknownSubscriber => "unknown-subscriber",
        RejectReason.UnknownPlan => "unknown-plan",
        RejectReason.Late => "late",
        RejectReason.Duplicate => "duplicate",
        RejectReason.NoRate => "no-rate",
        _ => "none",
    };

    public static readonly string[] AllReasons =
        ["invalid", "unknown-subscriber", "unknown-plan", "late", "duplicate", "no-rate"];
}
