namespace CohortGrains.Runtime.Workers;

/// <summary>
/// Whether this node is draining (SIGTERM received, or an operator asked): readiness turns false so load balancers
/// and Prometheus see the node leaving before it stops. One per node; it only ever goes from "serving" to "draining".
/// Everything that takes part in the drain shares it, instead of relying on hosted-service stop order (which other
/// registrations could change): the workers stop claiming when it begins (<see cref="Token"/>) and report when their
/// running turns have finished and their leases are released (<see cref="WorkersStopped"/>); membership marks the node
/// draining and deregisters only after that.
/// </summary>
public sealed class DrainState
{
    private readonly CancellationTokenSource _draining = new();
    private readonly TaskCompletionSource _workersStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsDraining => _draining.IsCancellationRequested;

    /// <summary>Cancelled when the drain begins.</summary>
    public CancellationToken Token => _draining.Token;

    /// <summary>Completes when the workers have finished their running turns and released what they had claimed.</summary>
    public Task WorkersStopped => _workersStopped.Task;

    /// <summary>Starts the drain. Idempotent.</summary>
    public void BeginDrain() => _draining.Cancel();

    public void MarkWorkersStopped() => _workersStopped.TrySetResult();
}
