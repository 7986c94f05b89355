using CohortGrains.Runtime.Diagnostics;
using CohortGrains.Runtime.Workers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CohortGrains.Host.Observability;

/// <summary>What operators get from every node: metrics, health probes, the OpenAPI document, structured logs.</summary>
public static class Operations
{
    public static WebApplicationBuilder AddOperations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<MetricsOptions>(builder.Configuration.GetSection("Metrics"));
        services.AddMetrics();
        services.TryAddSingleton<DrainState>();
        services.AddSingleton<HttpMetrics>();
        services.AddSingleton<NodeGauges>();
        services.AddSingleton(MetricsEndpoint.CreateExporter);
        services.AddApiDocs();
        // Problem details carry the correlation id, so a caller quoting an error hands us the key to its log lines.
        services.Configure<ProblemDetailsOptions>(o =>
        {
            var previous = o.CustomizeProblemDetails;
            o.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                if (Correlation.Current is { } id) context.ProblemDetails.Extensions["correlationId"] = id;
            };
        });
        AddLogFormat(builder);
        return builder;
    }

    /// <summary>Logging:Format = json → one JSON object per line (with scopes: CorrelationId, TraceId); anything else: the plain console.</summary>
    private static void AddLogFormat(WebApplicationBuilder builder)
    {
        if (!string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase)) return;
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
        });
    }

    /// <summary>Outermost, so it times everything and sees the status the exception handler settles on.</summary>
    public static WebApplication UseOperations(this WebApplication app)
    {
        app.UseMiddleware<RequestObservabilityMiddleware>();
        return app;
    }

    public static WebApplication MapOperations(this WebApplication app)
    {
        app.MapHealth();
        app.MapMetrics();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        // Instruments exist from the start, so the first scrape already lists every family.
        app.Services.GetRequiredService<PrometheusExporter>();
        app.Services.GetRequiredService<NodeGauges>();
        // SIGTERM: report not ready at once, while the workers finish their turns and hand back their leases.
        var drain = app.Services.GetRequiredService<DrainState>();
        app.Lifetime.ApplicationStopping.Register(drain.BeginDrain);
        return app;
    }
}
