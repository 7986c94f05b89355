using CohortGrains.Domain.Orgs;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Orgs;

public sealed record CreateOrgRequest(string? Name);
public sealed record OrgResponse(string OrgId, string Name, DateTimeOffset CreatedAt);
public sealed record CreatedOrgResponse(string OrgId, string Name, DateTimeOffset CreatedAt, string ApiKey, string ApiKeyNote);

public static class OrgsApi
{
    public static RouteGroupBuilder MapOrgs(this RouteGroupBuilder api)
    {
        api.MapPost("/orgs", CreateAsync).RequireAuthorization(Policies.Operator).WithName("CreateOrg")
            .ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/org", GetAsync).RequireAuthorization(Policies.OrgMember).WithName("GetOrg")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    /// <summary>Bootstraps a coaching company and returns its first org-admin key (shown once).</summary>
    private static async Task<Results<Created<CreatedOrgResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateOrgRequest? body, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var v = new Validation();
        var name = v.Text(body?.Name, "name", 200);
        if (!v.IsValid) return v.Problem();

        var orgId = Ids.New("org");
        var call = await runtime.SendAsync<OrgState>(new GrainId(orgId, OrgDecider.GrainType, orgId), new CreateOrg(orgId, name!),
            [Audit.InOrg(http, orgId, "org.created", "org", orgId)], ct);
        if (call is not GrainCall<OrgState>.Ok ok) return Problems.Conflict("org could not be created");

        var (key, hash, prefix) = ApiKeys.Generate();
        var record = new ApiKeyRecord(hash, prefix, orgId, Roles.OrgAdmin, null, "first org admin key", clock.GetUtcNow(), null);
        await runtime.Store.CreateApiKeyAsync(record, ct);
        await runtime.Store.AppendAuditAsync([Audit.InOrg(http, orgId, "key.issued", "key", record.KeyId, Roles.OrgAdmin)], clock.GetUtcNow(), ct);
        return TypedResults.Created($"/api/v1/org", new CreatedOrgResponse(orgId, ok.State.Name, ok.State.CreatedAt, key,
            "Store this key now: it is shown only once and kept only as a hash."));
    }

    private static async Task<Results<Ok<OrgResponse>, ProblemHttpResult>> GetAsync(HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var org = await runtime.GetAsync<OrgState>(new GrainId(orgId, OrgDecider.GrainType, orgId), ct);
        return org is null ? Problems.NotFound("org not found") : TypedResults.Ok(new OrgResponse(org.OrgId, org.Name, org.CreatedAt));
    }
}
