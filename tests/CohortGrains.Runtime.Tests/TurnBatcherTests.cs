using System.Collections.Concurrent;
using System.Reflection;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests;

/// <summary>Group commit: a turn on an idle node runs at once; turns that arrive while transactions run share the next one.</summary>
public sealed class TurnBatcherTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static TurnRequest Turn(string key) =>
        new(new GrainId("org1", "ClientLoop", key), TurnTrigger.FromCommand, T0, _ => new TurnDecision.Reject("x", key));

    [Fact]
    public async Task ATurnOnAnIdleNodeRunsAtOnceInABatchOfItsOwn()
    {
        var store = GatedStore.Create(out var gate);
        gate.Open();
        var batcher = new TurnBatcher(store, maxTurns: 64, maxBatches: 2);

        var outcome = await batcher.RunAsync(Turn("ana"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(new TurnOutcome.Rejected("x", "ana"), outcome);
        Assert.Equal([1], gate.BatchSizes);
    }

    [Fact]
    public async Task TurnsArrivingWhileEveryTransactionRunsShareTheNextOneUpToTheBatchSize()
    {
        var store = GatedStore.Create(out var gate);
        var batcher = new TurnBatcher(store, maxTurns: 4, maxBatches: 1);

        var first = batcher.RunAsync(Turn("t0"), CancellationToken.None);
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(10)); // the first transaction is running and holds the only slot
        var rest = Enumerable.Range(1, 9).Select(i => batcher.RunAsync(Turn($"t{i}"), CancellationToken.None)).ToList();
        gate.Open();

        var outcomes = await Task.WhenAll(rest.Prepend(first)).WaitAsync(TimeSpan.FromSeconds(10));

        // Every caller gets its own turn's outcome, and the nine waiting turns took three transactions, not nine.
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (TurnOutcome)new TurnOutcome.Rejected("x", $"t{i}")), outcomes);
        Assert.Equal([1, 4, 4, 1], gate.BatchSizes);
    }

    [Fact]
    public async Task ABusyGrainsTurnsWaitForItsRunningTransactionAndGoTogetherIntoTheNextWhileOtherGrainsDoNotWait()
    {
        var store = GatedStore.Create(out var gate);
        var batcher = new TurnBatcher(store, maxTurns: 64, maxBatches: 2);

        var first = batcher.RunAsync(Turn("hot"), CancellationToken.None);
        await gate.Arrivals.WaitAsync(TimeSpan.FromSeconds(10));
        var more = new[] { batcher.RunAsync(Turn("hot"), CancellationToken.None), batcher.RunAsync(Turn("hot"), CancellationToken.None) };
        var other = batcher.RunAsync(Turn("ana"), CancellationToken.None);
        // The second transaction starts at once with ana alone: hot is in the first one, so its turns wait.
        await gate.Arrivals.WaitAsync(TimeSpan.FromSeconds(10));
        gate.Open();

        await Task.WhenAll(more.Append(first).Append(other)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["hot", "ana", "hot hot"], gate.Batches);
    }

    [Fact]
    public async Task AWaitingTurnWhoseCallerStoppedStartingNeverRuns()
    {
        var store = GatedStore.Create(out var gate);
        var batcher = new TurnBatcher(store, maxTurns: 64, maxBatches: 1);
        using var drain = new CancellationTokenSource();

        var running = batcher.RunAsync(Turn("running"), drain.Token);
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(10));
        var waiting = batcher.RunAsync(Turn("waiting"), drain.Token);
        drain.Cancel();
        gate.Open();

        // The running transaction finishes; the waiting turn is cancelled without reaching the store.
        Assert.IsType<TurnOutcome.Rejected>(await running.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([1], gate.BatchSizes);
    }

    [Fact]
    public async Task AStoreThatFailsFailsEveryTurnOfItsBatchAndTheNextBatchStillRuns()
    {
        var store = GatedStore.Create(out var gate);
        gate.Open();
        gate.FailNext = true;
        var batcher = new TurnBatcher(store, maxTurns: 64, maxBatches: 1);

        await Assert.ThrowsAsync<InvalidOperationException>(() => batcher.RunAsync(Turn("ana"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsType<TurnOutcome.Rejected>(await batcher.RunAsync(Turn("bob"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>A store whose transactions wait at a gate; it records the size of each batch and rejects every turn.</summary>
    public class GatedStore : DispatchProxy
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<IReadOnlyList<TurnRequest>> _batches = new();

        public Task Entered => _entered.Task;
        /// <summary>Released once per transaction that reached the store.</summary>
        public SemaphoreSlim Arrivals { get; } = new(0);
        public int[] BatchSizes => [.. _batches.Select(b => b.Count)];
        /// <summary>Each transaction's grain keys, space-separated, in the order the transactions began.</summary>
        public string[] Batches => [.. _batches.Select(b => string.Join(' ', b.Select(t => t.Id.Key)))];
        public bool FailNext { get; set; }
        public void Open() => _open.TrySetResult();

        public static IGrainStore Create(out GatedStore gate)
        {
            var proxy = Create<IGrainStore, GatedStore>();
            gate = (GatedStore)(object)proxy;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args)
        {
            if (method?.Name != nameof(IGrainStore.RunTurnsAsync)) throw new NotSupportedException(method?.Name);
            return RunAsync((IReadOnlyList<TurnRequest>)args![0]!);
        }

        private async Task<IReadOnlyList<TurnOutcome>> RunAsync(IReadOnlyList<TurnRequest> turns)
        {
            _batches.Enqueue(turns);
            _entered.TrySetResult();
            Arrivals.Release();
            await _open.Task;
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("the store is down");
            }
            return turns.Select(TurnOutcome (t) => t.Decide(null) switch
            {
                TurnDecision.Reject r => new TurnOutcome.Rejected(r.Code, r.Detail),
                _ => throw new InvalidOperationException(),
            }).ToList();
        }
    }
}
