using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace CohortGrains.Host.Observability;

/// <summary>
/// The OpenAPI document at /openapi/v1.json (Microsoft.AspNetCore.OpenApi), built from the endpoints' own metadata:
/// typed results describe themselves; handlers returning IResult declare their responses with <see cref="ProducesCommand{T}"/>.
/// </summary>
public static class ApiDocs
{
    public const string DocumentName = "v1";
    public const string SecurityScheme = "bearer";

    public static IServiceCollection AddApiDocs(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, o =>
        {
            // The API and the probes; /metrics and the document itself are not API.
            o.ShouldInclude = d => d.RelativePath is { } p && (p.StartsWith("api/v1", StringComparison.Ordinal) || p.StartsWith("health/", StringComparison.Ordinal));
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "CohortGrains API",
                    Version = "v1",
                    Description = "Check-in loops for coaching cohorts. Every /api/v1 call takes 'Authorization: Bearer <key>' " +
                        "(an org key, or the operator key for POST /orgs). Errors are RFC 7807 problem details; invalid input is a 400 " +
                        "naming each field. Every response carries X-Correlation-Id (yours if you sent one).",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key: cg_…",
                };
                document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecurityScheme, document)] = [] }];
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                // Probes take no key: say so instead of inheriting the document's requirement.
                if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any()) operation.Security = [];
                return Task.CompletedTask;
            });
        });

    /// <summary>
    /// Conventions for the /api/v1 group: each endpoint is tagged with its feature (the first path segment) and may
    /// answer 401 (no or unknown key), 403 (a key of the wrong role) and 500, all as problem details.
    /// </summary>
    public static RouteGroupBuilder WithApiDocs(this RouteGroupBuilder api)
    {
        api.ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status500InternalServerError);
        ((IEndpointConventionBuilder)api).Add(endpoint =>
        {
            if (endpoint is RouteEndpointBuilder { RoutePattern.RawText: { } raw } && Feature(raw) is { } feature)
                endpoint.Metadata.Add(new TagsAttribute(feature));
        });
        return api;
    }

    /// <summary>"/api/v1/cohorts/{cohortId}/clients" → "Cohorts"; "/api/v1/org" → "Orgs".</summary>
    public static string? Feature(string route)
    {
        var segments = route.Trim('/').Split('/');
        if (segments.Length < 3) return null;
        var first = segments[2] == "org" ? "orgs" : segments[2];
        return char.ToUpperInvariant(first[0]) + first[1..];
    }

    /// <summary>
    /// For handlers that return IResult: the success response and the problems every grain command can answer —
    /// 400 (validation, naming the field), 404 (unknown id) and 409 (the grain's state refuses it).
    /// </summary>
    public static RouteHandlerBuilder ProducesCommand<T>(this RouteHandlerBuilder endpoint, int status = StatusCodes.Status200OK) =>
        endpoint.Produces<T>(status)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
}
