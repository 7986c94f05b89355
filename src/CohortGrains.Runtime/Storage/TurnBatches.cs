namespace CohortGrains.Runtime.Storage;

/// <summary>What both stores do the same way around a batch of turns run as one transaction.</summary>
public static class TurnBatches
{
    /// <summary>
    /// Runs <paramref name="turns"/> as one transaction through <paramref name="runBatch"/>. When that transaction fails,
    /// nothing of it was written; then each turn runs again on its own, so one turn the database refuses cannot fail the
    /// others, and comes back <see cref="TurnOutcome.Faulted"/> if it fails alone too. A failure that would fail every
    /// turn alone as well (<paramref name="failsEveryTurn"/>: the database is unreachable) faults them all at once.
    /// </summary>
    public static async Task<IReadOnlyList<TurnOutcome>> RunIsolatedAsync(
        IReadOnlyList<TurnRequest> turns,
        Func<IReadOnlyList<TurnRequest>, CancellationToken, Task<IReadOnlyList<TurnOutcome>>> runBatch,
        Func<Exception, bool> failsEveryTurn,
        CancellationToken ct)
    {
        if (turns.Count == 0) return [];
        try
        {
            return await runBatch(turns, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException && (turns.Count == 1 || failsEveryTurn(e)))
        {
            return turns.Select(_ => (TurnOutcome)new TurnOutcome.Faulted(e)).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var outcomes = new List<TurnOutcome>(turns.Count);
            foreach (var turn in turns) outcomes.Add((await RunIsolatedAsync([turn], runBatch, failsEveryTurn, ct))[0]);
            return outcomes;
        }
    }

    /// <summary>A faulted turn throws its own exception, so callers of one turn handle it as they would any failed call.</summary>
    public static TurnOutcome ThrowIfFaulted(TurnOutcome outcome)
    {
        if (outcome is TurnOutcome.Faulted f) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(f.Error);
        return outcome;
    }

    /// <summary>
    /// The fixed order in which every transaction locks grains (ordinal by org, type, key): two batches that share
    /// grains take them in the same order, so they wait for each other but never deadlock.
    /// </summary>
    public static readonly IComparer<GrainId> LockOrder = Comparer<GrainId>.Create((a, b) =>
    {
        var c = string.CompareOrdinal(a.OrgId, b.OrgId);
        if (c == 0) c = string.CompareOrdinal(a.Type, b.Type);
        return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
    });

    /// <summary>
    /// Decides one turn in memory, or says why it does not run: <see cref="TurnOutcome.Fenced"/> when its timer trigger is
    /// no longer the one claimed (<paramref name="timerAttempt"/> is what the store holds now, null when the timer is gone,
    /// and an earlier turn of the same batch that rescheduled, cancelled or consumed it counts as gone), or
    /// <see cref="TurnOutcome.Faulted"/> when decide throws.
    /// </summary>
    public static (TurnDecision? Decision, TurnOutcome? Skipped) Decide(TurnRequest turn, StoredGrain? current, int? timerAttempt,
        IReadOnlySet<string>? timersChangedInBatch = null)
    {
        if (turn.Trigger is TurnTrigger.Timer timer && (timerAttempt != timer.Attempt || timersChangedInBatch?.Contains(timer.Name) == true))
            return (null, new TurnOutcome.Fenced());
        try
        {
            var decision = turn.Decide(current);
            return decision is TurnDecision.Write or TurnDecision.Reject
                ? (decision, null)
                : (null, new TurnOutcome.Faulted(new InvalidOperationException($"Unknown turn decision {decision?.GetType().Name ?? "null"}.")));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, new TurnOutcome.Faulted(e));
        }
    }

    /// <summary>The timer names a turn's writes touch: later turns of the same grain in the batch triggered by them are fenced.</summary>
    public static IEnumerable<string> TimersChanged(TurnTrigger trigger, TurnDecision decision)
    {
        if (trigger is TurnTrigger.Timer t) yield return t.Name;
        if (decision is not TurnDecision.Write w) yield break;
        foreach (var timer in w.Timers) yield return timer.Name;
        foreach (var name in w.CancelTimers) yield return name;
    }
}
