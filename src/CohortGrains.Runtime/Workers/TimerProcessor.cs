using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime.Workers;

/// <summary>Claims due timers (reminders and grain messages) in batches and runs one turn for each.</summary>
public sealed class TimerProcessor(GrainRuntime runtime, NodeIdentity node, IOptions<WorkerOptions> options, ILogger<TimerProcessor> logger)
{
    private readonly WorkerOptions _options = options.Value;

    /// <summary>
    /// Claims one batch and hands all of it to the runtime at once, which commits the turns together in transactions
    /// of up to <see cref="WorkerOptions.TurnBatchSize"/>; returns how many timers were claimed. Once
    /// <paramref name="stopStarting"/> is cancelled (drain) no turn that is still waiting for its transaction starts,
    /// while the transactions already running finish (the database's command timeout bounds them). What was claimed but
    /// not started stays leased to this node until it releases its leases.
    /// </summary>
    public async Task<int> ProcessBatchAsync(CancellationToken stopStarting)
    {
        var now = runtime.Clock.GetUtcNow();
        var claimed = await runtime.Store.ClaimDueTimersAsync(node.Id, now, _options.TimerBatchSize, _options.LeaseDuration, stopStarting);
        if (claimed.Count == 0) return 0;
        // In hand until the whole batch is done.
        node.Claimed(claimed.Count);
        try
        {
            await RunAllAsync(claimed, stopStarting);
        }
        finally
        {
            node.Finished(claimed.Count);
        }
        return claimed.Count;
    }

    /// <summary>One turn per timer; a failed or cancelled turn is caught here and leaves its timer to its lease.</summary>
    private Task RunAllAsync(IReadOnlyList<ClaimedTimer> claimed, CancellationToken stopStarting) =>
        Task.WhenAll(claimed.Select(async timer =>
        {
            try
            {
                await runtime.RunTimerAsync(timer, stopStarting);
            }
            catch (OperationCanceledException)
            {
                // Drain: never started, still leased to this node, released with the rest.
            }
            catch (Exception e)
            {
                // GrainRuntime has logged it (one line per failed turn). The lease runs out and the timer is
                // claimed again (attempt + 1): a crash or a fault never loses it.
                logger.LogDebug(e, "Timer {Timer} on {Grain} stays leased until it is retried", timer.Name, timer.Grain);
            }
        }));
}
