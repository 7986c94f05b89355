using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CohortGrains.Domain.ClientLoops;
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
    public const int CurrentSchemaVersion = 1;
}

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(CreateCohort), "createCohort")]
[JsonDerivedType(typeof(UpdateProgram), "updateProgram")]
[JsonDerivedType(typeof(ActivateCohort), "activate")]
[JsonDerivedType(typeof(EndCohort), "end")]
[JsonDerivedType(typeof(CohortReminderDue), "reminderDue")]
public abstract record CohortMessage;

public sealed record CreateCohort(string CohortId, string Name, string CoachId, ProgramDefinition Program) : CohortMessage;

/// <summary>Cadence and caps apply to each client from their next logged session on.</summary>
public sealed record UpdateProgram(ProgramDefinition Program) : CohortMessage;

public sealed record ActivateCohort : CohortMessage;

/// <param name="ClientIds">The roster at the time of ending (read from the projections): each loop is told in the same transaction.</param>
public sealed record EndCohort(ImmutableList<string> ClientIds) : CohortMessage;

public sealed record CohortReminderDue(string Name) : CohortMessage;

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
                : Decision<CohortState>.Accept(state with { Program = m.Program }),
            ActivateCohort => state.Lifecycle switch
            {
                CohortLifecycle.Draft => Decision<CohortState>.Accept(state with { Lifecycle = CohortLifecycle.Active, ActivatedAt = now }),
                CohortLifecycle.Active => Decision<CohortState>.Unchanged(state),
                _ => Decision<CohortState>.Reject(Rejection.Conflict, "an ended cohort cannot be activated again"),
            },
            EndCohort m => state.Lifecycle == CohortLifecycle.Ended
                ? Decision<CohortState>.Unchanged(state)
                : Decision<CohortState>.Accept(
                    state with { Lifecycle = CohortLifecycle.Ended, EndedAt = now },
                    m.ClientIds.Select(id => (Effect)new TellClient(id, new ProgramEnded("program completed"))).ToList()),
            CohortReminderDue => Decision<CohortState>.Unchanged(state),
            _ => throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name),
        };
    }
}
