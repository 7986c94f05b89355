using CohortGrains.Host.CheckIns;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Cluster;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Orgs;
using CohortGrains.Host.Security;
using CohortGrains.Host.Sessions;
using CohortGrains.Host.Links;
using CohortGrains.Host.Messages;
using CohortGrains.Host.Touches;
using CohortGrains.Host.Webhooks;
using CohortGrains.Host.Web;

namespace CohortGrains.Host.Infrastructure;

public static class Endpoints
{
    public static WebApplication UseCohortGrains(this WebApplication app)
    {
        // Resolve the operator key now, so a generated one is written (and its path logged) at start-up, not on first use.
        app.Services.GetRequiredService<OperatorKey>();
        app.UseOperations();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSecurity();
        app.UseWebUi();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    public static WebApplication MapCohortGrains(this WebApplication app)
    {
        app.MapGroup("/api/v1")
            .WithApiDocs()
            .MapOrgs()
            .MapCoaches()
            .MapCohorts()
            .MapClients()
            .MapSessions()
            .MapCheckIns()
            .MapMessages()
            .MapDashboard()
            .MapTouches()
            .MapProgramArcFeatures()
            .MapSecurity()
            .MapCluster();
        // Outside /api/v1 and its API keys: Twilio signs its webhooks, email links carry signed tokens.
        app.MapGroup("/webhooks").MapTwilioWebhooks();
        app.MapEmailLinks();
        // The coach dashboard (/ and /coach…) and the client portal (/portal…), server-rendered.
        app.MapWebUi();

        // /health/live, /health/ready, /metrics, /openapi/v1.json
        app.MapOperations();
        return app;
    }
}
