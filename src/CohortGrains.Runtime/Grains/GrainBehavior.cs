using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CohortGrains.Domain;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Integrations;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Grains;

/// <summary>What the runtime needs of a grain type, untyped: decide on stored JSON and a message.</summary>
public interface IGrainBehavior
{
    string Type { get; }

    /// <summary>
    /// Decides one turn. <paramref name="state"/> receives the new typed state (or null on rejection). A
    /// <paramref name="precondition"/> sees the current typed state first; when it refuses, that is the turn's decision.
    /// </summary>
    TurnDecision Decide(GrainId id, StoredGrain? current, object message, DateTimeOffset now, out object? state,
        Func<object?, TurnDecision.Reject?>? precondition = null);

    object ReminderMessage(string name);
    object DeserializeMessage(string json);
    string SerializeMessage(object message);
    object DeserializeState(string json);
}

/// <summary>
/// Adapts a pure domain decider to the runtime: JSON in and out (source-generated), the projection the
/// dashboards query, and the translation of domain effects into rows written in the turn's transaction.
/// </summary>
public abstract class GrainBehavior<TState, TMessage> : IGrainBehavior
    where TState : class
    where TMessage : class
{
    public abstract string Type { get; }
    protected abstract JsonTypeInfo<TState> StateJson { get; }
    protected abstract JsonTypeInfo<TMessage> MessageJson { get; }
    protected abstract Decision<TState> Decide(TState? state, TMessage message, DateTimeOffset now);
    protected abstract GrainProjection Project(TState state);
    protected abstract TMessage Reminder(string name);

    /// <summary>Touch facts new or changed between the state before and after the turn (see <see cref="TouchFactWrite"/>).</summary>
    protected virtual IReadOnlyList<TouchFactWrite> TouchFacts(TState? before, TState after) => [];

    public object ReminderMessage(string name) => Reminder(name);
    public object DeserializeMessage(string json) => JsonSerializer.Deserialize(json, MessageJson) ?? throw new JsonException("null message");
    public string SerializeMessage(object message) => JsonSerializer.Serialize((TMessage)message, MessageJson);
    public object DeserializeState(string json) => JsonSerializer.Deserialize(json, StateJson) ?? throw new JsonException("null state");

    public TurnDecision Decide(GrainId id, StoredGrain? current, object message, DateTimeOffset now, out object? state,
        Func<object?, TurnDecision.Reject?>? precondition = null)
    {
        var typed = current is null ? null : (TState)DeserializeState(current.StateJson);
        if (precondition?.Invoke(typed) is { } refused)
        {
            state = null;
            return refused;
        }
        var decision = Decide(typed, (TMessage)message, now);
        state = decision.State;
        if (decision.Rejected is { } r) return new TurnDecision.Reject(r.Code, r.Detail);
        return Translate(id, decision.State!, decision.Effects) with { TouchFacts = TouchFacts(typed, decision.State!) };
    }

    private TurnDecision.Write Translate(GrainId id, TState state, IReadOnlyList<Effect> effects)
    {
        var timers = new List<TimerWrite>();
        var cancels = new List<string>();
        var outbox = new List<OutboxWrite>();
        var messages = new List<MessageWrite>();
        var escalations = new List<string>();
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case ScheduleReminder r:
                    timers.RemoveAll(t => t.Name == r.Name);
                    timers.Add(new TimerWrite(r.Name, r.DueAt, SerializeMessage(Reminder(r.Name))));
                    break;
                case CancelReminder c:
                    timers.RemoveAll(t => t.Name == c.Name);
                    cancels.Add(c.Name);
                    break;
                case SendTouch { Touch: var t }:
                    // grain + touch id: the same touch can never be enqueued twice, whatever retries happen.
                    outbox.Add(new OutboxWrite($"{id}/{t.Id}", ChannelNames.Of(t.Channel), t.Recipient, t.Subject, t.Body, t.Template, t.PromptId));
                    break;
                case AlertCoach a:
                    messages.Add(new MessageWrite(new GrainId(id.OrgId, CoachDecider.GrainType, a.CoachId),
                        JsonSerializer.Serialize<CoachMessage>(a.Alert, DomainJson.Default.CoachMessage)));
                    escalations.Add(a.Alert.Reason.ToString().ToLowerInvariant());
                    break;
                case OfferSlot o:
                    messages.Add(ToClient(id.OrgId, o.ClientId, o.Offer));
                    break;
                case TellClient t:
                    messages.Add(ToClient(id.OrgId, t.ClientId, t.Message));
                    break;
                case TellCoach t:
                    messages.Add(new MessageWrite(new GrainId(id.OrgId, CoachDecider.GrainType, t.CoachId),
                        JsonSerializer.Serialize(t.Message, DomainJson.Default.CoachMessage)));
                    break;
                case PublishEvent p:
                    // Through the org's Integrations grain, which knows the endpoints and fans out one delivery each;
                    // only if one of them subscribes to this event type (its projected topics), else it is not sent at all.
                    messages.Add(new MessageWrite(new GrainId(id.OrgId, IntegrationsDecider.GrainType, id.OrgId),
                        JsonSerializer.Serialize<IntegrationsMessage>(new EventOccurred(p.Event), DomainJson.Default.IntegrationsMessage))
                    {
                        OnlyIfTopic = p.Event.Type,
                    });
                    break;
                case RequestCoachDigest d:
                    // The digest's text needs the roster (a query): the "digest" channel composes it at send time.
                    outbox.Add(new OutboxWrite($"{id}/digest-request-{d.SessionDate:yyyyMMdd}", ChannelNames.Digest, d.CoachId, null,
                        d.SessionDate.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "coach-digest", null));
                    break;
                case DeliverWebhook w:
                    // One row per event and endpoint: retried, fenced and logged like any send.
                    outbox.Add(new OutboxWrite($"{id}/wh-{w.EventId}-{w.EndpointId}", ChannelNames.Webhook, w.EndpointId, w.EventType, w.PayloadJson,
                        w.EventType, null));
                    break;
                default:
                    throw new InvalidOperationException($"No translation for effect {effect.GetType().Name}");
            }
        }
        return new TurnDecision.Write(JsonSerializer.Serialize(state, StateJson), Project(state), timers, cancels, outbox, messages)
        {
            Escalations = escalations,
        };
    }

    private static MessageWrite ToClient(string orgId, string clientId, ClientLoopMessage message) =>
        new(new GrainId(orgId, ClientLoopDecider.GrainType, clientId), JsonSerializer.Serialize(message, DomainJson.Default.ClientLoopMessage));
}

public static class ChannelNames
{
    public const string Sms = "sms";
    public const string Email = "email";
    public const string InApp = "inapp";
    /// <summary>Outbound webhook deliveries; the recipient is the endpoint id.</summary>
    public const string Webhook = "webhook";
    /// <summary>A coach's digest to compose (not sent as is): the recipient is the coach id, the body the session date.</summary>
    public const string Digest = "digest";

    public static string Of(Channel channel) => channel switch
    {
        Channel.Sms => Sms,
        Channel.Email => Email,
        _ => InApp,
    };
}
