using System.Globalization;
using System.Text;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Programs;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Grains;
using CohortGrains.Runtime.Storage;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Digest;

/// <summary>Where links in messages point: the web UI's pages, which a coach opens from their mail signed in (or after signing in).</summary>
public sealed class LinkOptions
{
    /// <summary>The public address of the service, without a trailing slash.</summary>
    public string BaseUrl { get; set; } = "http://127.0.0.1:5080";
    /// <summary>The roster of a cohort; {cohortId} is replaced.</summary>
    public string RosterUrl { get; set; } = "{base}/coach/cohorts/{cohortId}/roster";
    /// <summary>One client's timeline; {clientId} is replaced.</summary>
    public string ClientUrl { get; set; } = "{base}/coach/clients/{clientId}/timeline";

    public string Roster(string cohortId) => RosterUrl.Replace("{base}", BaseUrl.TrimEnd('/'), StringComparison.Ordinal).Replace("{cohortId}", cohortId, StringComparison.Ordinal);
    public string Client(string clientId) => ClientUrl.Replace("{base}", BaseUrl.TrimEnd('/'), StringComparison.Ordinal).Replace("{clientId}", clientId, StringComparison.Ordinal);
}

/// <summary>
/// The "digest" outbox channel. The coach's grain, at its digest reminder, enqueues a request for a session day; here the
/// request is composed from the roster projections (who is stuck, silent or late, a decider cannot query) and handed back
/// to the coach's grain, which sends it as one email through the outbox — durable, retried, and never twice for a day
/// (the email's touch id is the day). A composing failure is retried like any send.
/// </summary>
public sealed class DigestComposer(GrainRuntime runtime, TimeProvider clock, IOptions<LinkOptions> links) : IChannel
{
    public string Name => ChannelNames.Digest;

    public async Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct)
    {
        if (!DateOnly.TryParseExact(message.Body, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            return new SendOutcome.Permanent($"not a session date: '{message.Body}'");
        var coach = await runtime.GetAsync<CoachState>(message.Grain, ct);
        if (coach is null) return new SendOutcome.Permanent("the coach no longer exists");
        var (subject, body) = await ComposeAsync(coach, message.Grain.OrgId, day, ct);
        return await runtime.SendAsync<CoachState>(message.Grain, new DigestComposed(day, subject, body), ct) switch
        {
            GrainCall<CoachState>.Ok => new SendOutcome.Accepted(null, "composed"),
            GrainCall<CoachState>.Rejected r => new SendOutcome.Permanent(r.Detail),
            _ => throw new InvalidOperationException(),
        };
    }

    private sealed record Line(string Kind, int Order, string Text);

    public async Task<(string Subject, string Body)> ComposeAsync(CoachState coach, string orgId, DateOnly day, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var cohorts = (await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { CoachId = coach.CoachId, Status = "active" }, ct))
            .ToDictionary(c => c.Id.Key, c => c.Projection.DisplayName ?? c.Id.Key);
        var clients = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CoachId = coach.CoachId, OrderByRisk = true, Limit = 10_000 }, ct);
        var zone = Zones.Find(coach.TimeZone);
        var meeting = coach.Cohorts.Where(c => Zones.Sessions(c.Schedule, now.AddDays(-1), now.AddDays(3))
            .Any(at => DateOnly.FromDateTime(Zones.ToLocal(at, zone)) == day)).Select(c => c.CohortId).ToHashSet();

        var byCohort = new List<(string CohortId, List<Line> Lines)>();
        foreach (var group in clients.Where(c => c.Projection.CohortId is { } id && cohorts.ContainsKey(id)).GroupBy(c => c.Projection.CohortId!))
        {
            var lines = new List<Line>();
            foreach (var c in group)
            {
                var p = c.Projection;
                var late = p.EarliestOpenActionDue is { } due && due <= now && p.Status is "on-track" or "stuck" or "silent";
                var (kind, order) = p.Status switch
                {
                    "stuck" => ("stuck", 0),
                    "silent" => ("silent", 1),
                    _ when late => ("late", 2),
                    _ => ("", 9),
                };
                if (order == 9) continue;
                var why = kind == "late" ? $"action overdue since {p.EarliestOpenActionDue!.Value.AddDays(-1):ddd d MMM}" : p.StatusDetail ?? kind;
                lines.Add(new Line(kind, order, $"  - {p.DisplayName} ({kind}): {why} — {links.Value.Client(c.Id.Key)}"));
            }
            byCohort.Add((group.Key, lines));
        }

        var counts = new[] { "stuck", "silent", "late" }.Select(k => (k, n: byCohort.Sum(b => b.Lines.Count(l => l.Kind == k)))).Where(x => x.n > 0).ToList();
        var dayText = day.ToString("ddd d MMM", CultureInfo.InvariantCulture);
        var subject = counts.Count == 0
            ? $"Before your sessions on {dayText}: everyone is on track"
            : $"Before your sessions on {dayText}: " + string.Join(", ", counts.Select(c => $"{c.n} {c.k}"));
        var body = new StringBuilder($"Hi {Domain.Common.Text.FirstName(coach.Name)},\n\n");
        body.Append(counts.Count == 0 ? "Nobody needs you before your sessions: every client is on track.\n" : "Who needs you before your sessions:\n");
        // Cohorts meeting that day first, then the rest; within a cohort stuck, silent, late.
        foreach (var (cohortId, lines) in byCohort.OrderBy(b => meeting.Contains(b.CohortId) ? 0 : 1).ThenBy(b => cohorts[b.CohortId], StringComparer.OrdinalIgnoreCase))
        {
            if (lines.Count == 0) continue;
            body.Append('\n').Append(cohorts[cohortId]).Append(meeting.Contains(cohortId) ? $" (meets {dayText})" : "").Append(" — roster: ")
                .Append(links.Value.Roster(cohortId)).Append('\n');
            foreach (var line in lines.OrderBy(l => l.Order)) body.Append(line.Text).Append('\n');
        }
        body.Append("\nOne email per session day; choose its hour in your digest settings.\n");
        return (subject, body.ToString());
    }
}
