using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Tests.Contract;

/// <summary>Messages sent only to a grain that asked for their topic (an org's webhooks, through its Integrations grain).</summary>
public abstract partial class GrainStoreContract
{
    private static GrainId Integrations(string org = "org1") => new(org, "Integrations", org);

    private static MessageWrite Event(string type, string org = "org1") =>
        new(Integrations(org), $$"""{"type":"{{type}}"}""") { OnlyIfTopic = type };

    [Fact]
    public async Task AMessageForATopicIsStoredOnlyWhenItsTargetListsThatTopic()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Integrations(), T0, Write("{}", new GrainProjection { Topics = "client.stuck client.silent" }));
        await CommandAsync(store, Integrations("org2"), T0, Write("{}", new GrainProjection { Topics = "client.stuck.late" }));

        // A check-in nobody subscribed to; a stuck one that org1 wants; one for an org with no such grain; a type that
        // only shares a prefix with what org2 wants.
        await CommandAsync(store, Client("ana"), T0, Write("{}", messages: [Event("client.checked-in"), Event("client.stuck")]));
        await CommandAsync(store, Client("bo", "org3"), T0, Write("{}", messages: [Event("client.stuck", "org3")]));
        await CommandAsync(store, Client("cy", "org2"), T0, Write("{}", messages: [Event("client.stuck", "org2")]));

        var delivered = await store.ClaimDueTimersAsync("w1", T0, 10, Lease, Ct);
        var message = Assert.Single(delivered);
        Assert.Equal(Integrations(), message.Grain);
        Assert.Equal("""{"type":"client.stuck"}""", message.PayloadJson);
    }

    [Fact]
    public async Task ATopicsProjectionIsReadBackLikeEveryOther()
    {
        var store = await CreateStoreAsync();
        await CommandAsync(store, Integrations(), T0, Write("{}", new GrainProjection { Topics = "client.stuck" }));

        var row = Assert.Single(await store.QueryGrainsAsync(new GrainQuery("org1", "Integrations"), Ct));
        Assert.Equal("client.stuck", row.Projection.Topics);
    }
}
