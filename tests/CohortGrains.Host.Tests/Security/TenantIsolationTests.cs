using System.Net;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests.Security;

/// <summary>
/// Every endpoint the host maps (read from its endpoint data source, so endpoints added later are included), called
/// against coach A's side of the victim org by: nobody, another org's admin, coach B of the same org, and client B1's
/// magic link. An endpoint that names one of A's resources in its route answers 401, 403 or 404; an endpoint without
/// ids may answer the caller about their own world. Never does an answer contain one of A's personal values, never is
/// a row about A's side changed, never is anything a 5xx.
/// </summary>
public sealed class TenantIsolationTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private SecurityWorld _world = null!;

    public async Task InitializeAsync() => _world = await SecurityWorld.CreateAsync(_host);

    public Task DisposeAsync()
    {
        _host.Dispose();
        return Task.CompletedTask;
    }

    private IEnumerable<ApiEndpoint> Protected =>
        EndpointCatalog.From(_host.Services).Where(e => !(e.AllowsAnonymous && EndpointPolicyTests.IsAllowListed(e)));

    private string Body(ApiEndpoint e) =>
        ValidBodies.For(e, ValidBodies.Filler(_world.VictimOrgId, _world.CoachA, _world.CohortA, _world.ClientA1)) ?? "";

    /// <summary>Query values aimed at A's side too (GET /touches?clientId=A1 …); other query parameters are left out.</summary>
    private string Query(ApiEndpoint e)
    {
        var pairs = e.QueryParameters.Select(q => (q.Name, Value: q.Name.ToLowerInvariant() switch
        {
            "clientid" or "targetid" or "subjectid" => _world.ClientA1,
            "coachid" or "actorid" => _world.CoachA,
            "cohortid" => _world.CohortA,
            _ => null,
        })).Where(p => p.Value is not null).Select(p => p.Name + "=" + Uri.EscapeDataString(p.Value!)).ToList();
        return pairs.Count == 0 ? "" : "?" + string.Join("&", pairs);
    }

    private async Task<HttpResponseMessage> CallAsync(ApiEndpoint e, string? key) =>
        await _world.As(key).RawAsync(e.Method, e.Url(_world.VictimValue) + Query(e), e.BodyType is null ? null : Body(e));

    public static TheoryData<string> Callers => new() { "no key", "another org's admin", "coach B (same org)", "client B1's link" };

    private string? KeyOf(string caller) => caller switch
    {
        "no key" => null,
        "another org's admin" => _world.AttackerAdminKey,
        "coach B (same org)" => _world.CoachBKey,
        "client B1's link" => _world.ClientB1Link,
        _ => throw new ArgumentOutOfRangeException(nameof(caller)),
    };

    [Theory]
    [MemberData(nameof(Callers))]
    public async Task NoCallerOutsideASideReachesItsData(string caller)
    {
        var failures = new List<string>();
        var before = _world.VictimRowsHash();
        var endpoints = Protected.ToList();
        Assert.True(endpoints.Count >= 30, $"only {endpoints.Count} endpoints enumerated");

        foreach (var e in endpoints)
        {
            var response = await CallAsync(e, KeyOf(caller));
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            if (status >= 500) failures.Add($"{e}: {status}");
            else if (caller == "no key" && status != 401) failures.Add($"{e}: {status} without a key (expected 401)");
            else if (e.RouteParameters.Count > 0 && status is not (401 or 403 or 404)) failures.Add($"{e}: {status} for A's ids");
            if (SecurityWorld.Secrets.FirstOrDefault(s => text.Contains(s, StringComparison.OrdinalIgnoreCase)) is { } leaked)
                failures.Add($"{e}: the answer contains A's '{leaked}'");
            var after = _world.VictimRowsHash();
            if (after != before)
            {
                failures.Add($"{e}: changed rows of A's side ({status})");
                before = after;
            }
        }

        Assert.True(failures.Count == 0, $"{caller}:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task TheSameCallsReachTheDataForTheRightCallerSoTheRefusalsAboveMeanSomething()
    {
        var failures = new List<string>();
        // Operator-only endpoints (the cluster view) are no org's data: no org key reaches them, which the callers above check.
        var gets = Protected.Where(e => e.Method == "GET" && !e.Policies.Contains("operator") && e.RouteParameters.All(SecurityWorld.IsKnownParameter)).ToList();
        Assert.NotEmpty(gets);
        foreach (var e in gets)
        {
            // The victim org's admin sees everything in the org through the very same URLs.
            var admin = await CallAsync(e, _world.VictimAdminKey);
            if (!admin.IsSuccessStatusCode) failures.Add($"{e}: {(int)admin.StatusCode} for the victim's admin");
            // Coach A sees their own side wherever a coach may look at all (keys and the audit log are admins').
            if (!e.Policies.Contains("org-admin-only") && e.Route is not "/api/v1/touches")
            {
                var coach = await CallAsync(e, _world.CoachAKey);
                if (!coach.IsSuccessStatusCode) failures.Add($"{e}: {(int)coach.StatusCode} for coach A");
            }
        }
        // Client A1's own link opens their own loop, and nothing of B1's.
        foreach (var path in new[] { "", "/timeline", "/export" })
        {
            Assert.Equal(HttpStatusCode.OK, (await _world.As(_world.ClientA1Link).GetAsync($"/api/v1/clients/{_world.ClientA1}{path}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await _world.As(_world.ClientA1Link).GetAsync($"/api/v1/clients/{_world.ClientB1}{path}")).StatusCode);
        }
        var own = await (await _world.As(_world.VictimAdminKey).GetAsync($"/api/v1/clients/{_world.ClientA1}/export")).Content.ReadAsStringAsync();
        Assert.Contains("Victima Secretname", own, StringComparison.Ordinal);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
