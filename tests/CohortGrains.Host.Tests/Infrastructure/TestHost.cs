using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Time;
using CohortGrains.Runtime.Workers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>
/// The real host in-process on its own SQLite file, with a fake clock and the workers switched off:
/// tests move time with <see cref="Clock"/> and run due work with <see cref="PumpAsync"/>, so nothing waits on wall-clock time.
/// </summary>
public class TestHost : WebApplicationFactory<Program>
{
    public const string OperatorKey = "cg_test-operator-key-0123456789";
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "cohortgrains-tests", Guid.NewGuid().ToString("N"));

    /// <param name="start">Where the fake clock starts: Monday 2026-03-02 09:00 UTC unless a test says otherwise.</param>
    public TestHost(DateTimeOffset? start = null) => Clock = new ManualClock(start ?? new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));

    public ManualClock Clock { get; }

    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>Service replacements a test needs (a faulty channel, a store spy, a log capture), applied after the host's own.</summary>
    public List<Action<IServiceCollection>> ServiceOverrides { get; } = [];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Storage:DataDirectory", _dataDirectory);
        builder.UseSetting("Operator:ApiKey", OperatorKey);
        builder.UseSetting("Workers:Enabled", "false");
        // The node registers in the membership table at start; no real-time heartbeat rewrites it during a test.
        builder.UseSetting("Cluster:HeartbeatInterval", "1.00:00:00");
        // Tests send bursts no client would; the rate-limit tests switch it back on through Settings.
        builder.UseSetting("RateLimiting:Enabled", "false");
        foreach (var (k, v) in Settings) builder.UseSetting(k, v);
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Clock);
            foreach (var apply in ServiceOverrides) apply(services);
        });
    }

    public IGrainStore Store => Services.GetRequiredService<IGrainStore>();

    /// <summary>Where this host keeps its SQLite file (cohortgrains.db) and generated secrets.</summary>
    public string DataDirectory => _dataDirectory;

    /// <summary>Runs every due timer, grain message and outbox send at the fake clock's now, until nothing is left.</summary>
    public Task<int> PumpAsync() => Services.GetRequiredService<WorkPump>().RunUntilIdleAsync();

    /// <summary>Moves the clock and runs whatever became due, in steps so each timer fires at (about) its own time.</summary>
    public async Task AdvanceAsync(TimeSpan by, TimeSpan? step = null)
    {
        var stepSize = step ?? TimeSpan.FromMinutes(15);
        var end = Clock.GetUtcNow() + by;
        while (Clock.GetUtcNow() < end)
        {
            var next = Clock.GetUtcNow() + stepSize;
            Clock.SetUtcNow(next < end ? next : end);
            await PumpAsync();
        }
    }

    public HttpClient ClientWithKey(string? key)
    {
        var client = CreateClient();
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public HttpClient Operator() => ClientWithKey(OperatorKey);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class Http
{
    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body");
    }

    public static Task<JsonNode> PostJsonAsync(this HttpClient client, string url, object body, int expectedStatus = 200) =>
        client.SendJsonAsync(HttpMethod.Post, url, body, expectedStatus);

    public static Task<JsonNode> GetJsonAsync(this HttpClient client, string url, int expectedStatus = 200) =>
        client.SendJsonAsync(HttpMethod.Get, url, null, expectedStatus);

    /// <summary>Any method with an optional JSON body; fails the test on another status. An empty answer reads as {}.</summary>
    public static async Task<JsonNode> SendJsonAsync(this HttpClient client, HttpMethod method, string url, object? body, int expectedStatus)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
        var response = await client.SendAsync(request);
        await ExpectAsync(response, expectedStatus);
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    /// <summary>A string property of a JSON answer.</summary>
    public static string Str(this JsonNode node, string property) => node[property]!.GetValue<string>();

    public static async Task ExpectAsync(HttpResponseMessage response, int expectedStatus)
    {
        if ((int)response.StatusCode != expectedStatus)
            Assert.Fail($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}, expected {expectedStatus}: {await response.Content.ReadAsStringAsync()}");
    }

    public static StringContent RawJson(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}

/// <summary>An org with a coach, an active weekly cohort (Tuesdays 10:00 New York) and helpers to enrol and log sessions.</summary>
public sealed class Org
{
    public required HttpClient Api { get; init; }
    public required string OrgId { get; init; }
    public required string ApiKey { get; init; }
    public required string CoachId { get; init; }
    public required string CohortId { get; init; }

    public static async Task<Org> CreateAsync(TestHost host, bool activate = true)
    {
        var created = await host.Operator().PostJsonAsync("/api/v1/orgs", new { name = "Northstar Coaching" }, 201);
        var key = created["apiKey"]!.GetValue<string>();
        var api = host.ClientWithKey(key);
        var coach = await api.PostJsonAsync("/api/v1/coaches", new
        {
            name = "Maya Chen",
            email = "maya@northstar.example",
            timeZone = "America/New_York",
            availability = new[] { new { day = "wednesday", start = "09:00", end = "11:00" } },
        }, 201);
        var cohort = await api.PostJsonAsync("/api/v1/cohorts", new
        {
            name = "Leadership Launch",
            coachId = coach["coachId"]!.GetValue<string>(),
            program = new { weeks = 8, sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" },
        }, 201);
        var cohortId = cohort["cohortId"]!.GetValue<string>();
        if (activate) await api.PostJsonAsync($"/api/v1/cohorts/{cohortId}/activate", new { }, 200);
        return new Org { Api = api, OrgId = created["orgId"]!.GetValue<string>(), ApiKey = key, CoachId = coach["coachId"]!.GetValue<string>(), CohortId = cohortId };
    }

    public async Task<string> EnrolAsync(string name = "Ava Brooks", string phone = "+14155550101", int preferredHour = 9, bool smsConsent = true)
    {
        var client = await Api.PostJsonAsync($"/api/v1/cohorts/{CohortId}/clients", new
        {
            name,
            phone,
            email = name.Split(' ')[0].ToLowerInvariant() + "@example.com",
            timeZone = "America/New_York",
            preferredHour,
            smsConsent,
        }, 201);
        return client["clientId"]!.GetValue<string>();
    }

    public Task<JsonNode> LogSessionAsync(string clientId, params string[] actions) =>
        Api.PostJsonAsync($"/api/v1/clients/{clientId}/sessions", new
        {
            actionItems = actions.Select(a => new { what = a, byWhen = (string?)null, notice = "how it felt" }).ToArray(),
            note = new
            {
                focus = "Pipeline",
                insight = "Avoids asking directly",
                agreedAction = actions[0],
                obstacle = "Busy week",
                followUp = "Review what got in the way",
            },
        }, 201);
}
