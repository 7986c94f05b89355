using System.Collections.Immutable;
using CohortGrains.Domain.Coaches;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using CohortGrains.Host.Observability;

namespace CohortGrains.Host.Coaches;

public sealed record AvailabilityDto(string? Day, string? Start, string? End);
public sealed record CreateCoachRequest(string? Name, string? Email, string? TimeZone, List<AvailabilityDto?>? Availability);
public sealed record SetAvailabilityRequest(List<AvailabilityDto?>? Availability);
public sealed record HandleAlertRequest(string? Note);
public sealed record CoachListItem(string CoachId, string? Name, string? Email, int OpenAlerts);

public sealed record CoachResponse(string CoachId, string Name, string? Email, string TimeZone, IEnumerable<AvailabilityDto> Availability, int OpenAlerts)
{
    public static CoachResponse From(CoachState s) => new(s.CoachId, s.Name, s.Email, s.TimeZone,
        s.Availability.Select(a => new AvailabilityDto(a.Day.ToString().ToLowerInvariant(), a.Start.ToString("HH:mm"), a.End.ToString("HH:mm"))), s.OpenAlerts);
}

public sealed record AlertResponse(
    string AlertId, string ClientId, string ClientName, string CohortId, string Reason, string Detail,
    DateTimeOffset RaisedAt, DateTimeOffset NextSessionAt, DateTimeOffset? OfferedSlot, DateTimeOffset? HandledAt, string? HandledNote, bool Open)
{
    public static AlertResponse From(CoachAlert a) => new(a.Id, a.ClientId, a.ClientName, a.CohortId, a.Reason.ToString().ToLowerInvariant(), a.Detail,
        a.RaisedAt, a.NextSessionAt, a.OfferedSlot, a.HandledAt, a.HandledNote, a.HandledAt is null);
}

public static class CoachesApi
{
    public static RouteGroupBuilder MapCoaches(this RouteGroupBuilder api)
    {
        var coaches = api.MapGroup("/coaches").RequireAuthorization(Policies.OrgMember);
        coaches.MapPost("/", CreateAsync).WithName("CreateCoach").ProducesProblem(StatusCodes.Status409Conflict);
        coaches.MapGet("/", ListAsync).WithName("ListCoaches");
        coaches.MapGet("/{coachId}", GetAsync).WithName("GetCoach").ProducesProblem(StatusCodes.Status404NotFound);
        coaches.MapPut("/{coachId}/availability", SetAvailabilityAsync).WithName("SetCoachAvailability").ProducesCommand<CoachResponse>();
        coaches.MapGet("/{coachId}/alerts", AlertsAsync).WithName("ListCoachAlerts").ProducesProblem(StatusCodes.Status404NotFound);
        coaches.MapPost("/{coachId}/alerts/{alertId}/handle", HandleAlertAsync).WithName("HandleCoachAlert").ProducesCommand<AlertResponse>();
        return api;
    }

    public static GrainId Id(string orgId, string coachId) => new(orgId, CoachDecider.GrainType, coachId);

    /// <summary>The coach, when the caller is that coach or an org admin; otherwise null, i.e. "not found".</summary>
    internal static async Task<CoachState?> FindAsync(GrainRuntime runtime, HttpContext http, string coachId, CancellationToken ct) =>
        Ids.LooksValid(coachId) && Access.CanSeeCoach(http.User, coachId) ? await runtime.GetAsync<CoachState>(Id(http.User.OrgId(), coachId), ct) : null;

    private static async Task<Results<Created<CoachResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateCoachRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (!Access.IsOrgAdmin(http.User)) return Problems.Forbidden("only an org admin adds coaches");
        var v = new Validation();
        var name = v.Text(body?.Name, "name", 200);
        var email = Parse.Email(v, body?.Email, "email");
        var zone = Parse.Zone(v, body?.TimeZone, "timeZone");
        var availability = ParseAvailability(v, body?.Availability);
        if (!v.IsValid) return v.Problem();

        var coachId = Ids.New("coa");
        var call = await runtime.SendAsync<CoachState>(Id(http.User.OrgId(), coachId), new CreateCoach(coachId, name!, email, zone!, availability),
            [Audit.Entry(http, "coach.created", "coach", coachId)], ct);
        return call switch
        {
            GrainCall<CoachState>.Ok ok => TypedResults.Created($"/api/v1/coaches/{coachId}", CoachResponse.From(ok.State)),
            GrainCall<CoachState>.Rejected r => Problems.Conflict(r.Detail),
            _ => throw new InvalidOperationException(),
        };
    }

    internal static ImmutableList<AvailabilityWindow> ParseAvailability(Validation v, List<AvailabilityDto?>? list)
    {
        if (list is null) return [];
        if (list.Count > 50) v.Add("availability", "must have at most 50 windows");
        var windows = ImmutableList.CreateBuilder<AvailabilityWindow>();
        for (var i = 0; i < Math.Min(list.Count, 50); i++)
        {
            var field = $"availability[{i}]";
            if (list[i] is not { } w)
            {
                v.Add(field, "is required");
                continue;
            }
            var day = Parse.Day(v, w.Day, field + ".day");
            var start = Parse.Time(v, w.Start, field + ".start");
            var end = Parse.Time(v, w.End, field + ".end");
            if (start is { } s && end is { } e && e <= s) v.Add(field + ".end", "must be after start");
            if (day is { } d && start is { } s2 && end is { } e2 && e2 > s2) windows.Add(new AvailabilityWindow(d, s2, e2));
        }
        return windows.ToImmutable();
    }

    private static async Task<Ok<IEnumerable<CoachListItem>>> ListAsync(HttpContext http, IGrainStore store, CancellationToken ct)
    {
        // A coach lists only themselves.
        var rows = await store.QueryGrainsAsync(new GrainQuery(http.User.OrgId(), CoachDecider.GrainType)
        {
            Keys = Access.CoachOf(http.User) is { } me ? [me] : null,
        }, ct);
        return TypedResults.Ok(rows.Select(r => new CoachListItem(r.Id.Key, r.Projection.DisplayName, r.Projection.Email, r.Projection.Risk)));
    }

    private static async Task<Results<Ok<CoachResponse>, ProblemHttpResult>> GetAsync(string coachId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var coach = await FindAsync(runtime, http, coachId, ct);
        return coach is null ? Problems.NotFound($"coach '{Parse.Truncate(coachId)}' not found") : TypedResults.Ok(CoachResponse.From(coach));
    }

    private static async Task<IResult> SetAvailabilityAsync(string coachId, SetAvailabilityRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (!Ids.LooksValid(coachId) || !Access.CanSeeCoach(http.User, coachId)) return Problems.NotFound("coach not found");
        var v = new Validation();
        if (body?.Availability is null) v.Add("availability", "is required");
        var availability = ParseAvailability(v, body?.Availability);
        if (!v.IsValid) return v.Problem();
        var call = await runtime.SendAsync<CoachState>(Id(http.User.OrgId(), coachId), new SetAvailability(availability),
            [Audit.Entry(http, "coach.availability-changed", "coach", coachId)], ct);
        return call switch
        {
            GrainCall<CoachState>.Ok ok => TypedResults.Ok(CoachResponse.From(ok.State)),
            GrainCall<CoachState>.Rejected r => Problems.FromRejection(r),
            _ => throw new InvalidOperationException(),
        };
    }

    private static async Task<Results<Ok<IEnumerable<AlertResponse>>, ProblemHttpResult>> AlertsAsync(
        string coachId, bool? open, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var coach = await FindAsync(runtime, http, coachId, ct);
        if (coach is null) return Problems.NotFound($"coach '{Parse.Truncate(coachId)}' not found");
        var alerts = coach.Alerts.Where(a => open is null || (a.HandledAt is null) == open).OrderByDescending(a => a.RaisedAt).Select(AlertResponse.From);
        return TypedResults.Ok(alerts);
    }

    private static async Task<IResult> HandleAlertAsync(string coachId, string alertId, HandleAlertRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (!Ids.LooksValid(coachId) || !Ids.LooksValid(alertId) || !Access.CanSeeCoach(http.User, coachId)) return Problems.NotFound("alert not found");
        var v = new Validation();
        var note = v.Text(body?.Note, "note", MaxHandledNoteLength, required: false);
        if (!v.IsValid) return v.Problem();
        var call = await HandleAsync(runtime, http, coachId, alertId, note, ct);
        return call switch
        {
            GrainCall<CoachState>.Ok ok => TypedResults.Ok(AlertResponse.From(ok.State.Alerts.First(a => a.Id == alertId))),
            GrainCall<CoachState>.Rejected r => Problems.FromRejection(r),
            _ => Problems.NotFound("alert not found"),
        };
    }

    public const int MaxHandledNoteLength = 2000;

    /// <summary>
    /// Marks an alert handled on behalf of the caller, audited in the same turn (the API and the alert inbox page both
    /// come here). Null when the caller may not see the coach: "not found".
    /// </summary>
    internal static async Task<GrainCall<CoachState>?> HandleAsync(GrainRuntime runtime, HttpContext http, string coachId, string alertId, string? note, CancellationToken ct)
    {
        if (!Ids.LooksValid(coachId) || !Ids.LooksValid(alertId) || !Access.CanSeeCoach(http.User, coachId)) return null;
        return await runtime.SendAsync<CoachState>(Id(http.User.OrgId(), coachId), new HandleAlert(alertId, note),
            [Audit.Entry(http, "alert.handled", "coach", coachId, alertId)], ct);
    }
}
