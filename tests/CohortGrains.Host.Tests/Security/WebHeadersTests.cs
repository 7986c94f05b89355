using System.Net;
using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests.Security;

public sealed class WebHeadersTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    public static TheoryData<string, string?, int> Responses => new()
    {
        { "/health/live", null, 200 },
        { "/api/v1/org", null, 401 },
        { "/api/v1/no-such-thing", TestHost.OperatorKey, 404 },
        { "/api/v1/dashboard", TestHost.OperatorKey, 403 },
        { "/api/v1/touches?limit=0", "org", 400 },
        { "/api/v1/org", "org", 200 },
    };

    [Theory]
    [MemberData(nameof(Responses))]
    public async Task EveryResponseCarriesTheSecurityHeaders(string path, string? key, int status)
    {
        var apiKey = key == "org" ? (await Org.CreateAsync(_host, activate: false)).ApiKey : key;

        var response = await _host.ClientWithKey(apiKey).GetAsync(path);

        Assert.Equal(status, (int)response.StatusCode);
        var csp = Header(response, "Content-Security-Policy");
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Contains("camera=()", Header(response, "Permissions-Policy"), StringComparison.Ordinal);
        Assert.Contains("geolocation=()", Header(response, "Permissions-Policy"), StringComparison.Ordinal);
        Assert.Equal("same-origin", Header(response, "Cross-Origin-Opener-Policy"));
        // Plain HTTP here: HSTS is only sent over HTTPS, where it means something.
        Assert.False(response.Headers.Contains("Strict-Transport-Security"));
        if (path.StartsWith("/api/", StringComparison.Ordinal)) Assert.True(response.Headers.CacheControl?.NoStore);
    }

    [Fact]
    public async Task AnEndpointsOwnStricterPolicyIsKeptAndTheOtherHeadersStillArrive()
    {
        var org = await Org.CreateAsync(_host);

        var report = await org.Api.GetAsync($"/api/v1/cohorts/{org.CohortId}/report.html");
        var page = await _host.ClientWithKey(org.ApiKey).GetAsync("/api/v1/org");

        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        // Exactly the report's policy: one header, not the site-wide one replacing it or added beside it.
        var csp = Header(report, "Content-Security-Policy");
        Assert.Equal(CohortGrains.Host.Imports.ProgramReport.ContentSecurityPolicy, csp);
        Assert.StartsWith("default-src 'none';", csp, StringComparison.Ordinal);
        foreach (var directive in new[] { "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'" })
            Assert.Contains(directive, csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        // The hash names the page's style block exactly, or a browser would print the report unstyled.
        var html = await report.Content.ReadAsStringAsync();
        var start = html.IndexOf("<style>", StringComparison.Ordinal) + "<style>".Length;
        var style = html[start..html.IndexOf("</style>", start, StringComparison.Ordinal)];
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(style)));
        Assert.Contains($"style-src 'sha256-{hash}'", csp, StringComparison.Ordinal);
        Assert.Equal("DENY", Header(report, "X-Frame-Options"));
        Assert.Equal("nosniff", Header(report, "X-Content-Type-Options"));
        Assert.Equal("no-referrer", Header(report, "Referrer-Policy"));
        Assert.True(report.Headers.CacheControl?.NoStore);
        // Everywhere else the site-wide policy still applies.
        Assert.Contains("script-src 'self'", Header(page, "Content-Security-Policy"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverHttpsTheBrowserIsToldToStayOnHttps()
    {
        var client = _host.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost") });
        var response = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("max-age=31536000", Header(response, "Strict-Transport-Security"), StringComparison.Ordinal);
    }

    [Fact]
    public void AntiforgeryTokensLiveInASecureStrictHttpOnlyCookie()
    {
        var antiforgery = _host.Services.GetRequiredService<IAntiforgery>();
        var http = new DefaultHttpContext { RequestServices = _host.Services };
        http.Request.Scheme = "https";

        var tokens = antiforgery.GetAndStoreTokens(http);

        Assert.False(string.IsNullOrEmpty(tokens.RequestToken));
        Assert.Equal("X-CSRF-TOKEN", tokens.HeaderName);
        var cookie = http.Response.Headers.SetCookie.ToString().ToLowerInvariant();
        Assert.StartsWith("cg.antiforgery=", cookie, StringComparison.Ordinal);
        Assert.Contains("secure", cookie, StringComparison.Ordinal);
        Assert.Contains("samesite=strict", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.Ordinal);
        // The header middleware sends DENY; antiforgery must not add a weaker SAMEORIGIN of its own.
        Assert.False(http.Response.Headers.ContainsKey("X-Frame-Options"));
    }

    [Fact]
    public void PlainHttpDevelopmentCanRelaxTheSecureFlagByConfiguration()
    {
        using var host = new TestHost();
        host.Settings["Web:RequireSecureCookies"] = "false";
        var http = new DefaultHttpContext { RequestServices = host.Services };
        http.Request.Scheme = "http";

        host.Services.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);

        Assert.DoesNotContain("secure", http.Response.Headers.SetCookie.ToString().ToLowerInvariant(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HtmlInDataComesBackJsonEscaped()
    {
        var org = await Org.CreateAsync(_host);
        var created = await org.Api.RawAsync("POST", "/api/v1/coaches", """{"name":"<script>alert('x')</script> & co","timeZone":"UTC"}""");
        var raw = await created.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.DoesNotContain("<script>", raw, StringComparison.Ordinal);
        Assert.Contains("\\u003Cscript\\u003E", raw, StringComparison.Ordinal);
        Assert.Equal("<script>alert('x')</script> & co", (await created.ReadJsonAsync())["name"]!.GetValue<string>());
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values)
        : response.Content.Headers.TryGetValues(name, out var content) ? string.Join(",", content)
        : throw new Xunit.Sdk.XunitException($"no {name} header on {response.RequestMessage?.RequestUri} ({(int)response.StatusCode})");
}
