using System.Text.Json.Serialization;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Orgs;

/// <summary>A coaching company: the tenant every other grain belongs to.</summary>
public sealed record OrgState(int SchemaVersion, string OrgId, string Name, DateTimeOffset CreatedAt)
{
    public const int CurrentSchemaVersion = 1;
}

[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(CreateOrg), "createOrg")]
[JsonDerivedType(typeof(OrgReminderDue), "reminderDue")]
public abstract record OrgMessage;

public sealed record CreateOrg(string OrgId, string Name) : OrgMessage;

public sealed record OrgReminderDue(string Name) : OrgMessage;

public static class OrgDecider
{
    public const string GrainType = "Org";

    public static Decision<OrgState> Decide(OrgState? state, OrgMessage message, DateTimeOffset now) => (state, message) switch
    {
        (null, CreateOrg c) => Decision<OrgState>.Accept(new OrgState(OrgState.CurrentSchemaVersion, c.OrgId, c.Name.Trim(), now)),
        (null, _) => Decision<OrgState>.Reject(Rejection.NotFound, "org not found"),
        (_, CreateOrg) => Decision<OrgState>.Reject(Rejection.Conflict, "org already exists"),
        _ => Decision<OrgState>.Unchanged(state),
    };
}
