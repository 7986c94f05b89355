using System.Net;
using System.Text;
using CohortGrains.Host.Imports;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>CSV in (all or nothing, a report per row), CSV out (no formula injection), and the printable report (nothing unescaped).</summary>
public sealed class ImportExportApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private static StringContent CsvBody(string csv, string mediaType = "text/csv") => new(csv, Encoding.UTF8, mediaType);

    private const string Header = "name,phone,email,timeZone,preferredHour,smsConsent\r\n";

    private async Task<int> RosterCountAsync(Org org) => (await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/clients")).AsArray().Count;

    private async Task<(long Timers, int Clients)> SnapshotAsync(Org org) =>
        ((await _host.Store.GetTimerBacklogAsync(_host.Clock.GetUtcNow(), default)).Total, await RosterCountAsync(org));

    [Fact]
    public async Task AFileWithOneBadRowImportsNothingAndReportsEachRow()
    {
        var org = await Org.CreateAsync(_host);
        var csv = Header +
            "\"Brooks, Ava\",+1 415 555 0101,ava@example.com,America/New_York,9,yes\r\n" +
            "Ben Costa,,ben@example,America/New_York,9,no\r\n" +
            "Cy Diaz,+14155550103,cy@example.com,Mars/Base,8,\r\n" +
            "Dee Evans,+14155550101,dee@example.com,Europe/Berlin,10,no\r\n";
        await _host.PumpAsync();
        var before = await SnapshotAsync(org);

        var response = await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import", CsvBody(csv));

        var problem = await Arc.ProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem["errors"]!.AsObject();
        Assert.Equal(["rows[3].email", "rows[4].timeZone", "rows[5].phone"], errors.Select(e => e.Key).Order());
        Assert.Equal("the same phone as row 2", errors["rows[5].phone"]![0]!.GetValue<string>());
        var report = problem["import"]!;
        Assert.Equal((4, 1, 3, false), (report["rows"]!.GetValue<int>(), report["valid"]!.GetValue<int>(), report["invalid"]!.GetValue<int>(), report["imported"]!.GetValue<bool>()));
        Assert.Equal([(2, "ok"), (3, "invalid"), (4, "invalid"), (5, "invalid")],
            report["report"]!.AsArray().Select(r => (r!["row"]!.GetValue<int>(), r["status"]!.GetValue<string>())));
        Assert.Null(report["report"]![0]!["clientId"]);
        await _host.PumpAsync();
        Assert.Equal(before, await SnapshotAsync(org));
    }

    [Fact]
    public async Task ACleanFileIsImportedWholeAndTheSameFileTwiceIsRefused()
    {
        var org = await Org.CreateAsync(_host);
        var csv = "Name,Phone,Email,Time Zone,preferred_hour,SmsConsent,quietStart,quietEnd\n" +
            "\"Brooks, Ava\",+1 415 555 0101,ava@example.com,America/New_York,9,yes,,\n" +
            "\"Ben \"\"B\"\" Costa\",,ben@example.com,Europe/Berlin,8,no,20:00,08:00\n" +
            "\n";

        var dry = await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import?dryRun=true", CsvBody(csv));
        await Http.ExpectAsync(dry, 200);
        Assert.True((await dry.ReadJsonAsync())["dryRun"]!.GetValue<bool>());
        Assert.Equal(0, await RosterCountAsync(org));

        var response = await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import", CsvBody(csv, "text/plain"));
        await Http.ExpectAsync(response, 202);
        var imported = await response.ReadJsonAsync();
        await _host.PumpAsync();

        Assert.Equal((2, true), (imported["valid"]!.GetValue<int>(), imported["imported"]!.GetValue<bool>()));
        var ids = imported["report"]!.AsArray().Select(r => r!["clientId"]!.GetValue<string>()).ToList();
        var ava = await org.Api.GetJsonAsync($"/api/v1/clients/{ids[0]}");
        Assert.Equal(("Brooks, Ava", "+14155550101", true), (ava["name"]!.GetValue<string>(), ava["phone"]!.GetValue<string>(), ava["consent"]!["smsOptIn"]!.GetValue<bool>()));
        var ben = await org.Api.GetJsonAsync($"/api/v1/clients/{ids[1]}");
        Assert.Equal(("Ben \"B\" Costa", "Europe/Berlin", "20:00–08:00"), (ben["name"]!.GetValue<string>(), ben["timeZone"]!.GetValue<string>(), ben["quietHours"]!.GetValue<string>()));
        Assert.Equal(2, await RosterCountAsync(org));

        var again = await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import", CsvBody(csv));
        var problem = await Arc.ProblemAsync(again, HttpStatusCode.BadRequest);
        Assert.Equal("a client with this phone is already in the cohort", problem["errors"]!["rows[2].phone"]![0]!.GetValue<string>());
        await _host.PumpAsync();
        Assert.Equal(2, await RosterCountAsync(org));
    }

    public static TheoryData<string, string, string> BadFiles => new()
    {
        { "text/csv", "", "csv" },
        { "text/csv", Header, "csv" },
        { "text/csv", "name,phone,email,timeZone,preferredHour,shoeSize\r\nA,,a@example.com,UTC,9,42\r\n", "header" },
        { "text/csv", "phone,email,timeZone,preferredHour\r\n,a@example.com,UTC,9\r\n", "header" },
        { "text/csv", "name,timeZone,preferredHour\r\nA,UTC,9\r\n", "header" },
        { "text/csv", "name,name,email,timeZone,preferredHour\r\nA,B,a@example.com,UTC,9\r\n", "header" },
        { "text/csv", Header + "\"Ava,+14155550101,ava@example.com,UTC,9,no\r\n", "csv" },
        { "text/csv", Header + "Av\"a,+14155550101,ava@example.com,UTC,9,no\r\n", "csv" },
        { "text/csv", Header + "Ava,+14155550101,ava@example.com,UTC,nine,no\r\n", "rows[2].preferredHour" },
        { "text/csv", Header + "Ava,+14155550101,ava@example.com,UTC,9,maybe\r\n", "rows[2].smsConsent" },
        { "text/csv", Header + "Ava,,ava@example.com,UTC,9,yes\r\n", "rows[2].smsConsent" },
        { "text/csv", Header + "Ava,,,UTC,9,no\r\n", "rows[2].email" },
        { "text/csv", Header + "Ava,,ava@example.com,UTC,9,no,extra\r\n", "rows[2].row" },
        { "text/csv", Header + string.Concat(Enumerable.Range(0, 1001).Select(i => $"C{i},,c{i}@example.com,UTC,9,no\r\n")), "csv" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task BadFilesAreA400NamingWhatIsWrong(string mediaType, string csv, string field)
    {
        var org = await Org.CreateAsync(_host);

        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import", CsvBody(csv, mediaType)), field);
        await _host.PumpAsync();
        Assert.Equal(0, await RosterCountAsync(org));
    }

    [Fact]
    public async Task ImportsNeedACsvBodyAndAnOpenCohort()
    {
        var org = await Org.CreateAsync(_host);
        var csv = Header + "Ava,,ava@example.com,UTC,9,no\r\n";

        await Arc.ProblemAsync(await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import", CsvBody("{}", "application/json")), HttpStatusCode.UnsupportedMediaType);
        await Arc.ProblemAsync(await org.Api.PostAsync("/api/v1/cohorts/coh_unknown/clients/import", CsvBody(csv)), HttpStatusCode.NotFound);
        await org.Api.PostJsonAsync($"/api/v1/cohorts/{org.CohortId}/end", new { }, 200);
        await Arc.ProblemAsync(await org.Api.PostAsync($"/api/v1/cohorts/{org.CohortId}/clients/import", CsvBody(csv)), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task TheRosterExportsAsCsvWithoutRunnableFormulas()
    {
        var org = await Org.CreateAsync(_host);
        var ava = await Arc.EnrolAsync(org, org.CohortId, "Brooks, Ava", "+14155550101", "ava@example.com");
        await Arc.EnrolAsync(org, org.CohortId, "=HYPERLINK(\"http://evil.example\",\"x\")", "+14155550102", "evil@example.com");
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(ava, "Make two prospecting calls");
        await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/replies", new { rating = 2, channel = "sms" }, 200);

        var response = await org.Api.GetAsync($"/api/v1/cohorts/{org.CohortId}/roster.csv");
        await Http.ExpectAsync(response, 200);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var rows = Csv.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(["clientId", "name", "email", "phone", "status"], rows[0].Fields.Take(5));
        Assert.Equal(3, rows.Count);
        var stuck = rows[1].Fields; // riskiest first
        Assert.Equal((ava, "Brooks, Ava", "+14155550101", "stuck", "2"), (stuck[0], stuck[1], stuck[3], stuck[4], stuck[6]));
        Assert.Equal("'=HYPERLINK(\"http://evil.example\",\"x\")", rows[2].Fields[1]);
    }

    [Fact]
    public async Task MetricsExportAsOneCsvRowPerCohort()
    {
        var org = await Org.CreateAsync(_host);
        var ava = await org.EnrolAsync();
        var ben = await org.EnrolAsync("Ben Costa", phone: "+14155550102");
        await org.Api.PostJsonAsync($"/api/v1/clients/{ben}/end", new { }, 200);
        _host.Clock.SetUtcNow(Arc.FirstSession);
        await org.LogSessionAsync(ava, "Make two prospecting calls");
        await org.Api.PostJsonAsync($"/api/v1/clients/{ava}/actions/s1-a1/complete", new { }, 200);

        var rows = Csv.Parse(await org.Api.GetStringAsync("/api/v1/exports/metrics.csv"));

        var header = rows[0].Fields.ToList();
        var row = rows.Single(r => r.Fields[0] == org.CohortId).Fields;
        string Col(string name) => row[header.IndexOf(name)];
        Assert.Equal(("Leadership Launch", "2", "1", "1", "0.5", "1"),
            (Col("name"), Col("clients"), Col("done"), Col("endedEarly"), Col("midProgramChurnRate"), Col("actionCompletionRate")));
        Assert.Equal("", Col("replyRate")); // nothing asked yet: no rate, not 0%
    }

    [Fact]
    public async Task TheProgramReportIsPrintableHtmlWithEveryValueEscaped()
    {
        var org = await Org.CreateAsync(_host);
        var evil = await Arc.EnrolAsync(org, org.CohortId, "<script>alert('x')</script> & Co", "+14155550109", "evil@example.com");
        await org.EnrolAsync("Ben Costa", phone: "+14155550102");
        await org.Api.PostJsonAsync($"/api/v1/clients/{evil}/end", new { }, 200);

        var response = await org.Api.GetAsync($"/api/v1/cohorts/{org.CohortId}/report.html");

        await Http.ExpectAsync(response, 200);
        Assert.Equal(("text/html", "utf-8"), (response.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentType?.CharSet));
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co", html);
        Assert.Contains("<td>Mid-program churn</td><td class=\"value weak\">50%</td>", html);
        Assert.Contains("Leadership Launch", html);
        Assert.Contains("@media print", html);
        await Arc.ProblemAsync(await org.Api.GetAsync("/api/v1/cohorts/coh_unknown/report.html"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("=1+1", "'=1+1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("-3", "-3")]
    [InlineData("+14155550101", "+14155550101")]
    [InlineData("-x", "'-x")]
    public void CsvFieldsAreQuotedAndDefused(string value, string expected) => Assert.Equal(expected, Csv.Field(value));
}
