using CohortGrains.Host.Analytics;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Imports;
using CohortGrains.Host.Integrations;
using CohortGrains.Host.Portal;
using CohortGrains.Host.Programs;
using CohortGrains.Host.Reflections;

namespace CohortGrains.Host.Infrastructure;

/// <summary>The program arc's features (issue 9), mapped with one call so Endpoints.cs stays a page.</summary>
public static class ProgramArcEndpoints
{
    public static RouteGroupBuilder MapProgramArcFeatures(this RouteGroupBuilder api) => api
        .MapReflections()
        .MapProgramArc()
        .MapCoachSettings()
        .MapPortal()
        .MapGroupSessions()
        .MapPromptAnalytics()
        .MapImportExport()
        .MapIntegrations();
}
