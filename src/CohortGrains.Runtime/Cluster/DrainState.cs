namespace CohortGrains.Runtime.Cluster;

/// <summary>
/// This node's drain, shared by everything that takes part in it: the workers stop claiming when it begins, the
/// readiness probe answers "not ready", membership marks the node draining and deregisters once the workers have
/// finished their turns and released their leases. One object instead of hosted-service stop order, which other
/// registrations could change.
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

    /// <summary>Starts the drain (SIGTERM, or an operator). Idempotent.</summary>
    public void Begin()
    {
        if (!_draining.IsCancellationRequested) _draining.Cancel();
    }

    public void MarkWorkersStopped() => _workersStopped.TrySetResult();
}
