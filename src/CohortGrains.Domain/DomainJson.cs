using System.Text.Json.Serialization;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Integrations;
using CohortGrains.Domain.Orgs;

namespace CohortGrains.Domain;

/// <summary>
/// Source-generated JSON for every grain state and message. States carry a SchemaVersion; a grain must
/// still load every state an earlier release wrote (the tests keep a stored sample of each version).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(ClientLoopState))]
[JsonSerializable(typeof(ClientLoopMessage))]
[JsonSerializable(typeof(CoachState))]
[JsonSerializable(typeof(CoachMessage))]
[JsonSerializable(typeof(CohortState))]
[JsonSerializable(typeof(CohortMessage))]
[JsonSerializable(typeof(OrgState))]
[JsonSerializable(typeof(OrgMessage))]
[JsonSerializable(typeof(IntegrationsState))]
[JsonSerializable(typeof(IntegrationsMessage))]
[JsonSerializable(typeof(ClientEvent))]
public sealed partial class DomainJson : JsonSerializerContext;
