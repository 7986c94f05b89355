using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Workers;

/// <summary>
/// The node's background loops: claim due timers and outbox rows until there are none, then wait for new
/// work in this process or the idle poll. Stopping (SIGTERM) stops claiming; running turns finish first.
/// </summary>
public sealed class RuntimeWorker(
    GrainRuntime runtime,
    TimerProcessor timers,
    OutboxProcessor outbox,
    NodeIdentity node,
    IOptions<WorkerOptions> options,
    ILogger<RuntimeWorker> logger) : BackgroundService
{
    // One signal per loop: new work in this process wakes both the timer loop and the outbox loop.
    private readonly SemaphoreSlim _wakeTimers = new(0);
    private readonly SemaphoreSlim _wakeOutbox = new(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled)
        {
            logger.LogInformation("Workers are switched off on node {Node}", node.Id);
            return;
        }
        runtime.WorkScheduled += Wake;
        try
        {
            await Task.WhenAll(
                LoopAsync("timers", timers.ProcessBatchAsync, _wakeTimers, stoppingToken),
                LoopAsync("outbox", outbox.ProcessBatchAsync, _wakeOutbox, stoppingToken));
        }
        finally
        {
            runtime.WorkScheduled -= Wake;
            // Drain: hand back what we claimed but did not start, so other nodes take it at once.
            await runtime.Store.ReleaseLeasesAsync(node.Id, CancellationToken.None);
        }
    }

    private void Wake()
    {
        // A count of one is enough: the loop drains everything due once it wakes.
        if (_wakeTimers.CurrentCount == 0) _wakeTimers.Release();
        if (_wakeOutbox.CurrentCount == 0) _wakeOutbox.Release();
    }

    private async Task LoopAsync(string name, Func<CancellationToken, Task<int>> batch, SemaphoreSlim wake, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            int claimed;
            try
            {
                claimed = await batch(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The store may be restarting: back off and try again; leases keep everything safe meanwhile.
                logger.LogError(e, "The {Worker} worker could not claim work; retrying", name);
                claimed = 0;
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
