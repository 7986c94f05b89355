using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;

namespace CohortGrains.Host.Observability;

public sealed record HealthResponse(string Status);

/// <summary>
/// /health/live: the process answers (restart it if not). /health/ready: send it traffic — the store answers, every
/// migration is applied, and the node is not draining. Both are anonymous: load balancers and orchestrators carry no keys.
/// </summary>
public static class Health
{
    /// <summary>A store that hangs must not hang the probe: past this the node reports not ready.</summary>
    public static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").AllowAnonymous().WithTags("Health");
        health.MapGet("/live", () => TypedResults.Ok(new HealthResponse("live"))).WithName("Live");
        health.MapGet("/ready", ReadyAsync).WithName("Ready")
            .Produces<HealthResponse>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> ReadyAsync(IGrainStore store, DrainState drain, ILoggerFactory loggers, CancellationToken ct)
    {
        if (drain.IsDraining) return NotReady("draining: this node is stopping and takes no new work");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(StoreTimeout);
        try
        {
            return await store.IsReadyAsync(timeout.Token)
                ? TypedResults.Ok(new HealthResponse("ready"))
                : NotReady("the store is not migrated to this version (run the migrate verb, or start with Storage:MigrateOnStart)");
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            loggers.CreateLogger(typeof(Health)).LogWarning("Readiness: the store did not answer: {Error}", CohortGrains.Runtime.Diagnostics.Redact.Text(e.Message));
            return NotReady("the store is unreachable");
        }
    }

    private static IResult NotReady(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: detail);
}
