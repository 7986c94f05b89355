using CohortGrains.Runtime.Storage;
using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace CohortGrains.Storage.Postgres;

/// <summary>
/// <see cref="IGrainStore"/> on PostgreSQL: the cluster store that N identical nodes share.
/// A batch of turns is one transaction of three round trips: [lock the grain rows that exist FOR UPDATE, in lock order,
/// then the trigger timers] → decide (in memory) → [every write of every turn, one set-based statement per table
/// (turns.sql, <see cref="BatchWrites"/>)] → COMMIT. Locks are always taken grains first, in one fixed order, then
/// timers, so turns never deadlock each other; and a busy node pays one commit (one WAL flush) for many turns.
/// Workers claim due timers and outbox rows in batches with FOR UPDATE SKIP LOCKED, lease them and bump their attempt,
/// which fences every later write.
/// Statements are prepared automatically by Npgsql after a few uses (Max Auto Prepare), so the hot path skips parsing
/// and planning.
/// </summary>
public sealed partial class PostgresGrainStore : IGrainStore, IAsyncDisposable, IDisposable
{
    private static readonly SqlCatalog _sql = SqlCatalog.Load(typeof(PostgresGrainStore).Assembly,
        ".Sql.schema.sql", ".Sql.grains.sql", ".Sql.timers.sql", ".Sql.outbox.sql", ".Sql.api_keys.sql", ".Sql.nodes.sql",
        ".Sql.touch_stats.sql", ".Sql.audit.sql", ".Sql.erasure.sql", ".Sql.turns.sql");

    private static readonly IReadOnlyList<SqlMigration> _migrations =
        SqlCatalog.LoadMigrations(typeof(PostgresGrainStore).Assembly);

    private readonly PostgresStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;

    static PostgresGrainStore()
    {
        // Lets Dapper map snake_case columns to the PascalCase row classes without aliases in every query.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    public PostgresGrainStore(PostgresStoreOptions options)
    {
        _options = options;
        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        // A turn runs the same dozen statements over and over: prepare them once per connection, unless the operator
        // chose otherwise in the connection string.
        if (connection.MaxAutoPrepare == 0) connection.MaxAutoPrepare = 64;
        // Nothing here leaves session state on a connection (no SET, no temporary table, no LISTEN; the migration lock
        // is released in a finally), so a connection going back to the pool need not be reset: with prepared statements
        // Npgsql's reset is seven statements the server runs on every use of a connection.
        if (!options.ConnectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase)) connection.NoResetOnClose = true;
        _dataSource = new NpgsqlDataSourceBuilder(connection.ConnectionString).Build();
    }

    public void Dispose() => _dataSource.Dispose();

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    // ---- schema ----

    public async Task MigrateAsync(CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        // The lock is held by this session across the per-migration transactions, and released in the finally below
        // whatever happened (pooled connections are not reset on return, see the constructor).
        await c.ExecuteAsync(Cmd("LockMigrations", null, null, ct));
        try
        {
            await c.ExecuteAsync(Cmd("CreateMigrationsTable", null, null, ct));
            var applied = (await c.QueryAsync<int>(Cmd("AppliedMigrations", null, null, ct))).ToHashSet();
            foreach (var migration in _migrations.Where(m => !applied.Contains(m.Version)))
            {
                // One transaction per migration (PostgreSQL DDL is transactional): a failed one leaves no trace.
                await using var tx = await c.BeginTransactionAsync(ct);
                await c.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: tx, cancellationToken: ct));
                await c.ExecuteAsync(Cmd("RecordMigration",
                    new { migration.Version, migration.Name, AppliedAt = _options.Clock.GetUtcNow().ToUniversalTime() }, tx, ct));
                await tx.CommitAsync(ct);
            }
        }
        finally
        {
            await c.ExecuteAsync(Cmd("UnlockMigrations", null, null, CancellationToken.None));
        }
    }

    public async Task<bool> IsReadyAsync(CancellationToken ct)
    {
        try
        {
            await using var c = await _dataSource.OpenConnectionAsync(ct);
            var latest = _migrations[^1].Version;
            return await c.ExecuteScalarAsync<long>(Cmd("IsMigrationApplied", new { Version = latest }, null, ct)) > 0;
        }
        catch (NpgsqlException)
        {
            return false; // unreachable, or no schema_migrations table yet
        }
    }

    // ---- grains and turns ----

    public async Task<StoredGrain?> LoadAsync(GrainId id, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(_sql["LoadGrain"], c);
        AddGrainKey(cmd.Parameters, id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new StoredGrain(id, reader.GetString(2), reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1))
            : null;
    }

    public async Task<IReadOnlyList<StoredGrain>> LoadManyAsync(IReadOnlyCollection<GrainId> ids, CancellationToken ct)
    {
        if (ids.Count == 0) return [];
        var keys = ids.ToList();
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        // One implicit transaction: the plan TurnPlan sets lasts until the batch ends.
        await using var batch = new NpgsqlBatch(c)
        {
            BatchCommands = { new NpgsqlBatchCommand(_sql["TurnPlan"]), Keyed("LoadGrains", keys) },
        };
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (!await reader.NextResultAsync(ct)) throw new InvalidOperationException("LoadGrains returned no result.");
        var found = new List<StoredGrain>(keys.Count);
        while (await reader.ReadAsync(ct))
            found.Add(new StoredGrain(keys[(int)reader.GetInt64(0) - 1], reader.GetString(3), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2)));
        return found;
    }

    public Task<IReadOnlyList<TurnOutcome>> RunTurnsAsync(IReadOnlyList<TurnRequest> turns, CancellationToken ct) =>
        TurnBatches.RunIsolatedAsync(turns, RunTurnsWithRetriesAsync, IsUnreachable, ct);

    /// <summary>No connection (or it broke): every turn would fail alone too, so none is retried alone.</summary>
    private static bool IsUnreachable(Exception e) => e is NpgsqlException and not PostgresException || e is TimeoutException;

    private async Task<IReadOnlyList<TurnOutcome>> RunTurnsWithRetriesAsync(IReadOnlyList<TurnRequest> turns, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunTurnsOnceAsync(turns, ct);
            }
            catch (Exception e) when (attempt <= _options.TurnRetries && IsRaceLost(e))
            {
                // The whole transaction was rolled back, so running it again is safe (decide is pure).
            }
        }
    }

    /// <summary>
    /// Deadlock or serialization failure (the server rolled the transaction back), or a grain this batch meant to create
    /// was created by another transaction meanwhile: the batch can simply run again.
    /// </summary>
    private static bool IsRaceLost(Exception e) =>
        e is GrainCreatedMeanwhile ||
        e is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure };

    private sealed class GrainCreatedMeanwhile(int grains)
        : Exception($"{grains} grain(s) this batch creates were created by another transaction during it.");

    private async Task<IReadOnlyList<TurnOutcome>> RunTurnsOnceAsync(IReadOnlyList<TurnRequest> turns, CancellationToken ct)
    {
        // The turns of each grain in the order given; the grains in lock order.
        var grains = turns.Select((turn, index) => (Turn: turn, Index: index))
            .GroupBy(x => x.Turn.Id)
            .OrderBy(g => g.Key, TurnBatches.LockOrder)
            .ToList();
        var timerTurns = grains.SelectMany(g => g).Where(x => x.Turn.Trigger is TurnTrigger.Timer).ToList();
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);

        // Round trip 1: lock every grain row that exists, in lock order; then the trigger timers.
        var locked = new StoredGrain?[grains.Count];
        var timerAttempts = new int?[turns.Count];
        await using (var locks = new NpgsqlBatch(c, tx))
        {
            locks.BatchCommands.Add(new NpgsqlBatchCommand(_sql["TurnPlan"]));
            locks.BatchCommands.Add(Keyed("LockGrains", grains.Select(g => g.Key)));
            if (timerTurns.Count > 0)
            {
                locks.BatchCommands.Add(Keyed("LockTimers", timerTurns.Select(x => x.Turn.Id),
                    Column("Names", NpgsqlDbType.Text, timerTurns.Select(x => ((TurnTrigger.Timer)x.Turn.Trigger).Name))));
            }
            await using var reader = await locks.ExecuteReaderAsync(ct);
            if (!await reader.NextResultAsync(ct)) throw new InvalidOperationException("The grain locks returned no result.");
            while (await reader.ReadAsync(ct))
            {
                var i = (int)reader.GetInt64(0) - 1;
                locked[i] = new StoredGrain(grains[i].Key, reader.GetString(3), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2));
            }
            if (timerTurns.Count > 0)
            {
                if (!await reader.NextResultAsync(ct)) throw new InvalidOperationException("The timer locks returned no result.");
                while (await reader.ReadAsync(ct)) timerAttempts[timerTurns[(int)reader.GetInt64(0) - 1].Index] = reader.GetInt32(1);
            }
        }

        // Decide every turn in memory, each on the state the one before it (same grain) would have committed.
        var outcomes = new TurnOutcome[turns.Count];
        var writes = new BatchWrites();
        for (var i = 0; i < grains.Count; i++)
        {
            var id = grains[i].Key;
            var current = locked[i];
            var timersChanged = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (turn, index) in grains[i])
            {
                var (decision, skipped) = TurnBatches.Decide(turn, current, timerAttempts[index], timersChanged);
                if (skipped is not null)
                {
                    outcomes[index] = skipped;
                    continue;
                }
                var timer = turn.Trigger as TurnTrigger.Timer;
                if (decision is TurnDecision.Write write)
                {
                    var now = Instant.Utc(turn.Now);
                    var version = (current?.Version ?? 0) + 1;
                    writes.AddTurn(id, locked[i], version, now, timer, write);
                    outcomes[index] = new TurnOutcome.Committed(version);
                    current = new StoredGrain(id, write.StateJson, version, now);
                }
                else
                {
                    var reject = (TurnDecision.Reject)decision!;
                    if (timer is not null) writes.ConsumeTrigger(id, timer);
                    outcomes[index] = new TurnOutcome.Rejected(reject.Code, reject.Detail);
                }
                timersChanged.UnionWith(TurnBatches.TimersChanged(turn.Trigger, decision!));
            }
        }

        // Round trip 2: every write of every turn, one statement per table.
        if (!writes.IsEmpty)
        {
            await using var batch = new NpgsqlBatch(c, tx);
            writes.AddCommands(batch);
            await batch.ExecuteNonQueryAsync(ct);
            writes.CheckGrainsWritten();
        }

        // Round trip 3: one commit for the whole batch.
        await tx.CommitAsync(ct);
        return outcomes;
    }

    public async Task EnqueueMessagesAsync(IReadOnlyList<MessageWrite> messages, DateTimeOffset now, CancellationToken ct)
    {
        if (messages.Count == 0) return;
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        // One statement for all of them: all or none.
        await using var batch = new NpgsqlBatch(c) { BatchCommands = { MessagesCommand(messages.Select(m => (m.Target, m, Instant.Utc(now))).ToList()) } };
        await batch.ExecuteNonQueryAsync(ct);
    }

    // ---- timers and outbox: claimed by workers under leases ----

    public async Task<IReadOnlyList<ClaimedTimer>> ClaimDueTimersAsync(string owner, DateTimeOffset now, int max,
        TimeSpan lease, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await BeginClaimAsync(c, ct);
        await using var cmd = new NpgsqlCommand(_sql["ClaimDueTimers"], c, tx);
        AddClaimArgs(cmd.Parameters, owner, now, max, lease);
        var claimed = new List<ClaimedTimer>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                claimed.Add(new ClaimedTimer(
                    new GrainId(reader.GetString(0), reader.GetString(1), reader.GetString(2)),
                    reader.GetString(3),
                    reader.GetFieldValue<DateTimeOffset>(4),
                    reader.GetString(5),
                    reader.GetInt32(6)));
            }
        }
        await tx.CommitAsync(ct);
        // RETURNING does not promise the subquery's order.
        claimed.Sort((a, b) => a.DueAt.CompareTo(b.DueAt));
        return claimed;
    }

    public async Task<IReadOnlyList<ClaimedOutbox>> ClaimOutboxAsync(string owner, DateTimeOffset now, int max,
        TimeSpan lease, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await BeginClaimAsync(c, ct);
        now = Instant.Utc(now);
        var rows = await c.QueryAsync<OutboxRowData>(Cmd("ClaimOutbox", new
        {
            Owner = owner, Now = now, LeaseUntil = now + lease, Max = max,
        }, tx, ct));
        await tx.CommitAsync(ct);
        return rows.Select(r => r.ToClaimed()).OrderBy(o => o.Id).ToList();
    }

    /// <summary>
    /// A claim's transaction, with the planner held to the one plan a claim should have (see ClaimPlan): the queues
    /// it reads grow from empty to a storm's hundred thousand rows faster than statistics follow.
    /// </summary>
    private static async Task<NpgsqlTransaction> BeginClaimAsync(NpgsqlConnection c, CancellationToken ct)
    {
        var tx = await c.BeginTransactionAsync(ct);
        await c.ExecuteAsync(Cmd("ClaimPlan", null, tx, ct));
        return tx;
    }

    private static void AddClaimArgs(NpgsqlParameterCollection ps, string owner, DateTimeOffset now, int max, TimeSpan lease)
    {
        now = Instant.Utc(now);
        ps.Add(P("Owner", owner));
        ps.Add(P("Now", now));
        ps.Add(P("LeaseUntil", now + lease));
        ps.Add(new NpgsqlParameter("Max", NpgsqlDbType.Integer) { Value = max });
    }

    public async Task<IReadOnlyList<bool>> CompleteOutboxAsync(IReadOnlyList<OutboxCompletion> completions, CancellationToken ct)
    {
        if (completions.Count == 0) return [];
        // A row is updated once per statement: should the same claim be completed twice, only the first is sent.
        var firstOf = new Dictionary<(long, int), int>();
        for (var i = 0; i < completions.Count; i++) firstOf.TryAdd((completions[i].OutboxId, completions[i].Attempt), i);
        var sent = firstOf.Values.Select(i => completions[i]).ToList();
        T[] Each<T>(Func<OutboxCompletion, T> value) => sent.Select(value).ToArray();
        var outcomes = Each(x => x.Result switch
        {
            OutboxResult.Sent => "sent",
            OutboxResult.Retry => "retry",
            OutboxResult.Failed => "failed",
            _ => throw new ArgumentException($"Unknown outbox result {x.Result.GetType().Name}.", nameof(completions)),
        });

        await using var c = await _dataSource.OpenConnectionAsync(ct);
        // One statement for all of them: one round trip, one commit.
        await using var cmd = new NpgsqlCommand(_sql["CompleteOutbox"], c)
        {
            Parameters =
            {
                Column("Ids", NpgsqlDbType.Bigint, Each(x => x.OutboxId)),
                Column("Attempts", NpgsqlDbType.Integer, Each(x => x.Attempt)),
                Column("Outcomes", NpgsqlDbType.Text, outcomes),
                Column("ProviderMessageIds", NpgsqlDbType.Text, Each(x => (x.Result as OutboxResult.Sent)?.ProviderMessageId)),
                Column("ProviderStatuses", NpgsqlDbType.Text, Each(x => (x.Result as OutboxResult.Sent)?.ProviderStatus)),
                Column("RetryAts", NpgsqlDbType.TimestampTz, Each(x => Instant.Utc((x.Result as OutboxResult.Retry)?.RetryAt))),
                Column("Errors", NpgsqlDbType.Text, Each(x => x.Result switch
                {
                    OutboxResult.Retry r => r.Error,
                    OutboxResult.Failed f => f.Error,
                    _ => null,
                })),
                Column("ErrorCodes", NpgsqlDbType.Text, Each(x => (x.Result as OutboxResult.Failed)?.ErrorCode)),
                Column("Nows", NpgsqlDbType.TimestampTz, Each(x => Instant.Utc(x.Now))),
            },
        };
        var completed = new HashSet<(long, int)>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) completed.Add((reader.GetInt64(0), reader.GetInt32(1)));
        }
        return completions.Select((x, i) => firstOf[(x.OutboxId, x.Attempt)] == i && completed.Contains((x.OutboxId, x.Attempt))).ToList();
    }

    public async Task<bool> UpdateDeliveryStatusAsync(string providerMessageId, string status, string? errorCode,
        DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(Cmd("UpdateDeliveryStatus", new
        {
            ProviderMessageId = providerMessageId, Status = status, ErrorCode = errorCode, Now = Instant.Utc(now),
        }, null, ct)) > 0;
    }

    public async Task<OutboxRow?> FindOutboxByProviderMessageIdAsync(string providerMessageId, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<OutboxRowData>(
            Cmd("FindOutboxByProviderMessageId", new { ProviderMessageId = providerMessageId }, null, ct));
        return row?.ToRow();
    }

    public async Task ReleaseLeasesAsync(string owner, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(c)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(_sql["ReleaseTimerLeases"]) { Parameters = { P("Owner", owner) } },
                new NpgsqlBatchCommand(_sql["ReleaseOutboxLeases"]) { Parameters = { P("Owner", owner) } },
            },
        };
        await batch.ExecuteNonQueryAsync(ct);
    }

    // ---- read side ----

    public async Task<IReadOnlyList<GrainRow>> QueryGrainsAsync(GrainQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.CohortId is not null) filters.Add("AND cohort_id = @CohortId");
        if (query.CoachId is not null) filters.Add("AND coach_id = @CoachId");
        if (query.Status is not null) filters.Add("AND status = @Status");
        if (query.Phone is not null) filters.Add("AND phone = @Phone");
        if (query.Keys is not null) filters.Add("AND grain_key = ANY(@Keys)"); // one array parameter, any length
        var order = query.OrderByRisk
            ? "risk DESC, status_since ASC NULLS LAST, grain_key"
            : "grain_key";
        var sql = _sql["QueryGrains"]
            .Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal)
            .Replace("/**order**/", order, StringComparison.Ordinal);

        await using var c = await _dataSource.OpenConnectionAsync(ct);
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
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<GrainRowData>(
            Cmd("FindGrainsByPhone", new { GrainType = grainType, Phone = phone, Limit = limit }, null, ct));
        return rows.Select(r => r.ToGrainRow()).ToList();
    }

    public async Task<IReadOnlyList<CohortStats>> GetCohortStatsAsync(string orgId,
        IReadOnlyCollection<string>? cohortIds, DateTimeOffset now, CancellationToken ct)
    {
        var filter = cohortIds is null ? "" : "AND cohort_id = ANY(@CohortIds)";
        var args = new { OrgId = orgId, CohortIds = cohortIds?.ToArray(), Now = Instant.Utc(now) };

        await using var c = await _dataSource.OpenConnectionAsync(ct);
        // Both aggregates from one snapshot so they describe the same moment.
        await using var tx = await c.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var totals = await c.QueryAsync<CohortStatsData>(new CommandDefinition(
            _sql["CohortStats"].Replace("/**filters**/", filter, StringComparison.Ordinal), args, tx, cancellationToken: ct));
        var statuses = (await c.QueryAsync<CohortStatusCountData>(new CommandDefinition(
                _sql["CohortStatusCounts"].Replace("/**filters**/", filter, StringComparison.Ordinal), args, tx,
                cancellationToken: ct)))
            .ToLookup(s => s.CohortId);
        await tx.CommitAsync(ct);

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

        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<OutboxRowData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.GrainKey, query.Status, query.Channel, query.BeforeId, query.Limit, query.Recipient,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToRow()).ToList();
    }

    public async Task<TimerBacklog> GetTimerBacklogAsync(DateTimeOffset now, CancellationToken ct)
    {
        now = Instant.Utc(now);
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var row = await c.QuerySingleAsync<TimerBacklogData>(Cmd("TimerBacklog", new { Now = now }, null, ct));
        var lag = row.OldestDueAt is { } oldest ? now - Instant.From(oldest) : TimeSpan.Zero;
        return new TimerBacklog(row.Due, lag, row.Total);
    }

    public async Task<IReadOnlyList<OutboxBacklog>> GetOutboxBacklogAsync(DateTimeOffset now, CancellationToken ct)
    {
        now = Instant.Utc(now);
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<OutboxBacklogData>(Cmd("OutboxBacklog", new { Now = now }, null, ct));
        return rows.Select(r => new OutboxBacklog(r.Channel, r.Pending, r.Due,
            r.OldestDueAt is { } oldest ? now - Instant.From(oldest) : TimeSpan.Zero)).ToList();
    }

    public async Task<IReadOnlyList<TemplateStats>> GetTemplateStatsAsync(TemplateStatsQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.CohortId is not null) filters.Add("AND cohort_id = @CohortId");
        if (query.Since is not null) filters.Add("AND sent_at >= @Since");
        if (query.Until is not null) filters.Add("AND sent_at < @Until");
        var sql = _sql["TemplateStats"]
            .Replace("/**cohort**/", query.ByCohort ? "cohort_id" : "NULL::text", StringComparison.Ordinal)
            .Replace("/**version**/", query.ByVersion ? "template_version" : "NULL::integer", StringComparison.Ordinal)
            .Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal);

        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<TemplateStatsData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.CohortId, Since = Instant.Utc(query.Since), Until = Instant.Utc(query.Until),
        }, cancellationToken: ct));
        return rows.Select(r => r.ToStats()).ToList();
    }

    // ---- API keys ----

    public async Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await c.ExecuteAsync(Cmd("InsertApiKey", new
        {
            key.KeyHash, key.KeyId, key.Prefix, key.OrgId, key.Role, key.SubjectId, key.Label,
            CreatedAt = Instant.Utc(key.CreatedAt), RevokedAt = Instant.Utc(key.RevokedAt), ExpiresAt = Instant.Utc(key.ExpiresAt),
        }, null, ct));
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string keyHash, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
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

        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<ApiKeyData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.Role, query.SubjectId, ActiveAt = Instant.Utc(query.ActiveAt), query.Limit,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToRecord()).ToList();
    }

    public async Task<bool> RevokeApiKeyAsync(string orgId, string keyId, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(Cmd("RevokeApiKey", new { OrgId = orgId, KeyId = keyId, Now = Instant.Utc(now) }, null, ct)) == 1;
    }

    public async Task<int> RevokeApiKeysOfSubjectAsync(string orgId, string subjectId, DateTimeOffset now, CancellationToken ct)
    {
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(Cmd("RevokeApiKeysOfSubject", new { OrgId = orgId, SubjectId = subjectId, Now = Instant.Utc(now) }, null, ct));
    }

    // ---- audit log and erasure ----

    public async Task AppendAuditAsync(IReadOnlyList<AuditWrite> entries, DateTimeOffset now, CancellationToken ct)
    {
        if (entries.Count == 0) return;
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        // One statement for all of them: all or none.
        await using var batch = new NpgsqlBatch(c) { BatchCommands = { AuditCommand(entries.Select(e => (e, Instant.Utc(now))).ToList()) } };
        await batch.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAuditAsync(AuditQuery query, CancellationToken ct)
    {
        var filters = new List<string>();
        if (query.TargetId is not null) filters.Add("AND target_id = @TargetId");
        if (query.Action is not null) filters.Add("AND action = @Action");
        if (query.ActorId is not null) filters.Add("AND actor_id = @ActorId");
        if (query.BeforeId is not null) filters.Add("AND id < @BeforeId");
        var sql = _sql["QueryAudit"].Replace("/**filters**/", string.Join(" ", filters), StringComparison.Ordinal);

        await using var c = await _dataSource.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<AuditData>(new CommandDefinition(sql, new
        {
            query.OrgId, query.TargetId, query.Action, query.ActorId, query.BeforeId, query.Limit,
        }, cancellationToken: ct));
        return rows.Select(r => r.ToEntry()).ToList();
    }

    /// <summary>
    /// The rows go in one transaction. PostgreSQL keeps the old row versions as dead tuples until VACUUM reclaims their
    /// space (autovacuum, or an operator's VACUUM), and in its WAL and backups until those are recycled: unlike the
    /// SQLite store, this one cannot promise that no byte of the erased values remains on disk right away.
    /// </summary>
    public async Task<ErasureResult> ErasePersonalDataAsync(GrainId id, DateTimeOffset now, CancellationToken ct)
    {
        var args = new { id.OrgId, GrainType = id.Type, GrainKey = id.Key, SubjectId = id.Key, Now = Instant.Utc(now) };
        await using var c = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var result = new ErasureResult(
            await c.ExecuteAsync(Cmd("EraseGrainTimers", args, tx, ct)),
            await c.ExecuteAsync(Cmd("EraseMessagesNamingGrain", args, tx, ct)),
            await c.ExecuteAsync(Cmd("ScrubGrainOutbox", args, tx, ct)),
            await c.ExecuteAsync(Cmd("ScrubAuditOfTarget", args, tx, ct)),
            await c.ExecuteAsync(Cmd("RevokeApiKeysOfSubject", args, tx, ct)));
        await tx.CommitAsync(ct);
        return result;
    }

    // ---- plumbing ----

    private static CommandDefinition Cmd(string name, object? args, NpgsqlTransaction? tx, CancellationToken ct) =>
        new(_sql[name], args, tx, cancellationToken: ct);

    private static NpgsqlParameter P(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    private static NpgsqlParameter P(string name, DateTimeOffset value) =>
        new(name, NpgsqlDbType.TimestampTz) { Value = value };

    private static NpgsqlParameter P(string name, int value) =>
        new(name, NpgsqlDbType.Integer) { Value = value };

    private static NpgsqlParameter P(string name, long value) =>
        new(name, NpgsqlDbType.Bigint) { Value = value };

    private static void AddGrainKey(NpgsqlParameterCollection ps, GrainId id)
    {
        ps.Add(P("OrgId", id.OrgId));
        ps.Add(P("GrainType", id.Type));
        ps.Add(P("GrainKey", id.Key));
    }
}
