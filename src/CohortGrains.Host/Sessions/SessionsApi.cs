using System.Collections.Immutable;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using CohortGrains.Host.Observability;

namespace CohortGrains.Host.Sessions;

public sealed record ActionItemDto(string? What, string? ByWhen, string? Notice);
public sealed record SessionNoteDto(string? Focus, string? Insight, string? AgreedAction, string? Obstacle, string? FollowUp);
public sealed record LoggedSessionResponse(SessionView Session, IReadOnlyList<string> Hints, ClientResponse Client)
{
    /// <summary>True when an inbound event with this id had already logged the session (nothing new happened).</summary>
    public bool Duplicate { get; init; }
}
public sealed record LogSessionRequest(DateTimeOffset? OccurredAt, DateTimeOffset? NextSessionAt, List<ActionItemDto?>? ActionItems, SessionNoteDto? Note);

public static class SessionsApi
{
    public static RouteGroupBuilder MapSessions(this RouteGroupBuilder api)
    {
        api.MapPost("/clients/{clientId}/sessions", LogAsync).RequireAuthorization(Policies.OrgMember).WithName("LogSession")
            .ProducesCommand<LoggedSessionResponse>(StatusCodes.Status201Created);
        return api;
    }

    /// <summary>The coach logs a completed session: 1–3 observable action items and the five-line note. Starts the cadence.</summary>
    private static async Task<IResult> LogAsync(string clientId, LogSessionRequest? body, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        // A coach reaches only their own clients; who logged the session goes to the audit log with the session.
        var client = await ClientsApi.FindAsync(runtime, http, clientId, ct);
        if (client is null) return Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found");
        var audit = Audit.Entry(http, "session.logged", "client", clientId);
        return await LogSessionAsync(runtime, clock, http.User.OrgId(), client, body, sourceEventId: null, audit, ct);
    }

    /// <summary>
    /// Logging a session, shared by the coach's endpoint and the inbound session.completed event, so both start the loop
    /// exactly alike. An event passes its id: the client's loop logs one session per event id, however often it arrives.
    /// </summary>
    internal static async Task<IResult> LogSessionAsync(GrainRuntime runtime, TimeProvider clock, string orgId, ClientLoopState client, LogSessionRequest? body,
        string? sourceEventId, AuditWrite audit, CancellationToken ct)
    {
        var clientId = client.ClientId;
        if (sourceEventId is not null && client.Sessions.FirstOrDefault(x => x.SourceEventId == sourceEventId) is { } logged)
            return TypedResults.Ok(new LoggedSessionResponse(ClientResponse.ToView(logged), [], ClientResponse.From(client)) { Duplicate = true });
        var cohort = await CohortsApi.FindAsync(runtime, orgId, client.CohortId, ct);
        if (cohort is null) return Problems.NotFound("the client's cohort no longer exists");
        if (cohort.Lifecycle != CohortLifecycle.Active)
            return Problems.Conflict($"the cohort is {cohort.Lifecycle.ToString().ToLowerInvariant()}: activate it before logging sessions");

        var v = new Validation();
        var now = clock.GetUtcNow();
        var occurredAt = body?.OccurredAt ?? now;
        v.Check(occurredAt <= now.AddMinutes(5), "occurredAt", "must not be in the future");
        v.Check(occurredAt >= now.AddDays(-30), "occurredAt", "must be within the last 30 days");
        var items = ParseItems(v, body?.ActionItems);
        var note = ParseNote(v, body?.Note);
        if (!v.IsValid) return v.Problem();

        var nextSession = body?.NextSessionAt ?? Zones.NextSession(cohort.Program.Schedule, occurredAt);
        v.Check(nextSession > occurredAt, "nextSessionAt", "must be after the session");
        v.Check(nextSession <= occurredAt.AddDays(35), "nextSessionAt", "must be within 5 weeks of the session");
        if (!v.IsValid) return v.Problem();

        var call = await runtime.SendAsync<ClientLoopState>(ClientsApi.Id(orgId, clientId),
            new SessionCompleted(occurredAt, nextSession, items, note!, cohort.Program) { SourceEventId = sourceEventId },
            [audit with { Detail = $"note and {items.Count} action item(s)" }], ct);
        if (call is not GrainCall<ClientLoopState>.Ok ok) return ClientsApi.Problem(call, clientId, "actionItems");
        var session = ClientResponse.ToView(sourceEventId is null ? ok.State.CurrentSession! : ok.State.Sessions.Last(x => x.SourceEventId == sourceEventId));
        return TypedResults.Created($"/api/v1/clients/{clientId}", new LoggedSessionResponse(session, VaguenessHints(items), ClientResponse.From(ok.State)));
    }

    internal static ImmutableList<NewActionItem> ParseItems(Validation v, List<ActionItemDto?>? list)
    {
        if (list is not { Count: >= 1 and <= ClientLoopDecider.MaxActionItems })
        {
            v.Add("actionItems", $"must have 1 to {ClientLoopDecider.MaxActionItems} action items");
            return [];
        }
        var items = ImmutableList.CreateBuilder<NewActionItem>();
        for (var i = 0; i < list.Count; i++)
        {
            var f = $"actionItems[{i}]";
            if (list[i] is not { } dto)
            {
                v.Add(f, "is required");
                continue;
            }
            var what = v.Text(dto.What, f + ".what", 300);
            var byWhen = Parse.Date(v, dto.ByWhen, f + ".byWhen");
            var notice = v.Text(dto.Notice, f + ".notice", 300, required: false);
            if (what is not null) items.Add(new NewActionItem(what, byWhen, notice));
        }
        return items.ToImmutable();
    }

    internal static SessionNote? ParseNote(Validation v, SessionNoteDto? note)
    {
        if (note is null)
        {
            v.Add("note", "is required: focus, insight, agreedAction, obstacle, followUp");
            return null;
        }
        var focus = v.Text(note.Focus, "note.focus", 500);
        var insight = v.Text(note.Insight, "note.insight", 500);
        var agreed = v.Text(note.AgreedAction, "note.agreedAction", 500);
        var obstacle = v.Text(note.Obstacle, "note.obstacle", 500);
        var followUp = v.Text(note.FollowUp, "note.followUp", 500);
        return v.IsValid ? new SessionNote(focus!, insight!, agreed!, obstacle!, followUp!) : null;
    }

    /// <summary>Hints (not errors) for items nobody could observe: "be more confident" → say what you'll do and how you'll know.</summary>
    public static IReadOnlyList<string> VaguenessHints(IEnumerable<NewActionItem> items) =>
        items.Select((item, i) => ActionItems.VaguenessHint(item.What) is { } hint ? $"actionItems[{i}]: {hint}" : null)
            .OfType<string>().ToList();
}
