using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Runtime.Cluster;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace CohortGrains.Host.Cluster;

/// <param name="Stale">No heartbeat for longer than Cluster:StaleAfter: the node probably died without draining.</param>
public sealed record ClusterNodeView(
    string Id,
    string Address,
    DateTimeOffset StartedAt,
    DateTimeOffset LastHeartbeatAt,
    double TurnsPerSecond,
    int LeasesHeld,
    bool Draining,
    bool Stale);

/// <param name="Due">Timers (reminders and grain messages) due now and not yet turned, leased ones included.</param>
/// <param name="OldestLagSeconds">How late the oldest due timer is: the figure to watch during a launch. Like the rest of
/// the backlog, read at most once per Metrics:StoreCacheDuration (shared with /metrics).</param>
/// <param name="Total">Every timer, future ones included.</param>
public sealed record TimerBacklogView(long Due, double OldestLagSeconds, long Total);

public sealed record ClusterView(DateTimeOffset Now, string ThisNode, IReadOnlyList<ClusterNodeView> Nodes, TimerBacklogView Timers);

public static class ClusterApi
{
    public static RouteGroupBuilder MapCluster(this RouteGroupBuilder api)
    {
        api.MapGet("/cluster", GetAsync).RequireAuthorization(Policies.Operator).WithName("GetCluster");
        return api;
    }

    /// <summary>The nodes from the membership table and the due-timer backlog: what an operator watches while scaling.</summary>
    private static async Task<Ok<ClusterView>> GetAsync(
        IMembershipStore members, NodeGauges gauges, TimeProvider clock, NodeIdentity node,
        IOptions<MembershipOptions> options, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var nodes = await members.ListNodesAsync(ct);
        var backlog = await gauges.TimerBacklogAsync(ct);
        var staleAfter = options.Value.StaleAfter;
        return TypedResults.Ok(new ClusterView(
            now,
            node.Id,
            nodes.Select(n => new ClusterNodeView(n.NodeId, n.Address, n.StartedAt, n.HeartbeatAt, n.TurnsPerSecond,
                n.LeasesHeld, n.Draining, now - n.HeartbeatAt > staleAfter)).ToList(),
            new TimerBacklogView(backlog.Due, Math.Round(backlog.OldestLag.TotalSeconds, 3), backlog.Total)));
    }
}
