using System.Net;
using System.Text;
using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests.Security;

public sealed class LimitsTests
{
    /// <summary>A client whose name is <paramref name="nameLength"/> characters of "ü", escaped as JSON serializers write it (6 bytes each).</summary>
    private static string Client(int i, int nameLength = 200) =>
        $$"""{"name":"{{string.Concat(Enumerable.Repeat(@"\u00fc", nameLength - 6))}}{{i:000000}}","email":"client{{i}}@example.com","timeZone":"America/New_York","preferredHour":9}""";

    [Fact]
    public async Task ABodyOverOneMegabyteIsA413ProblemAndChangesNothing()
    {
        using var host = new TestHost();
        var org = await Org.CreateAsync(host);
        var before = await host.Store.QueryGrainsAsync(new Runtime.Storage.GrainQuery(org.OrgId, "Coach"), default);

        var response = await org.Api.RawAsync("POST", "/api/v1/coaches", $$"""{"name":"{{new string('x', 1024 * 1024)}}","timeZone":"UTC"}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("1048576", (await response.ReadJsonAsync())["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before.Count, (await host.Store.QueryGrainsAsync(new Runtime.Storage.GrainQuery(org.OrgId, "Coach"), default)).Count);
    }

    [Fact]
    public async Task TheBulkEndpointTakesAThousandLongRecordsButNotMoreThanAThousandNorFourMegabytes()
    {
        using var host = new TestHost();
        var org = await Org.CreateAsync(host);
        var url = $"/api/v1/cohorts/{org.CohortId}/clients/bulk";

        // 1000 clients with 200-character names: about 1.3 MB, over the default limit and within the bulk one.
        var thousand = "{\"clients\":[" + string.Join(",", Enumerable.Range(0, 1000).Select(i => Client(i))) + "]}";
        Assert.True(Encoding.UTF8.GetByteCount(thousand) > 1024 * 1024);
        var accepted = await org.Api.RawAsync("POST", url, thousand);
        await Http.ExpectAsync(accepted, 202);
        Assert.Equal(1000, (await accepted.ReadJsonAsync())["accepted"]!.GetValue<int>());

        var tooMany = await org.Api.RawAsync("POST", url, "{\"clients\":[" + string.Join(",", Enumerable.Range(0, 1001).Select(i => Client(i, 20))) + "]}");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.True((await tooMany.ReadJsonAsync())["errors"]!.AsObject().ContainsKey("clients"));

        var huge = await org.Api.RawAsync("POST", url, "{\"clients\":[" + Client(0) + "],\"pad\":\"" + new string('p', 4 * 1024 * 1024) + "\"}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal("application/problem+json", huge.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task OnARealServerABodyWithoutAContentLengthIsCutOffAtTheLimitToo()
    {
        using var host = new TestHost();
        host.UseKestrel(0);
        host.StartServer();
        var created = await host.Operator().PostJsonAsync("/api/v1/orgs", new { name = "Kestrel Org" }, 201);
        var api = host.ClientWithKey(created["apiKey"]!.GetValue<string>());

        // Chunked transfer: Kestrel counts the bytes as they arrive, since no Content-Length announced them.
        var body = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"name":"{{new string('x', 2 * 1024 * 1024)}}","timeZone":"UTC"}""")));
        body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/coaches") { Content = body };
        request.Headers.TransferEncodingChunked = true;
        var response = await api.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(await host.Store.QueryGrainsAsync(new Runtime.Storage.GrainQuery(created["orgId"]!.GetValue<string>(), "Coach"), default));
    }

    private static TestHost Limited(int perKey, int perIp)
    {
        var host = new TestHost();
        host.Settings["RateLimiting:Enabled"] = "true";
        host.Settings["RateLimiting:PerKey:PermitLimit"] = perKey.ToString(System.Globalization.CultureInfo.InvariantCulture);
        host.Settings["RateLimiting:PerKey:TokensPerPeriod"] = "1";
        // Refills an hour apart: no token comes back while the test runs, so nothing here depends on the wall clock.
        host.Settings["RateLimiting:PerKey:Period"] = "01:00:00";
        host.Settings["RateLimiting:PerIp:PermitLimit"] = perIp.ToString(System.Globalization.CultureInfo.InvariantCulture);
        host.Settings["RateLimiting:PerIp:TokensPerPeriod"] = "1";
        host.Settings["RateLimiting:PerIp:Period"] = "01:00:00";
        return host;
    }

    [Fact]
    public async Task EachKeyHasItsOwnBudgetAndBeyondItTheAnswerIs429WithRetryAfter()
    {
        using var host = Limited(perKey: 3, perIp: 1000);
        var first = host.ClientWithKey("cg_key-one-000000000000000");
        var second = host.ClientWithKey("cg_key-two-000000000000000");

        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.Unauthorized, (await first.GetAsync("/api/v1/org")).StatusCode);
        var limited = await first.GetAsync("/api/v1/org");

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Equal(TimeSpan.FromHours(1), limited.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.Unauthorized, (await second.GetAsync("/api/v1/org")).StatusCode);
        // Probes are never limited.
        Assert.Equal(HttpStatusCode.OK, (await first.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task OneAddressIsLimitedWhateverKeysItTries()
    {
        using var host = Limited(perKey: 1000, perIp: 5);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++) statuses.Add((await host.ClientWithKey(i % 2 == 0 ? null : $"cg_guess-{i:0000000000000000}").GetAsync("/api/v1/org")).StatusCode);

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5), statuses.Take(5));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[5]);
        // Probes and provider webhooks (signed, bursty, not always retried) are never limited.
        Assert.Equal(HttpStatusCode.OK, (await host.ClientWithKey(null).GetAsync("/health/live")).StatusCode);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, (await host.ClientWithKey(null).PostAsync("/webhooks/twilio/status", null)).StatusCode);
    }

    [Fact]
    public async Task AnOrgsSignedInboundEventsAreLimitedPerAddressUnlikeProviderWebhooks()
    {
        using var host = Limited(perKey: 1000, perIp: 3);
        var anonymous = host.ClientWithKey(null);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++) statuses.Add((await anonymous.PostAsync("/api/v1/events/session-completed", Http.RawJson("{}"))).StatusCode);

        // No key to budget by, so the address's bucket is the one that counts: the fourth is refused before any signature work.
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 3), statuses.Take(3));
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[3]);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, (await anonymous.PostAsync("/webhooks/twilio/status", null)).StatusCode);
    }

    [Fact]
    public async Task SwitchedOffByConfigurationNothingIsLimited()
    {
        using var host = new TestHost(); // RateLimiting:Enabled=false, as the load tests run
        var org = await Org.CreateAsync(host);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => org.Api.GetAsync("/api/v1/org")));
        Assert.All(statuses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Fact]
    public async Task TheDefaultsAreOnAndGenerous()
    {
        using var host = new TestHost();
        host.Settings["RateLimiting:Enabled"] = "true";
        var org = await Org.CreateAsync(host);
        // A burst a busy dashboard or an import script might send passes untouched.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 150).Select(_ => org.Api.GetAsync("/api/v1/org")));
        Assert.All(statuses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<CohortGrains.Host.Infrastructure.RateLimitingOptions>>().Value;
        Assert.True(options.Enabled);
        Assert.Equal((200, 20, TimeSpan.FromSeconds(1)), (options.PerKey.PermitLimit, options.PerKey.TokensPerPeriod, options.PerKey.Period));
    }
}
