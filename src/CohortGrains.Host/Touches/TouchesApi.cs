using CohortGrains.Host.Clients;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CohortGrains.Host.Touches;

public sealed record TouchResponse(
    long Id, string ClientId, string Channel, string Recipient, string? Subject, string Body, string Template, string? PromptId,
    string Status, string? ProviderStatus, string? ProviderMessageId, string? Error, int Attempts, DateTimeOffset CreatedAt, DateTimeOffset? SentAt,
    string? ErrorCode = null,
    /// <summary>The client loop's id for the touch ("s1-day5", "s1-day5-email"); prompts are named by it.</summary>
    string? TouchId = null);

public sealed record TouchPage(IReadOnlyList<TouchResponse> Touches, long? NextBefore);

public static class TouchesApi
{
    public static RouteGroupBuilder MapTouches(this RouteGroupBuilder api)
    {
        api.MapGet("/touches", ListAsync).RequireAuthorization(Policies.OrgMember).WithName("ListTouches");
        return api;
    }

    /// <summary>The outbox: every touch the org's loops sent or will send, newest first, with delivery status.</summary>
    private static async Task<Results<Ok<TouchPage>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string? clientId, string? status, string? channel, int? limit, long? before, HttpContext http, IGrainStore store, GrainRuntime runtime, CancellationToken ct)
    {
        // The outbox is filtered by org in the store; a coach must name one of their own clients.
        if (Access.CoachOf(http.User) is not null)
        {
            if (clientId is null) return Problems.Forbidden("a coach lists the touches of one of their clients at a time (clientId=…)");
            if (await ClientsApi.FindAsync(runtime, http, clientId, ct) is null) return Problems.NotFound($"client '{Parse.Truncate(clientId)}' not found");
        }
        var v = new Validation();
        if (clientId is not null && !Ids.LooksValid(clientId)) v.Add("clientId", "is not a client id");
        if (status is not null && status is not (OutboxStatus.Pending or OutboxStatus.Sent or OutboxStatus.Failed)) v.Add("status", "must be pending, sent or failed");
        if (channel is not null && channel is not ("sms" or "email" or "inapp")) v.Add("channel", "must be sms, email or inapp");
        if (limit is < 1 or > 500) v.Add("limit", "must be between 1 and 500");
        if (!v.IsValid) return v.Problem();
        var rows = await store.QueryOutboxAsync(new OutboxQuery(http.User.OrgId())
        {
            GrainKey = clientId, Status = status, Channel = channel, Limit = limit ?? 100, BeforeId = before,
        }, ct);
        var touches = rows.Select(ToResponse).ToList();
        return TypedResults.Ok(new TouchPage(touches, touches.Count == (limit ?? 100) ? touches[^1].Id : null));
    }

    public static TouchResponse ToResponse(OutboxRow r) => new(r.Id, r.Grain.Key, r.Channel, r.Recipient, r.Subject, r.Body, r.Template, r.PromptId,
        r.Status, r.ProviderStatus, r.ProviderMessageId, r.Error, r.Attempt, r.CreatedAt, r.SentAt, r.ErrorCode,
        r.IdempotencyKey[(r.IdempotencyKey.LastIndexOf('/') + 1)..]);
}
