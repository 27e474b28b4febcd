using Prometheus;

namespace RatingPipeline.Hosting;

/// <summary>
/// Readiness of a worker: ready once its partitions are assigned and their state restored. Reported on
/// <c>/healthz/ready</c>; liveness (<c>/healthz/live</c>) only says the process answers.
/// </summary>
public sealed class Readiness
{
    /// <summary>The <c>ratingpipeline_ready</c> gauge both workers export (one per process).</summary>
    public static readonly Gauge Gauge = Metrics.CreateGauge("ratingpipeline_ready",
        "1 when the instance's assigned partitions are restored and it works; 0 while starting, restoring, recovering or stopping.");

    private volatile string _reason = "starting";
    private volatile bool _ready;

    public bool IsReady => _ready;

    public string Reason => _reason;

    public void SetReady()
    {
        _reason = "ready";
        _ready = true;
        Gauge.Set(1);
    }

    public void SetNotReady(string reason)
    {
        _reason = reason;
        _ready = false;
        Gauge.Set(0);
    }
}
