using System.Diagnostics;
using CohortGrains.Runtime.Diagnostics;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CohortGrains.Runtime;

/// <summary>The result of sending a message to a grain from the gateway.</summary>
public abstract record GrainCall<TState> where TState : class
{
    public sealed record Ok(TState State, long Version) : GrainCall<TState>;
    public sealed record Rejected(string Code, string Detail) : GrainCall<TState>;
}

/// <summary>
/// Runs grain turns: one message each, committed together with the other turns of this node that are waiting at the
/// same moment (see <see cref="TurnBatcher"/>). Commands from the gateway are awaited by their caller; timers and
/// grain-to-grain messages run when a worker claims them.
/// </summary>
public sealed class GrainRuntime(IGrainStore store, GrainTypeRegistry types, TimeProvider clock, RuntimeMetrics metrics, ILogger<GrainRuntime> logger,
    IOptions<WorkerOptions>? options = null)
{
    private readonly TurnBatcher _batcher = Batcher(store, options?.Value ?? new WorkerOptions());

    private static TurnBatcher Batcher(IGrainStore store, WorkerOptions options) => new(store, options.TurnBatchSize, options.MaxConcurrentBatches);

    public IGrainStore Store => store;
    public TimeProvider Clock => clock;

    /// <summary>
    /// Raised after a turn commits work that is due now, naming the loops that have something to claim, so idle
    /// workers wake without polling and the others stay asleep (each needless wake is a claim transaction).
    /// </summary>
    public event Action<ScheduledWork>? WorkScheduled;

    public Task<GrainCall<TState>> SendAsync<TState>(GrainId id, object message, CancellationToken ct) where TState : class =>
        SendAsync<TState>(id, message, [], ct);

    /// <summary>
    /// Sends a command; <paramref name="audit"/> is written in the turn's transaction if, and only if, the turn changes
    /// the grain. A <paramref name="precondition"/> (who may send this) is checked on the state the turn holds locked, so
    /// the caller needs no read before the turn and nothing can change between the check and the turn; when it refuses,
    /// its rejection is the call's and nothing is written.
    /// </summary>
    public async Task<GrainCall<TState>> SendAsync<TState>(GrainId id, object message, IReadOnlyList<AuditWrite> audit, CancellationToken ct,
        Func<TState?, TurnDecision.Reject?>? precondition = null) where TState : class
    {
        Func<object?, TurnDecision.Reject?>? untyped = precondition is null ? null : s => precondition((TState?)s);
        using var correlation = Correlation.BeginIfNone(logger);
        var behavior = types.Get(id.Type);
        var now = clock.GetUtcNow();
        object? state = null;
        TurnDecision? decision = null;
        var started = Stopwatch.GetTimestamp();
        TurnOutcome outcome;
        try
        {
            outcome = TurnBatches.ThrowIfFaulted(await _batcher.RunAsync(new TurnRequest(id, TurnTrigger.FromCommand, now, current =>
            {
                decision = behavior.Decide(id, current, message, now, out state, untyped);
                if (audit.Count > 0 && decision is TurnDecision.Write write) decision = write with { Audit = audit };
                return decision;
            }), ct));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The transaction rolled back; the caller gets a 500 problem carrying the same correlation id.
            TurnFailed(e, id, "command", null, 0);
            throw;
        }
        metrics.TurnCompleted(id.Type, "command", Stopwatch.GetElapsedTime(started));
        Committed(outcome, decision, now);
        return outcome switch
        {
            TurnOutcome.Committed c => new GrainCall<TState>.Ok((TState)state!, c.Version),
            TurnOutcome.Rejected r => new GrainCall<TState>.Rejected(r.Code, r.Detail),
            _ => throw new InvalidOperationException("A command turn cannot be fenced"),
        };
    }

    public async Task<TState?> GetAsync<TState>(GrainId id, CancellationToken ct) where TState : class
    {
        var stored = await store.LoadAsync(id, ct);
        return stored is null ? null : (TState)types.Get(id.Type).DeserializeState(stored.StateJson);
    }

    /// <summary>The states of several grains in one store read; grains that do not exist are left out.</summary>
    public async Task<IReadOnlyDictionary<GrainId, TState>> GetManyAsync<TState>(IReadOnlyCollection<GrainId> ids, CancellationToken ct) where TState : class
    {
        var stored = await store.LoadManyAsync(ids, ct);
        return stored.ToDictionary(g => g.Id, g => (TState)types.Get(g.Id.Type).DeserializeState(g.StateJson));
    }

    /// <summary>Durably queues messages to grains, all or none; workers deliver them as turns.</summary>
    public async Task PostAsync(IReadOnlyList<(GrainId Target, object Message)> messages, CancellationToken ct)
    {
        var writes = messages.Select(m => new MessageWrite(m.Target, types.Get(m.Target.Type).SerializeMessage(m.Message))).ToList();
        await store.EnqueueMessagesAsync(writes, clock.GetUtcNow(), ct);
        WorkScheduled?.Invoke(ScheduledWork.Timers);
    }

    /// <summary>
    /// Runs the turn for one claimed timer or message. Returns false when it was fenced (someone else owns it now).
    /// A turn that throws is logged here, once, and rethrown: the timer stays leased and runs again after its lease.
    /// Once <paramref name="dontStart"/> is cancelled (drain) the turn no longer starts if it is still waiting for its batch.
    /// </summary>
    public async Task<bool> RunTimerAsync(ClaimedTimer timer, CancellationToken dontStart)
    {
        using var correlation = Correlation.BeginIfNone(logger);
        var trigger = timer.Name.StartsWith("msg:", StringComparison.Ordinal) ? "message" : "reminder";
        TurnOutcome outcome;
        TurnDecision? decision = null;
        var started = Stopwatch.GetTimestamp();
        var now = clock.GetUtcNow();
        try
        {
            var behavior = types.Get(timer.Grain.Type);
            var message = behavior.DeserializeMessage(timer.PayloadJson);
            outcome = TurnBatches.ThrowIfFaulted(await _batcher.RunAsync(new TurnRequest(timer.Grain, new TurnTrigger.Timer(timer.Name, timer.Attempt), now, current =>
            {
                decision = behavior.Decide(timer.Grain, current, message, now, out _);
                return decision;
            }), dontStart));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            TurnFailed(e, timer.Grain, trigger, timer.Name, timer.Attempt);
            throw;
        }
        metrics.TurnCompleted(timer.Grain.Type, trigger, Stopwatch.GetElapsedTime(started));
        metrics.TimerLag(now - timer.DueAt);
        switch (outcome)
        {
            case TurnOutcome.Fenced:
                logger.LogDebug("Timer {Timer} on {Grain} was fenced (attempt {Attempt})", timer.Name, timer.Grain, timer.Attempt);
                return false;
            case TurnOutcome.Rejected r:
                // A rejected delivery is final (e.g. a message for a grain that was never created): log, don't retry.
                logger.LogWarning("Grain {Grain} rejected {Trigger} {Timer}: {Code} {Detail} (correlation {CorrelationId})",
                    timer.Grain, trigger, timer.Name, r.Code, Redact.Text(r.Detail), Correlation.Current);
                return true;
            default:
                Committed(outcome, decision, now);
                return true;
        }
    }

    /// <summary>The one log line of a failed turn: which grain, what triggered it, and the correlation id to search for.</summary>
    private void TurnFailed(Exception e, GrainId grain, string trigger, string? timer, int attempt)
    {
        metrics.TurnFailed(grain.Type, trigger);
        logger.LogError(e, "Turn failed on {Grain} ({Trigger} {Timer}, attempt {Attempt}); correlation {CorrelationId}",
            grain, trigger, timer ?? "-", attempt, Correlation.Current);
    }

    private void Committed(TurnOutcome outcome, TurnDecision? decision, DateTimeOffset now)
    {
        if (outcome is not TurnOutcome.Committed || decision is not TurnDecision.Write write) return;
        foreach (var reason in write.Escalations) metrics.Escalated(reason);
        if (DueNow(write, now) is not ScheduledWork.None and var work) WorkScheduled?.Invoke(work);
    }

    /// <summary>
    /// Which loops a committed write gives something to claim at once. A reminder for later would find nothing; a
    /// message only for subscribers (a webhook event) is dropped by the store unless someone subscribed, and then
    /// waits at most one idle poll. Cancelled timers need no worker.
    /// </summary>
    private static ScheduledWork DueNow(TurnDecision.Write write, DateTimeOffset now) =>
        (write.Messages.Any(m => m.OnlyIfTopic is null) || write.Timers.Any(t => t.DueAt <= now) ? ScheduledWork.Timers : ScheduledWork.None)
        | (write.Outbox.Count > 0 ? ScheduledWork.Outbox : ScheduledWork.None);
}

/// <summary>The worker loops that new work is for.</summary>
[Flags]
public enum ScheduledWork
{
    None = 0,
    /// <summary>Timers due now, and messages to grains (delivered as timers).</summary>
    Timers = 1,
    Outbox = 2,
}
