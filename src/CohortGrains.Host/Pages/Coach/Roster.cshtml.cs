using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Programs;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Mvc;

namespace CohortGrains.Host.Pages.Coach;

/// <summary>
/// Before the session: the cohort's clients riskiest first (stuck, silent, late actions), the reason in words from the
/// dashboard's roster, and for each client what they agreed and what happened since.
/// </summary>
public sealed class RosterModel(GrainRuntime runtime) : WebPageModel(runtime)
{
    public sealed record Entry(ClientSummary Summary, ClientLoopState? State);

    public CohortState? Cohort { get; private set; }
    public CohortDashboard? Board { get; private set; }
    public IReadOnlyList<Entry> Entries { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string cohortId, CancellationToken ct)
    {
        await LoadHeaderAsync(ct);
        // The API's lookup and Access rule: a coach sees only their own cohorts; anything else is "not found".
        Cohort = await CohortsApi.FindAsync(Runtime, HttpContext, cohortId, ct);
        if (Cohort is null) return Missing("cohort");
        var rows = await Runtime.Store.QueryGrainsAsync(new GrainQuery(OrgId, CohortDecider.GrainType) { Keys = [cohortId] }, ct);
        Board = (await DashboardApi.BuildAsync(Runtime.Store, OrgId, rows, Now, ct)).Cohorts[0];
        var states = (await ArcHttp.CohortClientsAsync(Runtime, OrgId, cohortId, ct)).ToDictionary(s => s.ClientId);
        Entries = Board.Roster.Select(c => new Entry(c, states.GetValueOrDefault(c.ClientId))).ToList();
        return Page();
    }

    /// <summary>What became of an agreed action, in words.</summary>
    public (string Css, string Words) Outcome(ActionItem item, ClientLoopState client)
    {
        if (item.CompletedAt is { } done) return ("done", "Done " + Format.Local(done, client.Profile.TimeZone, "ddd d MMM"));
        if (item.ByWhen is not { } by) return ("open", "Open, no date");
        // Late once the due day has ended in the client's zone, as the dashboard decides it.
        var late = Zones.ToInstant(by.AddDays(1), TimeOnly.MinValue, Zones.Find(client.Profile.TimeZone)) <= Now;
        return late ? ("late", "Overdue since " + Format.Date(by)) : ("open", "Due " + Format.Date(by));
    }

    public static string? LastReply(ClientLoopState client) =>
        client.Replies.LastOrDefault() is { } r ? (r.Rating is { } rating ? $"rated {rating}" : "replied") + (r.Text is { Length: > 0 } t ? $": “{t}”" : "") : null;
}
