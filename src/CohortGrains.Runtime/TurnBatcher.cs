using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime;

/// <summary>
/// Group commit for every turn of this node, commands and timers alike. Turns wait in one mailbox per grain; up to
/// <c>maxBatches</c> transactions run at once, each taking up to <c>maxTurns</c> waiting turns (see
/// <see cref="IGrainStore.RunTurnsAsync"/>). An idle node runs a turn at once in a batch of one; under load, turns that
/// arrive while transactions are running share the next one, so a node commits far more turns per second than it
/// could one transaction each, and no turn waits for a timer to fill a batch.
/// A grain is in at most one running transaction of this node: its waiting turns go together into the next
/// transaction after that one, in order. So a busy grain (an org's Integrations, a coach with many alerts) never makes
/// a transaction full of other grains' turns wait for its row lock.
/// </summary>
public sealed class TurnBatcher(IGrainStore store, int maxTurns, int maxBatches)
{
    private sealed record Waiting(TurnRequest Turn, CancellationToken DontStart)
    {
        public TaskCompletionSource<TurnOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly object _gate = new();
    // Every grain with turns waiting or running has a mailbox. A grain is either in _ready (once), or in a running
    // transaction (taken from _ready by Take, put back by Release if turns arrived meanwhile): never both.
    private readonly Dictionary<GrainId, Queue<Waiting>> _mailboxes = [];
    private readonly Queue<GrainId> _ready = new();
    private int _batches;

    /// <summary>
    /// Queues the turn and returns its outcome once its batch committed (or failed: <see cref="TurnOutcome.Faulted"/>).
    /// Once <paramref name="dontStart"/> is cancelled a turn that has not started yet never starts (it throws
    /// <see cref="OperationCanceledException"/>); one that has started runs to its end, like every transaction it shares.
    /// </summary>
    public Task<TurnOutcome> RunAsync(TurnRequest turn, CancellationToken dontStart)
    {
        dontStart.ThrowIfCancellationRequested();
        var waiting = new Waiting(turn, dontStart);
        lock (_gate)
        {
            if (!_mailboxes.TryGetValue(turn.Id, out var mailbox))
            {
                _mailboxes[turn.Id] = mailbox = new Queue<Waiting>();
                _ready.Enqueue(turn.Id);
            }
            mailbox.Enqueue(waiting);
        }
        StartBatchIfRoom();
        return waiting.Outcome.Task;
    }

    private void StartBatchIfRoom()
    {
        lock (_gate)
        {
            if (_batches >= maxBatches || _ready.Count == 0) return;
            _batches++;
        }
        // On the thread pool, not on the caller: the caller's own turn must not wait for batches of other turns.
        _ = Task.Run(RunBatchesAsync);
    }

    private async Task RunBatchesAsync()
    {
        try
        {
            while (Take() is var (batch, grains) && grains.Count > 0)
            {
                try
                {
                    if (batch.Count == 0) continue; // every turn taken had been cancelled
                    var outcomes = await store.RunTurnsAsync(batch.Select(w => w.Turn).ToList(), CancellationToken.None);
                    for (var i = 0; i < batch.Count; i++) batch[i].Outcome.TrySetResult(outcomes[i]);
                }
                catch (Exception e)
                {
                    // The store reports a turn's failure as Faulted; this is the store itself failing.
                    foreach (var w in batch) w.Outcome.TrySetException(e);
                }
                finally
                {
                    Release(grains);
                }
            }
        }
        finally
        {
            lock (_gate) _batches--;
            // A turn queued after the last Take found nothing but before the decrement saw no room: start it.
            StartBatchIfRoom();
        }
    }

    /// <summary>The next transaction's turns: the mailboxes of ready grains, oldest ready first, up to maxTurns.</summary>
    private (List<Waiting> Turns, List<GrainId> Grains) Take()
    {
        var batch = new List<Waiting>();
        var grains = new List<GrainId>();
        lock (_gate)
        {
            while (batch.Count < maxTurns && _ready.TryDequeue(out var grain))
            {
                var mailbox = _mailboxes[grain];
                while (batch.Count < maxTurns && mailbox.TryDequeue(out var w))
                {
                    if (w.DontStart.IsCancellationRequested) w.Outcome.TrySetCanceled(w.DontStart);
                    else batch.Add(w);
                }
                grains.Add(grain);
            }
        }
        return (batch, grains);
    }

    /// <summary>A transaction ended: its grains may run again; one with turns still waiting is ready again.</summary>
    private void Release(List<GrainId> grains)
    {
        lock (_gate)
        {
            foreach (var grain in grains)
            {
                if (_mailboxes[grain].Count == 0) _mailboxes.Remove(grain);
                else _ready.Enqueue(grain);
            }
        }
    }
}
