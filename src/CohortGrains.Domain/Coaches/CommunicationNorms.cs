using System.Collections.Immutable;
using CohortGrains.Domain.Common;

namespace CohortGrains.Domain.Coaches;

/// <summary>
/// What between-session contact a coach includes: named up front so a client is neither left guessing nor
/// expecting real-time coaching that was never agreed (seeds: "set communication norms before they are tested").
/// </summary>
/// <param name="Channels">How a client may reach the coach between sessions.</param>
/// <param name="ResponseHours">Within how many hours the coach answers a message.</param>
/// <param name="IncludedSupport">What between-session support is included ("brief reflections by email; one 15-minute call if stuck").</param>
/// <param name="NotIncluded">What is not ("real-time coaching between calls"), when the coach wants to say so.</param>
public sealed record CommunicationNorms(ImmutableList<Channel> Channels, int ResponseHours, string IncludedSupport, string? NotIncluded = null)
{
    public const int MaxResponseHours = 168;
    public const int MaxTextLength = 500;

    /// <summary>The norms in one short paragraph, as the welcome message and the portal show them.</summary>
    public string Describe(string coachName)
    {
        var channels = Channels.Select(c => c switch
        {
            Channel.Sms => "text message",
            Channel.Email => "email",
            _ => "the portal",
        }).Distinct().ToList();
        var reach = channels.Count == 0 ? $"You can reach {coachName} between sessions" : $"You can reach {coachName} between sessions by {Text.JoinNatural(channels)}";
        var hours = ResponseHours % 24 == 0 && ResponseHours >= 48 ? $"{ResponseHours / 24} days" : ResponseHours == 1 ? "1 hour" : $"{ResponseHours} hours";
        var text = $"{reach}; expect a reply within {hours}. Included between sessions: {IncludedSupport.TrimEnd('.')}.";
        if (!string.IsNullOrWhiteSpace(NotIncluded)) text += $" Not included: {NotIncluded.TrimEnd('.')}.";
        return text;
    }
}
