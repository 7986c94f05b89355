using System.Globalization;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Dashboard;

public sealed record ClientSummary(
    string ClientId, string Name, string Status, string Reason, int? LastRating, bool LateActions, DateTimeOffset? NextSessionAt,
    int PromptsSent, int Replies, int ActionsTotal, int ActionsDone);

/// <summary>The metrics PRODUCT.md asks for, per cohort. Rates are null when nothing was asked yet (not 0%).</summary>
public sealed record CohortDashboard(
    string CohortId,
    string Name,
    string CoachId,
    string Lifecycle,
    int Clients,
    IReadOnlyDictionary<string, int> ByStatus,
    double? StuckRate,
    double? ReplyRate,
    double? ActionCompletionRate,
    double? CatchRate,
    int Escalations,
    int ClientsWithLateActions,
    IEnumerable<ClientSummary> Roster)
{
    /// <summary>Clients who left before the program's end.</summary>
    public int EndedEarly { get; init; }

    /// <summary>Mid-program churn: clients who left early over every client enrolled (PRODUCT.md: 15%+ weak, under 7% strong).</summary>
    public double? MidProgramChurnRate { get; init; }
}

public sealed record DashboardResponse(DateTimeOffset AsOf, IReadOnlyList<CohortDashboard> Cohorts);

public static class DashboardApi
{
    public static RouteGroupBuilder MapDashboard(this RouteGroupBuilder api)
    {
        api.MapGet("/dashboard", OrgAsync).RequireAuthorization(Policies.OrgMember).WithName("GetDashboard");
        api.MapGet("/cohorts/{cohortId}/dashboard", CohortAsync).RequireAuthorization(Policies.OrgMember).WithName("GetCohortDashboard")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    private static async Task<Results<Ok<DashboardResponse>, ProblemHttpResult>> OrgAsync(string? coachId, HttpContext http, IGrainStore store, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        // A coach's dashboard is their own cohorts'.
        if (Access.CoachOf(http.User) is { } me)
        {
            if (coachId is not null && coachId != me) return Problems.Forbidden("a coach sees only their own cohorts");
            coachId = me;
        }
        var cohorts = await store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { CoachId = coachId }, ct);
        return TypedResults.Ok(await BuildAsync(store, orgId, cohorts, clock.GetUtcNow(), ct));
    }

    private static async Task<Results<Ok<CohortDashboard>, ProblemHttpResult>> CohortAsync(string cohortId, HttpContext http, IGrainStore store, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var rows = Ids.LooksValid(cohortId)
            ? await store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { Keys = [cohortId] }, ct)
            : [];
        if (rows.Count == 0 || !Access.CanSeeCohort(http.User, rows[0])) return Problems.NotFound($"cohort '{Parse.Truncate(cohortId)}' not found");
        var dashboard = await BuildAsync(store, orgId, rows, clock.GetUtcNow(), ct);
        return TypedResults.Ok(dashboard.Cohorts[0]);
    }

    public static async Task<DashboardResponse> BuildAsync(IGrainStore store, string orgId, IReadOnlyList<GrainRow> cohorts, DateTimeOffset now, CancellationToken ct)
    {
        var stats = (await store.GetCohortStatsAsync(orgId, cohorts.Select(c => c.Id.Key).ToList(), now, ct)).ToDictionary(s => s.CohortId);
        var result = new List<CohortDashboard>();
        foreach (var cohort in cohorts)
        {
            var s = stats.GetValueOrDefault(cohort.Id.Key) ?? new CohortStats(cohort.Id.Key, 0, new Dictionary<string, int>(), 0, 0, 0, 0, 0, 0, 0, 0);
            var roster = await store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohort.Id.Key, Limit = 10_000 }, ct);
            var byStatus = ClientStatusNames.All.ToDictionary(n => n, n => s.ByStatus.GetValueOrDefault(n));
            var active = s.Clients - byStatus["done"];
            result.Add(new CohortDashboard(
                cohort.Id.Key, cohort.Projection.DisplayName ?? "", cohort.Projection.CoachId ?? "", cohort.Projection.Status ?? "",
                s.Clients, byStatus,
                Rate(byStatus["stuck"], active),
                Rate(s.Replies, s.PromptsSent),
                Rate(s.ActionsDone, s.ActionsTotal),
                Rate(s.EscalationsCaught, s.Escalations),
                s.Escalations,
                s.ClientsWithLateActions,
                Roster.Sort(roster, now))
            {
                EndedEarly = s.ClientsEndedEarly,
                MidProgramChurnRate = Rate(s.ClientsEndedEarly, s.Clients),
            });
        }
        return new DashboardResponse(now, result);
    }

    private static double? Rate(int part, int whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);
}

public static class Roster
{
    /// <summary>Riskiest first: stuck, then silent, then late actions, then on track; the reason in words.</summary>
    public static IEnumerable<ClientSummary> Sort(IReadOnlyList<GrainRow> rows, DateTimeOffset now) =>
        rows.Select(r => Summarize(r, now))
            .OrderByDescending(c => Rank(c))
            .ThenBy(c => c.Name, StringComparer.OrdinalIgnoreCase)
            .ToList();

    private static int Rank(ClientSummary c) => c.Status switch
    {
        "stuck" => 4,
        "silent" => 3,
        _ when c.LateActions && c.Status == "on-track" => 2,
        "on-track" => 1,
        _ => 0,
    };

    public static ClientSummary Summarize(GrainRow row, DateTimeOffset now)
    {
        var p = row.Projection;
        var late = p.EarliestOpenActionDue is { } due && due <= now && p.Status is "on-track" or "stuck" or "silent";
        var reason = p.Status switch
        {
            "silent" => $"silent {Days(now - (p.StatusSince ?? now))}" + (p.StatusDetail is null ? "" : $" ({p.StatusDetail})"),
            "stuck" => p.StatusDetail ?? "stuck",
            "on-track" when late => $"action overdue since {p.EarliestOpenActionDue!.Value.AddDays(-1):ddd d MMM}",
            "on-track" => p.StatusDetail ?? "on track",
            _ => p.StatusDetail ?? p.Status ?? "",
        };
        return new ClientSummary(row.Id.Key, p.DisplayName ?? "", p.Status ?? "", reason, p.LastRating, late, p.NextSessionAt,
            p.PromptsSent, p.Replies, p.ActionsTotal, p.ActionsDone);
    }

    /// <summary>Silence counts from the unanswered check-in, which went out a day before the client was marked silent.</summary>
    private static string Days(TimeSpan sinceMarked)
    {
        var days = (int)Math.Floor(sinceMarked.TotalDays) + 1;
        return days == 1 ? "1 day" : days.ToString(CultureInfo.InvariantCulture) + " days";
    }
}
