using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Programs;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Grains;

/// <summary>The outbox policy for client touches: quiet hours at send time, and 21610 as a durable message to the loop.</summary>
public sealed class ClientLoopOutboxPolicy(GrainRuntime runtime) : IOutboxPolicy
{
    public async Task<DateTimeOffset?> HoldUntilAsync(ClaimedOutbox row, DateTimeOffset now, CancellationToken ct)
    {
        // The portal inbox rings no phone at night; only SMS and email wait for the morning.
        if (row.Grain.Type != ClientLoopDecider.GrainType || row.Channel is not (ChannelNames.Sms or ChannelNames.Email)) return null;
        var state = await runtime.GetAsync<ClientLoopState>(row.Grain, ct);
        if (state is null || !Zones.TryFind(state.Profile.TimeZone, out var zone)) return null;
        var allowed = Zones.NextAllowed(now, state.QuietHours, zone);
        return allowed > now ? allowed : null;
    }

    public Task RecipientOptedOutAsync(ClaimedOutbox row, SendOutcome.RecipientOptedOut outcome, CancellationToken ct)
    {
        if (row.Grain.Type != ClientLoopDecider.GrainType) return Task.CompletedTask;
        var message = new SmsSenderBlocked(TouchId(row.IdempotencyKey), outcome.Sender, outcome.ErrorCode,
            $"SMS provider error {outcome.ErrorCode}: the number unsubscribed from sender {outcome.Sender ?? "(unknown)"}");
        return runtime.PostAsync([(row.Grain, message)], ct);
    }

    /// <summary>Idempotency keys are "{grain}/{touchId}"; touch ids never contain '/'.</summary>
    public static string TouchId(string idempotencyKey) => idempotencyKey[(idempotencyKey.LastIndexOf('/') + 1)..];
}
