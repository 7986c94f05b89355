using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CohortGrains.Client;

/// <summary>
/// The /api/v1 API as methods. Give it an HttpClient whose BaseAddress is the node (or load balancer) and an API key.
/// Every non-success answer becomes a <see cref="CohortGrainsApiException"/> carrying the problem details.
/// </summary>
public sealed class CohortGrainsClient
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    public CohortGrainsClient(HttpClient http, string apiKey)
    {
        _http = http;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public HttpClient Http => _http;

    // ---- orgs (operator key) ----
    public Task<CreatedOrg> CreateOrgAsync(string name, CancellationToken ct = default) => PostAsync<CreatedOrg>("api/v1/orgs", new { name }, ct);

    // ---- coaches ----
    public Task<Coach> CreateCoachAsync(NewCoach coach, CancellationToken ct = default) => PostAsync<Coach>("api/v1/coaches", coach, ct);
    public Task<Coach> GetCoachAsync(string coachId, CancellationToken ct = default) => GetAsync<Coach>($"api/v1/coaches/{Esc(coachId)}", ct);
    public Task<IReadOnlyList<Alert>> GetAlertsAsync(string coachId, bool? open = null, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<Alert>>($"api/v1/coaches/{Esc(coachId)}/alerts" + (open is null ? "" : $"?open={open.Value.ToString().ToLowerInvariant()}"), ct);
    public Task<Alert> HandleAlertAsync(string coachId, string alertId, string? note = null, CancellationToken ct = default) =>
        PostAsync<Alert>($"api/v1/coaches/{Esc(coachId)}/alerts/{Esc(alertId)}/handle", new { note }, ct);

    // ---- cohorts ----
    public Task<Cohort> CreateCohortAsync(NewCohort cohort, CancellationToken ct = default) => PostAsync<Cohort>("api/v1/cohorts", cohort, ct);
    public Task<Cohort> GetCohortAsync(string cohortId, CancellationToken ct = default) => GetAsync<Cohort>($"api/v1/cohorts/{Esc(cohortId)}", ct);
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

    /// <summary>For endpoints this client has no method for yet: GET any API path as JSON.</summary>
    public Task<JsonNode> GetJsonAsync(string path, CancellationToken ct = default) => GetAsync<JsonNode>(path.TrimStart('/'), ct);

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        return await ReadAsync<T>(response, ct);
    }

    private async Task<T> PostAsync<T>(string path, object? body, CancellationToken ct)
    {
        using var content = body is null ? null : JsonContent.Create(body, body.GetType(), options: s_json);
        using var response = await _http.PostAsync(path, content, ct);
        return await ReadAsync<T>(response, ct);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
            return await response.Content.ReadFromJsonAsync<T>(s_json, ct) ?? throw new InvalidOperationException("empty response body");
        JsonNode? body = null;
        try
        {
            body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct));
        }
        catch (JsonException)
        {
        }
        var errors = body?["errors"]?.AsObject().ToDictionary(e => e.Key, e => e.Value!.AsArray().Select(v => v!.GetValue<string>()).ToArray())
            ?? new Dictionary<string, string[]>();
        throw new CohortGrainsApiException((int)response.StatusCode, body?["title"]?.GetValue<string>(), body?["detail"]?.GetValue<string>(), errors, body);
    }

    private static string Esc(string segment) => Uri.EscapeDataString(segment);
}
