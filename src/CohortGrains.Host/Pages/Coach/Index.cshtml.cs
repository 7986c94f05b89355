using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Programs;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace CohortGrains.Host.Pages.Coach;

/// <summary>Every cohort of the coach (all of the org's for an admin): the dashboard's figures and their weekly trend.</summary>
public sealed class IndexModel(GrainRuntime runtime) : WebPageModel(runtime)
{
    /// <param name="Trend">The chart for wide screens; <paramref name="NarrowTrend"/> the same weeks shaped for a phone.</param>
    public sealed record CohortCard(CohortDashboard Board, string CoachName, TrendChart? Trend, TrendChart? NarrowTrend);

    public IReadOnlyList<CohortCard> Cohorts { get; private set; } = [];

    public int Clients => Cohorts.Sum(c => c.Board.Clients);
    public int Stuck => Cohorts.Sum(c => c.Board.ByStatus.GetValueOrDefault("stuck"));
    public int Silent => Cohorts.Sum(c => c.Board.ByStatus.GetValueOrDefault("silent"));
    public int Late => Cohorts.Sum(c => c.Board.ClientsWithLateActions);

    public async Task OnGetAsync(CancellationToken ct)
    {
        await LoadHeaderAsync(ct);
        var store = Runtime.Store;
        // The same query and builder as GET /api/v1/dashboard: a coach's own cohorts, an admin's whole org.
        var rows = await store.QueryGrainsAsync(new GrainQuery(OrgId, CohortDecider.GrainType) { CoachId = Access.CoachOf(User) }, ct);
        var dashboard = await DashboardApi.BuildAsync(store, OrgId, rows, Now, ct);
        var coachNames = (await store.QueryGrainsAsync(new GrainQuery(OrgId, CoachDecider.GrainType), ct))
            .ToDictionary(c => c.Id.Key, c => c.Projection.DisplayName ?? c.Id.Key);
        var cards = new List<CohortCard>();
        foreach (var board in dashboard.Cohorts)
        {
            var weeks = CohortTrends.Weekly(await ArcHttp.CohortClientsAsync(Runtime, OrgId, board.CohortId, ct), Now);
            cards.Add(new CohortCard(board, coachNames.GetValueOrDefault(board.CoachId) ?? "",
                weeks.Count == 0 ? null : TrendChart.From(weeks), weeks.Count == 0 ? null : TrendChart.From(weeks, narrow: true)));
        }
        // Running cohorts first, then drafts, then ended ones; by name within each.
        Cohorts = cards.OrderBy(c => c.Board.Lifecycle switch { "active" => 0, "draft" => 1, _ => 2 })
            .ThenBy(c => c.Board.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    /// <summary>
    /// Signing out is a staff page's form: its antiforgery token belongs to the signed-in coach, so it must come back to a
    /// page that knows them (the anonymous sign-in page would see a stranger and refuse the token).
    /// </summary>
    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(WebUi.CoachCookie);
        return LocalRedirect("/?signedOut=true");
    }
}
