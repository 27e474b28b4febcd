using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RatingPipeline.Tariffs;

namespace RatingPipeline.Rater;

/// <summary>
/// The tariff in force and its hot reload. The file is polled (a content hash, so Kubernetes ConfigMap
/// symlink swaps are seen too); a valid new version is handed to the rater for its next batch, a refused one
/// is logged with the reason and counted while the previous version stays in force.
/// </summary>
public sealed class TariffSource
{
    private readonly string _path;
    private readonly ILogger<TariffSource> _log;
    private readonly TimeProvider _time;
    private ulong _hash;
    private volatile Tariff _current;
    private long _nextCheck;

    public TariffSource(IOptions<RaterOptions> options, ILogger<TariffSource> log, TimeProvider time)
    {
        _path = options.Value.TariffPath;
        _log = log;
        _time = time;
        ReloadInterval = options.Value.TariffReloadInterval;
        var bytes = File.ReadAllBytes(_path);
        _current = TariffLoader.Load(bytes); // a refused tariff at start stops the worker with the reason
        _hash = XxHash3.HashToUInt64(bytes);
        _log.LogInformation("Tariff {Version} loaded from {Path}", _current.Version, _path);
    }

    public TimeSpan ReloadInterval { get; }

    public Tariff Current => _current;

    /// <summary>Checks the file (at most once per interval); returns a new tariff when a valid new version was loaded.</summary>
    public Tariff? Poll()
    {
        var now = _time.GetTimestamp();
        if (now < _nextCheck)
        {
            return null;
        }

        _nextCheck = now + (long)(ReloadInterval.TotalSeconds * _time.TimestampFrequency);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("Tariff file {Path} cannot be read ({Error}); version {Version} stays in force", _path, e.Message, _current.Version);
            return null;
        }

        var hash = XxHash3.HashToUInt64(bytes);
        if (hash == _hash)
        {
            return null;
        }

        _hash = hash;
        try
        {
            var next = TariffLoader.Load(bytes);
            var previous = _current;
            _current = next;
            RaterMetrics.CountTariffReload();
            _log.LogInformation("Tariff {Version} loaded (was {Previous})", next.Version, previous.Version);
            ReportRetroactiveEntries(previous, next);
            return next;
        }
        catch (TariffException e)
        {
            RaterMetrics.CountTariffRefusal();
            _log.LogError("Tariff file {Path} refused: {Reason}; version {Version} stays in force", _path, e.Message, _current.Version);
            return null;
        }
    }

    /// <summary>
    /// New zero-rating entries whose start lies in the past apply to CDRs already rated: those records must be
    /// credited with <c>ratingctl rerate</c>. The rater cannot change what it has published; it says so.
    /// </summary>
    private void ReportRetroactiveEntries(Tariff previous, Tariff next)
    {
        var nowTicks = (_time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks);
        var known = previous.ZeroRating.Rules.Select(Key).ToHashSet();
        var retroactive = next.ZeroRating.Rules.Where(r => !known.Contains(Key(r)) && r.FromTicks < nowTicks).ToList();
        foreach (var rule in retroactive)
        {
            _log.LogWarning(
                "Tariff {Version}: new zero-rating entry {Pattern} ({Reason}) applies from {From}, in the past: CDRs rated before this load are not credited; run 'ratingctl rerate' for them",
                next.Version, rule.Pattern, rule.Reason, rule.From);
        }

        if (retroactive.Count > 0)
        {
            RaterMetrics.CountRetroactive(retroactive.Count);
        }

        static string Key(ZeroRatingRule r) => $"{r.Pattern}|{string.Join(',', r.Types)}|{r.FromTicks}|{r.ToTicks}|{r.Reason}";
    }
}
