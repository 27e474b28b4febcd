namespace RatingPipeline.Hosting;

/// <summary>
/// Readiness of a worker: ready once its partitions are assigned and their state restored. Reported on
/// <c>/healthz/ready</c>; liveness (<c>/healthz/live</c>) only says the process answers.
/// </summary>
public sealed class Readiness
{
    private volatile string _reason = "starting";
    private volatile bool _ready;

    public bool IsReady => _ready;

    public string Reason => _reason;

    public void SetReady()
    {
        _reason = "ready";
        _ready = true;
    }

    public void SetNotReady(string reason)
    {
        _reason = reason;
        _ready = false;
    }
}
