using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Programs;
using CohortGrains.Runtime.Channels;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Grains;

/// <summary>The outbox policy for client touches: quiet hours at send time, and 21610 as a durable message to the loop.</summary>
public sealed class ClientLoopOutboxPolicy(GrainRuntime runtime) : IOutboxPolicy
{
    public async Task<IReadOnlyDictionary<long, DateTimeOffset>> HoldsAsync(IReadOnlyList<ClaimedOutbox> rows, DateTimeOffset now, CancellationToken ct)
    {
        // The portal inbox rings no phone at night; only SMS and email wait for the morning.
        var ringing = rows.Where(r => r.Grain.Type == ClientLoopDecider.GrainType && r.Channel is (ChannelNames.Sms or ChannelNames.Email)).ToList();
        if (ringing.Count == 0) return new Dictionary<long, DateTimeOffset>();
        var states = await runtime.GetManyAsync<ClientLoopState>(ringing.Select(r => r.Grain).ToHashSet(), ct);
        var holds = new Dictionary<long, DateTimeOffset>();
        foreach (var row in ringing)
        {
            if (!states.TryGetValue(row.Grain, out var state) || !Zones.TryFind(state.Profile.TimeZone, out var zone)) continue;
            var allowed = Zones.NextAllowed(now, state.QuietHours, zone);
            if (allowed > now) holds[row.Id] = allowed;
        }
        return holds;
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
