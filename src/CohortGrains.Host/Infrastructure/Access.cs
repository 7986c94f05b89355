using System.Security.Claims;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Infrastructure;

/// <summary>
/// Who may see or change what inside one org. Org isolation needs no check here: every grain id carries the caller's
/// org, so another org's ids are simply not found. These rules narrow further: an org admin sees the whole org, a coach
/// only their own coach record, cohorts and those cohorts' clients, a client only themselves. Handlers answer 404 when
/// a rule says no (the caller learns nothing about what exists), and 403 only when the caller already knows the
/// target (a client asking to pause their own loop).
/// </summary>
public static class Access
{
    public static bool IsOrgAdmin(ClaimsPrincipal user) => user.IsInRole(Roles.OrgAdmin);

    /// <summary>The coach a coach key speaks for; null for every other identity.</summary>
    public static string? CoachOf(ClaimsPrincipal user) => user.IsInRole(Roles.Coach) ? Subject(user) : null;

    /// <summary>The client a magic link speaks for; null for every other identity.</summary>
    public static string? ClientOf(ClaimsPrincipal user) => user.IsInRole(Roles.Client) ? Subject(user) : null;

    public static bool CanSeeCoach(ClaimsPrincipal user, string? coachId) =>
        IsOrgAdmin(user) || (coachId is not null && CoachOf(user) is { } me && me == coachId);

    /// <summary>A cohort is its coach's: visible (and changeable) by that coach and the org's admins.</summary>
    public static bool CanSeeCohort(ClaimsPrincipal user, CohortState cohort) => CanSeeCoach(user, cohort.CoachId);

    /// <summary>Same rule for a cohort read from its projected row (dashboards).</summary>
    public static bool CanSeeCohort(ClaimsPrincipal user, GrainRow cohort) => CanSeeCoach(user, cohort.Projection.CoachId);

    /// <summary>Staff who may change a client's loop: an org admin, or the coach of the client's cohort.</summary>
    public static bool CanManageClient(ClaimsPrincipal user, ClientLoopState client) => CanSeeCoach(user, client.CoachId);

    /// <summary>Staff as above, or the client themselves.</summary>
    public static bool CanSeeClient(ClaimsPrincipal user, ClientLoopState client) =>
        CanManageClient(user, client) || (ClientOf(user) is { } self && self == client.ClientId);

    /// <summary>
    /// A client reports their own progress (replies, completed actions, reflections, feedback) and decides how they are
    /// contacted (consent, quiet hours); everything else is staff's.
    /// </summary>
    public static bool MaySend(ClaimsPrincipal user, ClientLoopState client, ClientLoopMessage message) =>
        message is CheckInReplied or ActionItemCompleted or ReflectionSubmitted or FeedbackSubmitted or ChannelOptedOut or ChannelOptedIn or ContactPreferencesChanged
            ? CanSeeClient(user, client)
            : CanManageClient(user, client);

    /// <summary>The actor of audit entries: a coach or client by their id, an admin by the key they used.</summary>
    public static (string Role, string Id) Actor(ClaimsPrincipal user)
    {
        var role = user.FindFirstValue(ClaimTypes.Role) ?? "anonymous";
        var id = role is Roles.Coach or Roles.Client ? Subject(user) : user.FindFirstValue(ClaimNames.KeyId);
        return (role, id ?? "unknown");
    }

    private static string? Subject(ClaimsPrincipal user) => user.FindFirstValue(ClaimNames.Subject);
}

/// <summary>Audit entries for the current caller. Ids and short codes only (see <see cref="AuditWrite"/>).</summary>
public static class Audit
{
    /// <summary>An entry in an org named explicitly (the operator has none of its own).</summary>
    public static AuditWrite InOrg(HttpContext http, string orgId, string action, string targetType, string targetId, string? detail = null)
    {
        var (role, id) = Access.Actor(http.User);
        return new AuditWrite(orgId, role, id, action, targetType, targetId, detail);
    }

    public static AuditWrite Entry(HttpContext http, string action, string targetType, string targetId, string? detail = null) =>
        InOrg(http, http.User.OrgId(), action, targetType, targetId, detail);

    /// <summary>What a message to a client's loop is called in the log; null for messages staff and clients never send by hand.</summary>
    public static AuditWrite? ForClientMessage(HttpContext http, string clientId, ClientLoopMessage message)
    {
        var (action, detail) = message switch
        {
            Enroll e => ("client.enrolled", e.Consent.SmsOptIn ? "sms consent recorded" : "no sms consent"),
            SessionCompleted s => ("session.logged", $"note and {s.Items.Count} action item(s)"),
            CheckInReplied r => ("reply.recorded", r.Rating is { } rating ? $"rating {rating}" : "text"),
            ActionItemCompleted a => ("action.completed", a.ItemId),
            ReflectionSubmitted r => ("reflection.recorded", r.Channel.ToString().ToLowerInvariant()),
            FeedbackSubmitted f => (f.Kind == FeedbackKind.Midpoint ? "midpoint.answered" : "closing.answered", $"{f.Answers.Count} answer(s)"),
            Paused => ("client.paused", null),
            Resumed => ("client.resumed", null),
            ProgramEnded => ("client.ended", null),
            ChannelOptedOut o => ("consent.opted-out", o.Channel.ToString().ToLowerInvariant()),
            ChannelOptedIn o => ("consent.opted-in", o.Channel.ToString().ToLowerInvariant()),
            EraseClient => ("client.erased", null),
            CoachMessageSent m => ("message.sent", ClientLoopDecider.CoachMessageTouchId(m.MessageId)),
            ContactPreferencesChanged => ("preferences.changed", null),
            _ => ((string?)null, (string?)null),
        };
        return action is null ? null : Entry(http, action, "client", clientId, detail);
    }
}
