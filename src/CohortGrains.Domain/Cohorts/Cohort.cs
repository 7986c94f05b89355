using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Programs;

namespace CohortGrains.Domain.Cohorts;

[JsonConverter(typeof(JsonStringEnumConverter<CohortLifecycle>))]
public enum CohortLifecycle { Draft, Active, Ended }

public sealed record CohortState(
    int SchemaVersion,
    string CohortId,
    string Name,
    string CoachId,
    ProgramDefinition Program,
    CohortLifecycle Lifecycle,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ActivatedAt,
    DateTimeOffset? EndedAt)
{
    /// <summary>2: group sessions; touchpoints carry a template version.</summary>
    public const int CurrentSchemaVersion = 2;

    /// <summary>Sessions held with the whole cohort, each logged for every active client with the same action items.</summary>
    // The JSON source generator assigns a member missing from v1 JSON null, not the initializer: map it back.
    public ImmutableList<GroupSessionRecord> GroupSessions { get => _groupSessions; init => _groupSessions = value ?? []; }
    private readonly ImmutableList<GroupSessionRecord> _groupSessions = [];
}

public sealed record GroupSessionRecord(string Id, DateTimeOffset OccurredAt, ImmutableList<string> Items, int Clients);

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(CreateCohort), "createCohort")]
[JsonDerivedType(typeof(UpdateProgram), "updateProgram")]
[JsonDerivedType(typeof(ActivateCohort), "activate")]
[JsonDerivedType(typeof(EndCohort), "end")]
[JsonDerivedType(typeof(CohortReminderDue), "reminderDue")]
[JsonDerivedType(typeof(LogGroupSession), "logGroupSession")]
public abstract record CohortMessage;

public sealed record CreateCohort(string CohortId, string Name, string CoachId, ProgramDefinition Program) : CohortMessage;

/// <summary>Cadence and caps apply to each client from their next logged session on.</summary>
public sealed record UpdateProgram(ProgramDefinition Program) : CohortMessage;

public sealed record ActivateCohort : CohortMessage;

/// <param name="ClientIds">The roster at the time of ending (read from the projections): each loop is told in the same transaction.</param>
public sealed record EndCohort(ImmutableList<string> ClientIds) : CohortMessage;

public sealed record CohortReminderDue(string Name) : CohortMessage;

/// <summary>
/// A group session: the same items and note are logged for every client in <paramref name="ClientIds"/> (the active
/// roster, read from the projections), all in the cohort's one transaction, so no client is left out by a crash.
/// </summary>
public sealed record LogGroupSession(string GroupSessionId, ImmutableList<string> ClientIds, SessionCompleted Session) : CohortMessage;

public static class CohortDecider
{
    public const string GrainType = "Cohort";

    public static Decision<CohortState> Decide(CohortState? state, CohortMessage message, DateTimeOffset now)
    {
        if (state is null)
        {
            if (message is not CreateCohort c) return Decision<CohortState>.Reject(Rejection.NotFound, "cohort not found");
            if (c.Program.Validate().FirstOrDefault() is { Field: not null } problem)
                return Decision<CohortState>.Reject(Rejection.Invalid, $"{problem.Field} {problem.Message}");
            return Decision<CohortState>.Accept(new CohortState(CohortState.CurrentSchemaVersion, c.CohortId, c.Name.Trim(), c.CoachId, c.Program,
                CohortLifecycle.Draft, now, null, null));
        }

        return message switch
        {
            CreateCohort => Decision<CohortState>.Reject(Rejection.Conflict, "cohort already exists"),
            UpdateProgram m when state.Lifecycle == CohortLifecycle.Ended => Decision<CohortState>.Reject(Rejection.Conflict, "cohort has ended"),
            UpdateProgram m => m.Program.Validate().FirstOrDefault() is { Field: not null } p
                ? Decision<CohortState>.Reject(Rejection.Invalid, $"{p.Field} {p.Message}")
                : AcceptProgram(state, m.Program),
            LogGroupSession m => OnGroupSession(state, m),
            ActivateCohort => state.Lifecycle switch
            {
                CohortLifecycle.Draft => Decision<CohortState>.Accept(state with { Lifecycle = CohortLifecycle.Active, ActivatedAt = now },
                    [TellCoach(state, active: true)]),
                CohortLifecycle.Active => Decision<CohortState>.Unchanged(state),
                _ => Decision<CohortState>.Reject(Rejection.Conflict, "an ended cohort cannot be activated again"),
            },
            EndCohort m => state.Lifecycle == CohortLifecycle.Ended
                ? Decision<CohortState>.Unchanged(state)
                : Decision<CohortState>.Accept(
                    state with { Lifecycle = CohortLifecycle.Ended, EndedAt = now },
                    [.. m.ClientIds.Select(id => (Effect)new TellClient(id, new ProgramEnded("program completed"))), TellCoach(state, active: false)]),
            CohortReminderDue => Decision<CohortState>.Unchanged(state),
            _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name),
        };
    }

    /// <summary>
    /// Keeps the new program, versioning each touchpoint's wording: a changed template gets the next version number
    /// (whatever version the caller sent), an unchanged one keeps its number, so reply rates compare before and after.
    /// </summary>
    private static Decision<CohortState> AcceptProgram(CohortState state, ProgramDefinition program)
    {
        var cadence = program.Cadence.Select(tp =>
            state.Program.Cadence.FirstOrDefault(old => string.Equals(old.Key, tp.Key, StringComparison.OrdinalIgnoreCase)) is { } old
                ? tp with { TemplateVersion = old.Template == tp.Template ? old.TemplateVersion : old.TemplateVersion + 1 }
                : tp with { TemplateVersion = 1 }).ToImmutableList();
        // Keep the caller's list when nothing was renumbered: programs compare their cadence by reference.
        var next = state with { Program = cadence.SequenceEqual(program.Cadence) ? program : program with { Cadence = cadence } };
        // The coach plans digests around the session days: tell them when an active cohort's schedule changes.
        return Decision<CohortState>.Accept(next, state.Lifecycle == CohortLifecycle.Active && next.Program.Schedule != state.Program.Schedule
            ? [TellCoach(next, active: true)]
            : []);
    }

    private static Decision<CohortState> OnGroupSession(CohortState state, LogGroupSession m)
    {
        if (state.GroupSessions.Any(g => g.Id == m.GroupSessionId)) return Decision<CohortState>.Unchanged(state);
        if (state.Lifecycle != CohortLifecycle.Active)
            return Decision<CohortState>.Reject(Rejection.Conflict, $"the cohort is {state.Lifecycle.ToString().ToLowerInvariant()}: group sessions need an active cohort");
        if (m.ClientIds.IsEmpty) return Decision<CohortState>.Reject(Rejection.Conflict, "the cohort has no active clients");
        var session = m.Session with { GroupSessionId = m.GroupSessionId, Program = state.Program };
        var record = new GroupSessionRecord(m.GroupSessionId, m.Session.OccurredAt, m.Session.Items.Select(i => i.What).ToImmutableList(), m.ClientIds.Count);
        return Decision<CohortState>.Accept(state with { GroupSessions = state.GroupSessions.Add(record) },
            m.ClientIds.Select(id => (Effect)new TellClient(id, session)).ToList());
    }

    private static TellCoach TellCoach(CohortState s, bool active) =>
        new(s.CoachId, new CohortScheduled(s.CohortId, s.Name, s.Program.Schedule, active));
}
