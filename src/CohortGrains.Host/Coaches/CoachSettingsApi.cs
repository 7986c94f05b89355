using System.Collections.Immutable;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Coaches;

public sealed record NormsRequest(List<string?>? Channels, int? ResponseHours, string? IncludedSupport, string? NotIncluded);

/// <param name="Text">The norms as the welcome message and the portal word them.</param>
public sealed record NormsView(IReadOnlyList<string> Channels, int ResponseHours, string IncludedSupport, string? NotIncluded, string Text)
{
    public static NormsView From(CommunicationNorms n, string coachName) =>
        new(n.Channels.Select(c => c.ToString().ToLowerInvariant()).ToList(), n.ResponseHours, n.IncludedSupport, n.NotIncluded, n.Describe(coachName));
}

public sealed record CoachNormsResponse(string CoachId, NormsView? Norms);

public sealed record DigestRequest(int? Hour, bool? Enabled);
public sealed record DigestResponse(string CoachId, int? Hour, bool Enabled, DateTimeOffset? NextDigestAt, DateOnly? NextDigestFor, IReadOnlyList<string> Cohorts);

/// <summary>A coach's communication norms (between-session contact) and the pre-session digest settings.</summary>
public static class CoachSettingsApi
{
    public static RouteGroupBuilder MapCoachSettings(this RouteGroupBuilder api)
    {
        // A coach's own settings: that coach, or an org admin (clients see the norms in their portal).
        var coach = api.MapGroup("/coaches/{coachId}").RequireAuthorization(Policies.OrgMember);
        coach.MapGet("/norms", GetNormsAsync).WithName("GetCoachNorms").Produces<CoachNormsResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        coach.MapPut("/norms", SetNormsAsync).WithName("SetCoachNorms").ProducesCommand<CoachNormsResponse>();
        coach.MapGet("/digest", GetDigestAsync).WithName("GetCoachDigest").Produces<DigestResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        coach.MapPut("/digest", SetDigestAsync).WithName("SetCoachDigest").ProducesCommand<DigestResponse>();
        return api;
    }

    /// <summary>The coach when the caller is that coach or an org admin; otherwise null ("not found", checked before any body).</summary>
    private static Task<CoachState?> FindAsync(GrainRuntime runtime, HttpContext http, string coachId, CancellationToken ct) =>
        CoachesApi.FindAsync(runtime, http, coachId, ct);

    private static IResult NotFound(string coachId) => Problems.NotFound($"coach '{Parse.Truncate(coachId)}' not found");

    private static async Task<IResult> GetNormsAsync(string coachId, HttpContext http, GrainRuntime runtime, CancellationToken ct) =>
        await FindAsync(runtime, http, coachId, ct) is { } coach
            ? TypedResults.Ok(new CoachNormsResponse(coach.CoachId, coach.Norms is { } n ? NormsView.From(n, coach.Name) : null))
            : NotFound(coachId);

    private static async Task<IResult> SetNormsAsync(string coachId, NormsRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        if (await FindAsync(runtime, http, coachId, ct) is null) return NotFound(coachId);
        var v = new Validation();
        var channels = ImmutableList.CreateBuilder<Channel>();
        if (body?.Channels is not { Count: > 0 }) v.Add("channels", "is required: how clients may reach the coach (email, sms, inapp)");
        else
        {
            for (var i = 0; i < body.Channels.Count; i++)
            {
                Channel? c = body.Channels[i]?.Trim().ToLowerInvariant() switch
                {
                    "email" => Channel.Email,
                    "sms" => Channel.Sms,
                    "inapp" or "portal" => Channel.InApp,
                    _ => null,
                };
                if (c is null) v.Add($"channels[{i}]", "must be email, sms or inapp");
                else if (!channels.Contains(c.Value)) channels.Add(c.Value);
            }
        }
        if (body?.ResponseHours is not { } hours || hours is < 1 or > CommunicationNorms.MaxResponseHours)
            v.Add("responseHours", $"is required: the hours within which the coach replies (1–{CommunicationNorms.MaxResponseHours})");
        var included = v.Text(body?.IncludedSupport, "includedSupport", CommunicationNorms.MaxTextLength);
        var notIncluded = v.Text(body?.NotIncluded, "notIncluded", CommunicationNorms.MaxTextLength, required: false);
        if (!v.IsValid) return v.Problem();

        var norms = new CommunicationNorms(channels.ToImmutable(), body!.ResponseHours!.Value, included!, notIncluded);
        var call = await runtime.SendAsync<CoachState>(CoachesApi.Id(http.User.OrgId(), coachId), new SetNorms(norms),
            [Audit.Entry(http, "coach.norms-changed", "coach", coachId)], ct);
        return call is GrainCall<CoachState>.Ok ok
            ? TypedResults.Ok(new CoachNormsResponse(coachId, NormsView.From(ok.State.Norms!, ok.State.Name)))
            : Problems.FromRejection((GrainCall<CoachState>.Rejected)call);
    }

    private static async Task<IResult> GetDigestAsync(string coachId, HttpContext http, GrainRuntime runtime, CancellationToken ct) =>
        await FindAsync(runtime, http, coachId, ct) is { } coach ? TypedResults.Ok(View(coach)) : NotFound(coachId);

    /// <summary>
    /// Chooses the digest hour. The coach's active cohorts are read from the projections and handed over with it, so
    /// cohorts that were active before the coach had a digest count too; later changes arrive from the cohorts themselves.
    /// </summary>
    private static async Task<IResult> SetDigestAsync(string coachId, DigestRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        if (await FindAsync(runtime, http, coachId, ct) is null) return NotFound(coachId);
        var v = new Validation();
        if (body?.Hour is not { } hour || hour is < 0 or > 23) v.Add("hour", "is required: the local hour (0–23, coach's zone) the digest goes out");
        if (!v.IsValid) return v.Problem();

        var rows = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { CoachId = coachId, Status = "active" }, ct);
        var cohorts = ImmutableList.CreateBuilder<CoachCohort>();
        foreach (var row in rows)
            if (await CohortsApi.FindAsync(runtime, orgId, row.Id.Key, ct) is { Lifecycle: CohortLifecycle.Active } c)
                cohorts.Add(new CoachCohort(c.CohortId, c.Name, c.Program.Schedule));

        var call = await runtime.SendAsync<CoachState>(CoachesApi.Id(orgId, coachId),
            new SetDigest(new DigestSettings(body!.Hour!.Value, body.Enabled ?? true), cohorts.ToImmutable()),
            [Audit.Entry(http, "coach.digest-changed", "coach", coachId, body.Enabled == false ? "off" : $"hour {body.Hour}")], ct);
        return call switch
        {
            GrainCall<CoachState>.Ok ok => TypedResults.Ok(View(ok.State)),
            GrainCall<CoachState>.Rejected r => Problems.FromRejection(r, "enabled"),
            _ => throw new InvalidOperationException(),
        };
    }

    private static DigestResponse View(CoachState c) =>
        new(c.CoachId, c.Digest?.Hour, c.Digest?.Enabled ?? false, c.NextDigestAt, c.NextDigestFor, c.Cohorts.Select(x => x.CohortId).ToList());
}
