using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Grains;

namespace CohortGrains.Host.Messages;

/// <param name="Channel">sms (default, falling back to email, then the portal), email or inapp.</param>
/// <param name="RequestId">Optional: the same id sends one message however often the request is retried.</param>
public sealed record CoachMessageRequest(string? Text, string? Channel, string? RequestId);

public sealed record CoachMessageResponse(string TouchId, string ClientId, string Channel, string Text, DateTimeOffset At);

/// <summary>
/// A coach writes to a client in their own words, usually answering an escalation. The message is a touch on the
/// client's loop: it leaves through the outbox (retries, delivery status, quiet hours) and shows in the timeline.
/// </summary>
public static class MessagesApi
{
    public static RouteGroupBuilder MapMessages(this RouteGroupBuilder api)
    {
        api.MapPost("/clients/{clientId}/messages", SendAsync).RequireAuthorization(Policies.OrgMember).WithName("SendCoachMessage")
            .ProducesCommand<CoachMessageResponse>(StatusCodes.Status201Created);
        return api;
    }

    private static async Task<IResult> SendAsync(string clientId, CoachMessageRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var v = new Validation();
        var message = Parse(v, body?.Text, body?.Channel, body?.RequestId);
        if (!v.IsValid) return await ClientsApi.InvalidAsync(runtime, http, clientId, v, ct);
        var call = await ClientsApi.CallAsync(runtime, http, clientId, message!, ct);
        if (call is not GrainCall<ClientLoopState>.Ok ok) return ClientsApi.Problem(call, clientId, "text");
        var touch = ok.State.Touches.Single(t => t.Id == ClientLoopDecider.CoachMessageTouchId(message!.MessageId));
        return TypedResults.Created($"/api/v1/touches?clientId={clientId}",
            new CoachMessageResponse(touch.Id, clientId, ChannelNames.Of(touch.Channel), message!.Text, touch.At));
    }

    /// <summary>The message as the API and the alert inbox read it: text, channel and request id, each with a field error.</summary>
    public static CoachMessageSent? Parse(Validation v, string? text, string? channel, string? requestId)
    {
        var words = v.Text(text, "text", ClientLoopDecider.MaxCoachMessageLength);
        Channel? chosen = channel?.Trim().ToLowerInvariant() switch
        {
            null or "" => null,
            "sms" => Channel.Sms,
            "email" => Channel.Email,
            "inapp" or "portal" => Channel.InApp,
            _ => (Channel?)null,
        };
        if (chosen is null && !string.IsNullOrWhiteSpace(channel)) v.Add("channel", "must be sms, email or inapp");
        if (requestId is not null && (requestId.Length > 40 || !Ids.LooksValid(requestId))) v.Add("requestId", "must be 1 to 40 letters, digits, '-' or '_'");
        return v.IsValid ? new CoachMessageSent(requestId ?? Ids.New("m"), words!, chosen) : null;
    }
}
