using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Cluster;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CohortGrains.Host.Tests;

/// <summary>GET /api/v1/cluster and the drain as the gateway shows them, on the embedded store (a cluster of one).</summary>
public sealed class ClusterApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task TheClusterListsThisNodeAndTheDueTimerBacklogWithItsLag()
    {
        var started = _host.Clock.GetUtcNow();
        // Two grain messages and a reminder for next week; then three days pass and no worker runs.
        await _host.Store.EnqueueMessagesAsync(
            [new(new GrainId("org1", "Coach", "kim"), "{}"), new(new GrainId("org1", "Coach", "lee"), "{}")], started, default);
        await _host.Store.RunTurnAsync(new GrainId("org1", "Coach", "kim"), TurnTrigger.FromCommand, started,
            _ => new TurnDecision.Write("{}", new GrainProjection(), [new TimerWrite("weekly", started.AddDays(7), "{}")], [], [], []), default);
        _host.Clock.Advance(TimeSpan.FromDays(3));

        var cluster = await _host.Operator().GetJsonAsync("/api/v1/cluster");

        var thisNode = _host.Services.GetRequiredService<NodeIdentity>().Id;
        Assert.Equal(thisNode, cluster["thisNode"]!.GetValue<string>());
        var node = Assert.Single(cluster["nodes"]!.AsArray())!;
        Assert.Equal(thisNode, node["id"]!.GetValue<string>());
        Assert.Equal("http://127.0.0.1:5080", node["address"]!.GetValue<string>());
        // Registered when the host started, before any request, with the node's clock.
        Assert.True(node["startedAt"]!.GetValue<DateTimeOffset>() <= started);
        Assert.Equal(node["startedAt"]!.GetValue<DateTimeOffset>(), node["lastHeartbeatAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(0, node["leasesHeld"]!.GetValue<int>());
        Assert.False(node["draining"]!.GetValue<bool>());
        Assert.True(node["stale"]!.GetValue<bool>()); // three fake days without a heartbeat

        var timers = cluster["timers"]!;
        Assert.Equal((2L, 3L), (timers["due"]!.GetValue<long>(), timers["total"]!.GetValue<long>()));
        Assert.Equal(TimeSpan.FromDays(3).TotalSeconds, timers["oldestLagSeconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task PollingTheClusterSharesTheMetricsBacklogReadWithinItsCacheWindow()
    {
        _host.Settings["Metrics:StoreCacheDuration"] = "01:00:00";
        StoreSpy.Install(_host);

        await _host.Operator().GetJsonAsync("/api/v1/cluster");
        await _host.Operator().GetJsonAsync("/api/v1/cluster");
        await Http.ExpectAsync(await _host.Operator().GetAsync("/metrics"), 200);

        Assert.Equal(1, StoreSpy.Of(_host).CallsTo(nameof(IGrainStore.GetTimerBacklogAsync)));
    }

    [Fact]
    public async Task TheHeartbeatReportsTheLeasesTheNodeCountsAsHeld()
    {
        var node = _host.Services.GetRequiredService<NodeIdentity>();
        var membership = _host.Services.GetServices<IHostedService>().OfType<MembershipService>().Single();
        async Task<int> ListedAsync()
        {
            await membership.HeartbeatAsync(CancellationToken.None);
            var listed = Assert.Single((await _host.Operator().GetJsonAsync("/api/v1/cluster"))["nodes"]!.AsArray())!;
            return listed["leasesHeld"]!.GetValue<int>();
        }

        node.Claimed(3);
        Assert.Equal(3, await ListedAsync());
        node.Finished(3);
        Assert.Equal(0, await ListedAsync());
    }

    [Fact]
    public async Task OnlyTheOperatorSeesTheCluster()
    {
        var org = await Org.CreateAsync(_host);

        await Http.ExpectAsync(await org.Api.GetAsync("/api/v1/cluster"), 403);
        await Http.ExpectAsync(await _host.ClientWithKey(null).GetAsync("/api/v1/cluster"), 401);
    }

    [Fact]
    public async Task ADrainingNodeAnswersNotReadyAndIsListedAsDraining()
    {
        var anonymous = _host.ClientWithKey(null);
        await Http.ExpectAsync(await anonymous.GetAsync("/health/ready"), 200);

        // What SIGTERM does first (ApplicationStopping), without stopping the test host.
        _host.Services.GetRequiredService<DrainState>().BeginDrain();
        var membership = _host.Services.GetServices<IHostedService>().OfType<MembershipService>().Single();
        await membership.HeartbeatAsync(CancellationToken.None);

        var ready = await anonymous.GetAsync("/health/ready");
        await Http.ExpectAsync(ready, 503);
        Assert.Contains("draining", (await ready.ReadJsonAsync())["detail"]!.GetValue<string>());
        var node = Assert.Single((await _host.Operator().GetJsonAsync("/api/v1/cluster"))["nodes"]!.AsArray())!;
        Assert.True(node["draining"]!.GetValue<bool>());
        Assert.True(_host.Services.GetRequiredService<DrainState>().WorkersStopped.IsCompleted); // workers are off here
    }

    [Theory]
    [InlineData("http://127.0.0.1:5081", "http://127.0.0.1:5081")]
    [InlineData("http://10.0.0.7:8080;https://10.0.0.7:8443", "http://10.0.0.7:8080")]
    [InlineData("http://0.0.0.0:8080", "http://{host}:8080")]
    [InlineData("http://+:8080", "http://{host}:8080")]
    [InlineData("http://[::]:8080", "http://{host}:8080")]
    [InlineData(null, "")]
    public void ANodeIsListedUnderTheAddressOthersCanReach(string? urls, string expected) =>
        Assert.Equal(expected.Replace("{host}", System.Net.Dns.GetHostName()), Cluster.ClusterSetup.DefaultAddress(urls));
}
