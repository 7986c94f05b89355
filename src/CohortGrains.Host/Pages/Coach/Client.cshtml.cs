using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Security;
using CohortGrains.Host.Web;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Mvc;

namespace CohortGrains.Host.Pages.Coach;

/// <summary>
/// One client's program, newest first: sessions, action items, every touch with channel and delivery status, replies,
/// escalations and reflections, as <see cref="Timeline.Build"/> gives them to the API. Also where a coach issues the
/// client's portal link.
/// </summary>
public sealed class ClientModel(GrainRuntime runtime, ClientLinks links) : WebPageModel(runtime)
{
    public ClientLoopState? Client { get; private set; }
    public CohortState? Cohort { get; private set; }
    public IReadOnlyList<TimelineEvent> Events { get; private set; } = [];

    /// <summary>Set after the session form redirected here.</summary>
    [BindProperty(SupportsGet = true)]
    public bool Logged { get; set; }

    /// <summary>A link issued just now: shown once, like the API shows it once.</summary>
    public (string Url, DateTimeOffset ExpiresAt)? NewLink { get; private set; }

    public async Task<IActionResult> OnGetAsync(string clientId, CancellationToken ct) =>
        await LoadAsync(clientId, ct) ? Page() : Missing("client");

    public async Task<IActionResult> OnPostLinkAsync(string clientId, CancellationToken ct)
    {
        if (!await LoadAsync(clientId, ct)) return Missing("client");
        var (token, record) = await ClientPrivacyApi.IssueLinkAsync(Runtime, HttpContext, links, clientId, links.Options.DefaultLifetimeHours, ct);
        NewLink = (links.UrlFor(token), record.ExpiresAt!.Value);
        // The token is in this answer only: no browser or proxy may keep a copy of it.
        Response.Headers.CacheControl = "no-store";
        return Page();
    }

    private async Task<bool> LoadAsync(string clientId, CancellationToken ct)
    {
        await LoadHeaderAsync(ct);
        // The API's lookup: the id must be ours, the client not erased, and the caller their coach or an org admin.
        Client = await ClientsApi.FindAsync(Runtime, HttpContext, clientId, ct);
        if (Client is null) return false;
        Cohort = await CohortsApi.FindAsync(Runtime, OrgId, Client.CohortId, ct);
        var touches = await Runtime.Store.QueryOutboxAsync(new OutboxQuery(OrgId) { GrainKey = clientId, Limit = 1000 }, ct);
        Events = Timeline.Build(Client, touches, includeNotes: Access.CanManageClient(User, Client)).ToList();
        return true;
    }

    public static string KindLabel(string kind) => kind switch
    {
        "enrolled" => "Enrolled",
        "session" => "Session",
        "action-completed" => "Action done",
        "touch" => "Touch",
        "touch-skipped" => "Not sent",
        "reply" => "Reply",
        "consent" => "Consent",
        "reflection" => "Reflection",
        "midpoint-feedback" => "Midpoint",
        "closing-reflection" => "Closing",
        "ended-early" => "Left early",
        "escalation" => "Escalation",
        "escalation-handled" => "Handled",
        _ => kind,
    };
}
