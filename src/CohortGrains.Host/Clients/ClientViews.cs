using CohortGrains.Domain.ClientLoops;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Clients;

public sealed record ActionItemView(string ItemId, string What, DateOnly? ByWhen, string? Notice, DateTimeOffset? CompletedAt);
/// <param name="Note">The coach's note; null in what a client sees of their own loop.</param>
public sealed record SessionView(int Number, DateTimeOffset OccurredAt, DateTimeOffset NextSessionAt, IEnumerable<ActionItemView> ActionItems, SessionNote? Note);

public sealed record ClientResponse(
    string ClientId,
    string CohortId,
    string CoachId,
    string Name,
    string? Phone,
    string? Email,
    string TimeZone,
    int PreferredHour,
    string QuietHours,
    Consent Consent,
    string Status,
    string? StatusDetail,
    DateTimeOffset StatusSince,
    int? LastRating,
    string? OpenPromptId,
    IEnumerable<SessionView> Sessions)
{
    /// <param name="includeNotes">False for the client's own view: the coach's notes are the coach's.</param>
    public static ClientResponse From(ClientLoopState s, bool includeNotes = true) => new(
        s.ClientId, s.CohortId, s.CoachId, s.Profile.Name, s.Profile.Phone, s.Profile.Email, s.Profile.TimeZone, s.Profile.PreferredHour,
        $"{s.QuietHours.Start:HH\\:mm}–{s.QuietHours.End:HH\\:mm}", s.Consent, s.Status.ToWire(), s.StatusDetail, s.StatusSince, s.LastRating,
        s.OpenPromptId, s.Sessions.Select(r => ToView(r, includeNotes)));

    public static SessionView ToView(SessionRecord r, bool includeNotes = true) =>
        new(r.Number, r.OccurredAt, r.NextSessionAt, r.Items.Select(i => new ActionItemView(i.Id, i.What, i.ByWhen, i.Notice, i.CompletedAt)),
            includeNotes ? r.Note : null);
}

/// <summary>One thing that happened in a client's program, newest first.</summary>
public sealed record TimelineEvent(
    DateTimeOffset At,
    string Kind,
    string Summary,
    string? Channel = null,
    string? DeliveryStatus = null,
    string? PromptId = null,
    int? Rating = null,
    object? Details = null);

public static class Timeline
{
    public static IEnumerable<TimelineEvent> Build(ClientLoopState s, IReadOnlyList<OutboxRow> outbox, bool includeNotes = true)
    {
        var byTouch = outbox.ToDictionary(o => o.IdempotencyKey[(o.IdempotencyKey.LastIndexOf('/') + 1)..], o => o);
        var events = new List<TimelineEvent>
        {
            new(s.EnrolledAt, "enrolled", $"Enrolled with {s.CoachName}"),
        };
        foreach (var session in s.Sessions)
        {
            events.Add(new(session.OccurredAt, "session", $"Session {session.Number}: " + string.Join("; ", session.Items.Select(i => i.What)),
                Details: ClientResponse.ToView(session, includeNotes)));
            foreach (var item in session.Items.Where(i => i.CompletedAt is not null))
                events.Add(new(item.CompletedAt!.Value, "action-completed", $"Completed: {item.What}"));
        }
        foreach (var t in s.Touches)
        {
            byTouch.TryGetValue(t.Id, out var row);
            events.Add(t.SkippedBecause is null
                ? new(t.At, "touch", t.Body, ChannelNames.Of(t.Channel), row is null ? "queued" : row.ProviderStatus ?? row.Status, t.IsPrompt ? t.Id : null,
                    Details: row is { Error: not null } ? new { row.Error } : null)
                : new(t.At, "touch-skipped", $"{t.TouchpointKey} not sent: {t.SkippedBecause}"));
        }
        foreach (var r in s.Replies)
            events.Add(new(r.At, "reply", r.Text ?? $"rated {r.Rating}", ChannelNames.Of(r.Channel), PromptId: r.PromptId, Rating: r.Rating,
                Details: new { route = r.Route.ToString().ToLowerInvariant() }));
        foreach (var e in s.Escalations)
        {
            events.Add(new(e.At, "escalation", $"{e.Reason}: {e.Detail}", Details: new { escalationId = e.Id, e.SlotOffered, e.HandledAt, caught = e.Caught }));
            if (e.HandledAt is { } handled) events.Add(new(handled, "escalation-handled", $"Coach handled: {e.Detail}"));
        }
        return events.OrderByDescending(e => e.At);
    }
}
