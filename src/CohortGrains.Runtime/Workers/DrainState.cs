namespace CohortGrains.Runtime.Workers;

/// <summary>
/// Whether this node is draining (SIGTERM received, or an operator asked): readiness turns false so load balancers
/// and Prometheus see the node leaving before it stops. One per node; it only ever goes from "serving" to "draining".
/// </summary>
public sealed class DrainState
{
    private int _draining;

    public bool IsDraining => Volatile.Read(ref _draining) == 1;

    public void BeginDrain() => Interlocked.Exchange(ref _draining, 1);
}
