using RatingPipeline.IO;
using RatingPipeline.Lanes;
using RatingPipeline.Records;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rerating;

/// <summary>
/// The zero-rating audit on several threads with the report of one <see cref="ZeroRatingAudit"/>: subscribers are
/// sharded by msisdn as the rating lanes shard them, each lane an audit of its share of the ledger entries, of the rated
/// records and of the CDRs (<see cref="LanePass"/>); the report adds the lanes' counts up and draws the sample over their
/// zero-rated records merged back into file order.
/// </summary>
public sealed class ZeroRatingAuditLanes
{
    private readonly ZeroRatingAudit[] _lanes;

    public ZeroRatingAuditLanes(int year, int month, Tariff? tariff, int sampleSize, int seed, int lanes)
    {
        LanePass.CheckLanes(lanes);
        _lanes = [.. Enumerable.Range(0, lanes).Select(_ => new ZeroRatingAudit(year, month, tariff, sampleSize, seed))];
    }

    /// <summary>Whether <see cref="OfferCdrs"/> has zero-rated records to find CDRs for.</summary>
    public bool WantsCdrs => _lanes.Any(a => a.WantsCdrs);

    /// <summary>Takes the adjustment ledger (before the rated records), each entry into the lane of its msisdn.</summary>
    public void AddLedger(IEnumerable<LedgerEntry> entries)
    {
        var shares = _lanes.Select(_ => new List<LedgerEntry>()).ToArray();
        foreach (var entry in entries)
        {
            // An entry whose msisdn is no msisdn names no rated record's CDR: any lane counts it as not found.
            shares[MsisdnKey.TryCompute(entry.Msisdn, out var key) ? LaneRouter.LaneOf(key, _lanes.Length) : 0].Add(entry);
        }

        for (var lane = 0; lane < _lanes.Length; lane++)
        {
            _lanes[lane].AddLedger(shares[lane]);
        }
    }

    /// <summary>
    /// Reads the rated file (fee records passed over); throws <see cref="RatedFileException"/> for its first bad line.
    /// <paramref name="onBytes"/> hears the bytes of the file read so far.
    /// </summary>
    public void ReadRated(string path, CancellationToken cancel, Action<long>? onBytes = null) =>
        RatedFileLanes.Read(path, includeFees: false, [.. _lanes.Select(a => (Action<RatedRecord, long>)a.Add)], cancel, onBytes);

    /// <summary>Offers every line of the CDR file to the lane of its msisdn (relief pricing); <paramref name="onBytes"/> as for <see cref="ReadRated"/>.</summary>
    public void OfferCdrs(string path, CancellationToken cancel, Action<long>? onBytes = null) =>
        RatedFileLanes.Offer(path, [.. _lanes.Select(a => (LineReader.LineHandler)a.OfferCdr)], cancel, onBytes);

    public ZeroRatingReport Report() => ZeroRatingAudit.Report(_lanes);
}
