using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests;

/// <summary>Which prompts get answered, per template, cohort and org; weak ones flagged; edits versioned and compared.</summary>
public sealed class PromptAnalyticsApiTests : IDisposable
{
    private readonly TestHost _host = new();

    public void Dispose() => _host.Dispose();

    private static JsonNode Template(JsonNode cohortTemplates, string key) =>
        cohortTemplates["templates"]!.AsArray().Single(t => t!["key"]!.GetValue<string>() == key)!;

    private Task AdvanceToAsync(DateTimeOffset at) => _host.AdvanceAsync(at - _host.Clock.GetUtcNow());

    [Fact]
    public async Task ReplyRatesPerTemplateFlagTheWeakOneAndARewriteShowsItsEffect()
    {
        var org = await Org.CreateAsync(_host);
        var clients = new List<string>();
        for (var i = 0; i < 5; i++) clients.Add(await org.EnrolAsync($"Client{i} Test", $"+1415555020{i}"));
        _host.Clock.SetUtcNow(Arc.FirstSession);
        foreach (var c in clients) await org.LogSessionAsync(c, "Make two prospecting calls");

        // Day 2 (Thu 09:00 New York): one of five answers the nudge, after 2 hours.
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 5, 14, 0, 0, TimeSpan.Zero));
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 5, 16, 0, 0, TimeSpan.Zero));
        await org.Api.PostJsonAsync($"/api/v1/clients/{clients[0]}/replies", new { text = "started, one call done", channel = "sms" }, 200);
        // Day 5 (Sun 09:00 EDT): four of five rate the week, 1, 2, 3 and 4 hours later.
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 8, 13, 0, 0, TimeSpan.Zero));
        var ratings = new[] { 4, 4, 2, 5 };
        for (var i = 0; i < 4; i++)
        {
            await _host.AdvanceAsync(TimeSpan.FromHours(1));
            await org.Api.PostJsonAsync($"/api/v1/clients/{clients[i]}/replies", new { rating = ratings[i], channel = "sms" }, 200);
        }
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 9, 14, 0, 0, TimeSpan.Zero));

        var before = await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/templates");
        var day2 = Template(before, "day2");
        Assert.Equal((5, 1, 0.2, 120.0), (day2["analytics"]!["allTime"]!["sent"]!.GetValue<int>(), day2["analytics"]!["allTime"]!["replied"]!.GetValue<int>(),
            day2["analytics"]!["allTime"]!["replyRate"]!.GetValue<double>(), day2["analytics"]!["allTime"]!["medianReplyMinutes"]!.GetValue<double>()));
        Assert.True(day2["analytics"]!["flagged"]!.GetValue<bool>());
        Assert.StartsWith("1 of 5 answered in the last 4 weeks (20%): rewrite it", day2["analytics"]!["suggestion"]!.GetValue<string>());
        Assert.False(day2["custom"]!.GetValue<bool>());
        var day5 = Template(before, "day5")["analytics"]!;
        Assert.False(day5["flagged"]!.GetValue<bool>());
        Assert.Equal((4, 0.8, 150.0), (day5["allTime"]!["replied"]!.GetValue<int>(), day5["allTime"]!["replyRate"]!.GetValue<double>(),
            day5["allTime"]!["medianReplyMinutes"]!.GetValue<double>()));
        Assert.Equal([0, 1, 0, 2, 1], Enumerable.Range(1, 5).Select(r => day5["allTime"]!["ratings"]![r.ToString()]!.GetValue<int>()));
        Assert.False(Template(before, "day6")["analytics"]!["flagged"]!.GetValue<bool>()); // prep informs: never flagged

        // The coach rewrites the nudge: preview it with a real client first, then save it as version 2.
        var preview = await org.Api.PostJsonAsync($"/api/v1/cohorts/{org.CohortId}/templates/preview",
            new { clientId = clients[1], template = "{firstName}: one step on {firstCommitment} yet? Reply Y or N" }, 200);
        Assert.Equal(("Client1: one step on make two prospecting calls yet? Reply Y or N", 1),
            (preview["text"]!.GetValue<string>(), preview["smsSegments"]!.GetValue<int>()));
        var edited = await org.Api.PutAsJsonAsync($"/api/v1/cohorts/{org.CohortId}/templates/day2",
            new { template = "{firstName}: one step on {firstCommitment} yet? Reply Y or N" });
        await Http.ExpectAsync(edited, 200);
        var saved = (await edited.ReadJsonAsync())["template"]!;
        Assert.Equal((2, true), (saved["version"]!.GetValue<int>(), saved["custom"]!.GetValue<bool>()));

        // Next session: the new wording goes out, and three of five answer it.
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 10, 14, 30, 0, TimeSpan.Zero));
        foreach (var c in clients) await org.LogSessionAsync(c, "Ask for one referral");
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 12, 13, 0, 0, TimeSpan.Zero));
        var nudge = (await Arc.TouchesAsync(org, clients[3])).First(t => t!["template"]!.GetValue<string>() == "day2")!;
        Assert.Equal("Client3: one step on ask for one referral yet? Reply Y or N", nudge["body"]!.GetValue<string>());
        for (var i = 0; i < 3; i++) await org.Api.PostJsonAsync($"/api/v1/clients/{clients[i]}/replies", new { text = "Y", channel = "sms" }, 200);
        await AdvanceToAsync(new DateTimeOffset(2026, 3, 13, 14, 0, 0, TimeSpan.Zero));

        var after = Template(await org.Api.GetJsonAsync($"/api/v1/cohorts/{org.CohortId}/templates"), "day2")["analytics"]!;
        var versions = after["versions"]!.AsArray();
        Assert.Equal([(1, 5, 1, 0.2, false), (2, 5, 3, 0.6, true)], versions.Select(v => (v!["version"]!.GetValue<int>(), v["allTime"]!["sent"]!.GetValue<int>(),
            v["allTime"]!["replied"]!.GetValue<int>(), v["allTime"]!["replyRate"]!.GetValue<double>(), v["current"]!.GetValue<bool>())));
        // Judged on the current wording now that it has been asked five times: no longer flagged.
        Assert.False(after["flagged"]!.GetValue<bool>());

        // Per org: every cohort's day2 together, and per cohort.
        var orgWide = await org.Api.GetJsonAsync("/api/v1/analytics/templates");
        var orgDay2 = orgWide["templates"]!.AsArray().Single(t => t!["template"]!.GetValue<string>() == "day2")!;
        Assert.Equal((10, 4, 0.4), (orgDay2["allTime"]!["sent"]!.GetValue<int>(), orgDay2["allTime"]!["replied"]!.GetValue<int>(), orgDay2["allTime"]!["replyRate"]!.GetValue<double>()));
        Assert.Equal(org.CohortId, Assert.Single(orgWide["cohorts"]!.AsArray())!["cohortId"]!.GetValue<string>());
    }

    [Fact]
    public async Task TemplateEditsAndPreviewsRefuseUnknownPlaceholdersAndStrangers()
    {
        var org = await Org.CreateAsync(_host);
        var clientId = await org.EnrolAsync();
        var other = await Org.CreateAsync(_host);
        var stranger = await other.EnrolAsync();
        var url = $"/api/v1/cohorts/{org.CohortId}/templates";

        await Arc.ExpectFieldErrorAsync(await org.Api.PutAsJsonAsync($"{url}/day2", new { template = "Hi {firstname}!" }), "template");
        await Arc.ExpectFieldErrorAsync(await org.Api.PutAsJsonAsync($"{url}/day2", new { template = new string('x', 1001) }), "template");
        await Arc.ProblemAsync(await org.Api.PutAsJsonAsync($"{url}/day99", new { template = "Hi" }), HttpStatusCode.NotFound);
        await Arc.ProblemAsync(await org.Api.PutAsJsonAsync("/api/v1/cohorts/coh_unknown/templates/day2", new { template = "Hi" }), HttpStatusCode.NotFound);
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync($"{url}/preview", new { clientId, template = "{nope}" }), "template");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync($"{url}/preview", new { clientId }), "template");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync($"{url}/preview", new { template = "Hi" }), "clientId");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync($"{url}/preview", new { clientId, key = "day99" }), "key");
        await Arc.ExpectFieldErrorAsync(await org.Api.PostAsJsonAsync($"{url}/preview", new { clientId = stranger, template = "Hi {firstName}" }), "clientId");

        var templates = await org.Api.GetJsonAsync(url);
        Assert.All(templates["templates"]!.AsArray(), t => Assert.Equal(1, t!["version"]!.GetValue<int>()));
        // The current wording of a key previews with the client's data (before any session: "your actions").
        var preview = await org.Api.PostJsonAsync($"{url}/preview", new { clientId, key = "day5" }, 200);
        Assert.StartsWith("Hi Ava, how did your actions go?", preview["text"]!.GetValue<string>());
        Assert.Equal(["firstName", "commitments"], preview["placeholders"]!.AsArray().Select(p => p!.GetValue<string>()));
        // Reverting to the default is an edit: version 2, not custom.
        var reverted = await org.Api.PutAsJsonAsync($"{url}/day5", new { template = "{firstName}, {commitments}: 1-5?" });
        await Http.ExpectAsync(reverted, 200);
        var back = await (await org.Api.PutAsJsonAsync($"{url}/day5", new { template = (string?)null })).ReadJsonAsync();
        Assert.Equal((3, false), (back["template"]!["version"]!.GetValue<int>(), back["template"]!["custom"]!.GetValue<bool>()));
    }

    [Theory]
    [InlineData("Hello", 1)]
    [InlineData("€", 1)]
    [InlineData("Hi 👋", 1)]
    public void SmsSegmentsCountGsmAndUnicode(string text, int segments) => Assert.Equal(segments, Analytics.Sms.Segments(text));

    [Fact]
    public void LongSmsAreSplitByTheirEncoding()
    {
        Assert.Equal(1, Analytics.Sms.Segments(new string('a', 160)));
        Assert.Equal(2, Analytics.Sms.Segments(new string('a', 161)));
        Assert.Equal(1, Analytics.Sms.Segments(new string('€', 80)));   // 160 septets: the escape doubles each
        Assert.Equal(2, Analytics.Sms.Segments(new string('€', 81)));
        Assert.Equal(2, Analytics.Sms.Segments(new string('é', 100) + "ł")); // ł is not GSM: UCS-2, 101 units
    }
}
