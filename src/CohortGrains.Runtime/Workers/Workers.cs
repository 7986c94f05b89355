using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Workers;

/// <summary>
/// The node's background loops: claim due timers and outbox rows until there are none, then wait for new
/// work in this process or the idle poll. Draining (SIGTERM, see <see cref="DrainState"/>): stop claiming, let the
/// turns and sends already running finish, then release every lease still held so other nodes take that work at once,
/// and only then report the workers stopped (membership deregisters after that).
/// </summary>
public sealed class RuntimeWorker(
    GrainRuntime runtime,
    TimerProcessor timers,
    OutboxProcessor outbox,
    NodeIdentity node,
    DrainState drain,
    IOptions<WorkerOptions> options,
    ILogger<RuntimeWorker> logger) : BackgroundService
{
    // One signal per queue: new work in this process wakes the loops of the queue it is in.
    private readonly SemaphoreSlim _wakeTimers = new(0);
    private readonly SemaphoreSlim _wakeOutbox = new(0);
    // Cancelled only when the host's shutdown timeout runs out: until then running turns and sends may finish.
    private readonly CancellationTokenSource _abort = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            logger.LogInformation("Workers are switched off on node {Node}", node.Id);
            drain.MarkWorkersStopped(); // nothing to finish or release
            return;
        }
        // The drain begins before the host stops this service (ApplicationStopping), so claiming stops at once.
        using var stopClaiming = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, drain.Token);
        runtime.WorkScheduled += Wake;
        try
        {
            // Two timer loops: one claims the next batch while the other's turns run, so under load the turn batcher
            // always has turns waiting instead of idling for a claim after every batch.
            await Task.WhenAll(
                LoopAsync("timers", (stopStarting, _) => timers.ProcessBatchAsync(stopStarting), _wakeTimers, stopClaiming.Token),
                LoopAsync("timers", (stopStarting, _) => timers.ProcessBatchAsync(stopStarting), _wakeTimers, stopClaiming.Token),
                LoopAsync("outbox", outbox.ProcessBatchAsync, _wakeOutbox, stopClaiming.Token));
        }
        finally
        {
            runtime.WorkScheduled -= Wake;
            try
            {
                // Every running turn has finished here (the loops wait for their batches): hand back what was claimed
                // but not started, so other nodes take it now instead of after the lease. Its own short timeout: even
                // past the shutdown deadline one quick UPDATE is worth trying.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await runtime.Store.ReleaseLeasesAsync(node.Id, timeout.Token);
                logger.LogInformation("Node {Node} stopped claiming and released its leases", node.Id);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Node {Node} could not release its leases; they expire within {Lease}", node.Id, options.Value.LeaseDuration);
            }
            finally
            {
                drain.MarkWorkersStopped();
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        drain.BeginDrain();
        using var deadline = cancellationToken.Register(_abort.Cancel);
        await base.StopAsync(cancellationToken);
    }

    private void Wake(ScheduledWork work)
    {
        // A count of one is enough: the loop drains everything due once it wakes.
        if (work.HasFlag(ScheduledWork.Timers) && _wakeTimers.CurrentCount == 0) _wakeTimers.Release();
        if (work.HasFlag(ScheduledWork.Outbox) && _wakeOutbox.CurrentCount == 0) _wakeOutbox.Release();
    }

    private async Task LoopAsync(string name, Func<CancellationToken, CancellationToken, Task<int>> batch, SemaphoreSlim wake, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            int claimed;
            try
            {
                claimed = await batch(ct, _abort.Token);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The store may be restarting: back off and try again; leases keep everything safe meanwhile.
                logger.LogError(e, "The {Worker} worker could not claim work; retrying", name);
                await Delay(TimeSpan.FromSeconds(1), ct);
                continue;
            }
            if (claimed == 0) await WaitForWorkAsync(wake, ct);
        }
    }

    private async Task WaitForWorkAsync(SemaphoreSlim wake, CancellationToken ct)
    {
        try
        {
            await wake.WaitAsync(options.Value.IdlePoll, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }
}

/// <summary>Runs all due work to quiescence right now: tests and the demo drive time by hand and call this.</summary>
public sealed class WorkPump(TimerProcessor timers, OutboxProcessor outbox)
{
    public async Task<int> RunUntilIdleAsync(CancellationToken ct = default)
    {
        var total = 0;
        while (true)
        {
            var done = await timers.ProcessBatchAsync(ct) + await outbox.ProcessBatchAsync(ct);
            if (done == 0) return total;
            total += done;
        }
    }
}
