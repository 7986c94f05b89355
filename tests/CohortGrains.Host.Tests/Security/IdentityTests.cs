using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using CohortGrains.Host.Tests.Infrastructure;

namespace CohortGrains.Host.Tests.Security;

/// <summary>Keys, coach scope, client links and the audit log, as a caller sees them.</summary>
public sealed class IdentityTests : IAsyncLifetime
{
    private readonly TestHost _host = new();
    private SecurityWorld _w = null!;

    public async Task InitializeAsync() => _w = await SecurityWorld.CreateAsync(_host);

    public Task DisposeAsync()
    {
        _host.Dispose();
        return Task.CompletedTask;
    }

    private HttpClient Admin => _w.As(_w.VictimAdminKey);
    private HttpClient CoachA => _w.As(_w.CoachAKey);

    // ---------------------------------------------------------------- keys

    [Fact]
    public async Task AKeyIsShownOnceRecognisableAndStoredOnlyAsItsHash()
    {
        var created = await Admin.PostJsonAsync("/api/v1/keys", new { role = "org-admin", label = "second admin" }, 201);
        var key = created["apiKey"]!.GetValue<string>();
        var keyId = created["key"]!["keyId"]!.GetValue<string>();

        Assert.StartsWith("cg_", key, StringComparison.Ordinal);
        Assert.True(key.Length >= 40);
        Assert.Equal(HttpStatusCode.OK, (await _w.As(key).GetAsync("/api/v1/org")).StatusCode);
        var listed = await (await Admin.GetAsync("/api/v1/keys")).Content.ReadAsStringAsync();
        Assert.Contains(keyId, listed, StringComparison.Ordinal);
        Assert.Contains(key[..10], listed, StringComparison.Ordinal); // the recognisable prefix
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        Assert.DoesNotContain(hash, listed, StringComparison.Ordinal);
        Assert.Empty(DatabaseScan.FindInTables(DatabaseScan.PathOf(_host), key));
        Assert.Equal(["api_keys.key_hash"], DatabaseScan.FindInTables(DatabaseScan.PathOf(_host), hash));
    }

    [Fact]
    public async Task ACoachKeyNeedsACoachOfThisOrgAndOnlyAdminsManageKeys()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.PostAsJsonAsync("/api/v1/keys", new { role = "coach" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.PostAsJsonAsync("/api/v1/keys", new { role = "coach", coachId = "coa_nosuchcoach" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _w.As(_w.AttackerAdminKey).PostAsJsonAsync("/api/v1/keys", new { role = "coach", coachId = _w.CoachA })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.PostAsJsonAsync("/api/v1/keys", new { role = "operator" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Admin.PostAsJsonAsync("/api/v1/keys", new { role = "client", coachId = _w.CoachA })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.PostAsJsonAsync("/api/v1/keys", new { role = "org-admin" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.GetAsync("/api/v1/keys")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.DeleteAsync($"/api/v1/keys/{_w.CoachAKeyId}")).StatusCode);
    }

    [Fact]
    public async Task ARevokedKeyStopsAtOnceAndTheLastAdminKeyCannotBeRevoked()
    {
        Assert.Equal(HttpStatusCode.OK, (await CoachA.GetAsync("/api/v1/org")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync($"/api/v1/keys/{_w.CoachAKeyId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await CoachA.GetAsync("/api/v1/org")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.DeleteAsync($"/api/v1/keys/{_w.CoachAKeyId}")).StatusCode);

        var admins = await Admin.GetJsonAsync("/api/v1/keys?role=org-admin&active=true");
        var only = Assert.Single(admins.AsArray())!["keyId"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.Conflict, (await Admin.DeleteAsync($"/api/v1/keys/{only}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Admin.GetAsync("/api/v1/org")).StatusCode);

        // The way out: the operator issues a fresh admin key to the org; then the old one can go.
        var fresh = (await _host.Operator().PostJsonAsync($"/api/v1/orgs/{_w.VictimOrgId}/keys", new { label = "rotation" }, 201))["apiKey"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await _w.As(fresh).DeleteAsync($"/api/v1/keys/{only}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Admin.GetAsync("/api/v1/org")).StatusCode);
        // Issuing keys to an org from outside it is the operator's alone.
        Assert.Equal(HttpStatusCode.Forbidden, (await _w.As(fresh).PostAsJsonAsync($"/api/v1/orgs/{_w.VictimOrgId}/keys", new { })).StatusCode);
    }

    [Fact]
    public async Task AKeyWithAnExpiryStopsWorkingThen()
    {
        var key = (await Admin.PostJsonAsync("/api/v1/keys", new { role = "coach", coachId = _w.CoachB, expiresInDays = 1 }, 201))["apiKey"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await _w.As(key).GetAsync("/api/v1/org")).StatusCode);
        _host.Clock.Advance(TimeSpan.FromHours(25));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _w.As(key).GetAsync("/api/v1/org")).StatusCode);
    }

    // ---------------------------------------------------------------- coach scope

    [Fact]
    public async Task ACoachSeesOnlyTheirOwnCoachRecordCohortsClientsAndDashboard()
    {
        var coaches = await CoachA.GetJsonAsync("/api/v1/coaches");
        Assert.Equal([_w.CoachA], coaches.AsArray().Select(c => c!["coachId"]!.GetValue<string>()));
        var cohorts = await CoachA.GetJsonAsync("/api/v1/cohorts");
        Assert.Equal([_w.CohortA], cohorts.AsArray().Select(c => c!["cohortId"]!.GetValue<string>()));
        var dashboard = await CoachA.GetJsonAsync("/api/v1/dashboard");
        Assert.Equal([_w.CohortA], dashboard["cohorts"]!.AsArray().Select(c => c!["cohortId"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.GetAsync($"/api/v1/dashboard?coachId={_w.CoachB}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await CoachA.GetAsync($"/api/v1/cohorts/{_w.CohortB}/clients")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await CoachA.GetAsync($"/api/v1/clients/{_w.ClientB1}")).StatusCode);
        // The org admin sees both coaches' cohorts.
        Assert.Equal(2, (await Admin.GetJsonAsync("/api/v1/dashboard"))["cohorts"]!.AsArray().Count);
    }

    [Fact]
    public async Task ACoachChangesOnlyTheirOwnSideAndCannotAddCoachesOrCohortsForOthers()
    {
        var program = new { sessionDay = "tuesday", sessionTime = "10:00", timeZone = "America/New_York" };
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.PostAsJsonAsync("/api/v1/coaches", new { name = "Eve", timeZone = "UTC" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.PostAsJsonAsync("/api/v1/cohorts", new { name = "Theirs", coachId = _w.CoachB, program })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await CoachA.PostAsJsonAsync("/api/v1/cohorts", new { name = "Mine", coachId = _w.CoachA, program })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await CoachA.PostAsJsonAsync($"/api/v1/clients/{_w.ClientB1}/pause", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await CoachA.PostAsJsonAsync($"/api/v1/clients/{_w.ClientA1}/pause", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.GetAsync("/api/v1/touches")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await CoachA.GetAsync($"/api/v1/touches?clientId={_w.ClientA1}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await CoachA.GetAsync($"/api/v1/touches?clientId={_w.ClientB1}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.GetAsync("/api/v1/audit")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await CoachA.DeleteAsync($"/api/v1/clients/{_w.ClientA1}")).StatusCode);
    }

    [Fact]
    public async Task WritesForAnotherCoachsClientAreNotFoundValidOrNotAndChangeNothing()
    {
        var before = await Admin.GetJsonAsync($"/api/v1/clients/{_w.ClientB1}");
        // Valid bodies reach the turn, which refuses them on the client it holds; invalid ones never tell a stranger why.
        foreach (var (path, body) in new (string, object)[]
        {
            ("replies", new { rating = 2, text = "stuck" }), ("replies", new { rating = 9 }),
            ("messages", new { text = "Hello from the wrong coach", channel = "sms" }), ("messages", new { text = "" }),
            ("reflections", new { text = "Not mine to write" }), ("reflections", new { text = "" }),
            ("feedback/midpoint", new { answers = new Dictionary<string, string> { ["mostUseful"] = "x" } }), ("feedback/midpoint", new { }),
        })
            Assert.Equal(HttpStatusCode.NotFound, (await CoachA.PostAsJsonAsync($"/api/v1/clients/{_w.ClientB1}/{path}", body)).StatusCode);
        Assert.Equal(before.ToJsonString(), (await Admin.GetJsonAsync($"/api/v1/clients/{_w.ClientB1}")).ToJsonString());
        // Their own client's coach gets the field errors.
        Assert.Equal(HttpStatusCode.BadRequest, (await CoachA.PostAsJsonAsync($"/api/v1/clients/{_w.ClientA1}/replies", new { rating = 9 })).StatusCode);
    }

    // ---------------------------------------------------------------- client links

    [Fact]
    public async Task AClientLinkOpensOnlyThatClientsOwnLoopWithoutTheCoachsNotes()
    {
        var link = await CoachA.PostJsonAsync($"/api/v1/clients/{_w.ClientA1}/links", new { expiresInHours = 24 }, 201);
        var token = link["token"]!.GetValue<string>();
        Assert.StartsWith("cgl_", token, StringComparison.Ordinal);
        Assert.Equal($"http://127.0.0.1:5080/portal?token={Uri.EscapeDataString(token)}", link["url"]!.GetValue<string>());
        Assert.Equal(_host.Clock.GetUtcNow().AddHours(24).ToUnixTimeSeconds(), link["expiresAt"]!.GetValue<DateTimeOffset>().ToUnixTimeSeconds());
        var client = _w.As(token);

        var own = await client.GetJsonAsync($"/api/v1/clients/{_w.ClientA1}");
        Assert.Equal("Victima Secretname", own["name"]!.GetValue<string>());
        Assert.Null(own["sessions"]![0]!["note"]);
        Assert.NotNull((await CoachA.GetJsonAsync($"/api/v1/clients/{_w.ClientA1}"))["sessions"]![0]!["note"]);
        Assert.DoesNotContain("NoteSecret", await (await client.GetAsync($"/api/v1/clients/{_w.ClientA1}/timeline")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The client answers and ticks off their own actions; the rest is staff's.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync($"/api/v1/clients/{_w.ClientA1}/replies", new { rating = 4, text = "better now" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/v1/clients/{_w.ClientA1}/actions/s1-a1/complete", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/api/v1/clients/{_w.ClientA1}/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync($"/api/v1/clients/{_w.ClientA1}/sessions", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsJsonAsync($"/api/v1/clients/{_w.ClientA1}/links", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync($"/api/v1/cohorts/{_w.CohortA}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/clients/{_w.ClientB1}")).StatusCode);
    }

    [Fact]
    public async Task ALinkExpiresAndCanBeRevokedOneByOneOrAllAtOnce()
    {
        async Task<(string Token, string Id)> IssueAsync(int hours)
        {
            var link = await CoachA.PostJsonAsync($"/api/v1/clients/{_w.ClientA1}/links", new { expiresInHours = hours }, 201);
            return (link["token"]!.GetValue<string>(), link["linkId"]!.GetValue<string>());
        }
        async Task<HttpStatusCode> UseAsync(string token) => (await _w.As(token).GetAsync($"/api/v1/clients/{_w.ClientA1}")).StatusCode;

        var shortLived = await IssueAsync(1);
        var single = await IssueAsync(48);
        var rest = await IssueAsync(48);
        Assert.Equal(HttpStatusCode.OK, await UseAsync(shortLived.Token));

        _host.Clock.Advance(TimeSpan.FromMinutes(61));
        Assert.Equal(HttpStatusCode.Unauthorized, await UseAsync(shortLived.Token));

        Assert.Equal(HttpStatusCode.OK, (await Admin.DeleteAsync($"/api/v1/keys/{single.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await UseAsync(single.Token));
        Assert.Equal(HttpStatusCode.OK, await UseAsync(rest.Token));

        var revoked = await (await CoachA.DeleteAsync($"/api/v1/clients/{_w.ClientA1}/links")).ReadJsonAsync();
        Assert.True(revoked["revoked"]!.GetValue<int>() >= 2); // rest, and the world's own link for A1
        Assert.Equal(HttpStatusCode.Unauthorized, await UseAsync(rest.Token));
        Assert.Equal(HttpStatusCode.Unauthorized, await UseAsync(_w.ClientA1Link));
        Assert.Equal(HttpStatusCode.OK, (await _w.As(_w.ClientB1Link).GetAsync($"/api/v1/clients/{_w.ClientB1}")).StatusCode);
    }

    [Fact]
    public async Task AForgedOrTamperedLinkIsRefused()
    {
        var token = _w.ClientA1Link;
        var dot = token.LastIndexOf('.');
        var payload = Encoding.UTF8.GetString(Convert.FromBase64String(Pad(token[4..dot])));
        // Same signature, another client's id in the payload.
        var otherClient = "cgl_" + Base64Url(Encoding.UTF8.GetBytes(payload.Replace(_w.ClientA1, _w.ClientB1, StringComparison.Ordinal))) + token[dot..];
        // Signature altered in its first character.
        var badSignature = token[..(dot + 1)] + (token[dot + 1] == 'A' ? 'B' : 'A') + token[(dot + 2)..];
        // Signed with a key we chose, not the server's.
        var body = "cgl_" + Base64Url(Encoding.UTF8.GetBytes(payload));
        var ownKey = body + "." + Base64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(new string('k', 32)), Encoding.UTF8.GetBytes(body)));

        foreach (var forged in new[] { otherClient, badSignature, ownKey, token + "x", "cgl_", "cgl_.", token.Replace("cgl_", "cg_", StringComparison.Ordinal) })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await _w.As(forged).GetAsync($"/api/v1/clients/{_w.ClientA1}")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await _w.As(forged).GetAsync($"/api/v1/clients/{_w.ClientB1}")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await _w.As(token).GetAsync($"/api/v1/clients/{_w.ClientA1}")).StatusCode);
    }

    [Fact]
    public async Task AfterRotatingTheLinkSecretOldLinksWorkOnlyWhileThePreviousSecretIsKept()
    {
        var s1 = new string('1', 40);
        var s2 = new string('2', 40);
        using var before = new TestHost();
        before.Settings["Links:Secret"] = s1;
        var org = await Org.CreateAsync(before);
        var clientId = await org.EnrolAsync();
        var token = (await org.Api.PostJsonAsync($"/api/v1/clients/{clientId}/links", new { }, 201))["token"]!.GetValue<string>();

        using var rotated = new TestHost();
        rotated.Settings["Storage:DataDirectory"] = before.DataDirectory;
        rotated.Settings["Links:Secret"] = s2;
        rotated.Settings["Links:PreviousSecret"] = s1;
        Assert.Equal(HttpStatusCode.OK, (await rotated.ClientWithKey(token).GetAsync($"/api/v1/clients/{clientId}")).StatusCode);

        using var done = new TestHost();
        done.Settings["Storage:DataDirectory"] = before.DataDirectory;
        done.Settings["Links:Secret"] = s2;
        Assert.Equal(HttpStatusCode.Unauthorized, (await done.ClientWithKey(token).GetAsync($"/api/v1/clients/{clientId}")).StatusCode);
    }

    [Fact]
    public void WithoutAConfiguredSecretOneIsGeneratedIntoTheDataDirectoryForThisUserOnly()
    {
        var path = Path.Combine(_host.DataDirectory, "link-secret");
        Assert.True(File.Exists(path));
        Assert.True(File.ReadAllText(path).Trim().Length >= 43);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    // ---------------------------------------------------------------- audit log and export

    [Fact]
    public async Task TheAuditLogSaysWhoDidWhatWithIdsOnly()
    {
        await _w.As(_w.ClientA1Link).PostAsJsonAsync($"/api/v1/clients/{_w.ClientA1}/replies", new { rating = 5, text = "ReplySecretWords again" });
        await Admin.GetAsync($"/api/v1/clients/{_w.ClientA1}/export");

        var page = await Admin.GetJsonAsync($"/api/v1/audit?targetId={_w.ClientA1}");
        var entries = page["entries"]!.AsArray().Select(e => (Actor: e!["actorRole"]!.GetValue<string>() + ":" + e["actorId"]!.GetValue<string>(), Action: e["action"]!.GetValue<string>())).ToList();
        Assert.Equal(
        [
            ("org-admin:" + AdminKeyId(), "client.exported"),
            ($"client:{_w.ClientA1}", "reply.recorded"),
            ($"coach:{_w.CoachA}", "link.issued"),
            ($"coach:{_w.CoachA}", "reply.recorded"),
            ($"coach:{_w.CoachA}", "session.logged"),
            ($"coach:{_w.CoachA}", "client.enrolled"),
        ], entries);
        var whole = (await Admin.GetJsonAsync("/api/v1/audit?limit=500")).ToJsonString();
        foreach (var action in new[] { "org.created", "key.issued", "coach.created", "cohort.created", "cohort.activated" })
            Assert.Contains($"\"{action}\"", whole, StringComparison.Ordinal);
        foreach (var secret in SecurityWorld.Secrets) Assert.DoesNotContain(secret, whole, StringComparison.OrdinalIgnoreCase);
        // One org's log is not another's.
        Assert.Empty((await _w.As(_w.AttackerAdminKey).GetJsonAsync($"/api/v1/audit?targetId={_w.ClientA1}"))["entries"]!.AsArray());
    }

    [Fact]
    public async Task TheExportHoldsEverythingAboutTheClientAndIsItselfAudited()
    {
        var export = await Admin.GetJsonAsync($"/api/v1/clients/{_w.ClientA1}/export");

        Assert.Equal(("Victima Secretname", "+14155550199", "victima.secret@victim.example"),
            (export["client"]!["name"]!.GetValue<string>(), export["client"]!["phone"]!.GetValue<string>(), export["client"]!["email"]!.GetValue<string>()));
        Assert.Equal("NoteSecretFocus", export["client"]!["sessions"]![0]!["note"]!["focus"]!.GetValue<string>());
        Assert.Contains(export["timeline"]!.AsArray(), e => e!["kind"]!.GetValue<string>() == "reply");
        Assert.NotEmpty(export["touches"]!.AsArray());
        Assert.All(export["touches"]!.AsArray(), t => Assert.Equal(_w.ClientA1, t!["clientId"]!.GetValue<string>()));
        Assert.Single(export["links"]!.AsArray());
        Assert.Contains(export["audit"]!.AsArray(), e => e!["action"]!.GetValue<string>() == "session.logged");
        Assert.Contains((await Admin.GetJsonAsync($"/api/v1/audit?targetId={_w.ClientA1}&action=client.exported"))["entries"]!.AsArray(), _ => true);
        // The client may take their own data with them.
        Assert.Equal(HttpStatusCode.OK, (await _w.As(_w.ClientA1Link).GetAsync($"/api/v1/clients/{_w.ClientA1}/export")).StatusCode);
    }

    private string AdminKeyId() => "key_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(_w.VictimAdminKey)))[..16];

    private static string Pad(string b64) => b64.Replace('-', '+').Replace('_', '/') + new string('=', (4 - b64.Length % 4) % 4);
    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
