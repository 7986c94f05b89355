using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests.Security;

/// <summary>
/// Who may call what is declared on every endpoint, read from the host's endpoint data source: an endpoint added
/// later (on any branch) without a decision fails here, before anyone has to remember to list it.
/// </summary>
public sealed class EndpointPolicyTests : IDisposable
{
    /// <summary>
    /// The only routes anyone may call without credentials: probes, the scrape endpoint (which checks its own scrape key
    /// unless configured open), provider webhooks (which check the provider's signature), the OpenAPI description (the
    /// shape of the API, no data), the one-tap pages of our emails (/r/, /unsubscribe/: the signed token in the path
    /// is the permission, for one client and one purpose), and an org's inbound session.completed event (a scheduler or
    /// CRM holds the org's shared secret, not a user's key: the HMAC over timestamp and body, checked before the body is
    /// parsed, is the permission, for that org only; unlike provider webhooks it is rate limited per address).
    /// Adding a prefix here is a security decision: say why.
    /// </summary>
    public static readonly string[] AnonymousPrefixes =
        ["/health/", "/webhooks/", "/metrics", "/openapi/", "/r/", "/unsubscribe/", "/api/v1/events/session-completed"];

    /// <summary>
    /// Web pages anyone may open, by exact route (never a prefix: the pages under them need a session). The sign-in page
    /// takes a key and shows nothing without one; the magic-link landing page trades the signed, revocable token in its
    /// query for a session and, without one, only says how to get a link.
    /// </summary>
    public static readonly string[] AnonymousPages = ["/", "/portal"];

    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    public static IEnumerable<string> WithoutAuthorizationDecision(IEnumerable<ApiEndpoint> endpoints) =>
        endpoints.Where(e => !e.HasAuthorizeData && !e.AllowsAnonymous).Select(e => e.ToString());

    public static IEnumerable<string> AnonymousOutsideTheAllowList(IEnumerable<ApiEndpoint> endpoints) =>
        endpoints.Where(e => e.AllowsAnonymous && !IsAllowListed(e)).Select(e => e.ToString());

    public static bool IsAllowListed(ApiEndpoint e) =>
        AnonymousPages.Contains(e.Route, StringComparer.OrdinalIgnoreCase) ||
        AnonymousPrefixes.Any(p => (e.Route + "/").StartsWith(p.TrimEnd('/') + "/", StringComparison.OrdinalIgnoreCase));

    [Fact]
    public void TheCatalogSeesEveryFeatureOfTheApi()
    {
        var endpoints = EndpointCatalog.From(_host.Services);
        var routes = endpoints.Select(e => e.ToString()).ToHashSet();

        // A sample per feature folder, including this issue's: if enumeration broke, these would be missing.
        foreach (var expected in new[]
                 {
                     "POST /api/v1/orgs", "GET /api/v1/coaches/{coachId}", "POST /api/v1/cohorts/{cohortId}/clients/bulk",
                     "POST /api/v1/clients/{clientId}/sessions", "POST /api/v1/clients/{clientId}/replies", "GET /api/v1/dashboard",
                     "GET /api/v1/touches", "POST /api/v1/keys", "DELETE /api/v1/keys/{keyId}", "GET /api/v1/audit",
                     "POST /api/v1/clients/{clientId}/links", "GET /api/v1/clients/{clientId}/export", "DELETE /api/v1/clients/{clientId}",
                     "GET /health/live",
                 })
            Assert.Contains(expected, routes);
        var replies = endpoints.Single(e => e.ToString() == "POST /api/v1/clients/{clientId}/replies");
        Assert.Equal("ReplyRequest", replies.BodyType?.Name);
        Assert.Equal(["clientId"], replies.RouteParameters);
        Assert.Equal(["clientId", "status", "channel", "limit", "before"], endpoints.Single(e => e.ToString() == "GET /api/v1/touches").QueryParameters.Select(q => q.Name));
    }

    [Fact]
    public void EveryEndpointDeclaresWhoMayCallIt()
    {
        var missing = WithoutAuthorizationDecision(EndpointCatalog.From(_host.Services)).ToList();
        Assert.True(missing.Count == 0, "These endpoints have neither RequireAuthorization nor AllowAnonymous: " + string.Join(", ", missing));
    }

    [Fact]
    public void OnlyAllowListedRoutesAreAnonymous()
    {
        var endpoints = EndpointCatalog.From(_host.Services);
        var open = AnonymousOutsideTheAllowList(endpoints).ToList();
        Assert.True(open.Count == 0, "Anonymous endpoints outside the allow-list (" + string.Join(", ", AnonymousPrefixes) + "): " + string.Join(", ", open));
        Assert.Contains(endpoints, e => e.AllowsAnonymous && e.Route == "/health/live");
    }

    [Fact]
    public void EveryEndpointThatReadsAFormValidatesAntiforgeryUnlessItIsAWebhook()
    {
        // Forms come from our server-rendered pages and are posted with the user's cookies; webhooks carry a provider's signature instead.
        var unprotected = EndpointCatalog.From(_host.Services).Where(e => e.BindsForm && !e.RequiresAntiforgery && !e.Route.StartsWith("/webhooks/", StringComparison.Ordinal)).ToList();
        Assert.True(unprotected.Count == 0, "Form endpoints without antiforgery: " + string.Join(", ", unprotected));
    }

    [Fact]
    public async Task TheChecksCatchAnEndpointWithoutADecisionAndAnAnonymousOneOutsideTheList()
    {
        // The checks above would pass vacuously if they could not see a bad endpoint: show them one.
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddAuthorization();
        builder.Services.AddAntiforgery();
        await using var app = builder.Build();
        app.MapGet("/api/v1/forgotten", () => "data");
        app.MapGet("/api/v1/open", () => "data").AllowAnonymous();
        app.MapGet("/health/fine", () => "ok").AllowAnonymous();
        app.MapPost("/api/v1/form", ([Microsoft.AspNetCore.Mvc.FromForm] string name) => name).RequireAuthorization().DisableAntiforgery();
        var endpoints = EndpointCatalog.From(((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints));

        Assert.Equal(["GET /api/v1/forgotten"], WithoutAuthorizationDecision(endpoints));
        Assert.Equal(["GET /api/v1/open"], AnonymousOutsideTheAllowList(endpoints));
        Assert.Contains(endpoints, e => e.BindsForm && !e.RequiresAntiforgery);
    }
}
