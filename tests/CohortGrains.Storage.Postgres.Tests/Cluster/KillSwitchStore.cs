using CohortGrains.Runtime.Storage;

namespace CohortGrains.Storage.Postgres.Tests.Cluster;

public sealed class NodeKilledException(string node) : Exception($"node {node} was killed");

/// <summary>
/// A node's way to the database, with a switch that kills it the way a crashed process dies: the calls under way are
/// cut off (their transactions roll back, or commit if COMMIT already reached the server) and every later call fails,
/// so the node can neither finish its turns, nor release its leases, nor deregister.
/// </summary>
public sealed class KillSwitchStore(PostgresGrainStore inner, string node) : IGrainStore
{
    private readonly CancellationTokenSource _killed = new();
    private int _killAfterTurns = int.MaxValue;
    private int _turnsStarted;

    public bool IsKilled => _killed.IsCancellationRequested;

    public void Kill() => _killed.Cancel();

    /// <summary>Dies when the <paramref name="turns"/>th turn from now starts: mid-batch, with turns in flight and claims held.</summary>
    public void KillAfterTurns(int turns) => Volatile.Write(ref _killAfterTurns, Volatile.Read(ref _turnsStarted) + turns);

    private async Task<T> Call<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        if (IsKilled) throw new NodeKilledException(node);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _killed.Token);
        return await call(linked.Token);
    }

    private Task Call(Func<CancellationToken, Task> call, CancellationToken ct) =>
        Call(async t => { await call(t); return 0; }, ct);

    public Task MigrateAsync(CancellationToken ct) => Call(inner.MigrateAsync, ct);
    public Task<bool> IsReadyAsync(CancellationToken ct) => Call(inner.IsReadyAsync, ct);
    public Task<StoredGrain?> LoadAsync(GrainId id, CancellationToken ct) => Call(t => inner.LoadAsync(id, t), ct);
    public Task<IReadOnlyList<StoredGrain>> LoadManyAsync(IReadOnlyCollection<GrainId> ids, CancellationToken ct) => Call(t => inner.LoadManyAsync(ids, t), ct);

    public Task<IReadOnlyList<TurnOutcome>> RunTurnsAsync(IReadOnlyList<TurnRequest> turns, CancellationToken ct)
    {
        if (Interlocked.Add(ref _turnsStarted, turns.Count) >= Volatile.Read(ref _killAfterTurns)) Kill();
        return Call(t => inner.RunTurnsAsync(turns, t), ct);
    }

    public Task EnqueueMessagesAsync(IReadOnlyList<MessageWrite> messages, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.EnqueueMessagesAsync(messages, now, t), ct);
    public Task<IReadOnlyList<ClaimedTimer>> ClaimDueTimersAsync(string owner, DateTimeOffset now, int max, TimeSpan lease, CancellationToken ct) =>
        Call(t => inner.ClaimDueTimersAsync(owner, now, max, lease, t), ct);
    public Task<IReadOnlyList<ClaimedOutbox>> ClaimOutboxAsync(string owner, DateTimeOffset now, int max, TimeSpan lease, CancellationToken ct) =>
        Call(t => inner.ClaimOutboxAsync(owner, now, max, lease, t), ct);
    public Task<IReadOnlyList<bool>> CompleteOutboxAsync(IReadOnlyList<OutboxCompletion> completions, CancellationToken ct) =>
        Call(t => inner.CompleteOutboxAsync(completions, t), ct);
    public Task<bool> UpdateDeliveryStatusAsync(string providerMessageId, string status, string? errorCode, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.UpdateDeliveryStatusAsync(providerMessageId, status, errorCode, now, t), ct);
    public Task<OutboxRow?> FindOutboxByProviderMessageIdAsync(string providerMessageId, CancellationToken ct) =>
        Call(t => inner.FindOutboxByProviderMessageIdAsync(providerMessageId, t), ct);
    public Task ReleaseLeasesAsync(string owner, CancellationToken ct) => Call(t => inner.ReleaseLeasesAsync(owner, t), ct);
    public Task<IReadOnlyList<GrainRow>> FindGrainsByPhoneAsync(string grainType, string phone, int limit, CancellationToken ct) =>
        Call(t => inner.FindGrainsByPhoneAsync(grainType, phone, limit, t), ct);
    public Task<IReadOnlyList<OutboxBacklog>> GetOutboxBacklogAsync(DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.GetOutboxBacklogAsync(now, t), ct);
    public Task<IReadOnlyList<TemplateStats>> GetTemplateStatsAsync(TemplateStatsQuery query, CancellationToken ct) =>
        Call(t => inner.GetTemplateStatsAsync(query, t), ct);
    public Task<IReadOnlyList<GrainRow>> QueryGrainsAsync(GrainQuery query, CancellationToken ct) => Call(t => inner.QueryGrainsAsync(query, t), ct);
    public Task<IReadOnlyList<CohortStats>> GetCohortStatsAsync(string orgId, IReadOnlyCollection<string>? cohortIds, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.GetCohortStatsAsync(orgId, cohortIds, now, t), ct);
    public Task<IReadOnlyList<OutboxRow>> QueryOutboxAsync(OutboxQuery query, CancellationToken ct) => Call(t => inner.QueryOutboxAsync(query, t), ct);
    public Task<TimerBacklog> GetTimerBacklogAsync(DateTimeOffset now, CancellationToken ct) => Call(t => inner.GetTimerBacklogAsync(now, t), ct);
    public Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken ct) => Call(t => inner.CreateApiKeyAsync(key, t), ct);
    public Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken ct) => Call(t => inner.FindApiKeyAsync(keyHash, t), ct);
    public Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(ApiKeyQuery query, CancellationToken ct) => Call(t => inner.ListApiKeysAsync(query, t), ct);
    public Task<bool> RevokeApiKeyAsync(string orgId, string keyId, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.RevokeApiKeyAsync(orgId, keyId, now, t), ct);
    public Task<int> RevokeApiKeysOfSubjectAsync(string orgId, string subjectId, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.RevokeApiKeysOfSubjectAsync(orgId, subjectId, now, t), ct);
    public Task AppendAuditAsync(IReadOnlyList<AuditWrite> entries, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.AppendAuditAsync(entries, now, t), ct);
    public Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken ct) => Call(t => inner.QueryAuditAsync(query, t), ct);
    public Task<ErasureResult> ErasePersonalDataAsync(GrainId id, DateTimeOffset now, CancellationToken ct) =>
        Call(t => inner.ErasePersonalDataAsync(id, now, t), ct);
    public Task HeartbeatAsync(NodeHeartbeat heartbeat, TimeSpan forgetAfter, CancellationToken ct) => Call(t => inner.HeartbeatAsync(heartbeat, forgetAfter, t), ct);
    public Task DeregisterAsync(string nodeId, CancellationToken ct) => Call(t => inner.DeregisterAsync(nodeId, t), ct);
    public Task<IReadOnlyList<NodeRecord>> ListNodesAsync(CancellationToken ct) => Call(inner.ListNodesAsync, ct);
}
