using System.Text.Json.Nodes;

namespace CohortGrains.Client;

// The API's JSON shapes, as an integrator sees them. Optional members are nullable; the server applies defaults.

public sealed record CreatedOrg(string OrgId, string Name, DateTimeOffset CreatedAt, string ApiKey);
public sealed record Org(string OrgId, string Name, DateTimeOffset CreatedAt);

public sealed record Availability(string Day, string Start, string End);
public sealed record NewCoach(string Name, string TimeZone, string? Email = null, IReadOnlyList<Availability>? Availability = null);
public sealed record Coach(string CoachId, string Name, string? Email, string TimeZone, IReadOnlyList<Availability> Availability, int OpenAlerts);
public sealed record CoachSummary(string CoachId, string? Name, string? Email, int OpenAlerts);

public sealed record QuietHours(string Start, string End);
public sealed record Touchpoint(string Key, int DayOffset, string Channel, string Kind, string? Template = null);
public sealed record CohortProgram(
    string SessionDay,
    string SessionTime,
    string TimeZone,
    int? Weeks = null,
    int? IntervalWeeks = null,
    int? WeeklyCap = null,
    QuietHours? QuietHours = null,
    int? SilentAfterHours = null,
    IReadOnlyList<Touchpoint>? Cadence = null);
public sealed record NewCohort(string Name, string CoachId, CohortProgram Program);
public sealed record Cohort(
    string CohortId, string Name, string CoachId, string Lifecycle, CohortProgram Program, DateTimeOffset CreatedAt,
    DateTimeOffset? ActivatedAt = null, DateTimeOffset? EndedAt = null);
public sealed record CohortSummary(string CohortId, string? Name, string? CoachId, string? Lifecycle);

public sealed record NewClient(
    string Name,
    string TimeZone,
    int PreferredHour,
    string? Phone = null,
    string? Email = null,
    bool SmsConsent = false,
    QuietHours? QuietHours = null);
public sealed record BulkEnrolment(int Accepted, IReadOnlyList<string> ClientIds);
public sealed record Consent(bool SmsOptIn, bool SmsOptedOut, bool EmailUnsubscribed);
public sealed record ActionItem(string ItemId, string What, DateOnly? ByWhen, string? Notice, DateTimeOffset? CompletedAt);
public sealed record SessionNote(string Focus, string Insight, string AgreedAction, string Obstacle, string FollowUp);
public sealed record Session(int Number, DateTimeOffset OccurredAt, DateTimeOffset NextSessionAt, IReadOnlyList<ActionItem> ActionItems, SessionNote Note);
public sealed record Client(
    string ClientId, string CohortId, string CoachId, string Name, string? Phone, string? Email, string TimeZone, int PreferredHour,
    Consent Consent, string Status, string? StatusDetail, DateTimeOffset StatusSince, int? LastRating, string? OpenPromptId,
    IReadOnlyList<Session> Sessions);

public sealed record NewActionItem(string What, DateOnly? ByWhen = null, string? Notice = null);
public sealed record SessionLog(IReadOnlyList<NewActionItem> ActionItems, SessionNote Note, DateTimeOffset? OccurredAt = null, DateTimeOffset? NextSessionAt = null);
public sealed record LoggedSession(Session Session, IReadOnlyList<string> Hints, Client Client);

public sealed record Reply(int? Rating = null, string? Text = null, string? PromptId = null, string? Channel = null);
/// <param name="Channel">sms, email or inapp; the client's usual channel when null.</param>
/// <param name="RequestId">Makes a retry safe: the same id sends the message once.</param>
public sealed record CoachMessage(string Text, string? Channel = null, string? RequestId = null);
public sealed record SentMessage(string TouchId, string ClientId, string Channel, string Text, DateTimeOffset At);
public sealed record ClientLink(string LinkId, string Url, string Token, DateTimeOffset ExpiresAt, string Note);
public sealed record RevokedLinks(string ClientId, int Revoked);
public sealed record ErasedData(int TimersDeleted, int MessagesDeleted, int OutboxRowsScrubbed, int AuditEntriesScrubbed, int KeysRevoked);
public sealed record Erasure(string ClientId, DateTimeOffset ErasedAt, ErasedData Removed);
public sealed record ReplyResult(string ReplyId, string? PromptId, int? Rating, string Route, string Status, string? StatusDetail);

public sealed record Alert(
    string AlertId, string ClientId, string ClientName, string CohortId, string Reason, string Detail,
    DateTimeOffset RaisedAt, DateTimeOffset NextSessionAt, DateTimeOffset? OfferedSlot, DateTimeOffset? HandledAt, bool Open);

public sealed record RosterEntry(string ClientId, string Name, string Status, string Reason, int? LastRating, bool LateActions, DateTimeOffset? NextSessionAt);
public sealed record CohortDashboard(
    string CohortId, string Name, string CoachId, string Lifecycle, int Clients, IReadOnlyDictionary<string, int> ByStatus,
    double? StuckRate, double? ReplyRate, double? ActionCompletionRate, double? CatchRate, int Escalations, IReadOnlyList<RosterEntry> Roster);
public sealed record Dashboard(DateTimeOffset AsOf, IReadOnlyList<CohortDashboard> Cohorts);

public sealed record Touch(
    long Id, string ClientId, string Channel, string Recipient, string? Subject, string Body, string Template, string? PromptId,
    string Status, string? ProviderStatus, string? Error, int Attempts, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);
public sealed record TouchPage(IReadOnlyList<Touch> Touches, long? NextBefore);

/// <summary>An RFC 7807 answer from the API, with the field errors of a 400.</summary>
public sealed class CohortGrainsApiException(int status, string? title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonNode? body)
    : Exception($"{status} {title}: {detail ?? string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"))}")
{
    public int Status { get; } = status;
    public string? Title { get; } = title;
    public string? Detail { get; } = detail;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
    public JsonNode? Body { get; } = body;
}
