using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests.Contract;

/// <summary>The membership table every store keeps (<see cref="IMembershipStore"/>), on the same fresh stores.</summary>
public abstract partial class GrainStoreContract
{
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    private async Task<(IGrainStore Store, IMembershipStore Members)> CreateMembershipStoreAsync()
    {
        var store = await CreateStoreAsync();
        return (store, store);
    }

    private static NodeHeartbeat Beat(string node, DateTimeOffset now, double rate = 0, bool draining = false,
        DateTimeOffset? started = null, int leases = 0) =>
        new(node, $"http://127.0.0.1:508{node[^1]}", started ?? T0, now, rate, leases, draining);

    [Fact]
    public async Task HeartbeatsRegisterANodeAndUpdateItsRowKeepingItsStart()
    {
        var (_, members) = await CreateMembershipStoreAsync();
        Assert.Empty(await members.ListNodesAsync(Ct));

        await members.HeartbeatAsync(Beat("node-1", T0), ForgetAfter, Ct);
        await members.HeartbeatAsync(Beat("node-2", T0.AddSeconds(1), started: T0.AddSeconds(1)), ForgetAfter, Ct);
        await members.HeartbeatAsync(Beat("node-1", T0.AddSeconds(5), rate: 812.5, draining: true,
            started: T0.AddHours(1), leases: 37), ForgetAfter, Ct);

        var nodes = await members.ListNodesAsync(Ct);
        Assert.Equal(
            [
                new NodeRecord("node-1", "http://127.0.0.1:5081", T0, T0.AddSeconds(5), 812.5, 37, true),
                new NodeRecord("node-2", "http://127.0.0.1:5082", T0.AddSeconds(1), T0.AddSeconds(1), 0, 0, false),
            ],
            nodes);
    }

    [Fact]
    public async Task DeregisterRemovesOnlyThatNode()
    {
        var (_, members) = await CreateMembershipStoreAsync();
        await members.HeartbeatAsync(Beat("node-1", T0), ForgetAfter, Ct);
        await members.HeartbeatAsync(Beat("node-2", T0), ForgetAfter, Ct);

        await members.DeregisterAsync("node-1", Ct);
        await members.DeregisterAsync("never-registered", Ct);

        Assert.Equal(["node-2"], (await members.ListNodesAsync(Ct)).Select(n => n.NodeId));
    }

    [Fact]
    public async Task NodesSilentLongerThanForgetAfterAreRemovedByAnotherNodesHeartbeat()
    {
        var (_, members) = await CreateMembershipStoreAsync();
        await members.HeartbeatAsync(Beat("node-1", T0), ForgetAfter, Ct);
        await members.HeartbeatAsync(Beat("node-2", T0.AddMinutes(1)), ForgetAfter, Ct);

        await members.HeartbeatAsync(Beat("node-3", T0 + ForgetAfter), ForgetAfter, Ct);
        Assert.Equal(["node-1", "node-2", "node-3"], (await members.ListNodesAsync(Ct)).Select(n => n.NodeId));

        // node-1 died without deregistering: silent for longer than ForgetAfter, it is forgotten.
        await members.HeartbeatAsync(Beat("node-3", T0 + ForgetAfter + TimeSpan.FromMilliseconds(1)), ForgetAfter, Ct);
        Assert.Equal(["node-2", "node-3"], (await members.ListNodesAsync(Ct)).Select(n => n.NodeId));
    }
}
