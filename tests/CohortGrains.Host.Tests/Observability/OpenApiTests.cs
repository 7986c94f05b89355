using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests.Observability;

/// <summary>/openapi/v1.json describes every /api/v1 endpoint the host actually maps, with bodies and problem responses.</summary>
public sealed class OpenApiTests : IClassFixture<OpenApiTests.Fixture>
{
    public sealed class Fixture : IAsyncLifetime
    {
        public TestHost Host { get; } = new();
        public JsonNode Document { get; private set; } = null!;

        public async Task InitializeAsync() =>
            // No key: the document is public, like any API reference.
            Document = await Host.CreateClient().GetJsonAsync("/openapi/v1.json");

        public Task DisposeAsync()
        {
            Host.Dispose();
            return Task.CompletedTask;
        }
    }

    private readonly Fixture _fx;

    public OpenApiTests(Fixture fx) => _fx = fx;

    /// <summary>(method, path) of every mapped /api/v1 endpoint, from the host's own endpoint data source.</summary>
    public static IReadOnlyList<(string Method, string Path)> ApiEndpoints(IServiceProvider services) =>
        services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.TrimStart('/').StartsWith("api/v1", StringComparison.Ordinal))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, Normalize(e.RoutePattern.RawText!))))
            .Distinct()
            .OrderBy(e => e.Item2).ThenBy(e => e.m)
            .ToList();

    public static string Normalize(string path) => "/" + path.Trim('/');

    private IEnumerable<(string Method, string Path, JsonNode Operation)> Operations() =>
        _fx.Document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => (o.Key.ToUpperInvariant(), Normalize(p.Key), o.Value!)));

    [Fact]
    public void EveryMappedApiEndpointIsInTheDocumentWithItsMethod()
    {
        var mapped = ApiEndpoints(_fx.Host.Services);
        Assert.True(mapped.Count >= 28, $"only {mapped.Count} endpoints found: is the data source the host's?");
        var documented = Operations().Select(o => (o.Method, o.Path)).ToHashSet();

        var missing = mapped.Where(e => !documented.Contains(e)).ToList();

        Assert.True(missing.Count == 0, "not in /openapi/v1.json: " + string.Join(", ", missing.Select(m => $"{m.Method} {m.Path}")));
    }

    [Fact]
    public void EveryApiOperationDescribesItsSuccessWithASchemaAndItsErrorsAsProblemDetails()
    {
        foreach (var (method, path, operation) in Operations().Where(o => o.Path.StartsWith("/api/v1", StringComparison.Ordinal)))
        {
            var responses = operation["responses"]!.AsObject();
            var success = responses.Where(r => r.Key.StartsWith('2')).ToList();
            Assert.True(success.Count == 1, $"{method} {path}: expected one 2xx response, got {string.Join(",", responses.Select(r => r.Key))}");
            // Downloads describe their body under their own media type (a spreadsheet, a printable page); the rest answer JSON.
            var mediaType = path.EndsWith(".csv", StringComparison.Ordinal) ? "text/csv" : path.EndsWith(".html", StringComparison.Ordinal) ? "text/html" : "application/json";
            Assert.True(success[0].Value!["content"]?[mediaType]?["schema"] is not null, $"{method} {path}: the {success[0].Key} response has no {mediaType} schema");

            foreach (var status in new[] { "401", "403", "500" })
                Assert.True(ProblemSchema(responses, status) == "ProblemDetails", $"{method} {path}: {status} is not a problem-details response");
            // Whatever else can go wrong is a problem too: 400 names fields, 404/409 say why.
            Assert.All(responses.Where(r => r.Key is "400" or "404" or "409"), r =>
                Assert.True(ProblemSchema(responses, r.Key) is "ProblemDetails" or "HttpValidationProblemDetails", $"{method} {path}: {r.Key}"));
        }
    }

    [Theory]
    [InlineData("POST", "/api/v1/orgs", "CreateOrgRequest", "201", "CreatedOrgResponse")]
    [InlineData("POST", "/api/v1/cohorts/{cohortId}/clients", "EnrollRequest", "201", "ClientResponse")]
    [InlineData("POST", "/api/v1/cohorts/{cohortId}/clients/bulk", "BulkEnrollRequest", "202", "BulkEnrollResponse")]
    [InlineData("POST", "/api/v1/clients/{clientId}/sessions", "LogSessionRequest", "201", "LoggedSessionResponse")]
    [InlineData("POST", "/api/v1/clients/{clientId}/replies", "ReplyRequest", "200", "ReplyResponse")]
    [InlineData("PUT", "/api/v1/coaches/{coachId}/availability", "SetAvailabilityRequest", "200", "CoachResponse")]
    public void CommandsDescribeTheirRequestAndResponseBodiesAndValidationErrors(string method, string path, string request, string status, string response)
    {
        var operation = Operations().Single(o => o.Method == method && o.Path == path).Operation;

        // The handlers take a nullable body (a missing one is a 400 naming it), so the schema is "null or the request".
        Assert.EndsWith("/" + request, SchemaRef(operation["requestBody"]!["content"]!["application/json"]!["schema"]!));
        Assert.EndsWith("/" + response, operation["responses"]![status]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Equal("HttpValidationProblemDetails", ProblemSchema(operation["responses"]!.AsObject(), "400"));
        Assert.NotNull(_fx.Document["components"]!["schemas"]![request]!["properties"]);
    }

    [Fact]
    public void TheDocumentSaysHowToAuthenticateAndThatProbesNeedNoKey()
    {
        Assert.Equal("bearer", _fx.Document["components"]!["securitySchemes"]!["bearer"]!["scheme"]!.GetValue<string>());
        Assert.NotNull(_fx.Document["security"]![0]!["bearer"]);
        var ready = Operations().Single(o => o.Path == "/health/ready").Operation;
        Assert.Empty(ready["security"]!.AsArray());
        Assert.DoesNotContain(Operations(), o => o.Path is "/metrics" or "/openapi/v1.json");
    }

    private static string SchemaRef(JsonNode schema) =>
        schema["$ref"]?.GetValue<string>()
        ?? schema["oneOf"]!.AsArray().Select(s => s!["$ref"]?.GetValue<string>()).Single(r => r is not null)!;

    private static string? ProblemSchema(JsonObject responses, string status) =>
        responses[status]?["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>().Split('/')[^1];
}
