using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace CohortGrains.Host.Tests.Infrastructure;

/// <summary>
/// Two orgs. The victim org has coach A (cohort A, client A1 with a session, a reply that escalated, an alert) and
/// coach B (cohort B, client B1); each coach has their own key, each client a magic link. The attacker org has its own
/// admin, coach, cohort and client. Every personal value of A's side is unique, so a response containing one leaked it.
/// </summary>
public sealed class SecurityWorld
{
    public required TestHost Host { get; init; }
    public required string VictimOrgId { get; init; }
    public required string VictimAdminKey { get; init; }
    public required string CoachA { get; init; }
    public required string CoachAKey { get; init; }
    public required string CoachAKeyId { get; init; }
    public required string CohortA { get; init; }
    public required string ClientA1 { get; init; }
    public required string ClientA1Link { get; init; }
    public required string CoachB { get; init; }
    public required string CoachBKey { get; init; }
    public required string CohortB { get; init; }
    public required string ClientB1 { get; init; }
    public required string ClientB1Link { get; init; }
    public required string AttackerOrgId { get; init; }
    public required string AttackerAdminKey { get; init; }

    /// <summary>Values only A's side holds; none may appear in an answer to anyone else.</summary>
    public static readonly string[] Secrets =
    [
        "Victima", "Secretname", "4155550199", "victima.secret", "CohortSecretAlpha", "CoachSecretAlpha", "coach.alpha.secret",
        "NoteSecretFocus", "NoteSecretInsight", "ReplySecretWords", "ActionSecretCalls",
    ];

    public HttpClient As(string? key) => Host.ClientWithKey(key);

    public static async Task<SecurityWorld> CreateAsync(TestHost host)
    {
        var op = host.Operator();
        var victim = await op.PostJsonAsync("/api/v1/orgs", new { name = "Victim Coaching" }, 201);
        var victimKey = victim["apiKey"]!.GetValue<string>();
        var admin = host.ClientWithKey(victimKey);

        var coachA = await CoachAsync(admin, "CoachSecretAlpha Smith", "coach.alpha.secret@victim.example");
        var coachB = await CoachAsync(admin, "Bo Beta", "bo@victim.example");
        var (keyA, keyAId) = await CoachKeyAsync(admin, coachA);
        var (keyB, _) = await CoachKeyAsync(admin, coachB);

        // Each coach creates their own cohort and enrols with their own key: the happy paths of the coach role.
        var asA = host.ClientWithKey(keyA);
        var asB = host.ClientWithKey(keyB);
        var cohortA = await CohortAsync(asA, "CohortSecretAlpha", coachA);
        var cohortB = await CohortAsync(asB, "Beta Group", coachB);
        var a1 = await EnrolAsync(asA, cohortA, "Victima Secretname", "+14155550199", "victima.secret@victim.example");
        var b1 = await EnrolAsync(asB, cohortB, "Ben Other", "+14155550288", "ben.other@victim.example");

        host.Clock.SetUtcNow(new DateTimeOffset(2026, 3, 3, 15, 30, 0, TimeSpan.Zero));
        await asA.PostJsonAsync($"/api/v1/clients/{a1}/sessions", new
        {
            actionItems = new[] { new { what = "ActionSecretCalls to two prospects", byWhen = (string?)null, notice = "how it felt" } },
            note = new { focus = "NoteSecretFocus", insight = "NoteSecretInsight", agreedAction = "Two calls", obstacle = "Busy", followUp = "Review" },
        }, 201);
        await asA.PostJsonAsync($"/api/v1/clients/{a1}/replies", new { rating = 2, text = "ReplySecretWords stuck on pricing", channel = "sms" }, 200);
        await host.PumpAsync();

        var linkA1 = (await asA.PostJsonAsync($"/api/v1/clients/{a1}/links", new { expiresInHours = 48 }, 201))["token"]!.GetValue<string>();
        var linkB1 = (await asB.PostJsonAsync($"/api/v1/clients/{b1}/links", new { expiresInHours = 48 }, 201))["token"]!.GetValue<string>();

        var attacker = await op.PostJsonAsync("/api/v1/orgs", new { name = "Attacker Coaching" }, 201);
        var attackerKey = attacker["apiKey"]!.GetValue<string>();
        var asX = host.ClientWithKey(attackerKey);
        var coachX = await CoachAsync(asX, "Xavier X", "x@attacker.example");
        var cohortX = await CohortAsync(asX, "X cohort", coachX);
        await EnrolAsync(asX, cohortX, "Xena X", "+14155550377", "xena@attacker.example");

        return new SecurityWorld
        {
            Host = host, VictimOrgId = victim["orgId"]!.GetValue<string>(), VictimAdminKey = victimKey,
            CoachA = coachA, CoachAKey = keyA, CoachAKeyId = keyAId, CohortA = cohortA, ClientA1 = a1, ClientA1Link = linkA1,
            CoachB = coachB, CoachBKey = keyB, CohortB = cohortB, ClientB1 = b1, ClientB1Link = linkB1,
            AttackerOrgId = attacker["orgId"]!.GetValue<string>(), AttackerAdminKey = attackerKey,
        };
    }

    /// <summary>Route values that point at A's side of the victim org (unknown parameters get a harmless id).</summary>
    public string VictimValue(string parameter) => parameter.ToLowerInvariant() switch
    {
        "coachid" => CoachA,
        "cohortid" => CohortA,
        "clientid" => ClientA1,
        "alertid" => "a1",
        "itemid" => "s1-a1",
        "keyid" => CoachAKeyId,
        "orgid" => VictimOrgId,
        _ => "x_unknown1",
    };

    public static bool IsKnownParameter(string parameter) =>
        parameter.ToLowerInvariant() is "coachid" or "cohortid" or "clientid" or "alertid" or "itemid" or "keyid" or "orgid";

    /// <summary>
    /// A hash of every row about A's side (coach A, cohort A, client A1: grains, timers, outbox, their keys and links):
    /// whatever another caller sends, it must not change.
    /// </summary>
    public string VictimRowsHash()
    {
        var keys = new[] { CoachA, CohortA, ClientA1 };
        var sb = new StringBuilder();
        using var c = new SqliteConnection($"Data Source={Path.Combine(Host.DataDirectory, "cohortgrains.db")};Pooling=False;Mode=ReadOnly");
        c.Open();
        foreach (var (table, filter) in new[]
                 {
                     ("grains", "grain_key IN ($k0,$k1,$k2)"), ("timers", "grain_key IN ($k0,$k1,$k2)"), ("outbox", "grain_key IN ($k0,$k1,$k2)"),
                     ("api_keys", "subject_id IN ($k0,$k1,$k2)"),
                 })
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT * FROM {table} WHERE org_id = $org AND {filter} ORDER BY rowid";
            cmd.Parameters.AddWithValue("$org", VictimOrgId);
            for (var i = 0; i < keys.Length; i++) cmd.Parameters.AddWithValue($"$k{i}", keys[i]);
            using var r = cmd.ExecuteReader();
            while (r.Read())
                for (var i = 0; i < r.FieldCount; i++) sb.Append(r.IsDBNull(i) ? "∅" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static async Task<string> CoachAsync(HttpClient admin, string name, string email) =>
        (await admin.PostJsonAsync("/api/v1/coaches", new
        {
            name, email, timeZone = "America/New_York",
            availability = new[] { new { day = "wednesday", start = "09:00", end = "11:00" } },
        }, 201))["coachId"]!.GetValue<string>();

    public static async Task<(string Key, string KeyId)> CoachKeyAsync(HttpClient admin, string coachId)
    {
        var created = await admin.PostJsonAsync("/api/v1/keys", new { role = "coach", coachId, label = "coach laptop" }, 201);
        return (created["apiKey"]!.GetValue<string>(), created["key"]!["keyId"]!.GetValue<string>());
    }

    private static async Task<string> CohortAsync(HttpClient api, string name, string coachId)
    {
        var cohort = (await api.PostJsonAsync("/api/v1/cohorts", new
        {
            name, coachId, program = new { weeks = 8, sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" },
        }, 201))["cohortId"]!.GetValue<string>();
        await api.PostJsonAsync($"/api/v1/cohorts/{cohort}/activate", new { }, 200);
        return cohort;
    }

    private static async Task<string> EnrolAsync(HttpClient api, string cohortId, string name, string phone, string email) =>
        (await api.PostJsonAsync($"/api/v1/cohorts/{cohortId}/clients", new
        {
            name, phone, email, timeZone = "America/New_York", preferredHour = 9, smsConsent = true,
        }, 201))["clientId"]!.GetValue<string>();
}

/// <summary>A valid body for each endpoint that takes one ({coach}, {cohort}, {client}, {org} are filled in), or a generated one.</summary>
public static class ValidBodies
{
    private const string Program =
        """{"weeks":8,"sessionDay":"tuesday","sessionTime":"10:00","timeZone":"America/New_York","intervalWeeks":1,"weeklyCap":4,"quietHours":{"start":"21:00","end":"08:00"},"silentAfterHours":24,"cadence":[{"key":"day2","dayOffset":2,"channel":"sms","kind":"nudge","template":"Started on {firstCommitment} yet?"}]}""";

    private const string Client =
        """{"name":"Ava Brooks","phone":"+14155550101","email":"ava@example.com","timeZone":"America/New_York","preferredHour":9,"smsConsent":true,"quietHours":{"start":"21:00","end":"08:00"}}""";

    private static readonly Dictionary<string, string> s_bodies = new(StringComparer.Ordinal)
    {
        ["POST /api/v1/orgs"] = """{"name":"Fuzz Coaching"}""",
        ["POST /api/v1/orgs/{orgId}/keys"] = """{"label":"recovery"}""",
        ["POST /api/v1/coaches"] = """{"name":"Kim Lee","email":"kim@example.com","timeZone":"America/New_York","availability":[{"day":"monday","start":"09:00","end":"10:00"}]}""",
        ["PUT /api/v1/coaches/{coachId}/availability"] = """{"availability":[{"day":"monday","start":"09:00","end":"10:00"}]}""",
        ["POST /api/v1/coaches/{coachId}/alerts/{alertId}/handle"] = """{"note":"called them"}""",
        ["POST /api/v1/cohorts"] = $$"""{"name":"Fuzz Cohort","coachId":"{coach}","program":{{Program}}}""",
        ["PUT /api/v1/cohorts/{cohortId}/program"] = $$"""{"program":{{Program}}}""",
        ["POST /api/v1/cohorts/{cohortId}/clients"] = Client,
        ["POST /api/v1/cohorts/{cohortId}/clients/bulk"] = $$"""{"clients":[{{Client}}]}""",
        ["POST /api/v1/clients/{clientId}/sessions"] =
            """{"actionItems":[{"what":"Make two calls","byWhen":"2026-03-10","notice":"how it felt"}],"note":{"focus":"Pipeline","insight":"Avoids asking","agreedAction":"Two calls","obstacle":"Busy","followUp":"Review"}}""",
        ["POST /api/v1/clients/{clientId}/replies"] = """{"rating":4,"text":"going well","channel":"sms"}""",
        ["POST /api/v1/clients/{clientId}/links"] = """{"expiresInHours":24}""",
        ["POST /api/v1/keys"] = """{"role":"coach","coachId":"{coach}","label":"laptop","expiresInDays":30}""",
    };

    public static bool IsKnown(ApiEndpoint e) => s_bodies.ContainsKey(e.ToString());

    public static string? For(ApiEndpoint e, Func<string, string> fill)
    {
        if (e.BodyType is null) return null;
        var template = s_bodies.TryGetValue(e.ToString(), out var known) ? known : EndpointCatalog.SampleBody(e.BodyType)?.ToJsonString() ?? "{}";
        return fill(template);
    }

    public static Func<string, string> Filler(string org, string coach, string cohort, string client) =>
        s => s.Replace("{org}", org).Replace("{coach}", coach).Replace("{cohort}", cohort).Replace("{client}", client);
}

public static class Send
{
    public static async Task<HttpResponseMessage> RawAsync(this HttpClient client, string method, string url, string? body, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(contentType));
        return await client.SendAsync(request);
    }

    public static async Task<HttpResponseMessage> BytesAsync(this HttpClient client, string method, string url, byte[] body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await client.SendAsync(request);
    }

    public static JsonNode? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
