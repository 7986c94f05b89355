using System.Text.Json.Nodes;

namespace CohortGrains.Web.Tests.Infrastructure;

/// <summary>
/// An org as a coaching company would have it: coach Maya Chen (New York, free Wednesdays 09:00–11:00) with an active
/// weekly cohort (Tuesdays 10:00 New York) of eight clients, and coach Bo Beta with a cohort of his own. Each has a key.
/// <see cref="PlayTwoWeeksAsync"/> runs two program weeks through the API on the fake clock, so the pages have history.
/// </summary>
public sealed class World
{
    public required WebHost Host { get; init; }
    public required HttpClient Admin { get; init; }
    public required string AdminKey { get; init; }
    public required string CoachKey { get; init; }
    public required string CoachKeyId { get; init; }
    public required string CoachId { get; init; }
    public required string CohortId { get; init; }
    public required string OtherCoachKey { get; init; }
    public required string OtherCohortId { get; init; }
    public required IReadOnlyDictionary<string, string> Clients { get; init; }

    public HttpClient Coach => Host.Api(CoachKey);

    public string Ava => Clients["Ava Brooks"];

    /// <summary>Tuesday 10:30 New York of program week <paramref name="week"/> (1 = 17 Feb 2026): just after the session.</summary>
    public static DateTimeOffset SessionEnd(int week) => new DateTimeOffset(2026, 2, 17, 15, 30, 0, TimeSpan.Zero).AddDays(7 * (week - 1));

    private static readonly (string Name, string Action)[] s_clients =
    [
        ("Ava Brooks", "Make two prospecting calls"),
        ("Ben Costa", "Book three demos with warm leads"),
        ("Chloe Diaz", "Call five past customers about referrals"),
        ("Dev Patel", "Write the one-page pricing proposal"),
        ("Elena Fischer", "Hold a 30-minute one-to-one with each direct report"),
        ("Farah Haddad", "Delegate the Monday report to Sam"),
        ("Gabe Ito", "Get budget sign-off from the CFO by Friday"),
        ("Hana Kim", "Practise the board pitch twice with a peer"),
    ];

    public static async Task<World> CreateAsync(WebHost host)
    {
        var op = host.Api(WebHost.OperatorKey);
        var org = await op.PostJsonAsync("/api/v1/orgs", new { name = "Northstar Coaching" }, 201);
        var adminKey = org.Str("apiKey");
        var admin = host.Api(adminKey);

        var coachId = await CoachAsync(admin, "Maya Chen", "maya@northstar.example");
        var otherCoachId = await CoachAsync(admin, "Bo Beta", "bo@northstar.example");
        await admin.SendJsonAsync(HttpMethod.Put, $"/api/v1/coaches/{coachId}/norms", new
        {
            channels = new[] { "email", "inapp" },
            responseHours = 24,
            includedSupport = "short answers by email and one 15-minute call when you are stuck",
            notIncluded = "coaching between calls",
        }, 200);
        var (coachKey, coachKeyId) = await KeyAsync(admin, coachId);
        var (otherKey, _) = await KeyAsync(admin, otherCoachId);
        var cohortId = await CohortAsync(admin, "Leadership Launch", coachId);
        var otherCohort = await CohortAsync(admin, "Sales Sprint", otherCoachId);

        var clients = new Dictionary<string, string>();
        var phone = 101;
        foreach (var (name, _) in s_clients)
            clients[name] = await EnrolAsync(admin, cohortId, name, $"+1415555{phone++:0000}");
        await EnrolAsync(admin, otherCohort, "Oscar Other", "+14155559999");
        await host.PumpAsync();
        return new World
        {
            Host = host, Admin = admin, AdminKey = adminKey, CoachKey = coachKey, CoachKeyId = coachKeyId, CoachId = coachId, CohortId = cohortId,
            OtherCoachKey = otherKey, OtherCohortId = otherCohort, Clients = clients,
        };
    }

    /// <summary>
    /// Weeks 1 and 2 of the program: sessions on Tuesday, check-ins answered on Sunday (a few stuck, one silent each
    /// week), some actions done, most alerts handled in time and one late. Ends just before week 3's session.
    /// </summary>
    public async Task PlayTwoWeeksAsync()
    {
        int? Rating(string s) => s.Length > 0 && char.IsDigit(s[0]) ? s[0] - '0' : null;
        var weeks = new[]
        {
            new Dictionary<string, string>
            {
                ["Ava Brooks"] = "4", ["Ben Costa"] = "5 booked three already", ["Chloe Diaz"] = "2 no time for the calls", ["Dev Patel"] = "3",
                ["Farah Haddad"] = "4", ["Gabe Ito"] = "1 stuck on the budget sign-off", ["Hana Kim"] = "4",
            },
            new Dictionary<string, string>
            {
                ["Ava Brooks"] = "4", ["Ben Costa"] = "4", ["Chloe Diaz"] = "4 calls done", ["Dev Patel"] = "2 lost momentum", ["Elena Fischer"] = "3",
                ["Farah Haddad"] = "5", ["Gabe Ito"] = "3",
            },
        };
        var done = new[] { new[] { "Ava Brooks", "Ben Costa", "Farah Haddad", "Hana Kim" }, new[] { "Ava Brooks", "Ben Costa", "Chloe Diaz", "Farah Haddad", "Gabe Ito" } };
        for (var week = 1; week <= 2; week++)
        {
            await Host.AdvanceToAsync(SessionEnd(week));
            await LogSessionsAsync(week, except: null);
            // Sunday 10:00 New York, an hour after the Day-5 check-in (Day 2 is Thursday, Day 6 the Monday before the session).
            await Host.AdvanceToAsync(SessionEnd(week).AddDays(5).AddHours(-0.5));
            foreach (var (name, text) in weeks[week - 1])
                await Coach.PostJsonAsync($"/api/v1/clients/{Clients[name]}/replies", new { rating = Rating(text), text = text.Length > 1 ? text[2..] : null, channel = "sms" });
            foreach (var name in done[week - 1])
                await Coach.PostJsonAsync($"/api/v1/clients/{Clients[name]}/actions/s{week}-a1/complete", new { });
            // Monday: the silent client is marked at 09:00; then the coach works through the inbox (leaving two alerts for later).
            await Host.AdvanceToAsync(SessionEnd(week).AddDays(6));
            foreach (var alert in (await Coach.GetJsonAsync($"/api/v1/coaches/{CoachId}/alerts?open=true")).AsArray())
            {
                if (alert!.Str("clientName") is "Gabe Ito" or "Hana Kim") continue;
                await Coach.PostJsonAsync($"/api/v1/coaches/{CoachId}/alerts/{alert!.Str("alertId")}/handle", new { note = "called" });
            }
        }
        // Gabe's alert is handled only now, after his next session: it does not count as caught.
        foreach (var alert in (await Coach.GetJsonAsync($"/api/v1/coaches/{CoachId}/alerts?open=true")).AsArray())
            if (alert!.Str("clientName") == "Gabe Ito") await Coach.PostJsonAsync($"/api/v1/coaches/{CoachId}/alerts/{alert!.Str("alertId")}/handle", new { note = "late" });
        await Host.PumpAsync();
    }

    /// <summary>Every client's session of this week through the API, except the one a test logs in the browser.</summary>
    public async Task LogSessionsAsync(int week, string? except)
    {
        foreach (var (name, action) in s_clients)
        {
            if (name == except) continue;
            var by = SessionEnd(week).AddDays(3).ToString("yyyy-MM-dd");
            await Coach.PostJsonAsync($"/api/v1/clients/{Clients[name]}/sessions", new
            {
                actionItems = new[] { new { what = action, byWhen = by, notice = "what made it easier or harder" } },
                note = new { focus = "Follow-through", insight = "Starts strong, stalls mid-week", agreedAction = action, obstacle = "Busy week", followUp = "What got in the way" },
            }, 201);
        }
        await Host.PumpAsync();
    }

    private static async Task<string> CoachAsync(HttpClient admin, string name, string email) =>
        (await admin.PostJsonAsync("/api/v1/coaches", new
        {
            name, email, timeZone = "America/New_York",
            availability = new[] { new { day = "wednesday", start = "09:00", end = "11:00" } },
        }, 201)).Str("coachId");

    private static async Task<(string Key, string KeyId)> KeyAsync(HttpClient admin, string coachId)
    {
        var created = await admin.PostJsonAsync("/api/v1/keys", new { role = "coach", coachId, label = "browser" }, 201);
        return (created.Str("apiKey"), created["key"]!.Str("keyId"));
    }

    private static async Task<string> CohortAsync(HttpClient admin, string name, string coachId)
    {
        var id = (await admin.PostJsonAsync("/api/v1/cohorts", new
        {
            name, coachId, program = new { weeks = 8, sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" },
        }, 201)).Str("cohortId");
        await admin.PostJsonAsync($"/api/v1/cohorts/{id}/activate", new { });
        return id;
    }

    private static async Task<string> EnrolAsync(HttpClient admin, string cohortId, string name, string phone) =>
        (await admin.PostJsonAsync($"/api/v1/cohorts/{cohortId}/clients", new
        {
            name, phone, email = name.Split(' ')[0].ToLowerInvariant() + "@example.com", timeZone = "America/New_York", preferredHour = 9, smsConsent = true,
        }, 201)).Str("clientId");

    /// <summary>A portal link for the client, as the coach's POST /clients/{id}/links issues it.</summary>
    public async Task<string> LinkAsync(string clientId) =>
        (await Coach.PostJsonAsync($"/api/v1/clients/{clientId}/links", new { expiresInHours = 48 }, 201)).Str("url");

    public async Task<JsonArray> OpenAlertsAsync() => (await Coach.GetJsonAsync($"/api/v1/coaches/{CoachId}/alerts?open=true")).AsArray();
}
