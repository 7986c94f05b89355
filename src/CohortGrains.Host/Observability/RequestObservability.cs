using System.Diagnostics;
using System.Diagnostics.Metrics;
using CohortGrains.Runtime.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;

namespace CohortGrains.Host.Observability;

/// <summary>HTTP requests by route template (never the raw path: ids would explode the series count), method and status.</summary>
public sealed class HttpMetrics
{
    public const string MeterName = "CohortGrains.Http";

    private static readonly double[] s_buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly HashSet<string> s_methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public HttpMetrics(IMeterFactory factory)
    {
        var meter = factory.Create(MeterName);
        _requests = meter.CreateCounter<long>("cohortgrains.http.requests", "{request}", "HTTP requests by route template, method and status code");
        _duration = meter.CreateHistogram("cohortgrains.http.request.duration", "s", "HTTP request duration by route template and method",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_buckets });
    }

    public void Record(string route, string method, int status, TimeSpan duration)
    {
        // Methods are caller-chosen strings: only the standard ones become label values.
        var m = s_methods.Contains(method) ? method : "OTHER";
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("method", m),
            new KeyValuePair<string, object?>("status", status));
        _duration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("method", m));
    }
}

/// <summary>
/// The outermost middleware: gives every request a correlation id (the caller's X-Correlation-Id when it is plain
/// and short, else a new one), echoes it in the response, puts it in the logging scope of everything the request
/// does, and records the request's metrics once it is over (after the exception handler has written any 500).
/// </summary>
public sealed class RequestObservabilityMiddleware(RequestDelegate next, HttpMetrics metrics, ILogger<RequestObservabilityMiddleware> logger)
{
    public const string CorrelationHeader = "X-Correlation-Id";
    public const string UnmatchedRoute = "unmatched";

    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[CorrelationHeader].ToString();
        var id = Correlation.IsAcceptable(incoming) ? incoming : Correlation.NewId();
        context.Response.OnStarting(() =>
        {
            // Set when the headers go out, so an exception handler clearing the response cannot drop it.
            context.Response.Headers[CorrelationHeader] = id;
            return Task.CompletedTask;
        });
        var started = Stopwatch.GetTimestamp();
        var failed = false;
        using var correlation = Correlation.Begin(logger, id);
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            var status = failed && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
            metrics.Record(RouteOf(context), context.Request.Method, status, Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>The matched endpoint's route template; the exception handler clears the endpoint but keeps it in its feature.</summary>
    public static string RouteOf(HttpContext context)
    {
        var endpoint = context.GetEndpoint() ?? context.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        return endpoint is RouteEndpoint { RoutePattern.RawText: { } raw } ? NormalizeRoute(raw) : UnmatchedRoute;
    }

    /// <summary>"/api/v1/coaches/" (a group's "/" endpoint) and "/api/v1/coaches" are one route.</summary>
    public static string NormalizeRoute(string raw)
    {
        var route = "/" + raw.Trim('/');
        return route;
    }
}
