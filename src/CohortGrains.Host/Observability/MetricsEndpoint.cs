using System.Diagnostics.Metrics;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Observability;

/// <summary>
/// Who may scrape <c>GET /metrics</c>. By default only a caller with the operator key. A Prometheus server should get
/// the <see cref="ScrapeKey"/> instead: it opens /metrics and nothing else, so a leaked Prometheus config cannot
/// create orgs. <see cref="AllowAnonymous"/> opens /metrics to anyone, for nodes reachable only on a private network.
/// </summary>
public sealed class MetricsOptions
{
    public bool AllowAnonymous { get; set; }

    /// <summary>Sent by Prometheus as "Authorization: Bearer &lt;key&gt;" (scrape config: authorization.credentials_file).</summary>
    public string? ScrapeKey { get; set; }

    /// <summary>How long backlog figures read from the store are reused between scrapes (0 = ask every scrape).</summary>
    public TimeSpan StoreCacheDuration { get; set; } = TimeSpan.FromSeconds(2);
}

public static class MetricsEndpoint
{
    /// <summary>Our meters, and only those created by this host's meter factory (tests run several hosts in one process).</summary>
    public static PrometheusExporter CreateExporter(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        return new PrometheusExporter(i => ReferenceEquals(i.Meter.Scope, factory) &&
            (i.Meter.Name == RuntimeMetrics.MeterName || i.Meter.Name.StartsWith(RuntimeMetrics.MeterName + ".", StringComparison.Ordinal)));
    }

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder app)
    {
        // Authorization is checked in the handler: the fallback policy knows nothing of scrape keys.
        app.MapGet("/metrics", async (HttpContext http, PrometheusExporter exporter, NodeGauges gauges, IOptions<MetricsOptions> options, CancellationToken ct) =>
        {
            if (!MayScrape(http, options.Value))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
                return Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized",
                    detail: "/metrics needs the scrape key or the operator key as a bearer token");
            }
            await gauges.RefreshAsync(ct);
            return Results.Text(exporter.Collect(), PrometheusExporter.ContentType);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static bool MayScrape(HttpContext http, MetricsOptions options)
    {
        if (options.AllowAnonymous || http.User.IsInRole(Roles.Operator)) return true;
        var header = http.Request.Headers.Authorization.ToString();
        return !string.IsNullOrWhiteSpace(options.ScrapeKey)
            && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && ApiKeys.FixedTimeEquals(header["Bearer ".Length..].Trim(), options.ScrapeKey.Trim());
    }
}
