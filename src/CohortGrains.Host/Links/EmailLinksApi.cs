using System.Net;
using System.Text;
using CohortGrains.Channels.Email;
using CohortGrains.Channels.Links;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Common;
using CohortGrains.Host.Clients;
using CohortGrains.Runtime;

namespace CohortGrains.Host.Links;

/// <summary>
/// The links in our emails, answered without a login: the signed token is the permission, for one client, one purpose.
/// A GET only shows a page with one button; the POST behind it records. Mail security scanners open every link of
/// a message, and a GET that recorded would rate each check-in 1, 2, 3, 4 and 5 before the client ever saw it.
/// Unsubscribe also accepts the RFC 8058 one-click POST that mail clients send for List-Unsubscribe.
/// </summary>
public static class EmailLinksApi
{
    public static IEndpointRouteBuilder MapEmailLinks(this IEndpointRouteBuilder app)
    {
        var links = app.MapGroup("").AllowAnonymous();
        links.MapGet(EmailContent.RatePath + "{token}", ShowRatingAsync).WithName("ShowRatingLink");
        links.MapPost(EmailContent.RatePath + "{token}", RecordRatingAsync).WithName("RecordRatingLink");
        links.MapGet(EmailContent.UnsubscribePath + "{token}", ShowUnsubscribe).WithName("ShowUnsubscribeLink");
        links.MapPost(EmailContent.UnsubscribePath + "{token}", UnsubscribeAsync).WithName("Unsubscribe");
        return app;
    }

    private static async Task<IResult> ShowRatingAsync(string token, HttpContext http, SignedLinks links, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        if (Check(http, links, token, LinkPurpose.Rate, clock) is { } refused) return refused.Result;
        var claims = Read(links, token, LinkPurpose.Rate, clock);
        var state = await runtime.GetAsync<ClientLoopState>(ClientsApi.Id(claims.OrgId, claims.ClientId), ct);
        var prompt = state?.Touches.FirstOrDefault(t => t.Id == claims.PromptId);
        if (state is null || prompt is null) return Page(http, 404, "Not found", "This check-in is no longer there.");
        var answered = state.Replies.Any(r => r.ExternalId == RatingReplyId(claims));
        return Page(http, 200, "Your check-in",
            $"<p>{E(prompt.Body)}</p>" +
            (answered ? $"<p><strong>You already answered {claims.Rating}.</strong> Thank you!</p>" : "") +
            $"<form method=\"post\"><button type=\"submit\" style=\"font-size:18px;padding:10px 18px\">Send my answer: {claims.Rating} ({E(Word(claims.Rating!.Value))})</button></form>");
    }

    private static async Task<IResult> RecordRatingAsync(string token, HttpContext http, SignedLinks links, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        if (Check(http, links, token, LinkPurpose.Rate, clock) is { } refused) return refused.Result;
        var claims = Read(links, token, LinkPurpose.Rate, clock);
        // The same link twice is one answer; another rating for the same check-in is a change of mind and counts.
        var call = await runtime.SendAsync<ClientLoopState>(ClientsApi.Id(claims.OrgId, claims.ClientId),
            new CheckInReplied(claims.Rating, null, claims.PromptId, Channel.Email, RatingReplyId(claims)), ct);
        return call switch
        {
            GrainCall<ClientLoopState>.Ok ok => Page(http, 200, "Thank you",
                $"<p>Thanks, {E(Text.FirstName(ok.State.Profile.Name))} — we noted {claims.Rating} ({E(Word(claims.Rating!.Value))}).</p>" +
                (claims.Rating <= 2 ? $"<p>{E(ok.State.CoachName)} will be in touch.</p>" : "<p>Keep going!</p>")),
            GrainCall<ClientLoopState>.Rejected r when r.Code == Rejection.NotFound => Page(http, 404, "Not found", "This check-in is no longer there."),
            GrainCall<ClientLoopState>.Rejected r => Page(http, 409, "Not recorded", r.Detail),
            _ => throw new InvalidOperationException(),
        };
    }

    private static IResult ShowUnsubscribe(string token, HttpContext http, SignedLinks links, TimeProvider clock) =>
        Check(http, links, token, LinkPurpose.Unsubscribe, clock) is { } refused
            ? refused.Result
            : Page(http, 200, "Unsubscribe",
                "<p>Stop receiving emails from your coaching program? Text messages and the portal are not affected.</p>" +
                "<form method=\"post\"><button type=\"submit\" style=\"font-size:18px;padding:10px 18px\">Unsubscribe from emails</button></form>");

    private static async Task<IResult> UnsubscribeAsync(string token, HttpContext http, SignedLinks links, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        if (Check(http, links, token, LinkPurpose.Unsubscribe, clock) is { } refused) return refused.Result;
        var claims = Read(links, token, LinkPurpose.Unsubscribe, clock);
        var oneClick = http.Request.HasFormContentType && (await http.Request.ReadFormAsync(ct))["List-Unsubscribe"] == "One-Click";
        var how = oneClick ? "List-Unsubscribe one-click (mail client)" : "email unsubscribe link";
        var call = await runtime.SendAsync<ClientLoopState>(ClientsApi.Id(claims.OrgId, claims.ClientId), new ChannelOptedOut(Channel.Email, how), ct);
        return call is GrainCall<ClientLoopState>.Ok
            ? Page(http, 200, "Unsubscribed", "<p>You will not receive emails from your coaching program any more.</p>")
            : Page(http, 404, "Not found", "We could not find who this link was for.");
    }

    private static string RatingReplyId(LinkClaims c) => $"link:{c.PromptId}:{c.Rating}";

    private sealed record Refusal(IResult Result);

    private static Refusal? Check(HttpContext http, SignedLinks links, string token, LinkPurpose purpose, TimeProvider clock) =>
        links.Check(token, purpose, clock.GetUtcNow(), out _) switch
        {
            LinkCheck.Valid => null,
            LinkCheck.Expired => new(Page(http, 410, "Link expired", "This link has expired. Your coach can send you a new one, or answer in the portal.")),
            _ => new(Page(http, 403, "Invalid link", "This link is not valid. It may have been changed or cut short by your mail program.")),
        };

    private static LinkClaims Read(SignedLinks links, string token, LinkPurpose purpose, TimeProvider clock)
    {
        links.Check(token, purpose, clock.GetUtcNow(), out var claims);
        return claims!;
    }

    private static string Word(int rating) => rating switch { 1 => "stuck", 2 => "behind", 3 => "okay", 4 => "good", _ => "nailed it" };

    private static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>People open these links in a browser: an HTML page. API clients asking for JSON get problem details on errors.</summary>
    private static IResult Page(HttpContext http, int status, string title, string bodyHtml)
    {
        var accept = http.Request.Headers.Accept.ToString();
        if (status >= 400 && accept.Contains("json", StringComparison.OrdinalIgnoreCase) && !accept.Contains("text/html", StringComparison.OrdinalIgnoreCase))
            return TypedResults.Problem(statusCode: status, title: title, detail: WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Replace(bodyHtml, "<[^>]+>", "")));
        var html = new StringBuilder("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">")
            .Append("<meta name=\"robots\" content=\"noindex\"><title>").Append(E(title)).Append("</title></head>")
            .Append("<body style=\"font-family:Helvetica,Arial,sans-serif;max-width:520px;margin:40px auto;padding:0 16px;line-height:1.5\">")
            .Append("<h1 style=\"font-size:22px\">").Append(E(title)).Append("</h1>").Append(bodyHtml).Append("</body></html>");
        return TypedResults.Content(html.ToString(), "text/html; charset=utf-8", Encoding.UTF8, status);
    }
}
