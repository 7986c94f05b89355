using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Host.Observability;

namespace CohortGrains.Host.CheckIns;

public sealed record ReplyRequest(int? Rating, string? Text, string? PromptId, string? Channel);
public sealed record ReplyResponse(string ReplyId, string? PromptId, int? Rating, string Route, string Status, string? StatusDetail);

public static class CheckInsApi
{
    public const int MaxReplyLength = 1600; // one long SMS (Twilio's limit); longer belongs in a reflection

    public static RouteGroupBuilder MapCheckIns(this RouteGroupBuilder api)
    {
        // The client answers and ticks off their own actions (magic link); staff can record either on their behalf.
        var clients = api.MapGroup("/clients/{clientId}").RequireAuthorization(Policies.OrgMemberOrClient);
        clients.MapPost("/replies", ReplyAsync).WithName("RecordReply").ProducesCommand<ReplyResponse>();
        clients.MapPost("/actions/{itemId}/complete", CompleteActionAsync).WithName("CompleteActionItem").ProducesCommand<ClientResponse>();
        return api;
    }

    /// <summary>Records a check-in reply (rating 1–5 and/or text); routes it: on track, or stuck → the coach is alerted.</summary>
    private static async Task<IResult> ReplyAsync(string clientId, ReplyRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var v = new Validation();
        var message = Parse(v, body?.Rating, body?.Text, body?.PromptId, body?.Channel);
        if (!v.IsValid) return await ClientsApi.InvalidAsync(runtime, http, clientId, v, ct);

        var call = await ClientsApi.CallAsync(runtime, http, clientId, message!, ct);
        if (call is not GrainCall<ClientLoopState>.Ok ok) return ClientsApi.Problem(call, clientId, message!.PromptId is null ? "rating" : "promptId");
        var reply = ok.State.Replies[^1];
        return TypedResults.Ok(new ReplyResponse(reply.Id, reply.PromptId, reply.Rating, reply.Route.ToString().ToLowerInvariant() switch
        {
            "ontrack" => "on-track",
            var other => other,
        }, ok.State.Status.ToWire(), ok.State.StatusDetail));
    }

    /// <summary>A reply as the API and the portal's check-in form read it (rating 1–5 and/or text), each problem a field error.</summary>
    public static CheckInReplied? Parse(Validation v, int? rating, string? text, string? promptId, string? channel)
    {
        var words = v.Text(text, "text", MaxReplyLength, required: false);
        if (rating is { } r && r is < 1 or > 5) v.Add("rating", "must be between 1 and 5");
        if (rating is null && words is null) v.Add("rating", "a reply needs a rating (1–5) or some text");
        if (promptId is { } p && !Ids.LooksValid(p)) v.Add("promptId", "is not a prompt id");
        Channel? chosen = channel?.Trim().ToLowerInvariant() switch
        {
            null or "" or "inapp" or "portal" => Channel.InApp,
            "sms" => Channel.Sms,
            "email" => Channel.Email,
            _ => null,
        };
        if (chosen is null) v.Add("channel", "must be sms, email or inapp");
        return v.IsValid ? new CheckInReplied(rating, words, promptId, chosen!.Value) : null;
    }

    private static Task<IResult> CompleteActionAsync(string clientId, string itemId, HttpContext http, GrainRuntime runtime, CancellationToken ct) =>
        Ids.LooksValid(itemId)
            ? ClientsApi.SendAsync(runtime, http, clientId, new ActionItemCompleted(itemId), ct, "itemId")
            : Task.FromResult<IResult>(Problems.NotFound("action item not found"));
}
