using System.Security.Claims;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using CohortGrains.Host.Observability;

namespace CohortGrains.Host.Clients;

public sealed record EnrollRequest(string? Name, string? Phone, string? Email, string? TimeZone, int? PreferredHour, bool? SmsConsent, QuietHoursDto? QuietHours);
public sealed record BulkEnrollRequest(List<EnrollRequest?>? Clients);
public sealed record BulkEnrollResponse(int Accepted, IReadOnlyList<string> ClientIds, string Note);

public static class ClientsApi
{
    public const int MaxBulk = 1000;
    /// <summary>1000 clients with long names, emails and escaped characters fit; the 1 MB default would not.</summary>
    public const long MaxBulkBodyBytes = 4 * 1024 * 1024;

    public static RouteGroupBuilder MapClients(this RouteGroupBuilder api)
    {
        var cohortClients = api.MapGroup("/cohorts/{cohortId}/clients").RequireAuthorization(Policies.OrgMember);
        cohortClients.MapPost("/", EnrollAsync).WithName("EnrollClient").ProducesCommand<ClientResponse>(StatusCodes.Status201Created);
        cohortClients.MapPost("/bulk", BulkEnrollAsync).WithName("BulkEnrollClients").WithMetadata(new BodySizeLimit(MaxBulkBodyBytes)).ProducesCommand<BulkEnrollResponse>(StatusCodes.Status202Accepted);
        cohortClients.MapGet("/", RosterAsync).WithName("ListCohortClients").ProducesProblem(StatusCodes.Status404NotFound);

        // Clients (magic links) may read their own loop; pause, resume and end stay with staff (Access.MaySend).
        var clients = api.MapGroup("/clients/{clientId}").RequireAuthorization(Policies.OrgMemberOrClient);
        clients.MapGet("/", GetAsync).WithName("GetClient").ProducesProblem(StatusCodes.Status404NotFound);
        clients.MapGet("/timeline", TimelineAsync).WithName("GetClientTimeline").ProducesProblem(StatusCodes.Status404NotFound);
        clients.MapPost("/pause", (string clientId, HttpContext http, GrainRuntime rt, CancellationToken ct) => SendAsync(rt, http, clientId, new Paused(null), ct)).WithName("PauseClient").ProducesCommand<ClientResponse>();
        clients.MapPost("/resume", (string clientId, HttpContext http, GrainRuntime rt, CancellationToken ct) => SendAsync(rt, http, clientId, new Resumed(), ct)).WithName("ResumeClient").ProducesCommand<ClientResponse>();
        clients.MapPost("/end", (string clientId, HttpContext http, GrainRuntime rt, CancellationToken ct) => SendAsync(rt, http, clientId, new ProgramEnded("left the program early") { Early = true }, ct)).WithName("EndClientProgram").ProducesCommand<ClientResponse>();
        return api;
    }

    public static GrainId Id(string orgId, string clientId) => new(orgId, ClientLoopDecider.GrainType, clientId);

    /// <summary>Sends a message to a client's loop and answers with the client, or the grain's refusal.</summary>
    public static async Task<IResult> SendAsync(GrainRuntime runtime, HttpContext http, string clientId, ClientLoopMessage message, CancellationToken ct, string field = "body")
    {
        var call = await CallAsync(runtime, http, clientId, message, ct);
        return call is GrainCall<ClientLoopState>.Ok ok ? TypedResults.Ok(ClientResponse.From(ok.State)) : Problem(call, clientId, field);
    }

    /// <summary>
    /// Sends a message on behalf of the caller, audited in the same turn. Null when the id cannot be one of ours or
    /// the caller may not see the client (both are "not found"); a Forbidden rejection when they see it but may not
    /// send this (a client pausing their own loop). Both are checked on the state the turn holds locked: no read of the
    /// grain before the turn, and no change (an erasure, a new coach) between the check and the turn.
    /// </summary>
    public static async Task<GrainCall<ClientLoopState>?> CallAsync(GrainRuntime runtime, HttpContext http, string clientId, ClientLoopMessage message, CancellationToken ct)
    {
        if (!Ids.LooksValid(clientId)) return null;
        var user = http.User;
        var audit = Audit.ForClientMessage(http, clientId, message) is { } entry ? [entry] : Array.Empty<AuditWrite>();
        var call = await runtime.SendAsync<ClientLoopState>(Id(user.OrgId(), clientId), message, audit, ct, client =>
            !Visible(user, client) ? NotVisible
            : !Access.MaySend(user, client!, message) ? new TurnDecision.Reject(Forbidden, "only the client's coach or an org admin can do this")
            : null);
        return call is GrainCall<ClientLoopState>.Rejected { Code: NotVisibleCode } ? null : call;
    }

    /// <summary>
    /// The answer to a request whose body failed validation: "not found" when the caller may not see the client
    /// (strangers learn nothing from validation), its field errors otherwise. Only this path reads the client first.
    /// </summary>
    public static async Task<IResult> InvalidAsync(GrainRuntime runtime, HttpContext http, string clientId, Validation v, CancellationToken ct) =>
        await FindAsync(runtime, http, clientId, ct) is null ? Problem(null, clientId) : v.Problem();

    private const string Forbidden = "forbidden";
    private const string NotVisibleCode = "not-visible";
    private static readonly TurnDecision.Reject NotVisible = new(NotVisibleCode, "the caller may not see this client");

    private static bool Visible(ClaimsPrincipal user, ClientLoopState? client) => client is { ErasedAt: null } && Access.CanSeeClient(user, client);

    /// <summary>The client, when the id is one of ours, the client exists, is not erased, and the caller may see them.</summary>
    public static async Task<ClientLoopState?> FindAsync(GrainRuntime runtime, HttpContext http, string clientId, CancellationToken ct)
    {
        var state = Ids.LooksValid(clientId) ? await runtime.GetAsync<ClientLoopState>(Id(http.User.OrgId(), clientId), ct) : null;
        return Visible(http.User, state) ? state : null;
    }

    public static IResult Problem(GrainCall<ClientLoopState>? call, string clientId, string field = "body") => call switch
    {
        null => Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found"),
        GrainCall<ClientLoopState>.Rejected { Code: Forbidden } r => Problems.Forbidden(r.Detail),
        // A message to a grain that does not exist is refused by its decider: to the caller that is simply "not found".
        GrainCall<ClientLoopState>.Rejected { Code: Domain.Common.Rejection.NotFound } r when r.Detail == ClientLoopDecider.NotEnrolled =>
            Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found"),
        GrainCall<ClientLoopState>.Rejected r => Problems.FromRejection(r, field),
        _ => throw new InvalidOperationException("not a problem"),
    };

    private static async Task<IResult> EnrollAsync(string cohortId, EnrollRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var target = await EnrolmentTargetAsync(runtime, http, cohortId, ct);
        if (target.Problem is not null) return target.Problem;
        var v = new Validation();
        var enroll = ParseEnroll(v, body, "", target, runtime.Clock.GetUtcNow());
        if (!v.IsValid) return v.Problem();
        var call = await runtime.SendAsync<ClientLoopState>(Id(orgId, enroll!.ClientId), enroll, [Audit.ForClientMessage(http, enroll.ClientId, enroll)!], ct);
        return call switch
        {
            GrainCall<ClientLoopState>.Ok ok => TypedResults.Created($"/api/v1/clients/{enroll.ClientId}", ClientResponse.From(ok.State)),
            GrainCall<ClientLoopState>.Rejected r => Problems.FromRejection(r),
            _ => throw new InvalidOperationException(),
        };
    }

    /// <summary>
    /// Validates every client first (nothing is enrolled if any is invalid), then queues all enrolments in one
    /// transaction: launch-day imports return at once and the workers create the loops.
    /// </summary>
    private static async Task<IResult> BulkEnrollAsync(string cohortId, BulkEnrollRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var target = await EnrolmentTargetAsync(runtime, http, cohortId, ct);
        if (target.Problem is not null) return target.Problem;
        var v = new Validation();
        if (body?.Clients is not { Count: > 0 }) v.Add("clients", "must list at least one client");
        else if (body.Clients.Count > MaxBulk) v.Add("clients", $"must list at most {MaxBulk} clients per call");
        if (!v.IsValid) return v.Problem();

        var messages = new List<(GrainId, object)>();
        for (var i = 0; i < body!.Clients!.Count; i++)
        {
            if (ParseEnroll(v, body.Clients[i], $"clients[{i}].", target, runtime.Clock.GetUtcNow()) is { } enroll)
                messages.Add((Id(orgId, enroll.ClientId), enroll));
        }
        if (!v.IsValid) return v.Problem();
        await runtime.PostAsync(messages, ct);
        var ids = messages.Select(m => m.Item1.Key).ToList();
        // After the queueing committed (a separate transaction: a crash in between loses this line, not the enrolments).
        await runtime.Store.AppendAuditAsync([Audit.Entry(http, "clients.bulk-enrolled", "cohort", cohortId, $"{ids.Count} client(s)")], runtime.Clock.GetUtcNow(), ct);
        return TypedResults.Accepted($"/api/v1/cohorts/{cohortId}/clients",
            new BulkEnrollResponse(ids.Count, ids, "Enrolments are queued durably; the clients appear in the roster within moments."));
    }

    /// <param name="Norms">The coach's communication norms: the program's first message carries them.</param>
    internal sealed record EnrolmentTarget(CohortState? Cohort, string? CoachName, IResult? Problem, Domain.Coaches.CommunicationNorms? Norms = null);

    internal static async Task<EnrolmentTarget> EnrolmentTargetAsync(GrainRuntime runtime, HttpContext http, string cohortId, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var cohort = await CohortsApi.FindAsync(runtime, http, cohortId, ct);
        if (cohort is null) return new(null, null, Problems.NotFound($"cohort '{Parse.Truncate(cohortId)}' not found"));
        if (cohort.Lifecycle == CohortLifecycle.Ended) return new(null, null, Problems.Conflict("the cohort has ended; clients cannot be enrolled"));
        var coach = await runtime.GetAsync<CoachState>(Coaches.CoachesApi.Id(orgId, cohort.CoachId), ct);
        return new(cohort, coach?.Name ?? "your coach", null, coach?.Norms);
    }

    internal static Enroll? ParseEnroll(Validation v, EnrollRequest? body, string prefix, EnrolmentTarget target, DateTimeOffset now)
    {
        var (cohort, coachName) = (target.Cohort!, target.CoachName!);
        if (body is null)
        {
            v.Add(prefix.Length == 0 ? "body" : prefix.TrimEnd('.'), "is required");
            return null;
        }
        var name = v.Text(body.Name, prefix + "name", 200);
        var phone = Parse.Phone(v, body.Phone, prefix + "phone");
        var email = Parse.Email(v, body.Email, prefix + "email");
        var zone = Parse.Zone(v, body.TimeZone, prefix + "timeZone");
        if (body.PreferredHour is null or < 0 or > 23) v.Add(prefix + "preferredHour", "is required: the hour (0–23, client's local time) the client likes to hear from us");
        if (string.IsNullOrWhiteSpace(body.Phone) && string.IsNullOrWhiteSpace(body.Email)) v.Add(prefix + "email", "a phone or an email is required");
        if (body.SmsConsent == true && string.IsNullOrWhiteSpace(body.Phone)) v.Add(prefix + "smsConsent", "SMS consent needs a phone number");
        QuietHoursDto? quietDto = body.QuietHours;
        Domain.Programs.QuietHours? quiet = null;
        if (quietDto is not null)
        {
            var start = Parse.Time(v, quietDto.Start, prefix + "quietHours.start");
            var end = Parse.Time(v, quietDto.End, prefix + "quietHours.end");
            if (start is { } s && end is { } e) quiet = new Domain.Programs.QuietHours(s, e);
            if (quiet is not null && !(quiet.Contains(new TimeOnly(21, 0)) && quiet.Contains(new TimeOnly(7, 59))))
                v.Add(prefix + "quietHours", "must cover at least 21:00–08:00 local time");
        }
        if (!v.IsValid) return null;
        var clientId = Ids.New("cli");
        return new Enroll(clientId, cohort.CohortId, cohort.CoachId, coachName,
            new ClientProfile(name!, phone, email, zone!, body.PreferredHour!.Value, quiet),
            // The opt-in the coach recorded is the first entry of the client's consent history (TCPA: when and how).
            new Consent(SmsOptIn: body.SmsConsent == true)
            {
                Changes = body.SmsConsent == true ? [new ConsentChange(Domain.Common.Channel.Sms, true, now, "smsConsent recorded at enrolment (API)", null)] : [],
            },
            cohort.Program) { Norms = target.Norms };
    }

    private static async Task<Results<Ok<IEnumerable<ClientSummary>>, ProblemHttpResult>> RosterAsync(
        string cohortId, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (await CohortsApi.FindAsync(runtime, http, cohortId, ct) is null) return Problems.NotFound($"cohort '{Parse.Truncate(cohortId)}' not found");
        var rows = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohortId, Limit = 10_000 }, ct);
        return TypedResults.Ok(Dashboard.Roster.Sort(rows, clock.GetUtcNow()));
    }

    private static async Task<Results<Ok<ClientResponse>, ProblemHttpResult>> GetAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var state = await FindAsync(runtime, http, clientId, ct);
        return state is null
            ? Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found")
            : TypedResults.Ok(ClientResponse.From(state, includeNotes: Access.CanManageClient(http.User, state)));
    }

    private static async Task<Results<Ok<IEnumerable<TimelineEvent>>, ProblemHttpResult>> TimelineAsync(
        string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var state = await FindAsync(runtime, http, clientId, ct);
        if (state is null) return Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found");
        var touches = await runtime.Store.QueryOutboxAsync(new OutboxQuery(orgId) { GrainKey = clientId, Limit = 1000 }, ct);
        return TypedResults.Ok(Timeline.Build(state, touches, includeNotes: Access.CanManageClient(http.User, state)));
    }
}
