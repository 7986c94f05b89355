using System.Text;
using CohortGrains.Channels.Links;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Channels.Email;

/// <summary>One email, rendered: a plain-text body and a simple HTML alternative with the same words and links.</summary>
public sealed record RenderedEmail(string Subject, string Text, string Html, string? UnsubscribeUrl, IReadOnlyDictionary<int, string> RatingUrls);

/// <summary>
/// Renders a touch as an email. The touch body already names the client's commitments (the templates do); the email
/// adds what only email can: one-tap answers 1–5 for a check-in (so the client never logs in) and a working unsubscribe.
/// </summary>
public static class EmailContent
{
    public const string RatePath = "/r/";
    public const string UnsubscribePath = "/unsubscribe/";

    private static readonly string[] s_ratingWords = ["", "stuck", "behind", "okay", "good", "nailed it"];

    public static RenderedEmail Render(ClaimedOutbox touch, SignedLinks links, string publicBaseUrl, DateTimeOffset now, LinksOptions lifetimes)
    {
        var baseUrl = publicBaseUrl.Trim().TrimEnd('/');
        var isClient = touch.Grain.Type == ClientLoopDecider.GrainType;
        var ratings = new Dictionary<int, string>();
        if (isClient && touch.PromptId is { } prompt)
        {
            for (var r = 1; r <= 5; r++)
                ratings[r] = baseUrl + RatePath + links.Rating(touch.Grain, prompt, r, now + lifetimes.RatingLifetime);
        }
        var unsubscribe = isClient ? baseUrl + UnsubscribePath + links.Unsubscribe(touch.Grain, now + lifetimes.UnsubscribeLifetime) : null;
        var subject = string.IsNullOrWhiteSpace(touch.Subject) ? "A note from your coach" : touch.Subject.Trim();
        return new RenderedEmail(subject, Text(touch.Body, ratings, unsubscribe), Html(subject, touch.Body, ratings, unsubscribe), unsubscribe, ratings);
    }

    private static string Text(string body, Dictionary<int, string> ratings, string? unsubscribe)
    {
        var text = new StringBuilder(body.Trim()).Append("\r\n");
        if (ratings.Count > 0)
        {
            text.Append("\r\nAnswer with one tap (5 = nailed it):\r\n");
            foreach (var (r, url) in ratings) text.Append($"{r} - {s_ratingWords[r]}: {url}\r\n");
        }
        if (unsubscribe is not null) text.Append("\r\n--\r\nYou receive these emails as part of your coaching program.\r\nUnsubscribe: ").Append(unsubscribe).Append("\r\n");
        return text.ToString();
    }

    /// <summary>
    /// Escapes only what HTML needs (&amp; &lt; &gt; quotes): the part is UTF-8, so "Zoë" and "💪" stay readable in the
    /// source, where WebUtility.HtmlEncode would turn them into numeric entities.
    /// </summary>
    public static string Escape(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#39;");

    private static string Html(string subject, string body, Dictionary<int, string> ratings, string? unsubscribe)
    {
        static string E(string s) => Escape(s);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(E(subject)).Append("</title></head>");
        html.Append("<body style=\"font-family:Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#222;max-width:560px\">");
        foreach (var paragraph in body.Trim().Split(["\r\n\r\n", "\n\n"], StringSplitOptions.RemoveEmptyEntries))
            html.Append("<p>").Append(E(paragraph).Replace("\n", "<br>")).Append("</p>");
        if (ratings.Count > 0)
        {
            html.Append("<p>Answer with one tap (5 = nailed it):</p><p>");
            foreach (var (r, url) in ratings)
            {
                html.Append("<a href=\"").Append(E(url)).Append("\" title=\"").Append(E(s_ratingWords[r])).Append("\" ")
                    .Append("style=\"display:inline-block;min-width:40px;margin:0 6px 6px 0;padding:10px 0;text-align:center;")
                    .Append("border-radius:6px;background:#2d6cdf;color:#fff;text-decoration:none;font-weight:bold\">")
                    .Append(r).Append("</a>");
            }
            html.Append("</p>");
        }
        if (unsubscribe is not null)
        {
            html.Append("<hr style=\"border:none;border-top:1px solid #ddd\"><p style=\"font-size:12px;color:#777\">")
                .Append("You receive these emails as part of your coaching program. <a href=\"").Append(E(unsubscribe))
                .Append("\">Unsubscribe</a></p>");
        }
        return html.Append("</body></html>").ToString();
    }
}
