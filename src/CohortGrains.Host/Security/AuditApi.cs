using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Security;

public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? NextBefore);

public static class AuditApi
{
    public static RouteGroupBuilder MapAudit(this RouteGroupBuilder api)
    {
        api.MapGet("/audit", ListAsync).RequireAuthorization(Policies.OrgAdmin).WithName("ListAudit");
        return api;
    }

    /// <summary>Who changed what in the org, newest first: filter by target (a client id…), action or actor; page with before.</summary>
    private static async Task<Results<Ok<AuditPage>, ValidationProblem>> ListAsync(
        string? targetId, string? action, string? actorId, int? limit, long? before, HttpContext http, IGrainStore store, CancellationToken ct)
    {
        var v = new Validation();
        if (targetId is not null && !Ids.LooksValid(targetId)) v.Add("targetId", "is not an id");
        if (actorId is not null && !Ids.LooksValid(actorId)) v.Add("actorId", "is not an id");
        if (action is not null && (action.Length > 64 || !action.All(c => char.IsAsciiLetterLower(c) || c is '.' or '-'))) v.Add("action", "is not an action name (e.g. session.logged)");
        if (limit is < 1 or > 500) v.Add("limit", "must be between 1 and 500");
        if (before is < 1) v.Add("before", "must be a positive entry id");
        if (!v.IsValid) return v.Problem();
        var entries = await store.QueryAuditAsync(new AuditQuery(http.User.OrgId())
        {
            TargetId = targetId, Action = action, ActorId = actorId, BeforeId = before, Limit = limit ?? 100,
        }, ct);
        return TypedResults.Ok(new AuditPage(entries, entries.Count == (limit ?? 100) ? entries[^1].Id : null));
    }
}
