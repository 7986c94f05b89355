using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Coaches;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Coaches;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Programs;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Imports;

/// <summary>
/// The per-cohort program report as one printable HTML page: completion, reply, catch rates and churn against the
/// PRODUCT.md bands, statuses, the roster and the templates. Every value that came from a user is HTML-encoded, and the
/// page forbids scripts outright (CSP), so a client named "&lt;script&gt;" prints as text.
/// </summary>
public static class ProgramReport
{
    private static string H(object? value) => HtmlEncoder.Default.Encode(value switch
    {
        null => "",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    });

    private static string Pct(double? rate) => rate is { } r ? (r * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>PRODUCT.md's weak/strong bands; higher is better unless <paramref name="lowerIsBetter"/>.</summary>
    private static string Band(double? rate, double weak, double strong, bool lowerIsBetter = false) => rate switch
    {
        null => "none",
        { } r when lowerIsBetter => r >= weak ? "weak" : r < strong ? "strong" : "fair",
        { } r => r < weak ? "weak" : r >= strong ? "strong" : "fair",
    };

    /// <summary>The page's only styling, inline so the report is one self-contained file to print or save.</summary>
    private const string Style = """

        body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
        h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.5em 0 .5em;border-bottom:1px solid #ccc}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
        .metrics td.value{font-weight:600}.weak{color:#b00020}.strong{color:#1b5e20}.fair{color:#8a6d00}
        .muted{color:#666}@media print{body{margin:1cm}a{color:inherit;text-decoration:none}tr{page-break-inside:avoid}}

        """;

    /// <summary>
    /// Stricter than the site-wide policy: nothing loads, nothing runs, no form posts, no framing, and the one style block
    /// applies because its hash is named (not 'unsafe-inline', so an injected style element would not).
    /// </summary>
    public static readonly string ContentSecurityPolicy =
        $"default-src 'none'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style)))}'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    internal static async Task<IResult> RenderAsync(string cohortId, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        if (cohort is null) return ArcHttp.CohortNotFound(cohortId);
        var now = clock.GetUtcNow();
        var rows = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { Keys = [cohortId] }, ct);
        var d = (await DashboardApi.BuildAsync(runtime.Store, orgId, rows, now, ct)).Cohorts[0];
        var stats = (await runtime.Store.GetCohortStatsAsync(orgId, [cohortId], now, ct)).FirstOrDefault();
        var coach = await runtime.GetAsync<CoachState>(CoachesApi.Id(orgId, cohort.CoachId), ct);
        var templates = await runtime.Store.GetTemplateStatsAsync(new TemplateStatsQuery(orgId) { CohortId = cohortId }, ct);
        var html = Render(cohort, coach, d, ImportExportApi.TouchesPerClientPerWeek(cohort, stats, now), templates, now);
        // The report names the cohort's clients: logged like the roster's export.
        await runtime.Store.AppendAuditAsync([Audit.Entry(http, "report.exported", "cohort", cohortId)], now, ct);
        // Kept by the security-headers middleware, which adds the site-wide policy only where an endpoint set none.
        http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }

    public static string Render(CohortState cohort, CoachState? coach, CohortDashboard d, double? touchesPerWeek, IReadOnlyList<TemplateStats> templates,
        DateTimeOffset now)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Program report: ").Append(H(cohort.Name)).Append("</title>\n");
        sb.Append("<style>").Append(Style).Append("</style></head><body>\n\n");
        sb.Append("<h1>").Append(H(cohort.Name)).Append("</h1>\n<p class=\"muted\">Coach: ").Append(H(coach?.Name ?? cohort.CoachId))
            .Append(" · ").Append(H(cohort.Program.Weeks)).Append(" weeks, a session every ")
            .Append(cohort.Program.Schedule.IntervalWeeks == 1 ? "week" : H(cohort.Program.Schedule.IntervalWeeks) + " weeks")
            .Append(" · ").Append(H(cohort.Lifecycle.ToString().ToLowerInvariant()))
            .Append(" · as of ").Append(H(now.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture))).Append("</p>\n");

        sb.Append("<h2>Metrics</h2>\n<table class=\"metrics\"><tr><th>metric</th><th>value</th><th>band</th><th class=\"muted\">weak / strong</th></tr>\n");
        void Metric(string name, string value, string band, string bands) =>
            sb.Append("<tr><td>").Append(H(name)).Append("</td><td class=\"value ").Append(band).Append("\">").Append(H(value)).Append("</td><td class=\"")
                .Append(band).Append("\">").Append(band).Append("</td><td class=\"muted\">").Append(H(bands)).Append("</td></tr>\n");
        Metric("Action-item completion", Pct(d.ActionCompletionRate), Band(d.ActionCompletionRate, 0.45, 0.70), "< 45% / 70%+");
        Metric("Check-in reply rate", Pct(d.ReplyRate), Band(d.ReplyRate, 0.30, 0.60), "< 30% / 60%+");
        Metric("Stuck-client catch rate", Pct(d.CatchRate), Band(d.CatchRate, 0.40, 0.80), "< 40% / 80%+");
        Metric("Mid-program churn", Pct(d.MidProgramChurnRate), Band(d.MidProgramChurnRate, 0.15, 0.07, lowerIsBetter: true), "15%+ / < 7%");
        var touches = touchesPerWeek?.ToString("0.0", CultureInfo.InvariantCulture) ?? "–";
        Metric("Touches per client per week", touches, touchesPerWeek is null ? "none" : touchesPerWeek > 4 ? "weak" : touchesPerWeek >= 2 ? "strong" : "fair", "> 4 nags / 2–4");
        sb.Append("</table>\n");

        sb.Append("<h2>Clients</h2>\n<p>").Append(H(d.Clients)).Append(" enrolled: ")
            .Append(H(string.Join(", ", d.ByStatus.Where(kv => kv.Value > 0).Select(kv => $"{kv.Value} {kv.Key}"))))
            .Append("; ").Append(H(d.EndedEarly)).Append(" left early; ").Append(H(d.Escalations)).Append(" escalations.</p>\n");
        sb.Append("<table><tr><th>client</th><th>status</th><th>why</th><th>actions done</th><th>check-ins answered</th></tr>\n");
        foreach (var c in d.Roster)
            sb.Append("<tr><td>").Append(H(c.Name)).Append("</td><td>").Append(H(c.Status)).Append("</td><td>").Append(H(c.Reason)).Append("</td><td>")
                .Append(H($"{c.ActionsDone} of {c.ActionsTotal}")).Append("</td><td>").Append(H($"{c.Replies} of {c.PromptsSent}")).Append("</td></tr>\n");
        sb.Append("</table>\n");

        sb.Append("<h2>Templates</h2>\n<table><tr><th>template</th><th>kind</th><th>asked</th><th>answered</th><th>reply rate</th><th>median reply</th></tr>\n");
        foreach (var t in templates)
            sb.Append("<tr><td>").Append(H(t.Template)).Append("</td><td>").Append(H(t.Kind)).Append("</td><td>").Append(H(t.Sent)).Append("</td><td>")
                .Append(H(t.Replied)).Append("</td><td>").Append(H(Pct(t.Sent == 0 ? null : (double)t.Replied / t.Sent))).Append("</td><td>")
                .Append(H(t.MedianReplySeconds is { } m ? $"{m / 3600:0.#} h" : "–")).Append("</td></tr>\n");
        sb.Append("</table>\n</body></html>\n");
        return sb.ToString();
    }
}
