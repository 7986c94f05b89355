using System.Text.Json.Serialization.Metadata;
using CohortGrains.Domain;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Common;
using CohortGrains.Domain.Integrations;
using CohortGrains.Domain.Orgs;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Runtime.Grains;

public sealed class ClientLoopGrain : GrainBehavior<ClientLoopState, ClientLoopMessage>
{
    public override string Type => ClientLoopDecider.GrainType;
    protected override JsonTypeInfo<ClientLoopState> StateJson => DomainJson.Default.ClientLoopState;
    protected override JsonTypeInfo<ClientLoopMessage> MessageJson => DomainJson.Default.ClientLoopMessage;
    protected override Decision<ClientLoopState> Decide(ClientLoopState? state, ClientLoopMessage message, DateTimeOffset now) =>
        ClientLoopDecider.Decide(state, message, now);
    protected override ClientLoopMessage Reminder(string name) => new ReminderDue(name);

    protected override GrainProjection Project(ClientLoopState s) => new()
    {
        DisplayName = s.Profile.Name,
        CohortId = s.CohortId,
        CoachId = s.CoachId,
        Status = s.Status.ToWire(),
        StatusSince = s.StatusSince,
        StatusDetail = s.StatusDetail,
        Risk = ClientLoopDecider.Risk(s),
        LastRating = s.LastRating,
        NextSessionAt = s.CurrentSession?.NextSessionAt,
        EarliestOpenActionDue = ClientLoopDecider.EarliestOpenActionDue(s),
        PromptsSent = s.Touches.Count(t => t.IsPrompt && t.SkippedBecause is null),
        // Reply rate counts prompts answered, not messages: three texts to one check-in are one reply.
        Replies = s.Replies.Where(r => r.PromptId is not null).Select(r => r.PromptId).Distinct().Count(),
        TouchesSent = s.Touches.Count(t => t.SkippedBecause is null),
        ActionsTotal = s.AllActions.Count(),
        ActionsDone = s.AllActions.Count(a => a.CompletedAt is not null),
        Escalations = s.Escalations.Count,
        EscalationsCaught = s.Escalations.Count(e => e.Caught),
        Phone = s.Profile.Phone,
        Email = s.Profile.Email,
        EndedEarly = s.EndedEarlyAt is not null,
    };

    protected override IReadOnlyList<TouchFactWrite> TouchFacts(ClientLoopState? before, ClientLoopState after)
    {
        // Only what changed: a turn rewrites the one or two facts it touched, not the client's whole history.
        var old = before is null ? [] : PromptAnalytics.Facts(before).ToDictionary(f => f.TouchId);
        return PromptAnalytics.Facts(after)
            .Where(f => !old.TryGetValue(f.TouchId, out var was) || was != f)
            .Select(f => new TouchFactWrite(f.TouchId, after.CohortId, after.CoachId, f.Template, f.TemplateVersion, f.Kind,
                ChannelNames.Of(f.Channel), f.SentAt, f.RepliedAt, f.Rating))
            .ToList();
    }
}

public sealed class CoachGrain : GrainBehavior<CoachState, CoachMessage>
{
    public override string Type => CoachDecider.GrainType;
    protected override JsonTypeInfo<CoachState> StateJson => DomainJson.Default.CoachState;
    protected override JsonTypeInfo<CoachMessage> MessageJson => DomainJson.Default.CoachMessage;
    protected override Decision<CoachState> Decide(CoachState? state, CoachMessage message, DateTimeOffset now) =>
        CoachDecider.Decide(state, message, now);
    protected override CoachMessage Reminder(string name) => new CoachReminderDue(name);
    protected override GrainProjection Project(CoachState s) => new()
    {
        DisplayName = s.Name,
        CoachId = s.CoachId,
        Email = s.Email,
        Risk = s.OpenAlerts,
    };
}

public sealed class CohortGrain : GrainBehavior<CohortState, CohortMessage>
{
    public override string Type => CohortDecider.GrainType;
    protected override JsonTypeInfo<CohortState> StateJson => DomainJson.Default.CohortState;
    protected override JsonTypeInfo<CohortMessage> MessageJson => DomainJson.Default.CohortMessage;
    protected override Decision<CohortState> Decide(CohortState? state, CohortMessage message, DateTimeOffset now) =>
        CohortDecider.Decide(state, message, now);
    protected override CohortMessage Reminder(string name) => new CohortReminderDue(name);
    protected override GrainProjection Project(CohortState s) => new()
    {
        DisplayName = s.Name,
        CohortId = s.CohortId,
        CoachId = s.CoachId,
        Status = s.Lifecycle.ToString().ToLowerInvariant(),
    };
}

public sealed class OrgGrain : GrainBehavior<OrgState, OrgMessage>
{
    public override string Type => OrgDecider.GrainType;
    protected override JsonTypeInfo<OrgState> StateJson => DomainJson.Default.OrgState;
    protected override JsonTypeInfo<OrgMessage> MessageJson => DomainJson.Default.OrgMessage;
    protected override Decision<OrgState> Decide(OrgState? state, OrgMessage message, DateTimeOffset now) => OrgDecider.Decide(state, message, now);
    protected override OrgMessage Reminder(string name) => new OrgReminderDue(name);
    protected override GrainProjection Project(OrgState s) => new() { DisplayName = s.Name };
}

/// <summary>One per org (keyed by the org id): the inbound secret and the outbound webhook endpoints.</summary>
public sealed class IntegrationsGrain : GrainBehavior<IntegrationsState, IntegrationsMessage>
{
    public override string Type => IntegrationsDecider.GrainType;
    protected override JsonTypeInfo<IntegrationsState> StateJson => DomainJson.Default.IntegrationsState;
    protected override JsonTypeInfo<IntegrationsMessage> MessageJson => DomainJson.Default.IntegrationsMessage;
    protected override Decision<IntegrationsState> Decide(IntegrationsState? state, IntegrationsMessage message, DateTimeOffset now) =>
        IntegrationsDecider.Decide(state, message, now);
    protected override IntegrationsMessage Reminder(string name) => new IntegrationsReminderDue(name);
    // Nothing to aggregate: the endpoints are read from the state, one grain per org.
    /// <summary>The event types some endpoint subscribes to: events of other types are never sent to this grain.</summary>
    protected override GrainProjection Project(IntegrationsState s) =>
        new() { Topics = s.Endpoints.Count == 0 ? null : string.Join(' ', s.Endpoints.SelectMany(e => e.Events).Distinct().Order(StringComparer.Ordinal)) };
}

/// <summary>The grain types a node can run, by name.</summary>
public sealed class GrainTypeRegistry
{
    private readonly Dictionary<string, IGrainBehavior> _types;

    public GrainTypeRegistry(IEnumerable<IGrainBehavior> types) => _types = types.ToDictionary(t => t.Type);

    public static GrainTypeRegistry Default(params IGrainBehavior[] extra) =>
        new([new ClientLoopGrain(), new CoachGrain(), new CohortGrain(), new OrgGrain(), new IntegrationsGrain(), .. extra]);

    public IGrainBehavior Get(string type) =>
        _types.TryGetValue(type, out var b) ? b : throw new InvalidOperationException($"Unknown grain type '{type}'");
}
