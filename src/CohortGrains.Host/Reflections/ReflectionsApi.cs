using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Programs;
using CohortGrains.Runtime;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Reflections;

/// <param name="Session">The session reflected on; default: the one the replied-to touch prepared for, else the current one.</param>
/// <param name="ReplyToTouchId">The touch an email reply answers ("s3-day6"), as the inbound email path knows it.</param>
public sealed record ReflectionRequest(string? Text, int? Session, string? ReplyToTouchId, string? Channel);

public sealed record ReflectionView(string ReflectionId, int Session, string Text, string Channel, DateTimeOffset At, string? ReplyToTouchId)
{
    public static ReflectionView From(Reflection r) => new(r.Id, r.Session, r.Text, r.Channel.ToString().ToLowerInvariant(), r.At, r.ReplyToTouchId);
}

/// <summary>
/// A client's reflections, each tied to a session: written in the portal, or by replying to the Day-6 prep email.
/// The coach reads them in the client's timeline before the next session.
/// </summary>
public static class ReflectionsApi
{
    public static RouteGroupBuilder MapReflections(this RouteGroupBuilder api)
    {
        // The client's own words: they write and read them through their link; their coach and the org's admins read
        // them too, and may record one the client gave another way (as with replies). Access.MaySend settles who.
        var clients = api.MapGroup("/clients/{clientId}/reflections").RequireAuthorization(Policies.OrgMemberOrClient);
        clients.MapPost("/", SubmitAsync).WithName("SubmitReflection").ProducesCommand<ReflectionView>(StatusCodes.Status201Created);
        clients.MapGet("/", ListAsync).WithName("ListReflections").Produces<IEnumerable<ReflectionView>>().ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    private static async Task<IResult> SubmitAsync(string clientId, ReflectionRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var v = new Validation();
        var channel = ArcHttp.Channel(v, body?.Channel);
        // An email reply carries the quoted message below it: keep only what the client wrote before checking its length.
        var raw = channel == Channel.Email && body?.Text is { } t ? EmailReply.StripQuoted(t) : body?.Text;
        var text = v.Text(raw, "text", ProgramArc.MaxReflectionLength);
        if (body?.Session is < 1) v.Add("session", "must be a session number (1 or more)");
        if (body?.ReplyToTouchId is { } touch && !Ids.LooksValid(touch)) v.Add("replyToTouchId", "is not a touch id");
        if (!v.IsValid) return await ClientsApi.InvalidAsync(runtime, http, clientId, v, ct);

        var call = await ClientsApi.CallAsync(runtime, http, clientId, new ReflectionSubmitted(text!, body!.Session, body.ReplyToTouchId, channel!.Value), ct);
        if (call is not GrainCall<ClientLoopState>.Ok ok) return ClientsApi.Problem(call, clientId, "session");
        return TypedResults.Created($"/api/v1/clients/{clientId}/reflections", ReflectionView.From(ok.State.Reflections[^1]));
    }

    private static async Task<IResult> ListAsync(string clientId, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var state = await ArcHttp.ClientAsync(runtime, http, clientId, ct);
        return state is null
            ? ArcHttp.ClientNotFound(clientId)
            : TypedResults.Ok(state.Reflections.OrderByDescending(r => r.At).Select(ReflectionView.From));
    }

    /// <summary>
    /// For the inbound email path: files the client's reply to a touch (normally the Day-6 prep email) as a reflection on
    /// the session that touch belongs to, without the quoted text. Returns the grain's answer (a refusal when the reply
    /// is empty once the quote is gone, or answers a touch never sent to this client).
    /// </summary>
    public static Task<GrainCall<ClientLoopState>> SubmitEmailReplyAsync(GrainRuntime runtime, string orgId, string clientId, string? inReplyToTouchId,
        string body, CancellationToken ct) =>
        runtime.SendAsync<ClientLoopState>(ClientsApi.Id(orgId, clientId),
            new ReflectionSubmitted(EmailReply.StripQuoted(body), null, inReplyToTouchId, Channel.Email), ct);
}
