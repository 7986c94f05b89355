using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using CohortGrains.Host.Observability;

namespace CohortGrains.Host.Cohorts;

public sealed record CreateCohortRequest(string? Name, string? CoachId, ProgramDto? Program);
public sealed record UpdateProgramRequest(ProgramDto? Program);
public sealed record CohortListItem(string CohortId, string? Name, string? CoachId, string? Lifecycle);

public sealed record CohortResponse(
    string CohortId, string Name, string CoachId, string Lifecycle, ProgramDto Program,
    DateTimeOffset CreatedAt, DateTimeOffset? ActivatedAt, DateTimeOffset? EndedAt)
{
    public static CohortResponse From(CohortState s) => new(s.CohortId, s.Name, s.CoachId, s.Lifecycle.ToString().ToLowerInvariant(),
        ProgramDto.From(s.Program), s.CreatedAt, s.ActivatedAt, s.EndedAt);
}

public static class CohortsApi
{
    public static RouteGroupBuilder MapCohorts(this RouteGroupBuilder api)
    {
        var cohorts = api.MapGroup("/cohorts").RequireAuthorization(Policies.OrgMember);
        cohorts.MapPost("/", CreateAsync).WithName("CreateCohort");
        cohorts.MapGet("/", ListAsync).WithName("ListCohorts");
        cohorts.MapGet("/{cohortId}", GetAsync).WithName("GetCohort").ProducesProblem(StatusCodes.Status404NotFound);
        cohorts.MapPut("/{cohortId}/program", UpdateProgramAsync).WithName("UpdateCohortProgram").ProducesCommand<CohortResponse>();
        cohorts.MapPost("/{cohortId}/activate", ActivateAsync).WithName("ActivateCohort").ProducesCommand<CohortResponse>();
        cohorts.MapPost("/{cohortId}/end", EndAsync).WithName("EndCohort").ProducesCommand<CohortResponse>();
        return api;
    }

    public static GrainId Id(string orgId, string cohortId) => new(orgId, CohortDecider.GrainType, cohortId);

    public static async Task<CohortState?> FindAsync(GrainRuntime runtime, string orgId, string cohortId, CancellationToken ct) =>
        Ids.LooksValid(cohortId) ? await runtime.GetAsync<CohortState>(Id(orgId, cohortId), ct) : null;

    /// <summary>The cohort, when the caller may see it (its coach, or an org admin); otherwise null, i.e. "not found".</summary>
    public static async Task<CohortState?> FindAsync(GrainRuntime runtime, HttpContext http, string cohortId, CancellationToken ct) =>
        await FindAsync(runtime, http.User.OrgId(), cohortId, ct) is { } cohort && Access.CanSeeCohort(http.User, cohort) ? cohort : null;

    private static async Task<Results<Created<CohortResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateCohortRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        // A coach may start cohorts of their own; only an org admin assigns one to another coach.
        if (!Access.IsOrgAdmin(http.User) && (body?.CoachId is null || !Access.CanSeeCoach(http.User, body.CoachId.Trim())))
            return Problems.Forbidden("a coach can create cohorts only for themselves (coachId)");
        var v = new Validation();
        var name = v.Text(body?.Name, "name", 200);
        var coachId = v.Text(body?.CoachId, "coachId", 64);
        if (body?.Program is null) v.Add("program", "is required (at least sessionDay, sessionTime and timeZone)");
        var program = body?.Program?.ToDefinition(v, "program");
        if (!v.IsValid) return v.Problem();

        var coach = Ids.LooksValid(coachId) ? await runtime.GetAsync<CoachState>(CoachesApi.Id(orgId, coachId!), ct) : null;
        if (coach is null) return Problems.Invalid("coachId", $"coach '{Parse.Truncate(coachId!)}' does not exist in this org");

        var cohortId = Ids.New("coh");
        var call = await runtime.SendAsync<CohortState>(Id(orgId, cohortId), new CreateCohort(cohortId, name!, coachId!, program!),
            [Audit.Entry(http, "cohort.created", "cohort", cohortId)], ct);
        return call switch
        {
            GrainCall<CohortState>.Ok ok => TypedResults.Created($"/api/v1/cohorts/{cohortId}", CohortResponse.From(ok.State)),
            GrainCall<CohortState>.Rejected r => Problems.Invalid("program", r.Detail),
            _ => throw new InvalidOperationException(),
        };
    }

    private static async Task<Ok<IEnumerable<CohortListItem>>> ListAsync(HttpContext http, IGrainStore store, CancellationToken ct)
    {
        var rows = await store.QueryGrainsAsync(new GrainQuery(http.User.OrgId(), CohortDecider.GrainType) { CoachId = Access.CoachOf(http.User) }, ct);
        return TypedResults.Ok(rows.Select(r => new CohortListItem(r.Id.Key, r.Projection.DisplayName, r.Projection.CoachId, r.Projection.Status)));
    }

    private static async Task<Results<Ok<CohortResponse>, ProblemHttpResult>> GetAsync(string cohortId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var cohort = await FindAsync(runtime, http, cohortId, ct);
        return cohort is null ? Problems.NotFound($"cohort '{Parse.Truncate(cohortId)}' not found") : TypedResults.Ok(CohortResponse.From(cohort));
    }

    private static async Task<IResult> UpdateProgramAsync(string cohortId, UpdateProgramRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (await FindAsync(runtime, http, cohortId, ct) is null) return Problems.NotFound("cohort not found");
        var v = new Validation();
        if (body?.Program is null) v.Add("program", "is required");
        var program = body?.Program?.ToDefinition(v, "program");
        if (!v.IsValid) return v.Problem();
        return ToResult(await runtime.SendAsync<CohortState>(Id(http.User.OrgId(), cohortId), new UpdateProgram(program!),
            [Audit.Entry(http, "cohort.program-changed", "cohort", cohortId)], ct));
    }

    private static async Task<IResult> ActivateAsync(string cohortId, HttpContext http, GrainRuntime runtime, CancellationToken ct) =>
        await FindAsync(runtime, http, cohortId, ct) is not null
            ? ToResult(await runtime.SendAsync<CohortState>(Id(http.User.OrgId(), cohortId), new ActivateCohort(),
                [Audit.Entry(http, "cohort.activated", "cohort", cohortId)], ct))
            : Problems.NotFound("cohort not found");

    /// <summary>Ends the cohort; every client's loop is told in the same transaction (no half-ended cohort).</summary>
    private static async Task<IResult> EndAsync(string cohortId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (await FindAsync(runtime, http, cohortId, ct) is null) return Problems.NotFound("cohort not found");
        var roster = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohortId, Limit = 100_000 }, ct);
        var clientIds = roster.Select(r => r.Id.Key).ToImmutableList();
        return ToResult(await runtime.SendAsync<CohortState>(Id(orgId, cohortId), new EndCohort(clientIds),
            [Audit.Entry(http, "cohort.ended", "cohort", cohortId)], ct));
    }

    private static IResult ToResult(GrainCall<CohortState> call) => call switch
    {
        GrainCall<CohortState>.Ok ok => TypedResults.Ok(CohortResponse.From(ok.State)),
        GrainCall<CohortState>.Rejected r => Problems.FromRejection(r, "program"),
        _ => throw new InvalidOperationException(),
    };
}
