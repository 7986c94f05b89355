using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Channels;

/// <summary>
/// Delivers by recording: the touch stays in the store's outbox, visible through the API and the portal.
/// Serves the in-app channel always, and SMS/email on a node where no provider is configured (development,
/// demos), so the whole loop runs with zero set-up.
/// </summary>
public sealed class RecordingChannel(string name) : IChannel
{
    public string Name => name;

    public Task<SendOutcome> SendAsync(ClaimedOutbox message, CancellationToken ct) =>
        Task.FromResult<SendOutcome>(new SendOutcome.Accepted($"local-{message.Id}", "delivered"));
}
