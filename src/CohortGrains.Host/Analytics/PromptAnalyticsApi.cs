using System.Globalization;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Domain.Programs;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Programs;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Analytics;

/// <summary>Reply figures of one template (all versions together, or one version).</summary>
/// <param name="Ratings">How many first ratings were 1…5, keyed "1" to "5".</param>
public sealed record ReplyFigures(int Sent, int Replied, double? ReplyRate, double? MedianReplyMinutes, IReadOnlyDictionary<string, int> Ratings)
{
    public static ReplyFigures From(TemplateStats? s) => s is null
        ? new(0, 0, null, null, Enumerable.Range(1, 5).ToDictionary(i => i.ToString(CultureInfo.InvariantCulture), _ => 0))
        : new(s.Sent, s.Replied, Rate(s.Replied, s.Sent), s.MedianReplySeconds is { } m ? Math.Round(m / 60, 1) : null,
            s.Ratings.Select((n, i) => (Key: (i + 1).ToString(CultureInfo.InvariantCulture), n)).ToDictionary(x => x.Key, x => x.n));

    public static double? Rate(int part, int whole) => whole == 0 ? null : Math.Round((double)part / whole, 4);
}

public sealed record VersionFigures(int Version, bool Current, DateTimeOffset FirstSentAt, DateTimeOffset LastSentAt, ReplyFigures AllTime, ReplyFigures LastFourWeeks);

/// <param name="Flagged">Under 30% replies over the last four weeks (at least five asked): rewrite or drop it.</param>
public sealed record TemplateAnalytics(
    string Template,
    string Kind,
    ReplyFigures AllTime,
    ReplyFigures LastFourWeeks,
    bool Flagged,
    string? Suggestion,
    IReadOnlyList<VersionFigures>? Versions);

public sealed record OrgTemplateAnalytics(DateTimeOffset AsOf, DateTimeOffset WindowStart, DateTimeOffset WindowEnd, IReadOnlyList<TemplateAnalytics> Templates,
    IReadOnlyList<CohortTemplateAnalytics> Cohorts);

public sealed record CohortTemplateAnalytics(string CohortId, string Name, IReadOnlyList<TemplateAnalytics> Templates);

/// <param name="Template">The wording in use: the cohort's own, or the default for the kind when <see cref="Custom"/> is false.</param>
public sealed record CohortTemplateView(
    string Key,
    string Kind,
    string Channel,
    int DayOffset,
    string Template,
    bool Custom,
    int Version,
    IReadOnlyList<string> Placeholders,
    TemplateAnalytics Analytics);

public sealed record CohortTemplatesResponse(string CohortId, DateTimeOffset AsOf, IReadOnlyList<string> AvailablePlaceholders,
    IReadOnlyList<CohortTemplateView> Templates, IReadOnlyList<TemplateAnalytics> Other);

/// <param name="Template">The new wording; null or empty goes back to the default for the touchpoint's kind.</param>
public sealed record EditTemplateRequest(string? Template);

public sealed record EditTemplateResponse(CohortTemplateView Template, IReadOnlyList<string> Hints, string Note);

/// <param name="Template">Wording to try; when absent, the current wording of <paramref name="Key"/>.</param>
public sealed record PreviewRequest(string? ClientId, string? Key, string? Template);

public sealed record PreviewResponse(string ClientId, string? Key, string Text, int Characters, int SmsSegments, IReadOnlyList<string> Placeholders);

/// <summary>
/// Which prompts clients answer: reply rate, median reply time and first-rating distribution per touch template, per
/// cohort and per org, from the touch facts written with every turn; weak templates flagged; coaches edit and preview.
/// </summary>
public static class PromptAnalyticsApi
{
    public const int MaxTemplateLength = 1000;

    public static RouteGroupBuilder MapPromptAnalytics(this RouteGroupBuilder api)
    {
        // Staff: the org's figures per template for everyone, per cohort only the caller's cohorts (a coach's own).
        api.MapGet("/analytics/templates", OrgAsync).RequireAuthorization(Policies.OrgMember).WithName("GetTemplateAnalytics")
            .Produces<OrgTemplateAnalytics>();
        // A cohort's wording is its coach's (or an org admin's) to read, change and try out.
        var cohort = api.MapGroup("/cohorts/{cohortId}/templates").RequireAuthorization(Policies.OrgMember);
        cohort.MapGet("/", CohortAsync).WithName("ListCohortTemplates").Produces<CohortTemplatesResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        cohort.MapPut("/{key}", EditAsync).WithName("EditCohortTemplate").ProducesCommand<EditTemplateResponse>();
        cohort.MapPost("/preview", PreviewAsync).WithName("PreviewTemplate").ProducesCommand<PreviewResponse>();
        return api;
    }

    private static (DateTimeOffset Since, DateTimeOffset Until) Window(DateTimeOffset now) => (now - PromptAnalytics.Window, now - PromptAnalytics.AnswerGrace);

    private static async Task<IResult> OrgAsync(HttpContext http, IGrainStore store, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var now = clock.GetUtcNow();
        var (since, until) = Window(now);
        var allTime = await store.GetTemplateStatsAsync(new TemplateStatsQuery(orgId), ct);
        var recent = await store.GetTemplateStatsAsync(new TemplateStatsQuery(orgId) { Since = since, Until = until }, ct);
        var templates = allTime.Select(a => Analyze(a.Template, a.Kind, a, recent.FirstOrDefault(r => r.Template == a.Template), null, null)).ToList();

        // The per-template totals above are the org's benchmark (counts and rates, no client); the per-cohort breakdown
        // names cohorts, so a coach gets only their own, as in the cohort list and the dashboard.
        var cohortRows = await store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { CoachId = Access.CoachOf(http.User) }, ct);
        var perCohort = await store.GetTemplateStatsAsync(new TemplateStatsQuery(orgId) { ByCohort = true }, ct);
        var perCohortRecent = await store.GetTemplateStatsAsync(new TemplateStatsQuery(orgId) { ByCohort = true, Since = since, Until = until }, ct);
        var cohorts = cohortRows.Select(c => new CohortTemplateAnalytics(c.Id.Key, c.Projection.DisplayName ?? "",
            perCohort.Where(s => s.CohortId == c.Id.Key)
                .Select(s => Analyze(s.Template, s.Kind, s, perCohortRecent.FirstOrDefault(r => r.CohortId == c.Id.Key && r.Template == s.Template), null, null))
                .ToList())).Where(c => c.Templates.Count > 0).ToList();
        return TypedResults.Ok(new OrgTemplateAnalytics(now, since, until, templates, cohorts));
    }

    private static async Task<IResult> CohortAsync(string cohortId, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        return cohort is null ? ArcHttp.CohortNotFound(cohortId) : TypedResults.Ok(await ViewAsync(runtime.Store, http.User.OrgId(), cohort, clock.GetUtcNow(), ct));
    }

    private static async Task<CohortTemplatesResponse> ViewAsync(IGrainStore store, string orgId, CohortState cohort, DateTimeOffset now, CancellationToken ct)
    {
        var (since, until) = Window(now);
        var query = new TemplateStatsQuery(orgId) { CohortId = cohort.CohortId };
        var allTime = await store.GetTemplateStatsAsync(query, ct);
        var recent = await store.GetTemplateStatsAsync(query with { Since = since, Until = until }, ct);
        var versions = await store.GetTemplateStatsAsync(query with { ByVersion = true }, ct);
        var versionsRecent = await store.GetTemplateStatsAsync(query with { ByVersion = true, Since = since, Until = until }, ct);

        TemplateAnalytics For(string key, string kind, int? currentVersion, string? text) => Analyze(key, kind,
            allTime.FirstOrDefault(s => s.Template == key), recent.FirstOrDefault(s => s.Template == key),
            versions.Where(v => v.Template == key).Select(v => new VersionFigures(v.TemplateVersion!.Value, v.TemplateVersion == currentVersion,
                v.FirstSentAt, v.LastSentAt, ReplyFigures.From(v),
                ReplyFigures.From(versionsRecent.FirstOrDefault(r => r.Template == key && r.TemplateVersion == v.TemplateVersion)))).ToList(),
            (currentVersion, text));

        var templates = cohort.Program.Cadence.Select(tp => View(tp, For(tp.Key, PromptAnalytics.ToWire(tp.Kind), tp.TemplateVersion, Effective(tp)))).ToList();
        var other = allTime.Where(s => cohort.Program.Cadence.All(tp => tp.Key != s.Template)).Select(s => For(s.Template, s.Kind, null, null)).ToList();
        return new CohortTemplatesResponse(cohort.CohortId, now, Templates.Placeholders.Select(p => "{" + p + "}").ToList(), templates, other);
    }

    private static string Effective(Touchpoint tp) => tp.Template ?? Templates.Default(tp.Kind);

    private static CohortTemplateView View(Touchpoint tp, TemplateAnalytics analytics) => new(tp.Key, PromptAnalytics.ToWire(tp.Kind),
        tp.Channel.ToString().ToLowerInvariant(), tp.DayOffset, Effective(tp), tp.Template is not null, tp.TemplateVersion,
        Templates.UsedPlaceholders(Effective(tp)).ToList(), analytics);

    /// <summary>
    /// The flag looks at the last four weeks, leaving out prompts younger than a day (not answered yet is not unanswered).
    /// A rewritten template is judged on its current version once that has enough sends, so an edit gets a fair chance
    /// instead of inheriting the old wording's flag; prep emails inform rather than ask, so they are never flagged.
    /// </summary>
    private static TemplateAnalytics Analyze(string key, string kind, TemplateStats? allTime, TemplateStats? recent, IReadOnlyList<VersionFigures>? versions,
        (int? Version, string? Text)? current)
    {
        var judged = ReplyFigures.From(recent);
        string? waiting = null;
        if (current?.Version is { } v && versions?.FirstOrDefault(x => x.Version == v) is var cur)
        {
            if (cur is not null && cur.LastFourWeeks.Sent >= PromptAnalytics.MinSample) judged = cur.LastFourWeeks;
            else if (v > 1) waiting = $"version {v} is collecting replies: judged once {PromptAnalytics.MinSample} have been asked";
        }
        var asks = kind is not "prep";
        var flagged = asks && waiting is null && judged.Sent >= PromptAnalytics.MinSample && judged.ReplyRate < PromptAnalytics.WeakReplyRate;
        return new TemplateAnalytics(key, kind, ReplyFigures.From(allTime), ReplyFigures.From(recent), flagged,
            flagged ? Suggest(judged, current?.Text) : waiting, versions);
    }

    private static string Suggest(ReplyFigures f, string? text)
    {
        var figures = $"{f.Replied} of {f.Sent} answered in the last 4 weeks ({Math.Round((f.ReplyRate ?? 0) * 100).ToString(CultureInfo.InvariantCulture)}%)";
        if (f.ReplyRate < 0.10) return $"{figures}: drop it, or replace it with one question answerable in a word.";
        var tips = new List<string>();
        if (text is not null && !text.Contains("{firstCommitment}", StringComparison.Ordinal) && !text.Contains("{commitments}", StringComparison.Ordinal))
            tips.Add("name the client's commitment ({firstCommitment})");
        tips.Add("ask one question answerable with a number or a word");
        if (text is not null && text.Length > 160) tips.Add("keep it to one SMS (160 characters)");
        return $"{figures}: rewrite it — {string.Join(", ", tips)}.";
    }

    private static async Task<IResult> EditAsync(string cohortId, string key, EditTemplateRequest? body, HttpContext http, GrainRuntime runtime, TimeProvider clock,
        CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        if (cohort is null) return ArcHttp.CohortNotFound(cohortId);
        var index = cohort.Program.Cadence.FindIndex(t => t.Key == key);
        if (index < 0) return Problems.NotFound($"touchpoint '{Parse.Truncate(key)}' is not in this cohort's cadence");
        if (cohort.Lifecycle == CohortLifecycle.Ended) return Problems.Conflict("the cohort has ended");

        var v = new Validation();
        var template = v.Text(body?.Template, "template", MaxTemplateLength, required: false);
        if (template is not null) CheckPlaceholders(v, template);
        if (!v.IsValid) return v.Problem();

        var tp = cohort.Program.Cadence[index];
        var program = cohort.Program with { Cadence = cohort.Program.Cadence.SetItem(index, tp with { Template = template }) };
        var call = await runtime.SendAsync<CohortState>(CohortsApi.Id(orgId, cohortId), new UpdateProgram(program),
            [Audit.Entry(http, "cohort.template-changed", "cohort", cohortId, tp.Key)], ct);
        if (call is GrainCall<CohortState>.Rejected r) return Problems.FromRejection(r, "template");
        var updated = ((GrainCall<CohortState>.Ok)call).State;
        var view = (await ViewAsync(runtime.Store, orgId, updated, clock.GetUtcNow(), ct)).Templates.Single(t => t.Key == key);
        var hints = new List<string>();
        if (tp.Channel == Domain.Common.Channel.Sms && view.Template.Length > 160)
            hints.Add($"the template is {view.Template.Length} characters before placeholders: more than one SMS");
        if (!view.Placeholders.Contains("firstCommitment") && !view.Placeholders.Contains("commitments"))
            hints.Add("it does not name the client's commitment: messages that do are answered more often");
        return TypedResults.Ok(new EditTemplateResponse(view, hints,
            $"Version {view.Version}. Each client gets it from their next logged session on; compare versions in the analytics."));
    }

    private static void CheckPlaceholders(Validation v, string template)
    {
        if (Templates.UnknownPlaceholders(template).FirstOrDefault() is { } unknown)
            v.Add("template", $"uses unknown placeholder {{{unknown}}}; use {Templates.PlaceholderList}");
    }

    /// <summary>Renders a wording with a real client's data (their name, commitments, next session), as it would be sent now.</summary>
    private static async Task<IResult> PreviewAsync(string cohortId, PreviewRequest? body, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        if (cohort is null) return ArcHttp.CohortNotFound(cohortId);
        var v = new Validation();
        var clientId = v.Text(body?.ClientId, "clientId", 64);
        var template = v.Text(body?.Template, "template", MaxTemplateLength, required: false);
        Touchpoint? tp = null;
        if (body?.Key is { } key && (tp = cohort.Program.Cadence.FirstOrDefault(t => t.Key == key)) is null)
            v.Add("key", $"'{Parse.Truncate(key)}' is not in this cohort's cadence");
        if (template is null && body?.Key is null) v.Add("template", "give a template to try, or the key of a touchpoint to preview its current wording");
        if (template is not null) CheckPlaceholders(v, template);
        if (!v.IsValid) return v.Problem();

        // Any client of a cohort the caller may see is one they may see; an erased one has nothing left to preview with.
        var client = await ArcHttp.ClientAsync(runtime, http, clientId!, ct);
        if (client is null || client.CohortId != cohortId) return Problems.Invalid("clientId", $"client '{Parse.Truncate(clientId!)}' is not in this cohort");
        var wording = template ?? Effective(tp!);
        var text = Templates.Render(wording, client);
        return TypedResults.Ok(new PreviewResponse(client.ClientId, tp?.Key, text, text.Length, Sms.Segments(text), Templates.UsedPlaceholders(wording).ToList()));
    }
}

/// <summary>How many SMS parts a text costs: GSM-7 fits 160 (153 per part when split), anything else is UCS-2, 70 (67).</summary>
public static class Sms
{
    private const string Gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    private const string Gsm7Extended = "^{}\\[~]|€\f";

    public static int Segments(string text)
    {
        if (text.Length == 0) return 0;
        if (text.All(c => Gsm7.Contains(c) || Gsm7Extended.Contains(c)))
        {
            var septets = text.Sum(c => Gsm7Extended.Contains(c) ? 2 : 1);
            return septets <= 160 ? 1 : (septets + 152) / 153;
        }
        var units = text.Length; // UTF-16 code units, as UCS-2 counts them
        return units <= 70 ? 1 : (units + 66) / 67;
    }
}
