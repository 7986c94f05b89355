using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Orgs;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CohortGrains.Host.Web;

/// <summary>Who is signed in, as the staff pages' header shows it.</summary>
public sealed record StaffHeader(string OrgName, string Name, bool IsAdmin, string? CoachId, string TimeZone, int OpenAlerts);

/// <summary>What every page needs: the runtime, the clock, "not found" answered as the API answers it, and the header.</summary>
public abstract class WebPageModel(GrainRuntime runtime) : PageModel
{
    protected GrainRuntime Runtime => runtime;

    public DateTimeOffset Now => runtime.Clock.GetUtcNow();

    /// <summary>Set when the page's subject does not exist or is not the caller's: the page shows a short notice instead.</summary>
    public string? MissingWhat { get; private set; }

    public StaffHeader? Header { get; private set; }

    /// <summary>False over plain HTTP while secure cookies are required: no antiforgery token can be issued, so no form is shown.</summary>
    public bool CanPost => HttpContext.RequestServices.GetRequiredService<WebForms>().Allowed(HttpContext);

    protected string OrgId => User.OrgId();

    /// <summary>
    /// 404 for something the caller may not see or that does not exist (they learn nothing about which): a browser gets
    /// the page with a notice, any other client the problem details the API would send.
    /// </summary>
    protected IActionResult Missing(string what)
    {
        if (!WebUi.WantsHtml(Request)) return NotFound();
        MissingWhat = what;
        Response.StatusCode = StatusCodes.Status404NotFound;
        return Page();
    }

    /// <summary>The zone a staff member reads times in: the coach's own, or (for an org admin) the given fallback.</summary>
    public string StaffZone(string? fallback = null) => Header?.CoachId is not null ? Header.TimeZone : fallback ?? Header?.TimeZone ?? "UTC";

    protected async Task LoadHeaderAsync(CancellationToken ct)
    {
        var org = await runtime.GetAsync<OrgState>(new GrainId(OrgId, OrgDecider.GrainType, OrgId), ct);
        if (Access.CoachOf(User) is { } coachId && await runtime.GetAsync<CoachState>(CoachesApi.Id(OrgId, coachId), ct) is { } coach)
        {
            Header = new StaffHeader(org?.Name ?? "", coach.Name, false, coachId, coach.TimeZone, coach.OpenAlerts);
            return;
        }
        // An org admin's inbox holds every coach's alerts: count them from the coaches' projections (open alerts = risk).
        var coaches = await runtime.Store.QueryGrainsAsync(new GrainQuery(OrgId, CoachDecider.GrainType), ct);
        Header = new StaffHeader(org?.Name ?? "", "Org admin", true, null, "UTC", coaches.Sum(c => c.Projection.Risk));
    }

    /// <summary>Only paths on this site: a returnUrl from a query string must never send anyone elsewhere.</summary>
    protected static bool IsLocal(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Contains("://", StringComparison.Ordinal);
}
