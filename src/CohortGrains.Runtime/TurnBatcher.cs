using System.Collections.Concurrent;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime;

/// <summary>
/// Group commit for every turn of this node, commands and timers alike. A turn waits in one queue; up to
/// <c>maxBatches</c> transactions run at once, each taking up to <c>maxTurns</c> waiting turns (see
/// <see cref="IGrainStore.RunTurnsAsync"/>). An idle node runs a turn at once in a batch of one; under load, turns that
/// arrive while transactions are running share the next one, so a node commits far more turns per second than it
/// could one transaction each, and no turn waits for a timer to fill a batch.
/// </summary>
public sealed class TurnBatcher(IGrainStore store, int maxTurns, int maxBatches)
{
    private sealed record Waiting(TurnRequest Turn, CancellationToken DontStart)
    {
        public TaskCompletionSource<TurnOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly ConcurrentQueue<Waiting> _queue = new();
    private int _running;

    /// <summary>
    /// Queues the turn and returns its outcome once its batch committed (or failed: <see cref="TurnOutcome.Faulted"/>).
    /// Once <paramref name="dontStart"/> is cancelled a turn that has not started yet never starts (it throws
    /// <see cref="OperationCanceledException"/>); one that has started runs to its end, like every transaction it shares.
    /// </summary>
    public Task<TurnOutcome> RunAsync(TurnRequest turn, CancellationToken dontStart)
    {
        dontStart.ThrowIfCancellationRequested();
        var waiting = new Waiting(turn, dontStart);
        _queue.Enqueue(waiting);
        StartBatchIfRoom();
        return waiting.Outcome.Task;
    }

    private void StartBatchIfRoom()
    {
        while (true)
        {
            var running = Volatile.Read(ref _running);
            if (running >= maxBatches || _queue.IsEmpty) return;
            if (Interlocked.CompareExchange(ref _running, running + 1, running) == running) break;
        }
        // On the thread pool, not on the caller: the caller's own turn must not wait for batches of other turns.
        _ = Task.Run(RunBatchesAsync);
    }

    private async Task RunBatchesAsync()
    {
        try
        {
            while (Take() is { Count: > 0 } batch)
            {
                try
                {
                    var outcomes = await store.RunTurnsAsync(batch.Select(w => w.Turn).ToList(), CancellationToken.None);
                    for (var i = 0; i < batch.Count; i++) batch[i].Outcome.TrySetResult(outcomes[i]);
                }
                catch (Exception e)
                {
                    // The store reports a turn's failure as Faulted; this is the store itself failing.
                    foreach (var w in batch) w.Outcome.TrySetException(e);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _running);
            // A turn queued after the last Take found the queue empty but before the decrement saw no room: start it.
            StartBatchIfRoom();
        }
    }

    private List<Waiting> Take()
    {
        var batch = new List<Waiting>();
        while (batch.Count < maxTurns && _queue.TryDequeue(out var w))
        {
            if (w.DontStart.IsCancellationRequested) w.Outcome.TrySetCanceled(w.DontStart);
            else batch.Add(w);
        }
        return batch;
    }
}
