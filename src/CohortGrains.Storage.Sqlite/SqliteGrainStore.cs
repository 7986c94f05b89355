using System.Data.Common;
using CohortGrains.Runtime.Storage;
using Dapper;
using Microsoft.Data.Sqlite;

namespace CohortGrains.Storage.Sqlite;

/// <summary>
/// <see cref="IGrainStore"/> on one SQLite file: the zero set-up, single-node store.
/// SQLite has a single writer, so write transactions are serialized inside the process by a semaphore (no busy
/// retries between our own turns) and start with BEGIN IMMEDIATE (they hold the write lock from the first
/// statement, so a read-then-write never fails half-way). WAL lets reads run beside the writer.
/// </summary>
public sealed partial class SqliteGrainStore : IGrainStore, IDisposable
{
    private static readonly SqlCatalog _sql = SqlCatalog.Load(typeof(SqliteGrainStore).Assembly,
        ".Sql.schema.sql", ".Sql.grains.sql", ".Sql.timers.sql", ".Sql.outbox.sql", ".Sql.api_keys.sql", ".Sql.touch_stats.sql",
        ".Sql.audit.sql", ".Sql.erasure.sql");

    private static readonly IReadOnlyList<SqlMigration> _migrations =
        SqlCatalog.LoadMigrations(typeof(SqliteGrainStore).Assembly);

    private readonly SqliteStoreOptions _options;
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private volatile bool _walEnabled;

    static SqliteGrainStore()
    {
        // Lets Dapper map snake_case columns to the PascalCase row classes without aliases in every query.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public SqliteGrainStore(SqliteStoreOptions options)
    {
        _options = options;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
    }

    public void Dispose()
    {
        // Pooled connections keep the file open; clearing them lets callers delete or move the file.
        using (var connection = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(connection);
        _writeLock.Dispose();
    }

    // ---- schema ----

    public async Task MigrateAsync(CancellationToken ct)
    {
        await WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd("CreateMigrationsTable", null, tx, ct)), ct);
        foreach (var migration in _migrations)
        {
            // One transaction per migration, re-checked inside it, so a concurrent or interrupted run is harmless.
            await WriteAsync(async (c, tx) =>
            {
                var applied = await c.ExecuteScalarAsync<long>(
                    Cmd("IsMigrationApplied", new { migration.Version }, tx, ct));
                if (applied > 0) return 0;
                await c.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: tx, cancellationToken: ct));
                var appliedAt = Instant.ToMs(_options.Clock.GetUtcNow());
                return await c.ExecuteAsync(Cmd("RecordMigration",
                    new { migration.Version, migration.Name, AppliedAt = appliedAt }, tx, ct));
            }, ct);
        }
    }

    public async Task<bool> IsReadyAsync(CancellationToken ct)
    {
        try
        {
            await using var c = await OpenAsync(ct);
            var latest = _migrations[^1].Version;
            return await c.ExecuteScalarAsync<long>(Cmd("IsMigrationApplied", new { Version = latest }, null, ct)) > 0;
        }
        catch (SqliteException)
        {
            return false; // no schema_migrations table yet, or the file cannot be opened
        }
    }

    // ---- grains and turns ----

    public async Task<StoredGrain?> LoadAsync(GrainId id, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        return await LoadAsync(c, null, id, ct);
    }

    /// <summary>One connection, one indexed read per id: in-process, so there is no round trip to save.</summary>
    public async Task<IReadOnlyList<StoredGrain>> LoadManyAsync(IReadOnlyCollection<GrainId> ids, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var found = new List<StoredGrain>(ids.Count);
        foreach (var id in ids)
            if (await LoadAsync(c, null, id, ct) is { } grain) found.Add(grain);
        return found;
    }

    /// <summary>
    /// The turns run one after another in one write transaction, each reading the grain (and its trigger timer) as the
    /// turns before it left them, so several turns of one grain need nothing special; the batch pays one commit.
    /// </summary>
    public Task<IReadOnlyList<TurnOutcome>> RunTurnsAsync(IReadOnlyList<TurnRequest> turns, CancellationToken ct) =>
        TurnBatches.RunIsolatedAsync(turns, (batch, token) => WriteAsync<IReadOnlyList<TurnOutcome>>(async (c, tx) =>
        {
            var outcomes = new TurnOutcome[batch.Count];
            for (var i = 0; i < batch.Count; i++) outcomes[i] = await RunTurnAsync(c, tx, batch[i], token);
            return outcomes;
        }, token), _ => false, ct);

    private static async Task<TurnOutcome> RunTurnAsync(SqliteConnection c, SqliteTransaction tx, TurnRequest turn, CancellationToken ct)
    {
        var id = turn.Id;
        var timer = turn.Trigger as TurnTrigger.Timer;
        int? attempt = timer is null ? null : (int?)await c.ExecuteScalarAsync<long?>(Cmd("TimerAttempt", TimerKey(id, timer.Name), tx, ct));
        var current = await LoadAsync(c, tx, id, ct);
        // Earlier turns of this batch are already written: what they changed is what the reads above saw.
        var (decision, skipped) = TurnBatches.Decide(turn, current, attempt);
        switch (decision)
        {
            case null:
                return skipped!;

            case TurnDecision.Reject reject:
                // The timer delivered its message and the grain refused it; retrying would refuse it again.
                if (timer is not null) await DeleteTriggerAsync(c, tx, id, timer, ct);
                return new TurnOutcome.Rejected(reject.Code, reject.Detail);

            default:
                var write = (TurnDecision.Write)decision;
                var version = (current?.Version ?? 0) + 1;
                await WriteGrainAsync(c, tx, id, current, version, write, turn.Now, ct);
                await WriteEffectsAsync(c, tx, id, timer, write, turn.Now, ct);
                return new TurnOutcome.Committed(version);
        }
    }

    private static async Task<StoredGrain?> LoadAsync(SqliteConnection c, SqliteTransaction? tx, GrainId id,
        CancellationToken ct)
    {
        var row = await c.QuerySingleOrDefaultAsync<GrainRowData>(Cmd("LoadGrain", GrainKey(id), tx, ct));
        return row?.ToStoredGrain();
    }

    private static async Task WriteGrainAsync(SqliteConnection c, SqliteTransaction tx, GrainId id,
        StoredGrain? current, long version, TurnDecision.Write write, DateTimeOffset now, CancellationToken ct)
    {
        var args = GrainRowData.WriteParams(id, current?.Version ?? 0, version, now, write.StateJson, write.Projection);
        if (current is null)
        {
            await c.ExecuteAsync(Cmd("InsertGrain", args, tx, ct));
        }
        else if (await c.ExecuteAsync(Cmd("UpdateGrain", args, tx, ct)) != 1)
        {
            // Cannot happen under the single writer; if another process wrote anyway, fail rather than overwrite.
            throw new InvalidOperationException($"Grain {id} changed during its turn (expected version {current.Version}).");
        }
    }

    private static async Task WriteEffectsAsync(SqliteConnection c, SqliteTransaction tx, GrainId id,
        TurnTrigger.Timer? trigger, TurnDecision.Write write, DateTimeOffset now, CancellationToken ct)
    {
        // A name being (re)scheduled is upserted, never deleted and re-inserted: the upsert bumps its attempt,
        // so attempts only grow and no stale claim can ever match the new schedule.
        var scheduled = write.Timers.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);

        if (trigger is not null && !scheduled.Contains(trigger.Name))
            await DeleteTriggerAsync(c, tx, id, trigger, ct);

        foreach (var name in write.CancelTimers.Where(n => !scheduled.Contains(n)))
            await c.ExecuteAsync(Cmd("DeleteTimer", TimerKey(id, name), tx, ct));

        foreach (var t in write.Timers)
        {
            await c.ExecuteAsync(Cmd("UpsertTimer", new
            {
                id.OrgId, GrainType = id.Type, GrainKey = id.Key, t.Name,
                DueAt = Instant.ToMs(t.DueAt), Payload = t.PayloadJson,
            }, tx, ct));
        }

        foreach (var o in write.Outbox)
        {
            await c.ExecuteAsync(Cmd("InsertOutbox", new
            {
                id.OrgId, GrainType = id.Type, GrainKey = id.Key, o.IdempotencyKey, o.Channel, o.Recipient,
                o.Subject, o.Body, o.Template, o.PromptId, Now = Instant.ToMs(now),
            }, tx, ct));
        }

        await InsertMessagesAsync(c, tx, write.Messages, now, ct);

        foreach (var f in write.TouchFacts)
        {
            await c.ExecuteAsync(Cmd("UpsertTouchFact", new
            {
                id.OrgId, GrainKey = id.Key, f.TouchId, f.CohortId, f.CoachId, f.Template, f.TemplateVersion, f.Kind, f.Channel,
                SentAt = Instant.ToMs(f.SentAt), RepliedAt = Instant.ToMs(f.RepliedAt),
                ReplySeconds = f.RepliedAt is { } r ? (long?)Math.Max(0, (long)(r - f.SentAt).TotalSeconds) : null, f.Rating,
            }, tx, ct));
        }

        await InsertAuditAsync(c, tx, write.Audit, now, ct);
    }

    private static Task DeleteTriggerAsync(SqliteConnection c, SqliteTransaction tx, GrainId id,
        TurnTrigger.Timer trigger, CancellationToken ct) =>
        c.ExecuteAsync(Cmd("DeleteTimerAtAttempt", new
        {
            id.OrgId, GrainType = id.Type, GrainKey = id.Key, trigger.Name, trigger.Attempt,
        }, tx, ct));

    public Task EnqueueMessagesAsync(IReadOnlyList<MessageWrite> messages, DateTimeOffset now, CancellationToken ct) =>
        WriteAsync(async (c, tx) => { await InsertMessagesAsync(c, tx, messages, now, ct); return 0; }, ct);

    /// <summary>A message is a timer on its target due now, named uniquely so messages never replace each other.</summary>
    private static async Task InsertMessagesAsync(SqliteConnection c, SqliteTransaction tx,
        IReadOnlyList<MessageWrite> messages, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var m in messages)
        {
            await c.ExecuteAsync(Cmd(m.OnlyIfTopic is null ? "InsertTimer" : "InsertTimerIfTopic", new
            {
                m.Target.OrgId, GrainType = m.Target.Type, GrainKey = m.Target.Key,
                Name = $"msg:{Guid.NewGuid():N}", DueAt = Instant.ToMs(now), Payload = m.PayloadJson, Topic = m.OnlyIfTopic,
            }, tx, ct));
        }
    }

    // ---- timers and outbox: claimed by workers under leases ----

    public Task<IReadOnlyList<ClaimedTimer>> ClaimDueTimersAsync(string owner, DateTimeOffset now, int max,
        TimeSpan lease, CancellationToken ct) =>
        WriteAsync<IReadOnlyList<ClaimedTimer>>(async (c, tx) =>
        {
            var rows = await c.QueryAsync<TimerRowData>(Cmd("ClaimDueTimers", ClaimArgs(owner, now, max, lease), tx, ct));
            // RETURNING does not promise the subquery's order.
            return rows.Select(r => r.ToClaimed()).OrderBy(t => t.DueAt).ToList();
        }, ct);

    public Task<IReadOnlyList<ClaimedOutbox>> ClaimOutboxAsync(string owner, DateTimeOffset now, int max,
        TimeSpan lease, CancellationToken ct) =>
        WriteAsync<IReadOnlyList<ClaimedOutbox>>(async (c, tx) =>
        {
            var rows = await c.QueryAsync<OutboxRowData>(Cmd("ClaimOutbox", ClaimArgs(owner, now, max, lease), tx, ct));
            return rows.Select(r => r.ToClaimed()).OrderBy(o => o.Id).ToList();
        }, ct);

    private static object ClaimArgs(string owner, DateTimeOffset now, int max, TimeSpan lease) => new
    {
        Owner = owner, Now = Instant.ToMs(now), LeaseUntil = Instant.ToMs(now + lease), Max = max,
    };

    public Task<IReadOnlyList<bool>> CompleteOutboxAsync(IReadOnlyList<OutboxCompletion> completions, CancellationToken ct) =>
        WriteAsync<IReadOnlyList<bool>>(async (c, tx) =>
        {
            var recorded = new List<bool>(completions.Count);
            foreach (var completion in completions)
            {
                var (id, attempt, now) = (completion.OutboxId, completion.Attempt, Instant.ToMs(completion.Now));
                var (query, args) = completion.Result switch
                {
                    OutboxResult.Sent s => ("CompleteOutboxSent", (object)new
                    {
                        Id = id, Attempt = attempt, Now = now, s.ProviderMessageId, s.ProviderStatus,
                    }),
                    OutboxResult.Retry r => ("CompleteOutboxRetry", new
                    {
                        Id = id, Attempt = attempt, Now = now, RetryAt = Instant.ToMs(r.RetryAt), r.Error,
                    }),
                    OutboxResult.Failed f => ("CompleteOutboxFailed", new
                    {
                        Id = id, Attempt = attempt, Now = now, f.Error, f.ErrorCode,
                    }),
                    _ => throw new ArgumentException($"Unknown outbox result {completion.Result.GetType().Name}.", nameof(completions)),
                };
                recorded.Add(await c.ExecuteAsync(Cmd(query, args, tx, ct)) == 1);
            }
            return recorded;
        }, ct);

    public Task<bool> UpdateDeliveryStatusAsync(string providerMessageId, string status, string? errorCode,
        DateTimeOffset now, CancellationToken ct) =>
        WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd("UpdateDeliveryStatus", new
        {
            ProviderMessageId = providerMessageId, Status = status, ErrorCode = errorCode, Now = Instant.ToMs(now),
        }, tx, ct)) > 0, ct);

    public async Task<OutboxRow?> FindOutboxByProviderMessageIdAsync(string providerMessageId, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<OutboxRowData>(
            Cmd("FindOutboxByProviderMessageId", new { ProviderMessageId = providerMessageId }, null, ct));
        return row?.ToRow();
    }

    public Task ReleaseLeasesAsync(string owner, CancellationToken ct) =>
        WriteAsync(async (c, tx) =>
            await c.ExecuteAsync(Cmd("ReleaseTimerLeases", new { Owner = owner }, tx, ct))
            + await c.ExecuteAsync(Cmd("ReleaseOutboxLeases", new { Owner = owner }, tx, ct)), ct);

    // ---- read side ----

    public async Task<IReadOnlyList<GrainRow>> QueryGrainsAsync(GrainQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.CohortId is not null) filters.Add("AND cohort_id = @CohortId");
        if (query.CoachId is not null) filters.Add("AND coach_id = @CoachId");
        if (query.Status is not null) filters.Add("AND status = @Status");
        if (query.Phone is not null) filters.Add("AND phone = @Phone");
        if (query.Keys is not null) filters.Add("AND grain_key IN @Keys"); // Dapper expands the list
        var order = query.OrderByRisk
            ? "risk DESC, status_since ASC NULLS LAST, grain_key"
            : "grain_key";
        var sql = _sql["QueryGrains"]
            .Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal)
            .Replace("/**order**/", order, StringComparison.Ordinal);

        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<GrainRowData>(new CommandDefinition(sql, new
        {
            query.OrgId, GrainType = query.Type, query.CohortId, query.CoachId, query.Status, query.Phone,
            Keys = query.Keys?.ToArray(), query.Limit, query.Offset,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToGrainRow()).ToList();
    }

    public async Task<IReadOnlyList<GrainRow>> FindGrainsByPhoneAsync(string grainType, string phone, int limit,
        CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<GrainRowData>(
            Cmd("FindGrainsByPhone", new { GrainType = grainType, Phone = phone, Limit = limit }, null, ct));
        return rows.Select(r => r.ToGrainRow()).ToList();
    }

    public async Task<IReadOnlyList<CohortStats>> GetCohortStatsAsync(string orgId,
        IReadOnlyCollection<string>? cohortIds, DateTimeOffset now, CancellationToken ct)
    {
        var filter = cohortIds is null ? "" : "AND cohort_id IN @CohortIds";
        var args = new { OrgId = orgId, CohortIds = cohortIds?.ToArray(), Now = Instant.ToMs(now) };

        await using var c = await OpenAsync(ct);
        // Both aggregates in one read transaction so they describe the same moment.
        await using var tx = c.BeginTransaction(deferred: true);
        var totals = await c.QueryAsync<CohortStatsData>(new CommandDefinition(
            _sql["CohortStats"].Replace("/**filters**/", filter, StringComparison.Ordinal), args, tx, cancellationToken: ct));
        var statuses = (await c.QueryAsync<CohortStatusCountData>(new CommandDefinition(
                _sql["CohortStatusCounts"].Replace("/**filters**/", filter, StringComparison.Ordinal), args, tx,
                cancellationToken: ct)))
            .ToLookup(s => s.CohortId);

        return totals.Select(t => new CohortStats(
            t.CohortId,
            (int)t.Clients,
            statuses[t.CohortId].ToDictionary(s => s.Status, s => (int)s.Clients),
            (int)t.PromptsSent, (int)t.Replies, (int)t.TouchesSent, (int)t.ActionsTotal, (int)t.ActionsDone,
            (int)t.Escalations, (int)t.EscalationsCaught, (int)t.ClientsWithLateActions)
        {
            ClientsEndedEarly = (int)t.ClientsEndedEarly,
        }).ToList();
    }

    public async Task<IReadOnlyList<OutboxRow>> QueryOutboxAsync(OutboxQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.GrainKey is not null) filters.Add("AND grain_key = @GrainKey");
        if (query.Status is not null) filters.Add("AND status = @Status");
        if (query.Channel is not null) filters.Add("AND channel = @Channel");
        if (query.BeforeId is not null) filters.Add("AND id < @BeforeId");
        if (query.Recipient is not null) filters.Add("AND recipient = @Recipient");
        var sql = _sql["QueryOutbox"].Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal);

        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<OutboxRowData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.GrainKey, query.Status, query.Channel, query.BeforeId, query.Limit, query.Recipient,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToRow()).ToList();
    }

    public async Task<TimerBacklog> GetTimerBacklogAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var row = await c.QuerySingleAsync<TimerBacklogData>(Cmd("TimerBacklog", new { Now = Instant.ToMs(now) }, null, ct));
        var lag = row.OldestDueAt is { } oldest ? now - Instant.FromMs(oldest) : TimeSpan.Zero;
        return new TimerBacklog(row.Due, lag, row.Total);
    }

    public async Task<IReadOnlyList<OutboxBacklog>> GetOutboxBacklogAsync(DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<OutboxBacklogData>(Cmd("OutboxBacklog", new { Now = Instant.ToMs(now) }, null, ct));
        return rows.Select(r => new OutboxBacklog(r.Channel, r.Pending, r.Due,
            r.OldestDueAt is { } oldest ? now - Instant.FromMs(oldest) : TimeSpan.Zero)).ToList();
    }

    public async Task<IReadOnlyList<TemplateStats>> GetTemplateStatsAsync(TemplateStatsQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.CohortId is not null) filters.Add("AND cohort_id = @CohortId");
        if (query.Since is not null) filters.Add("AND sent_at >= @Since");
        if (query.Until is not null) filters.Add("AND sent_at < @Until");
        var sql = _sql["TemplateStats"]
            .Replace("/**cohort**/", query.ByCohort ? "cohort_id" : "NULL", StringComparison.Ordinal)
            .Replace("/**version**/", query.ByVersion ? "template_version" : "NULL", StringComparison.Ordinal)
            .Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal);

        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<TemplateStatsData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.CohortId, Since = Instant.ToMs(query.Since), Until = Instant.ToMs(query.Until),
        }, cancellationToken: ct));
        return rows.Select(r => r.ToStats()).ToList();
    }

    // ---- API keys ----

    public Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken ct) =>
        WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd("InsertApiKey", new
        {
            key.KeyHash, key.KeyId, key.Prefix, key.OrgId, key.Role, key.SubjectId, key.Label,
            CreatedAt = Instant.ToMs(key.CreatedAt), RevokedAt = Instant.ToMs(key.RevokedAt), ExpiresAt = Instant.ToMs(key.ExpiresAt),
        }, tx, ct)), ct);

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken ct)
    {
        await using var c = await OpenAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<ApiKeyData>(Cmd("FindApiKey", new { KeyHash = keyHash }, null, ct));
        return row?.ToRecord();
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(ApiKeyQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.Role is not null) filters.Add("AND role = @Role");
        if (query.SubjectId is not null) filters.Add("AND subject_id = @SubjectId");
        if (query.ActiveAt is not null)
            filters.Add("AND (revoked_at IS NULL OR revoked_at > @ActiveAt) AND (expires_at IS NULL OR expires_at > @ActiveAt)");
        var sql = _sql["ListApiKeys"].Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal);

        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<ApiKeyData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.Role, query.SubjectId, ActiveAt = Instant.ToMs(query.ActiveAt), query.Limit,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    public Task<bool> RevokeApiKeyAsync(string orgId, string keyId, DateTimeOffset now, CancellationToken ct) =>
        WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd("RevokeApiKey",
            new { OrgId = orgId, KeyId = keyId, Now = Instant.ToMs(now) }, tx, ct)) == 1, ct);

    public Task<int> RevokeApiKeysOfSubjectAsync(string orgId, string subjectId, DateTimeOffset now, CancellationToken ct) =>
        WriteAsync(async (c, tx) => await c.ExecuteAsync(Cmd("RevokeApiKeysOfSubject",
            new { OrgId = orgId, SubjectId = subjectId, Now = Instant.ToMs(now) }, tx, ct)), ct);

    // ---- audit log and erasure ----

    public Task AppendAuditAsync(IReadOnlyList<AuditWrite> entries, DateTimeOffset now, CancellationToken ct) =>
        WriteAsync(async (c, tx) => { await InsertAuditAsync(c, tx, entries, now, ct); return 0; }, ct);

    private static async Task InsertAuditAsync(SqliteConnection c, SqliteTransaction tx, IReadOnlyList<AuditWrite> entries,
        DateTimeOffset now, CancellationToken ct)
    {
        foreach (var e in entries)
        {
            await c.ExecuteAsync(Cmd("InsertAudit", new
            {
                e.OrgId, At = Instant.ToMs(now), e.ActorRole, e.ActorId, e.Action, e.TargetType, e.TargetId, e.Detail,
            }, tx, ct));
        }
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.TargetId is not null) filters.Add("AND target_id = @TargetId");
        if (query.Action is not null) filters.Add("AND action = @Action");
        if (query.ActorId is not null) filters.Add("AND actor_id = @ActorId");
        if (query.BeforeId is not null) filters.Add("AND id < @BeforeId");
        var sql = _sql["QueryAudit"].Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal);

        await using var c = await OpenAsync(ct);
        var rows = await c.QueryAsync<AuditData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.TargetId, query.Action, query.ActorId, query.BeforeId, query.Limit,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToEntry()).ToList();
    }

    public async Task<ErasureResult> ErasePersonalDataAsync(GrainId id, DateTimeOffset now, CancellationToken ct)
    {
        var args = new { id.OrgId, GrainType = id.Type, GrainKey = id.Key, SubjectId = id.Key, Now = Instant.ToMs(now) };
        var result = await WriteAsync(async (c, tx) => new ErasureResult(
            await c.ExecuteAsync(Cmd("EraseGrainTimers", args, tx, ct)),
            await c.ExecuteAsync(Cmd("EraseMessagesNamingGrain", args, tx, ct)),
            await c.ExecuteAsync(Cmd("ScrubGrainOutbox", args, tx, ct)),
            await c.ExecuteAsync(Cmd("ScrubAuditOfTarget", args, tx, ct)),
            await c.ExecuteAsync(Cmd("RevokeApiKeysOfSubject", args, tx, ct))), ct);
        await CheckpointAsync(ct);
        return result;
    }

    /// <summary>
    /// Copies the WAL into the database file and truncates it to zero bytes. Every turn appends whole page images to
    /// the WAL, so until this runs, the bytes of an erased client's earlier states still sit in the -wal file.
    /// Best effort: a reader holding an old snapshot makes SQLite skip the truncation, and the next checkpoint does it.
    /// </summary>
    private async Task CheckpointAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var c = await OpenAsync(ct);
            await c.ExecuteAsync(new CommandDefinition("PRAGMA wal_checkpoint(TRUNCATE);", cancellationToken: ct));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // ---- plumbing ----

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        try
        {
            await c.OpenAsync(ct);
            // Per connection: SQLite's own busy handler waits for another process's writer with back-off.
            await c.ExecuteAsync($"PRAGMA busy_timeout = {(long)_options.BusyTimeout.TotalMilliseconds};");
            // Freed space (a row rewritten by the next turn, a deleted timer, an erased client's old state) is
            // overwritten with zeros instead of lingering in the file: erasure must reach the bytes on disk.
            await c.ExecuteAsync("PRAGMA secure_delete = ON;");
            if (!_walEnabled)
            {
                // WAL is a property of the file: readers never block the writer and vice versa.
                await c.ExecuteAsync("PRAGMA journal_mode = WAL;");
                _walEnabled = true;
            }
            return c;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="work"/> in a write transaction (BEGIN IMMEDIATE) under the in-process writer lock; commits when it returns.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            await using var c = await OpenAsync(ct);
            // deferred: false makes Microsoft.Data.Sqlite issue BEGIN IMMEDIATE.
            await using var tx = c.BeginTransaction(deferred: false);
            var result = await work(c, tx);
            await tx.CommitAsync(ct);
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static CommandDefinition Cmd(string name, object? args, DbTransaction? tx, CancellationToken ct) =>
        new(_sql[name], args, tx, cancellationToken: ct);

    private static object GrainKey(GrainId id) => new { id.OrgId, GrainType = id.Type, GrainKey = id.Key };

    private static object TimerKey(GrainId id, string name) =>
        new { id.OrgId, GrainType = id.Type, GrainKey = id.Key, Name = name };
}
