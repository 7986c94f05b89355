using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Sessions;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Programs;

/// <param name="RequestId">Optional, for safe retries: the same id logs the group session once.</param>
public sealed record GroupSessionRequest(string? RequestId, DateTimeOffset? OccurredAt, DateTimeOffset? NextSessionAt, List<ActionItemDto?>? ActionItems, SessionNoteDto? Note);

public sealed record SkippedClient(string ClientId, string Name, string Status);

public sealed record GroupSessionResponse(string GroupSessionId, DateTimeOffset OccurredAt, DateTimeOffset NextSessionAt, int Clients,
    IReadOnlyList<string> ClientIds, IReadOnlyList<SkippedClient> Skipped, IReadOnlyList<string> Hints, string Note);

public static class GroupSessionsApi
{
    public static RouteGroupBuilder MapGroupSessions(this RouteGroupBuilder api)
    {
        // The cohort's coach or an org admin, as for a one-to-one session.
        api.MapPost("/cohorts/{cohortId}/group-sessions", LogAsync).RequireAuthorization(Policies.OrgMember).WithName("LogGroupSession")
            .ProducesCommand<GroupSessionResponse>(StatusCodes.Status202Accepted);
        return api;
    }

    /// <summary>
    /// A session with the whole cohort: the same 1–3 action items and note are logged for every active client (not paused,
    /// not done) in the cohort grain's one transaction, which tells each client's loop durably. Answers 202: the loops
    /// take their session within moments, each starting its own cadence as after a one-to-one session.
    /// </summary>
    private static async Task<IResult> LogAsync(string cohortId, GroupSessionRequest? body, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        if (cohort is null) return ArcHttp.CohortNotFound(cohortId);
        if (cohort.Lifecycle != CohortLifecycle.Active)
            return Problems.Conflict($"the cohort is {cohort.Lifecycle.ToString().ToLowerInvariant()}: activate it before logging sessions");

        var v = new Validation();
        if (body?.RequestId is { } requestId && (!Ids.LooksValid(requestId) || requestId.Length > 40)) v.Add("requestId", "must be 1–40 letters, digits, '-' or '_'");
        var now = clock.GetUtcNow();
        var occurredAt = body?.OccurredAt ?? now;
        v.Check(occurredAt <= now.AddMinutes(5), "occurredAt", "must not be in the future");
        v.Check(occurredAt >= now.AddDays(-30), "occurredAt", "must be within the last 30 days");
        var items = SessionsApi.ParseItems(v, body?.ActionItems);
        var note = SessionsApi.ParseNote(v, body?.Note);
        if (!v.IsValid) return v.Problem();
        var nextSession = body!.NextSessionAt ?? Zones.NextSession(cohort.Program.Schedule, occurredAt);
        v.Check(nextSession > occurredAt, "nextSessionAt", "must be after the session");
        v.Check(nextSession <= occurredAt.AddDays(35), "nextSessionAt", "must be within 5 weeks of the session");
        if (!v.IsValid) return v.Problem();

        var roster = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohortId, Limit = 100_000 }, ct);
        var active = roster.Where(r => r.Projection.Status is not ("done" or "paused")).Select(r => r.Id.Key).ToList();
        var skipped = roster.Where(r => r.Projection.Status is "done" or "paused")
            .Select(r => new SkippedClient(r.Id.Key, r.Projection.DisplayName ?? "", r.Projection.Status!)).ToList();
        if (active.Count == 0) return Problems.Conflict("the cohort has no active clients to log a group session for");

        var groupId = body.RequestId is { } id ? $"grp_{id}" : Ids.New("grp");
        var session = new SessionCompleted(occurredAt, nextSession, items, note!, cohort.Program);
        var call = await runtime.SendAsync<CohortState>(CohortsApi.Id(orgId, cohortId), new LogGroupSession(groupId, [.. active], session),
            [Audit.Entry(http, "group-session.logged", "cohort", cohortId, $"{groupId}: {active.Count} client(s), {items.Count} action item(s)")], ct);
        if (call is GrainCall<CohortState>.Rejected r) return Problems.FromRejection(r, "actionItems");
        // A retried request finds the group session already logged: report what was logged then.
        var logged = ((GrainCall<CohortState>.Ok)call).State.GroupSessions.Single(g => g.Id == groupId);
        return TypedResults.Accepted($"/api/v1/cohorts/{cohortId}", new GroupSessionResponse(groupId, logged.OccurredAt, nextSession, logged.Clients,
            active, skipped, SessionsApi.VaguenessHints(items),
            "Logged for every active client in one transaction; each client's loop starts its cadence within moments."));
    }
}
