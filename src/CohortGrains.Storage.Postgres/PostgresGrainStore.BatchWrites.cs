using CohortGrains.Runtime.Storage;
using Npgsql;
using NpgsqlTypes;

namespace CohortGrains.Storage.Postgres;

public sealed partial class PostgresGrainStore
{
    /// <summary>
    /// The writes of a batch of turns, netted out and gathered per table, so the batch writes each table with one
    /// statement of arrays (turns.sql) instead of a statement per row: PostgreSQL starts one executor instead of
    /// hundreds and Npgsql sends one message. Within one transaction only the end state of a row is seen by anyone,
    /// so the turns of one grain collapse to the last one's state, and a timer or touch fact written twice to the last write.
    /// </summary>
    private sealed class BatchWrites
    {
        private readonly Dictionary<GrainId, GrainWrite> _grains = new();
        private readonly Dictionary<(GrainId Grain, string Name), TimerChange> _timers = new();
        private readonly List<(GrainId Target, MessageWrite Message, DateTimeOffset Now)> _messages = [];
        private readonly List<(GrainId Grain, OutboxWrite Write, DateTimeOffset Now)> _outbox = [];
        private readonly Dictionary<(string OrgId, string GrainKey, string TouchId), TouchFactWrite> _touchFacts = new();
        private readonly List<(AuditWrite Entry, DateTimeOffset At)> _audit = [];
        private NpgsqlBatchCommand? _insertGrains, _updateGrains;
        private int _inserts, _updates;

        private sealed record GrainWrite(bool Insert, long ExpectedVersion, long Version, DateTimeOffset Now, TurnDecision.Write Write);

        /// <summary>A timer's net change: rescheduled (Upsert), or deleted (at Attempt, or whatever its attempt when null).</summary>
        private sealed record TimerChange(TimerWrite? Upsert, int? Attempt);

        public bool IsEmpty => _grains.Count == 0 && _timers.Count == 0;

        /// <summary>
        /// One committed turn of grain <paramref name="id"/>: <paramref name="locked"/> is the row the batch locked
        /// (null when the grain does not exist yet), whatever turns of the grain came before in this batch.
        /// </summary>
        public void AddTurn(GrainId id, StoredGrain? locked, long version, DateTimeOffset now, TurnTrigger.Timer? trigger,
            TurnDecision.Write write)
        {
            _grains[id] = new GrainWrite(locked is null, locked?.Version ?? 0, version, now, write);

            // A name being (re)scheduled is upserted, never deleted and re-inserted: the upsert bumps its attempt,
            // so attempts only grow and no stale claim can ever match the new schedule.
            var scheduled = write.Timers.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            if (trigger is not null && !scheduled.Contains(trigger.Name)) ConsumeTrigger(id, trigger);
            foreach (var name in write.CancelTimers.Where(n => !scheduled.Contains(n)))
                _timers[(id, name)] = new TimerChange(null, null);
            foreach (var t in write.Timers) _timers[(id, t.Name)] = new TimerChange(t, null);

            foreach (var o in write.Outbox) _outbox.Add((id, o, now));
            foreach (var m in write.Messages) _messages.Add((m.Target, m, now));
            foreach (var f in write.TouchFacts) _touchFacts[(id.OrgId, id.Key, f.TouchId)] = f;
            // A change and its audit record commit together.
            foreach (var e in write.Audit) _audit.Add((e, now));
        }

        /// <summary>The timer delivered its message and the grain refused it: retrying would refuse it again.</summary>
        public void ConsumeTrigger(GrainId id, TurnTrigger.Timer trigger) =>
            _timers[(id, trigger.Name)] = new TimerChange(null, trigger.Attempt);

        /// <summary>Adds one statement per table written to <paramref name="batch"/>, grains first.</summary>
        public void AddCommands(NpgsqlBatch batch)
        {
            var inserts = _grains.Where(g => g.Value.Insert).ToList();
            var updates = _grains.Where(g => !g.Value.Insert).ToList();
            (_inserts, _updates) = (inserts.Count, updates.Count);
            if (inserts.Count > 0) batch.BatchCommands.Add(_insertGrains = GrainRows("InsertGrains", inserts));
            if (updates.Count > 0)
            {
                _updateGrains = GrainRows("UpdateGrains", updates);
                _updateGrains.Parameters.Add(Column("ExpectedVersions", NpgsqlDbType.Bigint, updates.Select(g => g.Value.ExpectedVersion)));
                batch.BatchCommands.Add(_updateGrains);
            }

            var deleted = _timers.Where(t => t.Value.Upsert is null).ToList();
            if (deleted.Count > 0)
            {
                batch.BatchCommands.Add(Keyed("DeleteTimers", deleted.Select(t => t.Key.Grain),
                    Column("Names", NpgsqlDbType.Text, deleted.Select(t => t.Key.Name)),
                    Column("Attempts", NpgsqlDbType.Integer, deleted.Select(t => t.Value.Attempt))));
            }
            var upserted = _timers.Where(t => t.Value.Upsert is not null).ToList();
            if (upserted.Count > 0)
            {
                batch.BatchCommands.Add(Keyed("UpsertTimers", upserted.Select(t => t.Key.Grain),
                    Column("Names", NpgsqlDbType.Text, upserted.Select(t => t.Key.Name)),
                    Column("DueAts", NpgsqlDbType.TimestampTz, upserted.Select(t => Instant.Utc(t.Value.Upsert!.DueAt))),
                    Column("Payloads", NpgsqlDbType.Text, upserted.Select(t => t.Value.Upsert!.PayloadJson))));
            }

            // After the grain writes: a message with a topic reads its target's row as this transaction left it.
            if (_messages.Count > 0) batch.BatchCommands.Add(MessagesCommand(_messages));

            if (_outbox.Count > 0)
            {
                batch.BatchCommands.Add(Keyed("InsertOutbox", _outbox.Select(o => o.Grain),
                    Column("IdempotencyKeys", NpgsqlDbType.Text, _outbox.Select(o => o.Write.IdempotencyKey)),
                    Column("Channels", NpgsqlDbType.Text, _outbox.Select(o => o.Write.Channel)),
                    Column("Recipients", NpgsqlDbType.Text, _outbox.Select(o => o.Write.Recipient)),
                    Column("Subjects", NpgsqlDbType.Text, _outbox.Select(o => o.Write.Subject)),
                    Column("Bodies", NpgsqlDbType.Text, _outbox.Select(o => o.Write.Body)),
                    Column("Templates", NpgsqlDbType.Text, _outbox.Select(o => o.Write.Template)),
                    Column("PromptIds", NpgsqlDbType.Text, _outbox.Select(o => o.Write.PromptId)),
                    Column("Nows", NpgsqlDbType.TimestampTz, _outbox.Select(o => o.Now))));
            }

            if (_touchFacts.Count > 0)
            {
                var facts = _touchFacts.ToList();
                batch.BatchCommands.Add(new NpgsqlBatchCommand(_sql["UpsertTouchFacts"])
                {
                    Parameters =
                    {
                        Column("OrgIds", NpgsqlDbType.Text, facts.Select(f => f.Key.OrgId)),
                        Column("GrainKeys", NpgsqlDbType.Text, facts.Select(f => f.Key.GrainKey)),
                        Column("TouchIds", NpgsqlDbType.Text, facts.Select(f => f.Key.TouchId)),
                        Column("CohortIds", NpgsqlDbType.Text, facts.Select(f => f.Value.CohortId)),
                        Column("CoachIds", NpgsqlDbType.Text, facts.Select(f => f.Value.CoachId)),
                        Column("Templates", NpgsqlDbType.Text, facts.Select(f => f.Value.Template)),
                        Column("TemplateVersions", NpgsqlDbType.Integer, facts.Select(f => f.Value.TemplateVersion)),
                        Column("Kinds", NpgsqlDbType.Text, facts.Select(f => f.Value.Kind)),
                        Column("Channels", NpgsqlDbType.Text, facts.Select(f => f.Value.Channel)),
                        Column("SentAts", NpgsqlDbType.TimestampTz, facts.Select(f => Instant.Utc(f.Value.SentAt))),
                        Column("RepliedAts", NpgsqlDbType.TimestampTz, facts.Select(f => Instant.Utc(f.Value.RepliedAt))),
                        Column("ReplySeconds", NpgsqlDbType.Bigint, facts.Select(f => f.Value.RepliedAt is { } r
                            ? Math.Max(0, (long)(r - f.Value.SentAt).TotalSeconds)
                            : (long?)null)),
                        Column("Ratings", NpgsqlDbType.Integer, facts.Select(f => f.Value.Rating)),
                    },
                });
            }

            if (_audit.Count > 0) batch.BatchCommands.Add(AuditCommand(_audit));
        }

        /// <summary>
        /// After the batch ran: every grain row it meant to write was written. A new grain has no row to lock, so two
        /// transactions may both try to create it, and the second must run again (<see cref="GrainCreatedMeanwhile"/>).
        /// An existing row is locked and its version was read under the lock, so its update cannot miss; if it ever
        /// does, the batch fails rather than overwrite a state its turns did not see.
        /// </summary>
        public void CheckGrainsWritten()
        {
            if (_insertGrains is not null && _insertGrains.RecordsAffected != _inserts)
                throw new GrainCreatedMeanwhile(_inserts - _insertGrains.RecordsAffected);
            if (_updateGrains is not null && _updateGrains.RecordsAffected != _updates)
                throw new InvalidOperationException(
                    $"{_updates - _updateGrains.RecordsAffected} of {_updates} grain(s) changed during their turns.");
        }

        private static NpgsqlBatchCommand GrainRows(string name, List<KeyValuePair<GrainId, GrainWrite>> rows)
        {
            var writes = rows.Select(r => r.Value).ToList();
            var p = writes.Select(w => w.Write.Projection).ToList();
            return Keyed(name, rows.Select(r => r.Key),
                Column("Versions", NpgsqlDbType.Bigint, writes.Select(w => w.Version)),
                Column("UpdatedAts", NpgsqlDbType.TimestampTz, writes.Select(w => Instant.Utc(w.Now))),
                Column("States", NpgsqlDbType.Text, writes.Select(w => w.Write.StateJson)),
                Column("DisplayNames", NpgsqlDbType.Text, p.Select(x => x.DisplayName)),
                Column("CohortIds", NpgsqlDbType.Text, p.Select(x => x.CohortId)),
                Column("CoachIds", NpgsqlDbType.Text, p.Select(x => x.CoachId)),
                Column("Statuses", NpgsqlDbType.Text, p.Select(x => x.Status)),
                Column("StatusSinces", NpgsqlDbType.TimestampTz, p.Select(x => Instant.Utc(x.StatusSince))),
                Column("StatusDetails", NpgsqlDbType.Text, p.Select(x => x.StatusDetail)),
                Column("Risks", NpgsqlDbType.Integer, p.Select(x => x.Risk)),
                Column("LastRatings", NpgsqlDbType.Integer, p.Select(x => x.LastRating)),
                Column("NextSessionAts", NpgsqlDbType.TimestampTz, p.Select(x => Instant.Utc(x.NextSessionAt))),
                Column("EarliestOpenActionDues", NpgsqlDbType.TimestampTz, p.Select(x => Instant.Utc(x.EarliestOpenActionDue))),
                Column("PromptsSent", NpgsqlDbType.Integer, p.Select(x => x.PromptsSent)),
                Column("Replies", NpgsqlDbType.Integer, p.Select(x => x.Replies)),
                Column("TouchesSent", NpgsqlDbType.Integer, p.Select(x => x.TouchesSent)),
                Column("ActionsTotal", NpgsqlDbType.Integer, p.Select(x => x.ActionsTotal)),
                Column("ActionsDone", NpgsqlDbType.Integer, p.Select(x => x.ActionsDone)),
                Column("Escalations", NpgsqlDbType.Integer, p.Select(x => x.Escalations)),
                Column("EscalationsCaught", NpgsqlDbType.Integer, p.Select(x => x.EscalationsCaught)),
                Column("Phones", NpgsqlDbType.Text, p.Select(x => x.Phone)),
                Column("Emails", NpgsqlDbType.Text, p.Select(x => x.Email)),
                Column("EndedEarly", NpgsqlDbType.Boolean, p.Select(x => x.EndedEarly)),
                Column("Topics", NpgsqlDbType.Text, p.Select(x => x.Topics)));
        }
    }

    /// <summary>Messages to grains (turns.sql InsertMessages), each a timer on its target named uniquely so messages never replace each other.</summary>
    private static NpgsqlBatchCommand MessagesCommand(IReadOnlyList<(GrainId Target, MessageWrite Message, DateTimeOffset Now)> messages) =>
        Keyed("InsertMessages", messages.Select(m => m.Target),
            Column("Names", NpgsqlDbType.Text, messages.Select(_ => $"msg:{Guid.NewGuid():N}")),
            Column("DueAts", NpgsqlDbType.TimestampTz, messages.Select(m => Instant.Utc(m.Now))),
            Column("Payloads", NpgsqlDbType.Text, messages.Select(m => m.Message.PayloadJson)),
            Column("Topics", NpgsqlDbType.Text, messages.Select(m => m.Message.OnlyIfTopic)));

    private static NpgsqlBatchCommand AuditCommand(IReadOnlyList<(AuditWrite Entry, DateTimeOffset At)> entries) =>
        new(_sql["InsertAudit"])
        {
            Parameters =
            {
                Column("OrgIds", NpgsqlDbType.Text, entries.Select(e => e.Entry.OrgId)),
                Column("Ats", NpgsqlDbType.TimestampTz, entries.Select(e => Instant.Utc(e.At))),
                Column("ActorRoles", NpgsqlDbType.Text, entries.Select(e => e.Entry.ActorRole)),
                Column("ActorIds", NpgsqlDbType.Text, entries.Select(e => e.Entry.ActorId)),
                Column("Actions", NpgsqlDbType.Text, entries.Select(e => e.Entry.Action)),
                Column("TargetTypes", NpgsqlDbType.Text, entries.Select(e => e.Entry.TargetType)),
                Column("TargetIds", NpgsqlDbType.Text, entries.Select(e => e.Entry.TargetId)),
                Column("Details", NpgsqlDbType.Text, entries.Select(e => e.Entry.Detail)),
            },
        };

    /// <summary>A statement of turns.sql whose rows are keyed by grain: the grain key arrays, then <paramref name="more"/>.</summary>
    private static NpgsqlBatchCommand Keyed(string name, IEnumerable<GrainId> grains, params NpgsqlParameter[] more)
    {
        var ids = grains.ToList();
        var command = new NpgsqlBatchCommand(_sql[name])
        {
            Parameters =
            {
                Column("OrgIds", NpgsqlDbType.Text, ids.Select(g => g.OrgId)),
                Column("GrainTypes", NpgsqlDbType.Text, ids.Select(g => g.Type)),
                Column("GrainKeys", NpgsqlDbType.Text, ids.Select(g => g.Key)),
            },
        };
        foreach (var p in more) command.Parameters.Add(p);
        return command;
    }

    /// <summary>One column of a set-based statement: element i belongs to row i (a null element is SQL NULL).</summary>
    private static NpgsqlParameter Column<T>(string name, NpgsqlDbType elementType, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | elementType) { Value = values.ToArray() };
}
