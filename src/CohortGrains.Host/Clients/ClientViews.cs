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
            var label = session.GroupSessionId is null ? "Session" : "Group session";
            events.Add(new(session.OccurredAt, "session", $"{label} {session.Number}: " + string.Join("; ", session.Items.Select(i => i.What)),
                Details: ClientResponse.ToView(session, includeNotes)));
            foreach (var item in session.Items.Where(i => i.CompletedAt is not null))
                events.Add(new(item.CompletedAt!.Value, "action-completed", $"Completed: {item.What}"));
        }
        foreach (var t in s.Touches)
        {
            byTouch.TryGetValue(t.Id, out var row);
            events.Add(t.SkippedBecause is null
                ? new(t.At, "touch", t.Body, ChannelNames.Of(t.Channel), row is null ? "queued" : row.ProviderStatus ?? row.Status, t.IsPrompt ? t.Id : null,
                    Details: row is { Error: not null } or { ErrorCode: not null } ? new { row.Error, row.ErrorCode } : null)
                : new(t.At, "touch-skipped", $"{t.TouchpointKey} not sent: {t.SkippedBecause}"));
        }
        foreach (var r in s.Replies)
            events.Add(new(r.At, "reply", r.Text ?? $"rated {r.Rating}", ChannelNames.Of(r.Channel), PromptId: r.PromptId, Rating: r.Rating,
                Details: new { route = r.Route.ToString().ToLowerInvariant() }));
        foreach (var c in s.Consent.Changes)
            events.Add(new(c.At, "consent", $"{(c.Given ? "Opted in to" : "Opted out of")} {ChannelNames.Of(c.Channel)}: {c.How}", ChannelNames.Of(c.Channel)));
        // What the client wrote about the program: the coach reads it here before the next session.
        foreach (var r in s.Reflections)
            events.Add(new(r.At, "reflection", $"Reflection on session {r.Session}: {r.Text}", ChannelNames.Of(r.Channel),
                Details: new { reflectionId = r.Id, session = r.Session, replyToTouchId = r.ReplyToTouchId }));
        foreach (var f in s.Feedback)
        {
            var questions = ProgramArc.Questions(f.Kind);
            events.Add(new(f.At, f.Kind == FeedbackKind.Midpoint ? "midpoint-feedback" : "closing-reflection",
                (f.Kind == FeedbackKind.Midpoint ? "Midpoint check: " : "Closing reflection: ") + string.Join(" · ", f.Answers.Select(a => $"{questions.First(q => q.Key == a.Key).Text} {a.Text}")),
                ChannelNames.Of(f.Channel), Details: new { answers = f.Answers.ToDictionary(a => a.Key, a => a.Text) }));
        }
        if (s.EndedEarlyAt is { } left) events.Add(new(left, "ended-early", s.StatusDetail ?? "left the program early"));
        foreach (var e in s.Escalations)
        {
            events.Add(new(e.At, "escalation", $"{e.Reason}: {e.Detail}", Details: new { escalationId = e.Id, e.SlotOffered, e.HandledAt, caught = e.Caught }));
            if (e.HandledAt is { } handled) events.Add(new(handled, "escalation-handled", $"Coach handled: {e.Detail}"));
        }
        return events.OrderByDescending(e => e.At);
    }
}
