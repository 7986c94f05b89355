using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using CohortGrains.Domain.Integrations;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Sessions;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Integrations;

public sealed record InboundSecretResponse(string Secret, string Signing, string Note);

public sealed record EndpointRequest(string? Url, List<string?>? Events, string? Description);

public sealed record EndpointView(string EndpointId, string Url, IReadOnlyList<string> Events, string? Description, DateTimeOffset CreatedAt)
{
    public static EndpointView From(WebhookEndpoint e) => new(e.Id, e.Url, e.Events, e.Description, e.CreatedAt);
}

public sealed record CreatedEndpointResponse(string EndpointId, string Url, IReadOnlyList<string> Events, string? Description, DateTimeOffset CreatedAt,
    string Secret, string Note);

public sealed record IntegrationsView(bool InboundSecretSet, IReadOnlyList<EndpointView> Endpoints, IReadOnlyList<string> Events);

/// <param name="HttpStatus">The receiver's answer to the last attempt (null before any answer).</param>
public sealed record DeliveryView(long DeliveryId, string EventId, string EventType, string Status, int Attempts, string? HttpStatus, string? LastError,
    DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt, DateTimeOffset UpdatedAt);

public sealed record RemovedEndpointResponse(string EndpointId, DateTimeOffset RemovedAt);

public sealed record DeliveryPage(IReadOnlyList<DeliveryView> Deliveries, long? NextBefore);

/// <summary>The body of an inbound session.completed event: a session logged as the coach would log it, with the event's id.</summary>
public sealed record SessionCompletedEvent(string? Id, string? ClientId, DateTimeOffset? OccurredAt, DateTimeOffset? NextSessionAt,
    List<ActionItemDto?>? ActionItems, SessionNoteDto? Note);

/// <summary>
/// Integrations: schedulers and CRMs tell us a session happened (signed with the org's secret, idempotent on the event id),
/// and the org's webhooks hear client.stuck, client.silent, checkin.replied and action.completed.
/// </summary>
public static class IntegrationsApi
{
    public const int MaxEventBytes = 64 * 1024;

    public static RouteGroupBuilder MapIntegrations(this RouteGroupBuilder api)
    {
        // Org admins only, like keys: the inbound secret logs sessions for any client of the org, and an endpoint hears
        // events (names, reply text) about every client of the org, beyond any one coach's.
        var settings = api.MapGroup("/integrations").RequireAuthorization(Policies.OrgAdmin);
        settings.MapGet("/", GetAsync).WithName("GetIntegrations").Produces<IntegrationsView>();
        settings.MapPost("/inbound-secret", RotateSecretAsync).WithName("RotateInboundSecret").Produces<InboundSecretResponse>(StatusCodes.Status201Created);
        var endpoints = api.MapGroup("/webhooks/endpoints").RequireAuthorization(Policies.OrgAdmin);
        endpoints.MapPost("/", AddEndpointAsync).WithName("AddWebhookEndpoint").ProducesCommand<CreatedEndpointResponse>(StatusCodes.Status201Created);
        endpoints.MapGet("/", ListEndpointsAsync).WithName("ListWebhookEndpoints").Produces<IEnumerable<EndpointView>>();
        endpoints.MapDelete("/{endpointId}", RemoveEndpointAsync).WithName("RemoveWebhookEndpoint")
            .Produces<RemovedEndpointResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        endpoints.MapGet("/{endpointId}/deliveries", DeliveriesAsync).WithName("ListWebhookDeliveries")
            .Produces<DeliveryPage>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        // Signed with the org's secret instead of an API key: a scheduler holds a shared secret, not a user's key. Not
        // exempt from rate limits as provider webhooks are (see Security): it is limited per client address like the API.
        api.MapPost("/events/session-completed", SessionCompletedAsync).AllowAnonymous().WithName("InboundSessionCompleted")
            .ProducesCommand<LoggedSessionResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription($"Signed, not keyed: {Signatures.OrgHeader}, {Signatures.TimestampHeader} (unix seconds) and {Signatures.SignatureHeader} " +
                "(v1=<hex HMAC-SHA256 of \"<timestamp>.<raw body>\"> with the org's inbound secret); a missing or wrong signature is a 401 before anything else. " +
                "201 when the session is logged; 200 with duplicate: true when this event id logged it already.");
        return api;
    }

    public static GrainId Id(string orgId) => new(orgId, IntegrationsDecider.GrainType, orgId);

    private static async Task<IntegrationsState> StateAsync(GrainRuntime runtime, string orgId, CancellationToken ct) =>
        await runtime.GetAsync<IntegrationsState>(Id(orgId), ct) ?? new IntegrationsState(IntegrationsState.CurrentSchemaVersion, null, []);

    private static async Task<IResult> GetAsync(HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var s = await StateAsync(runtime, http.User.OrgId(), ct);
        return TypedResults.Ok(new IntegrationsView(s.InboundSecret is not null, s.Endpoints.Select(EndpointView.From).ToList(), WebhookEvents.All));
    }

    /// <summary>Creates or replaces the org's inbound secret; shown once (the store keeps it to verify signatures).</summary>
    private static async Task<IResult> RotateSecretAsync(HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var secret = Signatures.NewSecret();
        var orgId = http.User.OrgId();
        await runtime.SendAsync<IntegrationsState>(Id(orgId), new SetInboundSecret(secret), [Audit.Entry(http, "integrations.inbound-secret-rotated", "org", orgId)], ct);
        return TypedResults.Created("/api/v1/integrations", new InboundSecretResponse(secret,
            $"POST /api/v1/events/session-completed with {Signatures.OrgHeader}: <org id>, {Signatures.TimestampHeader}: <unix seconds>, " +
            $"{Signatures.SignatureHeader}: v1=<hex HMAC-SHA256 of \"<timestamp>.<raw body>\" keyed with this secret>",
            "Store this secret now: it is shown only once. Rotating it invalidates the previous one."));
    }

    private static async Task<IResult> AddEndpointAsync(EndpointRequest? body, HttpContext http, GrainRuntime runtime, TimeProvider clock,
        IOptions<WebhookOptions> options, CancellationToken ct)
    {
        var v = new Validation();
        var url = v.Text(body?.Url, "url", 2000);
        if (url is not null)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
                v.Add("url", "must be an absolute https:// URL");
            else if (uri.Scheme == Uri.UriSchemeHttp && !options.Value.AllowInsecureHttp) v.Add("url", "must use https");
            else if (uri.UserInfo.Length > 0) v.Add("url", "must not carry credentials");
            else if (!options.Value.AllowPrivateNetworks && System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && !EndpointAddresses.IsPublic(ip))
                v.Add("url", "must not point at a loopback or private address");
        }
        var events = ImmutableList.CreateBuilder<string>();
        if (body?.Events is not { Count: > 0 }) v.Add("events", $"is required: some of {string.Join(", ", WebhookEvents.All)}");
        else
            for (var i = 0; i < body.Events.Count; i++)
            {
                if (body.Events[i] is { } e && WebhookEvents.All.Contains(e)) { if (!events.Contains(e)) events.Add(e); }
                else v.Add($"events[{i}]", $"must be one of {string.Join(", ", WebhookEvents.All)}");
            }
        var description = v.Text(body?.Description, "description", 200, required: false);
        if (!v.IsValid) return v.Problem();

        var endpoint = new WebhookEndpoint(Ids.New("we"), url!, events.ToImmutable(), Signatures.NewSecret(), clock.GetUtcNow(), description);
        var call = await runtime.SendAsync<IntegrationsState>(Id(http.User.OrgId()), new AddWebhookEndpoint(endpoint),
            [Audit.Entry(http, "webhook.endpoint-added", "webhook-endpoint", endpoint.Id, string.Join(",", endpoint.Events))], ct);
        if (call is GrainCall<IntegrationsState>.Rejected r) return Problems.FromRejection(r, "events");
        return TypedResults.Created($"/api/v1/webhooks/endpoints/{endpoint.Id}", new CreatedEndpointResponse(endpoint.Id, endpoint.Url, endpoint.Events,
            endpoint.Description, endpoint.CreatedAt, endpoint.Secret,
            $"Verify each delivery: {Signatures.SignatureHeader} is v1=<hex HMAC-SHA256 of \"<{Signatures.TimestampHeader}>.<raw body>\"> keyed with this secret. Shown once."));
    }

    private static async Task<IResult> ListEndpointsAsync(HttpContext http, GrainRuntime runtime, CancellationToken ct) =>
        TypedResults.Ok((await StateAsync(runtime, http.User.OrgId(), ct)).Endpoints.Select(EndpointView.From));

    private static async Task<IResult> RemoveEndpointAsync(string endpointId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (!Ids.LooksValid(endpointId)) return Problems.NotFound("webhook endpoint not found");
        var orgId = http.User.OrgId();
        if ((await StateAsync(runtime, orgId, ct)).Endpoints.All(e => e.Id != endpointId)) return Problems.NotFound($"webhook endpoint '{endpointId}' not found");
        var call = await runtime.SendAsync<IntegrationsState>(Id(orgId), new RemoveWebhookEndpoint(endpointId),
            [Audit.Entry(http, "webhook.endpoint-removed", "webhook-endpoint", endpointId)], ct);
        // A body (not 204), as revoking a key answers: what was removed and when, for the caller's records.
        return call is GrainCall<IntegrationsState>.Rejected r ? Problems.FromRejection(r) : TypedResults.Ok(new RemovedEndpointResponse(endpointId, runtime.Clock.GetUtcNow()));
    }

    /// <summary>The endpoint's delivery log: each event sent to it, newest first, with attempts, the receiver's answer and the last error.</summary>
    private static async Task<IResult> DeliveriesAsync(string endpointId, int? limit, long? before, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (!Ids.LooksValid(endpointId) || (await StateAsync(runtime, orgId, ct)).Endpoints.All(e => e.Id != endpointId))
            return Problems.NotFound($"webhook endpoint '{Parse.Truncate(endpointId)}' not found");
        if (limit is < 1 or > 500) return Problems.Invalid("limit", "must be between 1 and 500");
        var rows = await runtime.Store.QueryOutboxAsync(new OutboxQuery(orgId)
        {
            GrainKey = orgId, Channel = ChannelNames.Webhook, Recipient = endpointId, Limit = limit ?? 100, BeforeId = before,
        }, ct);
        var page = rows.Select(r => new DeliveryView(r.Id, EventIdOf(r.IdempotencyKey, endpointId), r.Template, r.Status, r.Attempt, r.ProviderStatus ?? r.ErrorCode,
            r.Error, r.CreatedAt, r.SentAt, r.UpdatedAt)).ToList();
        return TypedResults.Ok(new DeliveryPage(page, page.Count == (limit ?? 100) ? page[^1].DeliveryId : null));
    }

    /// <summary>The event id inside an idempotency key "{grain}/wh-{eventId}-{endpointId}".</summary>
    private static string EventIdOf(string key, string endpointId)
    {
        var tail = key[(key.LastIndexOf("/wh-", StringComparison.Ordinal) + 4)..];
        return tail.EndsWith("-" + endpointId, StringComparison.Ordinal) ? tail[..^(endpointId.Length + 1)] : tail;
    }

    /// <summary>
    /// A scheduler or CRM reports a completed session. Verified before anything is parsed: the org's secret must sign
    /// "{timestamp}.{raw body}" and the timestamp must be recent. Then it logs the session exactly as the coach's endpoint
    /// does; the same event id delivered again logs nothing new (200 with duplicate: true).
    /// </summary>
    private static async Task<IResult> SessionCompletedAsync(HttpRequest request, GrainRuntime runtime, TimeProvider clock, IOptions<WebhookOptions> options,
        CancellationToken ct)
    {
        static IResult Unauthorized(string detail) =>
            TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized", detail: detail);

        var orgId = request.Headers[Signatures.OrgHeader].ToString();
        if (!Ids.LooksValid(orgId)) return Unauthorized($"{Signatures.OrgHeader} is missing");
        if (!long.TryParse(request.Headers[Signatures.TimestampHeader].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
            return Unauthorized($"{Signatures.TimestampHeader} (unix seconds) is missing");
        if (Math.Abs(clock.GetUtcNow().ToUnixTimeSeconds() - timestamp) > options.Value.InboundToleranceSeconds)
            return Unauthorized($"{Signatures.TimestampHeader} is more than {options.Value.InboundToleranceSeconds} seconds from now (a replay, or a wrong clock)");
        var integrations = await runtime.GetAsync<IntegrationsState>(Id(orgId), ct);
        // Unknown org, no secret and a wrong signature all look the same from outside, and cost the same: the body is
        // read and hashed with a throwaway key. The signature is settled before size, JSON, fields or the client are.
        var secret = integrations?.InboundSecret;
        var (valid, body) = await Signatures.ReadAndVerifyAsync(request.Body, secret ?? s_noSecret, timestamp,
            request.Headers[Signatures.SignatureHeader].ToString(), MaxEventBytes, ct);
        if (secret is null || !valid) return Unauthorized("the signature does not match");
        if (body is null) return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Too large",
            detail: $"an event is at most {MaxEventBytes} bytes");

        SessionCompletedEvent? e;
        try
        {
            e = JsonSerializer.Deserialize<SessionCompletedEvent>(body, Http.Web);
        }
        catch (JsonException ex)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid JSON", detail: ex.Path is { Length: > 0 } p ? $"not valid at {p}" : "the body is not valid JSON");
        }
        var v = new Validation();
        var eventId = v.Text(e?.Id, "id", 100);
        if (eventId is not null && eventId.Any(c => c is < '!' or > '~')) v.Add("id", "must be printable ASCII without spaces");
        var clientId = v.Text(e?.ClientId, "clientId", 64);
        if (!v.IsValid) return v.Problem();
        // The org's signature is the caller's identity: the client must belong to that org (and not be erased).
        var client = Ids.LooksValid(clientId) ? await runtime.GetAsync<ClientLoopState>(ClientsApi.Id(orgId, clientId!), ct) : null;
        if (client is null or { ErasedAt: not null }) return Problems.NotFound($"client '{Parse.Truncate(clientId!)}' not found");
        var audit = new AuditWrite(orgId, "integration", "session.completed", "session.logged", "client", clientId!);
        return await SessionsApi.LogSessionAsync(runtime, clock, orgId, client, new LogSessionRequest(e!.OccurredAt, e.NextSessionAt, e.ActionItems, e.Note), eventId, audit, ct);
    }

    /// <summary>Signs what an org without a secret sends, only so refusing it takes as long as refusing a forgery.</summary>
    private static readonly string s_noSecret = Signatures.NewSecret();

    private static class Http
    {
        public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    }
}
