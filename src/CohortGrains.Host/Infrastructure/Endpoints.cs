using CohortGrains.Host.CheckIns;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Orgs;
using CohortGrains.Host.Security;
using CohortGrains.Host.Sessions;
using CohortGrains.Host.Touches;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Infrastructure;

public static class Endpoints
{
    public static WebApplication UseCohortGrains(this WebApplication app)
    {
        // Resolve the operator key now, so a generated one is written (and its path logged) at start-up, not on first use.
        app.Services.GetRequiredService<OperatorKey>();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSecurity();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    public static WebApplication MapCohortGrains(this WebApplication app)
    {
        app.MapGroup("/api/v1")
            .MapOrgs()
            .MapCoaches()
            .MapCohorts()
            .MapClients()
            .MapSessions()
            .MapCheckIns()
            .MapDashboard()
            .MapTouches()
            .MapSecurity();

        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" })).AllowAnonymous();
        app.MapGet("/health/ready", async (IGrainStore store, CancellationToken ct) =>
            await store.IsReadyAsync(ct)
                ? Results.Ok(new { status = "ready" })
                : Results.Problem(statusCode: 503, title: "Not ready", detail: "the store is unreachable or not migrated")).AllowAnonymous();
        return app;
    }
}
