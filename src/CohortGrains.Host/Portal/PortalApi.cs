using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Programs;
using CohortGrains.Runtime;

namespace CohortGrains.Host.Portal;

public sealed record PortalCoach(string CoachId, string Name, NormsView? Norms);

/// <param name="MidpointOpen">The midpoint questions were sent and are not answered yet: the portal asks them.</param>
/// <param name="ClosingOpen">Likewise for the closing reflection.</param>
public sealed record PortalView(
    string ClientId,
    string Name,
    string Status,
    PortalCoach Coach,
    DateTimeOffset? NextSessionAt,
    string? OpenPromptId,
    IReadOnlyList<ActionItemView> CurrentActions,
    bool MidpointOpen,
    bool ClosingOpen,
    ArcQuestionsResponse Questions,
    ProgramSummary Progress);

/// <summary>
/// Everything the client's portal page shows in one read: their actions, the coach's communication norms, the open
/// questions, and their progress history. A UI branch renders it; the client reaches it with their magic link.
/// </summary>
public static class PortalApi
{
    public static RouteGroupBuilder MapPortal(this RouteGroupBuilder api)
    {
        // The client's own page through their link; their coach and the org's admins may look at what the client sees.
        api.MapGet("/clients/{clientId}/portal", GetAsync).RequireAuthorization(Policies.OrgMemberOrClient).WithName("GetClientPortal")
            .Produces<PortalView>().ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    private static async Task<IResult> GetAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var s = await ArcHttp.ClientAsync(runtime, http, clientId, ct);
        if (s is null) return ArcHttp.ClientNotFound(clientId);
        return TypedResults.Ok(await ViewAsync(runtime, orgId, s, ct));
    }

    /// <summary>What the portal shows a client: the endpoint above and the portal page both build it here.</summary>
    public static async Task<PortalView> ViewAsync(GrainRuntime runtime, string orgId, ClientLoopState s, CancellationToken ct)
    {
        // The coach's norms as they are now (the welcome carried those of enrolment day).
        var coach = await runtime.GetAsync<CoachState>(CoachesApi.Id(orgId, s.CoachId), ct);
        var norms = coach?.Norms ?? s.Norms;
        bool Open(string touchId, FeedbackKind kind) => s.Touches.Any(t => t.Id == touchId) && !s.Feedback.Any(f => f.Kind == kind);
        return new PortalView(
            s.ClientId, s.Profile.Name, s.Status.ToWire(),
            new PortalCoach(s.CoachId, coach?.Name ?? s.CoachName, norms is null ? null : NormsView.From(norms, coach?.Name ?? s.CoachName)),
            s.CurrentSession?.NextSessionAt, s.OpenPromptId,
            s.CurrentSession is { } current ? ClientResponse.ToView(current).ActionItems.ToList() : [],
            Open(ProgramArc.Midpoint, FeedbackKind.Midpoint), Open(ProgramArc.Closing, FeedbackKind.Closing),
            new ArcQuestionsResponse(
                ProgramArc.MidpointQuestions.Select(q => new QuestionView(q.Key, q.Text)).ToList(),
                ProgramArc.ClosingQuestions.Select(q => new QuestionView(q.Key, q.Text)).ToList()),
            ProgramArcApi.Summarize(s));
    }
}
