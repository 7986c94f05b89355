using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Orgs;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Security;

/// <param name="Role">"org-admin" or "coach".</param>
/// <param name="CoachId">Required for a coach key: the coach it speaks for.</param>
public sealed record CreateKeyRequest(string? Role, string? CoachId, string? Label, int? ExpiresInDays);
public sealed record OperatorKeyRequest(string? Label);

public sealed record KeyResponse(
    string KeyId, string Prefix, string Role, string? SubjectId, string Label, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt, bool Active)
{
    public static KeyResponse From(ApiKeyRecord k, DateTimeOffset now) =>
        new(k.KeyId, k.Prefix, k.Role, k.SubjectId, k.Label, k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.IsActiveAt(now));
}

public sealed record CreatedKeyResponse(KeyResponse Key, string ApiKey, string Note);
public sealed record RevokedKeyResponse(string KeyId, DateTimeOffset RevokedAt);

public static class KeysApi
{
    public const int MaxLabel = 100;

    public static RouteGroupBuilder MapKeys(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").RequireAuthorization(Policies.OrgAdmin);
        keys.MapPost("/", CreateAsync).WithName("CreateKey");
        keys.MapGet("/", ListAsync).WithName("ListKeys");
        keys.MapDelete("/{keyId}", RevokeAsync).WithName("RevokeKey");
        // Recovery: the operator issues a fresh admin key to an org that lost (or must replace) all of its own.
        api.MapPost("/orgs/{orgId}/keys", IssueAdminKeyAsync).RequireAuthorization(Policies.Operator).WithName("IssueOrgAdminKey");
        return api;
    }

    /// <summary>An org admin issues a key for another admin, or for a coach (who then sees only their own cohorts). Shown once.</summary>
    private static async Task<Results<Created<CreatedKeyResponse>, ValidationProblem>> CreateAsync(
        CreateKeyRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var v = new Validation();
        var role = body?.Role?.Trim().ToLowerInvariant();
        if (role is not (Roles.OrgAdmin or Roles.Coach)) v.Add("role", "must be org-admin or coach");
        var label = v.Text(body?.Label, "label", MaxLabel, required: false) ?? "";
        if (body?.ExpiresInDays is < 1 or > 3650) v.Add("expiresInDays", "must be between 1 and 3650");
        string? coachId = null;
        if (role == Roles.Coach)
        {
            coachId = body?.CoachId?.Trim();
            if (string.IsNullOrEmpty(coachId)) v.Add("coachId", "is required for a coach key");
            else if (!Ids.LooksValid(coachId) || await runtime.GetAsync<CoachState>(CoachesApi.Id(orgId, coachId), ct) is null)
                v.Add("coachId", $"coach '{Parse.Truncate(coachId)}' does not exist in this org");
        }
        else if (body?.CoachId is not null) v.Add("coachId", "only a coach key names a coach");
        if (!v.IsValid) return v.Problem();

        var now = runtime.Clock.GetUtcNow();
        var (key, record) = await IssueAsync(runtime.Store, orgId, role!, coachId, label, body?.ExpiresInDays is { } days ? now.AddDays(days) : null, now,
            Audit.InOrg(http, orgId, "key.issued", "key", "", role), ct);
        return TypedResults.Created($"/api/v1/keys/{record.KeyId}", new CreatedKeyResponse(KeyResponse.From(record, now), key,
            "Store this key now: it is shown only once and kept only as a hash."));
    }

    private static async Task<Results<Created<CreatedKeyResponse>, ValidationProblem, ProblemHttpResult>> IssueAdminKeyAsync(
        string orgId, OperatorKeyRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (!Ids.LooksValid(orgId) || await runtime.GetAsync<OrgState>(new GrainId(orgId, OrgDecider.GrainType, orgId), ct) is null)
            return Problems.NotFound($"org '{Parse.Truncate(orgId)}' not found");
        var v = new Validation();
        var label = v.Text(body?.Label, "label", MaxLabel, required: false) ?? "issued by the operator";
        if (!v.IsValid) return v.Problem();
        var now = runtime.Clock.GetUtcNow();
        var (key, record) = await IssueAsync(runtime.Store, orgId, Roles.OrgAdmin, null, label, null, now,
            Audit.InOrg(http, orgId, "key.issued", "key", "", Roles.OrgAdmin), ct);
        return TypedResults.Created($"/api/v1/keys/{record.KeyId}", new CreatedKeyResponse(KeyResponse.From(record, now), key,
            "Store this key now: it is shown only once and kept only as a hash."));
    }

    private static async Task<(string Key, ApiKeyRecord Record)> IssueAsync(IGrainStore store, string orgId, string role, string? subject, string label,
        DateTimeOffset? expiresAt, DateTimeOffset now, AuditWrite audit, CancellationToken ct)
    {
        var (key, hash, prefix) = ApiKeys.Generate();
        var record = new ApiKeyRecord(hash, prefix, orgId, role, subject, label, now, null) { ExpiresAt = expiresAt };
        await store.CreateApiKeyAsync(record, ct);
        await store.AppendAuditAsync([audit with { TargetId = record.KeyId }], now, ct);
        return (key, record);
    }

    /// <summary>The org's keys and client links (never the secrets or their hashes), newest first.</summary>
    private static async Task<Results<Ok<IEnumerable<KeyResponse>>, ValidationProblem>> ListAsync(
        string? role, string? subjectId, bool? active, int? limit, HttpContext http, IGrainStore store, TimeProvider clock, CancellationToken ct)
    {
        var v = new Validation();
        if (role is not (null or Roles.OrgAdmin or Roles.Coach or Roles.Client)) v.Add("role", "must be org-admin, coach or client");
        if (subjectId is not null && !Ids.LooksValid(subjectId)) v.Add("subjectId", "is not an id");
        if (limit is < 1 or > 1000) v.Add("limit", "must be between 1 and 1000");
        if (!v.IsValid) return v.Problem();
        var now = clock.GetUtcNow();
        var keys = await store.ListApiKeysAsync(new ApiKeyQuery(http.User.OrgId())
        {
            Role = role, SubjectId = subjectId, ActiveAt = active == true ? now : null, Limit = limit ?? 100,
        }, ct);
        return TypedResults.Ok(keys.Select(k => KeyResponse.From(k, now)));
    }

    private static async Task<Results<Ok<RevokedKeyResponse>, ProblemHttpResult>> RevokeAsync(
        string keyId, HttpContext http, IGrainStore store, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (!Ids.LooksValid(keyId)) return Problems.NotFound("key not found");
        var keys = await store.ListApiKeysAsync(new ApiKeyQuery(orgId) { Role = Roles.OrgAdmin, ActiveAt = clock.GetUtcNow(), Limit = 2 }, ct);
        // The org would lock itself out (only the operator could let it back in): issue the replacement first.
        if (keys.Count == 1 && keys[0].KeyId == keyId) return Problems.Conflict("this is the org's last active admin key: issue another one first");
        var now = clock.GetUtcNow();
        if (!await store.RevokeApiKeyAsync(orgId, keyId, now, ct)) return Problems.NotFound($"key '{Parse.Truncate(keyId)}' not found or already revoked");
        await store.AppendAuditAsync([Audit.Entry(http, "key.revoked", "key", keyId)], now, ct);
        return TypedResults.Ok(new RevokedKeyResponse(keyId, now));
    }
}
