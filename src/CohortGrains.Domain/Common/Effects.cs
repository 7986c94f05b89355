using System.Text.Json.Serialization;

namespace CohortGrains.Domain.Common;

/// <summary>
/// What a decider wants done, as data. The runtime turns effects into rows written in the same
/// transaction as the new state (timers, outbox, messages to other grains), so none can be lost or doubled.
/// </summary>
public abstract record Effect;

/// <summary>A durable reminder: the grain receives a ReminderDue with this name at <paramref name="DueAt"/>. Same name = reschedule.</summary>
public sealed record ScheduleReminder(string Name, DateTimeOffset DueAt) : Effect;

public sealed record CancelReminder(string Name) : Effect;

/// <summary>A message to the client, leaving through the outbox. <paramref name="Touch"/>.Id is unique per client, so it is also the idempotency key.</summary>
public sealed record SendTouch(Touch Touch) : Effect;

/// <summary>Tell the coach's grain a client needs them.</summary>
public sealed record AlertCoach(string CoachId, Coaches.ClientEscalated Alert) : Effect;

/// <summary>The coach's grain offers the client its next free 15-minute slot.</summary>
public sealed record OfferSlot(string ClientId, ClientLoops.SlotOffered Offer) : Effect;

/// <summary>Any other message to a client's loop (alert handled, program ended for the cohort…).</summary>
public sealed record TellClient(string ClientId, ClientLoops.ClientLoopMessage Message) : Effect;

/// <summary>Tell a coach's grain something from a cohort (its session schedule changed, it ended).</summary>
public sealed record TellCoach(string CoachId, Coaches.CoachMessage Message) : Effect;

/// <summary>Something the org's outbound webhooks may subscribe to; delivered through the org's Integrations grain.</summary>
public sealed record PublishEvent(Integrations.ClientEvent Event) : Effect;

/// <summary>
/// The coach's digest for a session day is due: the gateway composes it from the dashboards' projections (a decider
/// cannot query) and hands the text back to the coach's grain, which sends it. Leaves through the outbox ("digest").
/// </summary>
public sealed record RequestCoachDigest(string CoachId, DateOnly SessionDate) : Effect;

/// <summary>One signed POST of an event to one webhook endpoint; leaves through the outbox ("webhook"), retried with backoff.</summary>
public sealed record DeliverWebhook(string EndpointId, string EventId, string EventType, string PayloadJson) : Effect;

[JsonConverter(typeof(JsonStringEnumConverter<Channel>))]
public enum Channel { Sms, Email, InApp }

/// <summary>One outgoing message, already personalised.</summary>
public sealed record Touch(
    string Id,
    Channel Channel,
    string Recipient,
    string? Subject,
    string Body,
    string Template,
    string? PromptId);

/// <summary>A refusal: the message does not fit the grain's state (the gateway maps it to 4xx).</summary>
public sealed record Rejection(string Code, string Detail)
{
    public const string NotFound = "not_found";
    public const string Invalid = "invalid";
    public const string Conflict = "conflict";
}

/// <summary>The result of one decision: the new state and its effects, or a rejection (nothing changes).</summary>
public sealed record Decision<TState>(TState? State, IReadOnlyList<Effect> Effects, Rejection? Rejected, object? Reply = null)
    where TState : class
{
    public static Decision<TState> Accept(TState state, IReadOnlyList<Effect>? effects = null, object? reply = null) =>
        new(state, effects ?? [], null, reply);

    public static Decision<TState> Reject(string code, string detail) => new(null, [], new Rejection(code, detail));

    /// <summary>The message changes nothing (a stale reminder, a duplicate); the turn still consumes its trigger.</summary>
    public static Decision<TState> Unchanged(TState state) => new(state, [], null);
}
