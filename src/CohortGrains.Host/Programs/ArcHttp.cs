using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Programs;

/// <summary>Small pieces the program-arc endpoints share: loading a client or cohort as 404-or-state, channels by name.</summary>
internal static class ArcHttp
{
    /// <summary>
    /// The client when the caller may see them (an org admin, the client's coach, or the client's own link) and they
    /// are not erased; otherwise null, which every caller answers as "not found" (see <see cref="Access"/>).
    /// </summary>
    public static Task<ClientLoopState?> ClientAsync(GrainRuntime runtime, HttpContext http, string clientId, CancellationToken ct) =>
        ClientsApi.FindAsync(runtime, http, clientId, ct);

    public static IResult ClientNotFound(string clientId) => Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found");

    public static IResult CohortNotFound(string cohortId) => Problems.NotFound($"cohort '{Parse.Truncate(cohortId)}' not found");

    /// <summary>"inapp" (the default: the portal), "email" or "sms"; null (and a field error) for anything else.</summary>
    public static Channel? Channel(Validation v, string? value, string field = "channel")
    {
        Channel? channel = value?.Trim().ToLowerInvariant() switch
        {
            null or "" or "inapp" or "portal" => Domain.Common.Channel.InApp,
            "email" => Domain.Common.Channel.Email,
            "sms" => Domain.Common.Channel.Sms,
            _ => null,
        };
        if (channel is null) v.Add(field, "must be inapp, email or sms");
        return channel;
    }

    /// <summary>
    /// The states of a cohort's clients, for per-cohort reports that need what only the state holds (answers, reflections).
    /// Bounded by the cohort's size (tens of clients) and read-only: dashboards keep using the projections.
    /// </summary>
    public static async Task<IReadOnlyList<ClientLoopState>> CohortClientsAsync(GrainRuntime runtime, string orgId, string cohortId, CancellationToken ct)
    {
        var rows = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohortId, Limit = 10_000 }, ct);
        var states = new List<ClientLoopState>(rows.Count);
        foreach (var row in rows)
            if (await runtime.GetAsync<ClientLoopState>(row.Id, ct) is { } s) states.Add(s);
        return states;
    }

    /// <summary>The cohort when the caller may see it (an org admin or its coach); otherwise null, i.e. "not found".</summary>
    public static Task<CohortState?> CohortAsync(GrainRuntime runtime, HttpContext http, string cohortId, CancellationToken ct) =>
        CohortsApi.FindAsync(runtime, http, cohortId, ct);

    public static string Wire(this FeedbackKind kind) => kind == FeedbackKind.Midpoint ? "midpoint" : "closing";
}
