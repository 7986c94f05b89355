using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Workers;

/// <summary>Claims due timers (reminders and grain messages) in batches and runs one turn for each.</summary>
public sealed class TimerProcessor(GrainRuntime runtime, NodeIdentity node, IOptions<WorkerOptions> options, ILogger<TimerProcessor> logger)
{
    private readonly WorkerOptions _options = options.Value;

    /// <summary>Claims and runs one batch; returns how many timers were claimed.</summary>
    public Task<int> ProcessBatchAsync(CancellationToken ct) => ProcessBatchAsync(ct, ct);

    /// <summary>
    /// Claims and runs one batch. Once <paramref name="stopStarting"/> is cancelled (drain) no further turn of the batch
    /// starts, while the turns already running finish unless <paramref name="abort"/> is cancelled too; what was claimed
    /// but not started stays leased to this node until it releases its leases.
    /// </summary>
    public async Task<int> ProcessBatchAsync(CancellationToken stopStarting, CancellationToken abort)
    {
        var now = runtime.Clock.GetUtcNow();
        var claimed = await runtime.Store.ClaimDueTimersAsync(node.Id, now, _options.TimerBatchSize, _options.LeaseDuration, stopStarting);
        if (claimed.Count == 0) return 0;
        await Parallel.ForEachAsync(claimed, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentTurns, CancellationToken = stopStarting },
            async (timer, _) =>
            {
                try
                {
                    await runtime.RunTimerAsync(timer, abort);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // GrainRuntime has logged it (one line per failed turn). The lease runs out and the timer is
                    // claimed again (attempt + 1): a crash or a fault never loses it.
                    logger.LogDebug(e, "Timer {Timer} on {Grain} stays leased until it is retried", timer.Name, timer.Grain);
                }
            });
        return claimed.Count;
    }
}
