using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CohortGrains.Client;

/// <summary>
/// The /api/v1 API as methods. Give it an HttpClient whose BaseAddress is the node (or load balancer) and an API key.
/// The key travels on each request, never in the HttpClient's default headers, so one HttpClient (one connection
/// pool, as IHttpClientFactory hands out) can serve clients for several keys, even several orgs, without one
/// client's key leaking into another's calls.
/// Every non-success answer becomes a <see cref="CohortGrainsApiException"/> carrying the problem details.
/// </summary>
public sealed class CohortGrainsClient(HttpClient http, string apiKey)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private readonly AuthenticationHeaderValue _auth = new("Bearer", apiKey);

    // ---- orgs ----
    /// <summary>Creates an org (operator key); the answer carries its first org-admin key, shown only here.</summary>
    public Task<CreatedOrg> CreateOrgAsync(string name, CancellationToken ct = default) => PostAsync<CreatedOrg>("api/v1/orgs", new { name }, ct);
    /// <summary>The org of the key this client calls with.</summary>
    public Task<Org> GetOrgAsync(CancellationToken ct = default) => GetAsync<Org>("api/v1/org", ct);

    // ---- coaches ----
    public Task<Coach> CreateCoachAsync(NewCoach coach, CancellationToken ct = default) => PostAsync<Coach>("api/v1/coaches", coach, ct);
    public Task<IReadOnlyList<CoachSummary>> ListCoachesAsync(CancellationToken ct = default) => GetAsync<IReadOnlyList<CoachSummary>>("api/v1/coaches", ct);
    public Task<Coach> GetCoachAsync(string coachId, CancellationToken ct = default) => GetAsync<Coach>($"api/v1/coaches/{Esc(coachId)}", ct);
    public Task<Coach> SetAvailabilityAsync(string coachId, IReadOnlyList<Availability> availability, CancellationToken ct = default) =>
        SendAsync<Coach>(HttpMethod.Put, $"api/v1/coaches/{Esc(coachId)}/availability", new { availability }, ct);
    public Task<IReadOnlyList<Alert>> GetAlertsAsync(string coachId, bool? open = null, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<Alert>>($"api/v1/coaches/{Esc(coachId)}/alerts" + (open is null ? "" : $"?open={open.Value.ToString().ToLowerInvariant()}"), ct);
    public Task<Alert> HandleAlertAsync(string coachId, string alertId, string? note = null, CancellationToken ct = default) =>
        PostAsync<Alert>($"api/v1/coaches/{Esc(coachId)}/alerts/{Esc(alertId)}/handle", new { note }, ct);

    // ---- cohorts ----
    public Task<Cohort> CreateCohortAsync(NewCohort cohort, CancellationToken ct = default) => PostAsync<Cohort>("api/v1/cohorts", cohort, ct);
    public Task<IReadOnlyList<CohortSummary>> ListCohortsAsync(CancellationToken ct = default) => GetAsync<IReadOnlyList<CohortSummary>>("api/v1/cohorts", ct);
    public Task<Cohort> GetCohortAsync(string cohortId, CancellationToken ct = default) => GetAsync<Cohort>($"api/v1/cohorts/{Esc(cohortId)}", ct);
    /// <summary>Cadence edits apply from each client's next session.</summary>
    public Task<Cohort> UpdateProgramAsync(string cohortId, CohortProgram program, CancellationToken ct = default) =>
        SendAsync<Cohort>(HttpMethod.Put, $"api/v1/cohorts/{Esc(cohortId)}/program", new { program }, ct);
    public Task<Cohort> ActivateCohortAsync(string cohortId, CancellationToken ct = default) => PostAsync<Cohort>($"api/v1/cohorts/{Esc(cohortId)}/activate", null, ct);
    public Task<Cohort> EndCohortAsync(string cohortId, CancellationToken ct = default) => PostAsync<Cohort>($"api/v1/cohorts/{Esc(cohortId)}/end", null, ct);
    public Task<CohortDashboard> GetCohortDashboardAsync(string cohortId, CancellationToken ct = default) =>
        GetAsync<CohortDashboard>($"api/v1/cohorts/{Esc(cohortId)}/dashboard", ct);
    public Task<Dashboard> GetDashboardAsync(CancellationToken ct = default) => GetAsync<Dashboard>("api/v1/dashboard", ct);

    // ---- clients ----
    public Task<Client> EnrolAsync(string cohortId, NewClient client, CancellationToken ct = default) =>
        PostAsync<Client>($"api/v1/cohorts/{Esc(cohortId)}/clients", client, ct);
    /// <summary>Up to 1000 per call; all validated before any is queued. Loops appear in the roster once workers create them.</summary>
    public Task<BulkEnrolment> EnrolManyAsync(string cohortId, IReadOnlyList<NewClient> clients, CancellationToken ct = default) =>
        PostAsync<BulkEnrolment>($"api/v1/cohorts/{Esc(cohortId)}/clients/bulk", new { clients }, ct);
    public Task<IReadOnlyList<RosterEntry>> GetRosterAsync(string cohortId, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<RosterEntry>>($"api/v1/cohorts/{Esc(cohortId)}/clients", ct);
    public Task<Client> GetClientAsync(string clientId, CancellationToken ct = default) => GetAsync<Client>($"api/v1/clients/{Esc(clientId)}", ct);
    public Task<JsonArray> GetTimelineAsync(string clientId, CancellationToken ct = default) => GetAsync<JsonArray>($"api/v1/clients/{Esc(clientId)}/timeline", ct);
    public Task<LoggedSession> LogSessionAsync(string clientId, SessionLog session, CancellationToken ct = default) =>
        PostAsync<LoggedSession>($"api/v1/clients/{Esc(clientId)}/sessions", session, ct);
    public Task<ReplyResult> ReplyAsync(string clientId, Reply reply, CancellationToken ct = default) =>
        PostAsync<ReplyResult>($"api/v1/clients/{Esc(clientId)}/replies", reply, ct);
    public Task<Client> CompleteActionAsync(string clientId, string itemId, CancellationToken ct = default) =>
        PostAsync<Client>($"api/v1/clients/{Esc(clientId)}/actions/{Esc(itemId)}/complete", null, ct);
    public Task<Client> PauseAsync(string clientId, CancellationToken ct = default) => PostAsync<Client>($"api/v1/clients/{Esc(clientId)}/pause", null, ct);
    public Task<Client> ResumeAsync(string clientId, CancellationToken ct = default) => PostAsync<Client>($"api/v1/clients/{Esc(clientId)}/resume", null, ct);
    /// <summary>The client leaves the program early (mid-program churn).</summary>
    public Task<Client> EndAsync(string clientId, CancellationToken ct = default) => PostAsync<Client>($"api/v1/clients/{Esc(clientId)}/end", null, ct);
    /// <summary>The coach's own words to the client, through the outbox. The same <see cref="CoachMessage.RequestId"/> sends once.</summary>
    public Task<SentMessage> SendMessageAsync(string clientId, CoachMessage message, CancellationToken ct = default) =>
        PostAsync<SentMessage>($"api/v1/clients/{Esc(clientId)}/messages", message, ct);

    // ---- client links and personal data ----
    /// <summary>A magic link for the client's portal; its URL and token are shown only in this answer.</summary>
    public Task<ClientLink> CreateLinkAsync(string clientId, int? expiresInHours = null, CancellationToken ct = default) =>
        PostAsync<ClientLink>($"api/v1/clients/{Esc(clientId)}/links", new { expiresInHours }, ct);
    public Task<RevokedLinks> RevokeLinksAsync(string clientId, CancellationToken ct = default) =>
        SendAsync<RevokedLinks>(HttpMethod.Delete, $"api/v1/clients/{Esc(clientId)}/links", null, ct);
    /// <summary>All of one client's data, as the API exports it.</summary>
    public Task<JsonObject> ExportClientAsync(string clientId, CancellationToken ct = default) => GetAsync<JsonObject>($"api/v1/clients/{Esc(clientId)}/export", ct);
    /// <summary>Erases the client's personal data everywhere (org admin key).</summary>
    public Task<Erasure> EraseClientAsync(string clientId, CancellationToken ct = default) =>
        SendAsync<Erasure>(HttpMethod.Delete, $"api/v1/clients/{Esc(clientId)}", null, ct);

    // ---- touches (outbox) ----
    public Task<TouchPage> GetTouchesAsync(string? clientId = null, string? status = null, int? limit = null, long? before = null, CancellationToken ct = default)
    {
        var query = new List<string>();
        if (clientId is not null) query.Add($"clientId={Esc(clientId)}");
        if (status is not null) query.Add($"status={Esc(status)}");
        if (limit is not null) query.Add($"limit={limit}");
        if (before is not null) query.Add($"before={before}");
        return GetAsync<TouchPage>("api/v1/touches" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), ct);
    }

    // ---- anything else ----
    /// <summary>For endpoints this client has no method for yet: GET any API path as JSON.</summary>
    public Task<JsonNode> GetJsonAsync(string path, CancellationToken ct = default) => GetAsync<JsonNode>(path.TrimStart('/'), ct);

    /// <summary>For endpoints this client has no method for yet: any method, a JSON body (or none), the answer as JSON (null for 204).</summary>
    public async Task<JsonNode?> SendJsonAsync(HttpMethod method, string path, object? body = null, CancellationToken ct = default)
    {
        using var response = await SendRequestAsync(method, path.TrimStart('/'), body, ct);
        return response.StatusCode == HttpStatusCode.NoContent ? null : await ReadAsync<JsonNode>(response, ct);
    }

    private Task<T> GetAsync<T>(string path, CancellationToken ct) => SendAsync<T>(HttpMethod.Get, path, null, ct);

    private Task<T> PostAsync<T>(string path, object? body, CancellationToken ct) => SendAsync<T>(HttpMethod.Post, path, body, ct);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var response = await SendRequestAsync(method, path, body, ct);
        return await ReadAsync<T>(response, ct);
    }

    private async Task<HttpResponseMessage> SendRequestAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = _auth;
        if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: s_json);
        return await http.SendAsync(request, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            // A typed method promises its result, so a success without a body is said plainly, not as a JSON parse error.
            if (response.StatusCode == HttpStatusCode.NoContent || response.Content.Headers.ContentLength == 0)
                throw new InvalidOperationException($"the API answered {(int)response.StatusCode} without a body where {typeof(T).Name} was expected");
            return await response.Content.ReadFromJsonAsync<T>(s_json, ct) ?? throw new InvalidOperationException($"the API answered null where {typeof(T).Name} was expected");
        }
        throw await ProblemAsync(response, ct);
    }

    /// <summary>
    /// The exception for a non-success answer. The API answers with problem details, but a proxy or load balancer in
    /// front of it may answer with HTML or nothing: then the status is all there is, and it is still reported as such
    /// rather than as a parse error that would hide it.
    /// </summary>
    private static async Task<CohortGrainsApiException> ProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct));
        }
        catch (JsonException)
        {
        }
        var problem = body as JsonObject;
        var errors = new Dictionary<string, string[]>();
        if (problem?["errors"] is JsonObject fields)
        {
            foreach (var (field, messages) in fields)
                errors[field] = messages is JsonArray list ? list.Select(Text).OfType<string>().ToArray() : [Text(messages) ?? ""];
        }
        return new CohortGrainsApiException((int)response.StatusCode, Text(problem?["title"]), Text(problem?["detail"]), errors, body);
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node?.ToJsonString();

    private static string Esc(string segment) => Uri.EscapeDataString(segment);
}
