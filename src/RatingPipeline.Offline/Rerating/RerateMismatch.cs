using System.Text.Json;

namespace RatingPipeline.Rerating;

/// <summary>Why a CDR could not be turned into an adjustment; every such CDR is reported, none is dropped.</summary>
public enum RerateMismatchKind : byte
{
    /// <summary>The old run rated the CDR; the new tariff rejects it (e.g. no-rate, unknown-plan).</summary>
    RejectedByNewTariff,

    /// <summary>The new tariff rates a CDR the old run did not rate (e.g. it was no-rate before).</summary>
    RatedOnlyByNewTariff,

    /// <summary>A rated record for which no CDR with its id and msisdn came in the CDR stream.</summary>
    RatedWithoutCdr,

    /// <summary>The id of the adjustment due is already recorded with other figures; it is not written again.</summary>
    AdjustmentIdAlreadyRecorded,

    /// <summary>The old run rated the same id twice for the subscriber in one cycle, so the adjustment id is ambiguous.</summary>
    AmbiguousId,
}

/// <summary>One reported mismatch between the old run and the replay under the new tariff.</summary>
public sealed record RerateMismatch(
    RerateMismatchKind Kind,
    string Id,
    string Msisdn,
    string? Cycle,
    long? OldCharge,
    long? NewCharge,
    string? OldTariffVersion,
    string NewTariffVersion,
    string? Reason,
    string Detail)
{
    public static string KindName(RerateMismatchKind kind) => kind switch
    {
        RerateMismatchKind.RejectedByNewTariff => "rejected-by-new-tariff",
        RerateMismatchKind.RatedOnlyByNewTariff => "rated-only-by-new-tariff",
        RerateMismatchKind.RatedWithoutCdr => "rated-without-cdr",
        RerateMismatchKind.AdjustmentIdAlreadyRecorded => "adjustment-id-already-recorded",
        _ => "ambiguous-id",
    };

    public static void Write(Utf8JsonWriter json, RerateMismatch m)
    {
        json.WriteStartObject();
        json.WriteString("kind"u8, KindName(m.Kind));
        json.WriteString("id"u8, m.Id);
        json.WriteString("msisdn"u8, m.Msisdn);
        json.WriteStringOrNull("cycle"u8, m.Cycle);
        json.WriteNumberOrNull("oldCharge"u8, m.OldCharge);
        json.WriteNumberOrNull("newCharge"u8, m.NewCharge);
        json.WriteStringOrNull("oldTariffVersion"u8, m.OldTariffVersion);
        json.WriteString("newTariffVersion"u8, m.NewTariffVersion);
        json.WriteStringOrNull("reason"u8, m.Reason);
        json.WriteString("detail"u8, m.Detail);
        json.WriteEndObject();
    }
}
