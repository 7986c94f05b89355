using System.Globalization;
using System.Text;
using CohortGrains.Domain.ClientLoops;
using CohortGrains.Domain.Cohorts;
using CohortGrains.Host.Clients;
using CohortGrains.Host.Cohorts;
using CohortGrains.Host.Dashboard;
using CohortGrains.Host.Infrastructure;
using CohortGrains.Host.Observability;
using CohortGrains.Host.Programs;
using CohortGrains.Runtime;
using CohortGrains.Runtime.Storage;

namespace CohortGrains.Host.Imports;

/// <param name="Row">The line of the file the client is on (the header is line 1), as a spreadsheet numbers it.</param>
public sealed record ImportRowReport(int Row, string? Name, string Status, string? ClientId, IReadOnlyDictionary<string, string[]>? Errors);

public sealed record ImportReport(int Rows, int Valid, int Invalid, bool Imported, bool DryRun, IReadOnlyList<ImportRowReport> Report, string Note);

/// <summary>Bulk import from CSV (validated whole, then all or nothing), roster and metrics exports, the printable program report.</summary>
public static class ImportExportApi
{
    /// <summary>The columns an import understands (case-insensitive); name, timeZone, preferredHour and a phone or an email are needed.</summary>
    public static readonly string[] Columns = ["name", "phone", "email", "timeZone", "preferredHour", "smsConsent", "quietStart", "quietEnd"];

    public static RouteGroupBuilder MapImportExport(this RouteGroupBuilder api)
    {
        // Staff only: a cohort's import, roster and report are its coach's or an org admin's; the metrics export lists the
        // cohorts the caller may see (all of the org's for an admin, a coach's own).
        api.MapPost("/cohorts/{cohortId}/clients/import", ImportAsync).RequireAuthorization(Policies.OrgMember).WithName("ImportClientsCsv")
            .ProducesCommand<ImportReport>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            // The body is the CSV file itself (Content-Type: text/csv), read by the handler: no Accepts metadata, which
            // would let routing refuse a wrong type before the caller's access to the cohort is checked.
            .WithDescription("The body is the CSV file (Content-Type: text/csv). Imports the whole file (202) or nothing (400 with a report per row). " +
                "With ?dryRun=true it only validates: 200 with the same report.");
        api.MapGet("/cohorts/{cohortId}/roster.csv", RosterCsvAsync).RequireAuthorization(Policies.OrgMember).WithName("ExportRosterCsv")
            .Produces<string>(StatusCodes.Status200OK, "text/csv").ProducesProblem(StatusCodes.Status404NotFound);
        api.MapGet("/exports/metrics.csv", MetricsCsvAsync).RequireAuthorization(Policies.OrgMember).WithName("ExportMetricsCsv")
            .Produces<string>(StatusCodes.Status200OK, "text/csv");
        api.MapGet("/cohorts/{cohortId}/report.html", ProgramReport.RenderAsync).RequireAuthorization(Policies.OrgMember).WithName("GetCohortReportHtml")
            .Produces<string>(StatusCodes.Status200OK, "text/html").ProducesProblem(StatusCodes.Status404NotFound);
        return api;
    }

    /// <summary>
    /// Every row is validated (fields, duplicates in the file, clients already in the cohort) before anything is written;
    /// one bad row refuses the whole file with a report per row. A clean file is queued in one transaction (202), so a
    /// crash never leaves half a file imported. <c>?dryRun=true</c> only validates.
    /// </summary>
    private static async Task<IResult> ImportAsync(string cohortId, bool? dryRun, HttpRequest request, HttpContext http, GrainRuntime runtime, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var target = await ClientsApi.EnrolmentTargetAsync(runtime, http, cohortId, ct);
        if (target.Problem is not null) return target.Problem;
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is not ("text/csv" or "text/plain" or "application/csv"))
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "send the CSV file itself as the body, with Content-Type: text/csv");

        string text;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: true))
            text = await reader.ReadToEndAsync(ct);
        IReadOnlyList<Csv.Row> rows;
        try
        {
            rows = Csv.Parse(text);
        }
        catch (Csv.FormatException e)
        {
            return Problems.Invalid("csv", e.Message);
        }
        if (rows.Count == 0) return Problems.Invalid("csv", "is empty: the first line names the columns (" + string.Join(",", Columns) + ")");

        var header = rows[0].Fields.Select(f => f.Trim()).ToList();
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var headerErrors = new List<string>();
        for (var i = 0; i < header.Count; i++)
        {
            var column = Columns.FirstOrDefault(c => string.Equals(c, header[i].Replace("_", "").Replace(" ", ""), StringComparison.OrdinalIgnoreCase));
            if (column is null) headerErrors.Add($"unknown column '{Parse.Truncate(header[i])}'");
            else if (!index.TryAdd(column, i)) headerErrors.Add($"column '{column}' appears twice");
        }
        foreach (var required in new[] { "name", "timeZone", "preferredHour" })
            if (!index.ContainsKey(required)) headerErrors.Add($"column '{required}' is missing");
        if (!index.ContainsKey("phone") && !index.ContainsKey("email")) headerErrors.Add("a 'phone' or an 'email' column is needed");
        if (headerErrors.Count > 0)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["header"] = [.. headerErrors, $"the columns are: {string.Join(",", Columns)}"] });
        var data = rows.Skip(1).ToList();
        if (data.Count == 0) return Problems.Invalid("csv", "has a header but no clients");
        if (data.Count > ClientsApi.MaxBulk) return Problems.Invalid("csv", $"has {data.Count} clients: at most {ClientsApi.MaxBulk} per import");

        // Who is in the cohort already, by phone and email: importing the same file twice must not enrol everyone twice.
        var roster = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohortId, Limit = 100_000 }, ct);
        var existingPhones = roster.Select(r => r.Projection.Phone).OfType<string>().ToHashSet();
        var existingEmails = roster.Select(r => r.Projection.Email).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        var seenPhones = new Dictionary<string, int>();
        var seenEmails = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);

        var reports = new List<ImportRowReport>();
        var messages = new List<(GrainId, object)>();
        var allErrors = new Dictionary<string, string[]>();
        foreach (var row in data)
        {
            string? Cell(string column) => index.TryGetValue(column, out var i) && i < row.Fields.Count && row.Fields[i].Trim().Length > 0 ? row.Fields[i].Trim() : null;
            var v = new Validation();
            if (row.Fields.Count > header.Count) v.Add("row", $"has {row.Fields.Count} fields but the header names {header.Count}");
            int? hour = null;
            if (Cell("preferredHour") is { } h)
            {
                if (int.TryParse(h, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)) hour = parsed;
                else v.Add("preferredHour", "must be a whole hour 0–23");
            }
            bool? consent = Cell("smsConsent")?.ToLowerInvariant() switch
            {
                null or "no" or "n" or "false" or "0" => false,
                "yes" or "y" or "true" or "1" => true,
                _ => null,
            };
            if (consent is null) v.Add("smsConsent", "must be yes or no");
            var quiet = Cell("quietStart") is null && Cell("quietEnd") is null ? null : new QuietHoursDto(Cell("quietStart"), Cell("quietEnd"));
            // A present but unreadable hour is reported above; 0 keeps ParseEnroll from reporting it a second time.
            int? preferredHour = Cell("preferredHour") is null ? null : hour ?? 0;
            var fields = new EnrollRequest(Cell("name"), Cell("phone"), Cell("email"), Cell("timeZone"), preferredHour, consent ?? false, quiet);
            var enroll = ClientsApi.ParseEnroll(v, fields, "", target, runtime.Clock.GetUtcNow());
            if (enroll is not null)
            {
                if (enroll.Profile.Phone is { } phone)
                {
                    if (existingPhones.Contains(phone)) v.Add("phone", "a client with this phone is already in the cohort");
                    else if (seenPhones.TryGetValue(phone, out var other)) v.Add("phone", $"the same phone as row {other}");
                    else seenPhones[phone] = row.Line;
                }
                if (enroll.Profile.Email is { } email)
                {
                    if (existingEmails.Contains(email)) v.Add("email", "a client with this email is already in the cohort");
                    else if (seenEmails.TryGetValue(email, out var other)) v.Add("email", $"the same email as row {other}");
                    else seenEmails[email] = row.Line;
                }
            }
            if (v.IsValid && enroll is not null)
            {
                messages.Add((ClientsApi.Id(orgId, enroll.ClientId), enroll));
                reports.Add(new ImportRowReport(row.Line, enroll.Profile.Name, "ok", enroll.ClientId, null));
            }
            else
            {
                var errors = v.Errors();
                foreach (var (field, list) in errors) allErrors[$"rows[{row.Line}].{field}"] = list;
                reports.Add(new ImportRowReport(row.Line, Cell("name"), "invalid", null, errors));
            }
        }

        var invalid = reports.Count(r => r.Status == "invalid");
        if (invalid > 0)
        {
            // Nothing is imported: the report says what to fix on which line, and the file can be sent again as a whole.
            var failed = new ImportReport(data.Count, data.Count - invalid, invalid, false, dryRun == true,
                reports.Select(r => r.Status == "ok" ? r with { ClientId = null } : r).ToList(),
                $"{invalid} of {data.Count} rows are invalid: nothing was imported. Fix them and send the whole file again.");
            return TypedResults.ValidationProblem(allErrors, detail: failed.Note, extensions: new Dictionary<string, object?> { ["import"] = failed });
        }
        if (dryRun == true)
            return TypedResults.Ok(new ImportReport(data.Count, data.Count, 0, false, true, reports.Select(r => r with { ClientId = null }).ToList(),
                "Every row is valid; nothing was imported (dry run)."));
        await runtime.PostAsync(messages, ct);
        // After the queueing committed, as for bulk enrolment (a crash in between loses this line, not the enrolments).
        await runtime.Store.AppendAuditAsync([Audit.Entry(http, "clients.imported", "cohort", cohortId, $"{messages.Count} client(s)")], runtime.Clock.GetUtcNow(), ct);
        return TypedResults.Accepted($"/api/v1/cohorts/{cohortId}/clients", new ImportReport(data.Count, data.Count, 0, true, false, reports,
            "All rows are queued durably in one transaction; the clients appear in the roster within moments."));
    }

    private static async Task<IResult> RosterCsvAsync(string cohortId, HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var cohort = await ArcHttp.CohortAsync(runtime, http, cohortId, ct);
        if (cohort is null) return ArcHttp.CohortNotFound(cohortId);
        var now = clock.GetUtcNow();
        var rows = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, ClientLoopDecider.GrainType) { CohortId = cohortId, Limit = 100_000 }, ct);
        var byId = rows.ToDictionary(r => r.Id.Key);
        var sb = new StringBuilder();
        Csv.AppendRow(sb, ["clientId", "name", "email", "phone", "status", "reason", "lastRating", "lateActions", "nextSessionAt", "promptsSent", "replies",
            "replyRate", "actionsTotal", "actionsDone", "endedEarly"]);
        foreach (var c in Roster.Sort(rows, now))
        {
            var p = byId[c.ClientId].Projection;
            Csv.AppendRow(sb, [c.ClientId, c.Name, p.Email, p.Phone, c.Status, c.Reason, c.LastRating, c.LateActions, c.NextSessionAt, c.PromptsSent, c.Replies,
                c.PromptsSent == 0 ? null : Math.Round((double)c.Replies / c.PromptsSent, 4), c.ActionsTotal, c.ActionsDone, p.EndedEarly]);
        }
        // Names and contact details of a whole cohort leave the service: logged like a client's export.
        await runtime.Store.AppendAuditAsync([Audit.Entry(http, "roster.exported", "cohort", cohortId, $"{rows.Count} client(s)")], now, ct);
        return CsvFile(sb, $"roster-{cohortId}.csv");
    }

    private static async Task<IResult> MetricsCsvAsync(HttpContext http, GrainRuntime runtime, TimeProvider clock, CancellationToken ct)
    {
        var orgId = http.User.OrgId();
        var now = clock.GetUtcNow();
        // A coach exports their own cohorts' figures, as their dashboard shows them; an admin the whole org's.
        var cohorts = await runtime.Store.QueryGrainsAsync(new GrainQuery(orgId, CohortDecider.GrainType) { CoachId = Access.CoachOf(http.User) }, ct);
        var dashboard = await DashboardApi.BuildAsync(runtime.Store, orgId, cohorts, now, ct);
        var stats = (await runtime.Store.GetCohortStatsAsync(orgId, null, now, ct)).ToDictionary(s => s.CohortId);
        var sb = new StringBuilder();
        Csv.AppendRow(sb, ["cohortId", "name", "coachId", "lifecycle", "clients", "onTrack", "stuck", "silent", "paused", "done", "endedEarly", "stuckRate",
            "replyRate", "actionCompletionRate", "catchRate", "midProgramChurnRate", "touchesPerClientPerWeek", "escalations", "clientsWithLateActions"]);
        foreach (var d in dashboard.Cohorts)
        {
            var state = await ArcHttp.CohortAsync(runtime, http, d.CohortId, ct);
            Csv.AppendRow(sb, [d.CohortId, d.Name, d.CoachId, d.Lifecycle, d.Clients, d.ByStatus["on-track"], d.ByStatus["stuck"], d.ByStatus["silent"],
                d.ByStatus["paused"], d.ByStatus["done"], d.EndedEarly, d.StuckRate, d.ReplyRate, d.ActionCompletionRate, d.CatchRate, d.MidProgramChurnRate,
                TouchesPerClientPerWeek(state, stats.GetValueOrDefault(d.CohortId), now), d.Escalations, d.ClientsWithLateActions]);
        }
        return CsvFile(sb, "metrics.csv");
    }

    /// <summary>Touches sent per client per week since activation (PRODUCT.md: over 4 is nagging); null before any client or week.</summary>
    public static double? TouchesPerClientPerWeek(CohortState? cohort, CohortStats? stats, DateTimeOffset now)
    {
        if (cohort?.ActivatedAt is not { } start || stats is not { Clients: > 0 }) return null;
        var weeks = Math.Max(1, ((cohort.EndedAt ?? now) - start).TotalDays / 7);
        return Math.Round(stats.TouchesSent / (double)stats.Clients / weeks, 2);
    }

    private static IResult CsvFile(StringBuilder sb, string name) =>
        TypedResults.File(Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(sb.ToString())).ToArray(), "text/csv; charset=utf-8", name);
}
