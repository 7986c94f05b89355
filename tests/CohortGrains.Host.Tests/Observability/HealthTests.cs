using System.Net;
using CohortGrains.Host.Tests.Infrastructure;
using CohortGrains.Runtime.Storage;
using CohortGrains.Runtime.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CohortGrains.Host.Tests.Observability;

public sealed class HealthTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        // Probes carry no key.
        var response = await _host.CreateClient().GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AMigratedNodeIsLiveAndReady()
    {
        Assert.Equal((HttpStatusCode.OK, """{"status":"live"}"""), await GetAsync("/health/live"));
        Assert.Equal((HttpStatusCode.OK, """{"status":"ready"}"""), await GetAsync("/health/ready"));
    }

    [Fact]
    public async Task ANodeWhoseStoreIsNotMigratedIsLiveButNotReady()
    {
        _host.Settings["Storage:MigrateOnStart"] = "false";

        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/live")).Status);
        var (status, body) = await GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("not migrated", body);

        await _host.Store.MigrateAsync(default);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/ready")).Status);
    }

    [Fact]
    public async Task ANodeWhoseStoreDoesNotAnswerIsNotReady()
    {
        StoreSpy.Install(_host);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/ready")).Status);

        StoreSpy.Of(_host).Failing[nameof(IGrainStore.IsReadyAsync)] = true;

        var (status, body) = await GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("unreachable", body);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/live")).Status);
    }

    [Fact]
    public async Task ADrainingNodeIsLiveButNotReady()
    {
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/ready")).Status);

        _host.Services.GetRequiredService<DrainState>().BeginDrain();

        var (status, body) = await GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("draining", body);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/live")).Status);
        var metrics = MetricsEndpointTests.Samples(await (await _host.Operator().GetAsync("/metrics")).Content.ReadAsStringAsync());
        Assert.Equal(1, metrics["cohortgrains_node_draining"]);
    }

    [Fact]
    public async Task StoppingTheNodeBeginsTheDrainBeforeAnythingStops()
    {
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/health/ready")).Status);
        var drain = _host.Services.GetRequiredService<DrainState>();
        Assert.False(drain.IsDraining);

        // What SIGTERM does: ApplicationStopping fires (its callbacks run before this returns), then the host stops.
        _host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        Assert.True(drain.IsDraining);
    }
}
