using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>One HTTP method on one route the host maps, with what the tests need to call it.</summary>
public sealed record ApiEndpoint(
    string Method,
    RoutePattern Pattern,
    IReadOnlyList<string> RouteParameters,
    IReadOnlyList<(string Name, Type Type)> QueryParameters,
    Type? BodyType,
    IReadOnlyList<string> Policies,
    bool HasAuthorizeData,
    bool AllowsAnonymous,
    bool RequiresAntiforgery,
    bool BindsForm)
{
    /// <summary>The route as written, without a trailing slash: "/api/v1/clients/{clientId}".</summary>
    public string Route => "/" + (Pattern.RawText ?? "").Trim('/');

    public override string ToString() => $"{Method} {Route}";

    /// <summary>The route with each parameter replaced (values are escaped unless <paramref name="raw"/>).</summary>
    public string Url(Func<string, string> valueOf, bool raw = false)
    {
        var path = new StringBuilder();
        foreach (var segment in Pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    RoutePatternLiteralPart l => l.Content,
                    RoutePatternSeparatorPart s => s.Content,
                    RoutePatternParameterPart p => raw ? valueOf(p.Name) : Uri.EscapeDataString(valueOf(p.Name)),
                    _ => "",
                });
            }
        }
        return path.Length == 0 ? "/" : path.ToString();
    }
}

/// <summary>
/// Every endpoint the host maps, read from its <see cref="EndpointDataSource"/>: so an endpoint added later (on any
/// branch) is enumerated by the security tests without anyone listing it.
/// </summary>
public static class EndpointCatalog
{
    private static readonly HashSet<Type> s_simple =
    [
        typeof(string), typeof(int), typeof(long), typeof(bool), typeof(double), typeof(decimal), typeof(Guid),
        typeof(DateTimeOffset), typeof(DateTime), typeof(DateOnly), typeof(TimeOnly),
    ];

    public static IReadOnlyList<ApiEndpoint> From(IServiceProvider services) =>
        From(services.GetRequiredService<EndpointDataSource>().Endpoints, services.GetService<IServiceProviderIsService>());

    public static IReadOnlyList<ApiEndpoint> From(IEnumerable<Endpoint> endpoints, IServiceProviderIsService? isService = null)
    {
        var result = new List<ApiEndpoint>();
        foreach (var e in endpoints.OfType<RouteEndpoint>())
        {
            var methods = e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            var routeParams = e.RoutePattern.Parameters.Select(p => p.Name).ToList();
            var handler = e.Metadata.OfType<MethodInfo>().FirstOrDefault();
            var query = handler?.GetParameters()
                .Where(p => p.Name is not null && !routeParams.Contains(p.Name, StringComparer.OrdinalIgnoreCase))
                .Where(p => IsSimple(p.ParameterType) && p.GetCustomAttributes().All(a => a is not IFromServiceMetadata and not IFromBodyMetadata and not IFromHeaderMetadata))
                .Where(p => isService?.IsService(p.ParameterType) != true)
                .Select(p => (p.Name!, Nullable.GetUnderlyingType(p.ParameterType) ?? p.ParameterType))
                .ToList() ?? [];
            var body = e.Metadata.OfType<IAcceptsMetadata>().FirstOrDefault(a => a.ContentTypes.Any(c => c.Contains("json", StringComparison.OrdinalIgnoreCase)))?.RequestType;
            var form = e.Metadata.OfType<IAcceptsMetadata>().Any(a => a.ContentTypes.Any(c => c.Contains("form", StringComparison.OrdinalIgnoreCase)));
            var authorize = e.Metadata.GetOrderedMetadata<IAuthorizeData>();
            var anonymous = e.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var antiforgery = e.Metadata.GetMetadata<IAntiforgeryMetadata>()?.RequiresValidation == true;
            foreach (var method in methods)
                result.Add(new ApiEndpoint(method, e.RoutePattern, routeParams, query, body,
                    authorize.Select(a => a.Policy ?? (a.Roles is null ? "(authenticated)" : "roles:" + a.Roles)).Distinct().ToList(),
                    authorize.Count > 0, anonymous, antiforgery, form));
        }
        return result.OrderBy(e => e.Route, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal).ToList();
    }

    private static bool IsSimple(Type t) => s_simple.Contains(Nullable.GetUnderlyingType(t) ?? t) || (Nullable.GetUnderlyingType(t) ?? t).IsEnum;

    /// <summary>A body of the right shape for a type nobody wrote a sample for: every property present with a plain value.</summary>
    public static JsonNode? SampleBody(Type type, int depth = 0)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (depth > 4) return null;
        if (t == typeof(string)) return JsonValue.Create("sample");
        if (t == typeof(bool)) return JsonValue.Create(true);
        if (t == typeof(int) || t == typeof(long) || t == typeof(double) || t == typeof(decimal)) return JsonValue.Create(1);
        if (t == typeof(DateTimeOffset) || t == typeof(DateTime)) return JsonValue.Create("2026-03-03T10:00:00Z");
        if (t == typeof(DateOnly)) return JsonValue.Create("2026-03-03");
        if (t == typeof(TimeOnly)) return JsonValue.Create("10:00");
        if (t.IsEnum) return JsonValue.Create(Enum.GetNames(t)[0]);
        // A dictionary is a JSON object (answers by question key), not the array of pairs its IEnumerable would suggest.
        var dictionary = t.GetInterfaces().Concat([t]).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary?.GetGenericArguments() is [var keyType, var valueType] && keyType == typeof(string))
            return new JsonObject { ["sample"] = SampleBody(valueType, depth + 1) };
        var element = t.IsArray ? t.GetElementType() : t.GetInterfaces().Concat([t]).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
        if (element is not null) return new JsonArray(SampleBody(element, depth + 1));
        var obj = new JsonObject();
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || t.GetConstructors().Any(c => c.GetParameters().Any(a => a.Name == p.Name))))
            obj[char.ToLowerInvariant(p.Name[0]) + p.Name[1..]] = SampleBody(p.PropertyType, depth + 1);
        return obj;
    }
}
