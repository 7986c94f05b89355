using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Touches;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Security;

public sealed record CreateLinkRequest(int? ExpiresInHours);
public sealed record LinkResponse(string LinkId, string Url, string Token, DateTimeOffset ExpiresAt, string Note);
public sealed record RevokedLinksResponse(string ClientId, int Revoked);

/// <summary>Everything the service holds about one client (data portability / subject access).</summary>
public sealed record ClientExport(
    DateTimeOffset ExportedAt,
    ClientResponse Client,
    IEnumerable<TimelineEvent> Timeline,
    IReadOnlyList<TouchResponse> Touches,
    IReadOnlyList<KeyResponse> Links,
    IReadOnlyList<AuditEntry> Audit);

public sealed record ErasedResponse(string ClientId, DateTimeOffset ErasedAt, ErasureResult Removed);

public static class ClientPrivacyApi
{
    public static RouteGroupBuilder MapClientPrivacy(this RouteGroupBuilder api)
    {
        var client = api.MapGroup("/clients/{clientId}");
        client.MapPost("/links", CreateLinkAsync).RequireAuthorization(Policies.OrgMember).WithName("CreateClientLink");
        client.MapDelete("/links", RevokeLinksAsync).RequireAuthorization(Policies.OrgMember).WithName("RevokeClientLinks");
        client.MapGet("/export", ExportAsync).RequireAuthorization(Policies.OrgMemberOrClient).WithName("ExportClient");
        client.MapDelete("/", EraseAsync).RequireAuthorization(Policies.OrgAdmin).WithName("EraseClient");
        return api;
    }

    /// <summary>A one-tap, no-login link for the client (their coach or an org admin issues it): signed, expiring, revocable.</summary>
    private static async Task<Results<Created<LinkResponse>, ValidationProblem, ProblemHttpResult>> CreateLinkAsync(
        string clientId, CreateLinkRequest? body, HttpContext http, GrainRuntime runtime, ClientLinks links, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (await ClientsApi.FindAsync(runtime, http, clientId, ct) is null) return NotFound(clientId);
        var v = new Validation();
        var hours = body?.ExpiresInHours ?? links.Options.DefaultLifetimeHours;
        if (hours < 1 || hours > links.Options.MaxLifetimeHours) v.Add("expiresInHours", $"must be between 1 and {links.Options.MaxLifetimeHours}");
        if (!v.IsValid) return v.Problem();

        var (token, record) = await IssueLinkAsync(runtime, http, links, clientId, hours, ct);
        var expiresAt = record.ExpiresAt!.Value;
        return TypedResults.Created($"/api/v1/keys/{record.KeyId}", new LinkResponse(record.KeyId, links.UrlFor(token), token, expiresAt,
            "Send the URL to the client only; it is shown once. Revoke it with DELETE /api/v1/keys/{linkId}, or all of the client's links with DELETE /api/v1/clients/{id}/links."));
    }

    /// <summary>
    /// Issues a link for a client the caller may see (checked by the caller of this method), stores it hashed and
    /// audits it: the API and the client's page in the web UI both come here.
    /// </summary>
    internal static async Task<(string Token, ApiKeyRecord Record)> IssueLinkAsync(GrainRuntime runtime, HttpContext http, ClientLinks links, string clientId, int hours,
        CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var now = runtime.Clock.GetUtcNow();
        // Whole seconds: the token carries its expiry in unix seconds, and the row must say the same.
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(now.AddHours(hours).ToUnixTimeSeconds());
        var token = links.Issue(orgId, clientId, expiresAt);
        var record = new ApiKeyRecord(ApiKeys.Hash(token), token[..10], orgId, Roles.Client, clientId, "client link", now, null) { ExpiresAt = expiresAt };
        await runtime.Store.CreateApiKeyAsync(record, ct);
        await runtime.Store.AppendAuditAsync([Audit.Entry(http, "link.issued", "client", clientId, record.KeyId)], now, ct);
        return (token, record);
    }

    private static async Task<Results<Ok<RevokedLinksResponse>, ProblemHttpResult>> RevokeLinksAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (await ClientsApi.FindAsync(runtime, http, clientId, ct) is null) return NotFound(clientId);
        var now = runtime.Clock.GetUtcNow();
        var revoked = await runtime.Store.RevokeApiKeysOfSubjectAsync(http.User.OrgId(), clientId, now, ct);
        await runtime.Store.AppendAuditAsync([Audit.Entry(http, "links.revoked", "client", clientId, $"{revoked} link(s)")], now, ct);
        return TypedResults.Ok(new RevokedLinksResponse(clientId, revoked));
    }

    /// <summary>All of one client's data as JSON: profile, sessions with notes, timeline, every touch, links, audit entries.</summary>
    private static async Task<Results<Ok<ClientExport>, ProblemHttpResult>> ExportAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var state = await ClientsApi.FindAsync(runtime, http, clientId, ct);
        if (state is null) return NotFound(clientId);
        var store = runtime.Store;
        var now = runtime.Clock.GetUtcNow();

        var outbox = new List<OutboxRow>();
        for (long? before = null; ;)
        {
            var page = await store.QueryOutboxAsync(new OutboxQuery(orgId) { GrainKey = clientId, Limit = 500, BeforeId = before }, ct);
            outbox.AddRange(page);
            if (page.Count < 500) break;
            before = page[^1].Id;
        }
        var audit = new List<AuditEntry>();
        for (long? before = null; ;)
        {
            var page = await store.QueryAuditAsync(new AuditQuery(orgId) { TargetId = clientId, Limit = 500, BeforeId = before }, ct);
            audit.AddRange(page);
            if (page.Count < 500) break;
            before = page[^1].Id;
        }
        var links = await store.ListApiKeysAsync(new ApiKeyQuery(orgId) { Role = Roles.Client, SubjectId = clientId, Limit = 1000 }, ct);

        await store.AppendAuditAsync([Audit.Entry(http, "client.exported", "client", clientId)], now, ct);
        return TypedResults.Ok(new ClientExport(
            now,
            ClientResponse.From(state),
            Timeline.Build(state, outbox),
            outbox.Select(TouchesApi.ToResponse).ToList(),
            links.Select(k => KeyResponse.From(k, now)).ToList(),
            audit));
    }

    /// <summary>
    /// Erases the client's personal data everywhere the service keeps it, and answers what was removed. Safe to repeat
    /// (a retry after a crash finishes the job). Steps, in this order so that no copy survives:
    /// 1. the client's loop becomes a tombstone (no name, contact, wording, notes, reply text) and its reminders stop;
    /// 2. the store deletes the client's timers and any message in flight naming them, scrubs their outbox rows and
    ///    audit details, and revokes their links: after this no alert naming the client can still reach the coach;
    /// 3. the coach's grain forgets the name, detail and note of the client's alerts;
    /// 4. the store step runs again, which also pushes the coach's rewrite out of the SQLite WAL.
    /// </summary>
    private static async Task<Results<Ok<ErasedResponse>, ProblemHttpResult>> EraseAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (!Ids.LooksValid(clientId)) return NotFound(clientId);
        var id = ClientsApi.Id(orgId, clientId);
        var state = await runtime.GetAsync<ClientLoopState>(id, ct);
        if (state is null) return NotFound(clientId);
        if (state.ErasedAt is null)
        {
            var erase = new EraseClient();
            var call = await runtime.SendAsync<ClientLoopState>(id, erase, [Audit.ForClientMessage(http, clientId, erase)!], ct);
            // The decider erases any loop that exists; a refusal can only mean it vanished meanwhile.
            if (call is not GrainCall<ClientLoopState>.Ok ok) return NotFound(clientId);
            state = ok.State;
        }
        var removed = await runtime.Store.ErasePersonalDataAsync(id, runtime.Clock.GetUtcNow(), ct);
        // A coach that no longer exists has nothing to forget: its refusal is fine.
        await runtime.SendAsync<CoachState>(CoachesApi.Id(orgId, state.CoachId), new ClientErased(clientId), ct);
        await runtime.Store.ErasePersonalDataAsync(id, runtime.Clock.GetUtcNow(), ct);
        return TypedResults.Ok(new ErasedResponse(clientId, state.ErasedAt!.Value, removed));
    }

    private static ProblemHttpResult NotFound(string clientId) => Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found");
}
